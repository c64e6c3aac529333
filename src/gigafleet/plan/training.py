"""Find the best training strategy: evaluate the whole space as arrays, rank, explain.

Objectives: ``time`` (step time, hence time to train), ``energy`` (facility energy per
step: GPUs by phase, hosts, network, PUE; energy/training.py) and ``cost``: GPU-hours per
step divided by the effective training time ratio at that GPU count (failures and
checkpoints, ``gigafleet.reliability``), times a price per GPU-hour, given or the owned cost
of ``gigafleet.cost`` (default prices, the strategy's IT power). With several GPU counts
the spaces are concatenated and compared on the same objective. A board power cap slows
every strategy by DVFS; a site power limit makes the strategies whose peak facility power
exceeds it infeasible.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import ModelArch
from gigafleet.cost import cost_inputs, owned_cost_per_gpu_hour
from gigafleet.energy.training import step_power
from gigafleet.enums import DISPATCHERS, PRECISIONS, RECOMPUTE
from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.training import Reason, efficiency_for, training_step
from gigafleet.perf.training.estimate import lora_config
from gigafleet.plan.space import STRATEGY_KEYS, SpaceLimits, StrategyGrid, strategy_grid
from gigafleet.reliability import effective_training_time

OBJECTIVES = ("time", "energy", "cost")
BREAKDOWN_WORDS = {
    "gemm_s": "GEMM compute",
    "attention_s": "attention compute",
    "memory_bound_s": "memory-bound operators",
    "recompute_s": "activation recomputation",
    "tp_comm_s": "tensor-parallel communication",
    "cp_comm_s": "context-parallel communication",
    "ep_comm_s": "expert-parallel all-to-all",
    "pp_comm_s": "pipeline transfers",
    "dp_comm_s": "data-parallel communication",
    "bubble_s": "pipeline bubble",
    "offload_s": "activation offload",
    "comm_interference_s": "compute slowed by overlapped communication",
    "optimizer_s": "optimizer step",
}


@dataclass
class TrainingPlan:
    """Every strategy considered, its predictions, and the ranking of the feasible ones."""

    model: str
    system: str
    objective: str
    strategies: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray]
    breakdown: dict[str, np.ndarray]
    feasible: np.ndarray
    order: np.ndarray  # indices of feasible strategies, best first
    pareto: np.ndarray  # indices on the time-energy Pareto front, fastest first
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_considered(self) -> int:
        return int(self.info.get("num_considered", self.feasible.size))

    @property
    def num_feasible(self) -> int:
        return int(self.info.get("num_feasible", self.feasible.sum()))

    def row(self, i: int) -> dict[str, Any]:
        """One strategy and its predictions as plain Python values."""
        s = {k: float(v[i]) for k, v in self.strategies.items()}
        out: dict[str, Any] = {
            k: int(v)
            for k, v in s.items()
            if k not in ("precision", "recompute", "offload", "ep_overlap", "ep_dedup")
        }
        out["precision"] = PRECISIONS[int(s["precision"])]
        out["recompute"] = RECOMPUTE[int(s["recompute"])]
        out["offload"] = s.get("offload", 0.0)
        out["ep_overlap"] = bool(s.get("ep_overlap", 0.0))
        out["ep_dispatcher"] = DISPATCHERS[int(s.get("ep_dedup", 0.0))]
        out.update({k: float(v[i]) for k, v in self.metrics.items()})
        out["breakdown_s"] = {k: float(v[i]) for k, v in self.breakdown.items()}
        return out

    def why(self) -> str:
        """Why the best wins: the cost it avoids most against the median feasible strategy."""
        if self.num_feasible < 2:
            return "it is the only feasible strategy"
        best = int(self.order[0])
        median = int(self.info.get("median", self.order[self.order.size // 2]))
        saved = {k: float(v[median] - v[best]) for k, v in self.breakdown.items()}
        key = max(saved, key=saved.get)
        b, m = float(self.breakdown[key][best]), float(self.breakdown[key][median])
        return (
            f"it avoids {BREAKDOWN_WORDS.get(key, key)}: {b:.3g} s per step against {m:.3g} s for the "
            f"median feasible strategy (step {self.metrics['step_time_s'][best]:.3g} s vs "
            f"{self.metrics['step_time_s'][median]:.3g} s)"
        )


def pareto_front(time: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Indices of points no other point beats on both time and energy, fastest first.

    In order of time (then energy), a point is on the front when its energy is below every
    energy before it: a running minimum (``fmin`` skips NaN, as the comparison does). Only
    points no slower than the least-energy one can be on it (that one comes before any
    slower point, with the least energy): with finite values the others are left out
    before the sort."""
    time = np.asarray(time, dtype=float)
    energy = np.asarray(energy, dtype=float)
    if time.size > 1 and np.isfinite(time).all() and np.isfinite(energy).all():
        sub = np.flatnonzero(time <= time[energy == energy.min()].min())
        if sub.size < time.size:
            return sub[_front(time[sub], energy[sub])]
    return _front(time, energy)


def _front(time: np.ndarray, energy: np.ndarray) -> np.ndarray:
    order = np.lexsort((energy, time))
    e = energy[order]
    before = np.fmin.accumulate(np.concatenate(([np.inf], e[:-1]))) if e.size else e
    return order[e < before].astype(int)


#: Strategies evaluated at once: the model's temporaries (about a hundred arrays of this
#: length) stay a few tens of MB whatever the size of the space.
CHUNK = 1 << 16


def _evaluate(
    strategies: dict[str, np.ndarray], *, consts: dict[str, float], arch, hw, eff, arch_row,
    global_batch, seq_len, lora, flash_attention, power_cap_w, pue, cooling, catalog,
    site_power_mw, gpu_hour_usd, train_tokens, objective,
) -> dict[str, Any]:  # fmt: skip
    """The model, power and cost of some strategies, elementwise: a chunk gives the same
    values as the whole space, and a grid's broadcast inputs
    (:meth:`~gigafleet.plan.space.StrategyGrid.model_inputs`) the same values as its flat
    strategies, in broadcast arrays (most terms computed once per outer row)."""
    out = training_step(
        arch, hw, eff, global_batch=float(global_batch), seq_len=float(seq_len),
        uneven_layers=True, lora=lora is not None, flash_attention=flash_attention,
        lora_adapters=lora, **strategies, **consts,
    )  # fmt: skip
    power = step_power(
        out["phase_s"], system=hw.system, num_gpus=strategies["num_gpus"],
        tokens_per_step=float(global_batch) * float(seq_len),
        flops_per_token=out["model_flops_per_token"], power_cap_w=power_cap_w, pue=pue,
        cooling=cooling, catalog=catalog,
    )  # fmt: skip
    feasible = np.asarray(out["reason_code"]) == Reason.FEASIBLE
    over_site = np.zeros_like(feasible)
    if site_power_mw is not None:
        over_site = feasible & (power.facility_power_peak_w > site_power_mw * 1e6)
        feasible = feasible & ~over_site
    # the model's own step time unless a cap slows it (same value, bit for bit, for ranking)
    step = np.asarray(out["step_time_s"] if power_cap_w is None else power.step_time_s)
    energy = np.asarray(power.facility_energy_j_per_step)
    cost, ett = _cost_per_step(
        arch_row, hw.system, strategies["num_gpus"], step, np.asarray(power.it_energy_j_per_step),
        gpu_hour_usd=gpu_hour_usd, train_tokens=train_tokens,
        tokens_per_s=np.asarray(out["tokens_per_s"]) * power.speed, catalog=catalog,
        needed=objective == "cost", pue=power.pue,
    )  # fmt: skip
    metrics = {
        "step_time_s": step,
        "tokens_per_s": np.asarray(out["tokens_per_s"]) * power.speed,
        "tokens_per_s_per_gpu": np.asarray(out["tokens_per_s_per_gpu"]) * power.speed,
        "mfu": np.asarray(out["mfu"]) * power.speed,
        "memory_gib_per_gpu": np.asarray(out["memory_bytes_per_gpu"]) / 2**30,
        "energy_j_per_step": energy,
        "gpu_power_avg_w": np.asarray(power.gpu_power_avg_w),
        "facility_power_peak_w": np.asarray(power.facility_power_peak_w),
        "cost_usd_per_step": cost,
        "ett": ett,
    }
    if train_tokens:
        metrics["time_to_train_s"] = train_tokens / metrics["tokens_per_s"]
        metrics["energy_to_train_j"] = energy * train_tokens / (global_batch * seq_len)
    return {
        "metrics": metrics, "feasible": feasible, "over_site": over_site, "dp": np.asarray(out["dp"]),
        "breakdown": {k: np.asarray(v) for k, v in out["breakdown_s"].items()},
        "pue": power.pue,
    }  # fmt: skip


class _Chunk:
    """About ``CHUNK`` strategies of one part of the space, evaluated: whole outer rows of a
    grid from row ``start``, or flat strategies from position ``start``. Its values come out
    flat (one per strategy, in the order of the space) on demand: the whole plan flattens
    everything, the streaming top-k reads four columns and takes the rows of a few."""

    def __init__(self, part: StrategyGrid | dict[str, np.ndarray], start: int,
                 consts: dict[str, float], fixed: dict[str, Any]) -> None:  # fmt: skip
        if isinstance(part, StrategyGrid):
            self.grid: StrategyGrid | None = part.rows(start, start + _grid_rows(part))
            self.keep = self.grid.keep()
            self.full = (self.grid.num_rows, *self.grid.inner_shape)
            inputs = self.grid.model_inputs()
            strategies = {k: inputs[k] for k in STRATEGY_KEYS}
            self.size = int(self.keep.sum())
        else:
            self.grid = None
            strategies = {k: v[start : start + CHUNK] for k, v in part.items()}
            self.size = strategies["tp"].size
        consts = {k: v for k, v in consts.items() if k not in strategies}
        self.res = _evaluate(strategies, consts=consts, **fixed)
        shape = self.full if self.grid is not None else (self.size,)
        self.strategies = {**strategies, **{k: np.full(shape, v) for k, v in consts.items()},
                           "dp": self.res["dp"]}  # fmt: skip

    def flat(self, value: Any) -> Any:
        """One value per strategy (a scalar stays a scalar)."""
        if self.grid is None:
            return value
        return self.grid.flatten(value, self.keep)

    def flat_tree(self, tree: dict[str, Any]) -> dict[str, Any]:
        return _map_tree(tree, self.flat)

    def take(self, idx: np.ndarray, base: int) -> dict[str, Any]:
        """The strategies, metrics and breakdown of the strategies at ``idx`` (positions in
        the chunk), and their positions in the space (``_index``, from ``base``)."""
        if self.grid is None:
            pick = functools.partial(_pick_flat, idx=idx)
        else:
            coords = np.unravel_index(np.flatnonzero(self.keep)[idx], self.full)
            pick = functools.partial(_pick_grid, full=self.full, coords=coords)
        return {"strategies": _map_tree(self.strategies, pick),
                "metrics": _map_tree(self.res["metrics"], pick),
                "breakdown": _map_tree(self.res["breakdown"], pick), "_index": base + idx}  # fmt: skip


def _map_tree(tree: dict[str, Any], fn: Any) -> dict[str, Any]:
    return {k: _map_tree(v, fn) if isinstance(v, dict) else fn(v) for k, v in tree.items()}


def _pick_flat(v: Any, *, idx: np.ndarray) -> Any:
    return v[idx] if np.ndim(v) == 1 else v


def _pick_grid(v: Any, *, full: tuple[int, ...], coords: tuple[np.ndarray, ...]) -> Any:
    return np.broadcast_to(v, full)[coords] if np.ndim(v) else v


def _fill(res: dict[str, Any], part: dict[str, Any], start: int, n: int) -> None:
    """Copy a chunk's results into ``res`` at ``start`` (arrays of length ``n``, allocated on
    the first chunk)."""
    for k, v in part.items():
        if isinstance(v, dict):
            _fill(res.setdefault(k, {}), v, start, n)
        elif isinstance(v, np.ndarray) and v.ndim == 1:
            if k not in res:
                res[k] = np.empty(n, dtype=v.dtype)
            res[k][start : start + v.size] = v
        else:
            res.setdefault(k, v)  # shared by every strategy (a scalar)


def plan_training(
    model: str | ModelArch,
    system: str,
    *,
    num_gpus: int | list[int],
    seq_len: int,
    global_batch: int,
    precisions: tuple[str, ...] = ("bf16",),
    objective: str = "time",
    gpu_hour_usd: float | None = None,
    train_tokens: float | None = None,
    offload: float = 0.0,
    ep_overlap: bool = False,
    ep_dispatcher: str = "alltoall",
    workload: str = "pretrain",
    flash_attention: bool = True,
    fabric: str | None = None,
    limits: SpaceLimits | None = None,
    catalog: Catalog | None = None,
    extra: dict[str, np.ndarray] | None = None,
    power_cap_w: float | None = None,
    site_power_mw: float | None = None,
    pue: float | None = None,
    lora_rank: int | None = None,
    lora_targets: str | tuple[str, ...] = "qkv,o",
    adapters: int = 1,
    frozen_weights: str = "bf16",
    cooling: str | None = None,
    top_k: int | None = None,
    median: bool = False,
) -> TrainingPlan:
    """Evaluate every valid strategy and rank the feasible ones by ``objective``.

    With ``top_k`` the plan keeps only the ``top_k`` best feasible strategies and the Pareto
    front (found chunk by chunk, so memory stays flat however large the space; the same
    rows, values and ranking as the full plan, ``num_considered`` and ``num_feasible`` of
    the whole space); with ``median`` too, the median feasible strategy that
    :meth:`~TrainingPlan.why` compares with (the ranking keys of the feasible strategies,
    16 bytes each, are kept to find it); without ``top_k``, every strategy.

    ``extra`` adds strategies of its own (e.g. a published one) to the space.
    ``power_cap_w`` caps each GPU's board power (step times grow by DVFS);
    ``site_power_mw`` rules out strategies whose peak facility power exceeds it;
    ``pue`` overrides the default of the system's cooling. ``workload="lora"`` (or a
    ``lora_rank``) plans LoRA fine-tuning: a frozen base and ``adapters`` adapters of
    ``lora_rank`` on ``lora_targets`` (:mod:`gigafleet.perf.training.lora`).
    ``pue`` overrides the default of the system's cooling; ``cooling`` (air, liquid)
    that of the system (fans are a larger share of an air-cooled system's power).
    """
    if site_power_mw is not None and not site_power_mw > 0:
        raise GigafleetError(f"must be > 0, got {site_power_mw}", field="site_power_mw")
    catalog = catalog or load_catalog()
    if objective not in OBJECTIVES:
        raise GigafleetError(
            f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}", field="objective"
        )
    if gpu_hour_usd is not None and not gpu_hour_usd > 0:
        raise GigafleetError(f"got {gpu_hour_usd}; allowed: a positive price", field="gpu_hour_usd")
    if ep_dispatcher not in DISPATCHERS:
        raise GigafleetError(
            f"unknown value {ep_dispatcher!r}; allowed: {', '.join(DISPATCHERS)}",
            field="ep_dispatcher",
        )
    arch_row = model if isinstance(model, ModelArch) else catalog.model(model)
    hw = resolve_hardware(catalog, system, fabric=fabric)
    lora = lora_config(
        workload, rank=lora_rank, targets=lora_targets, adapters=adapters, frozen=frozen_weights
    )
    for p in precisions:
        if p not in PRECISIONS:
            raise GigafleetError(
                f"unknown precision {p!r}; allowed: {', '.join(PRECISIONS)}", field="precision"
            )
        if hw.accelerator.dense_flops(p) is None:
            raise GigafleetError(
                f"{hw.accelerator.name} does not support {p}; allowed: {', '.join(hw.accelerator.precisions)}",
                field="precision",
            )
    counts = [num_gpus] if isinstance(num_gpus, int) else list(num_gpus)
    parts: list[StrategyGrid | dict[str, np.ndarray]] = [
        strategy_grid(
            arch_row,
            num_gpus=n,
            seq_len=seq_len,
            global_batch=global_batch,
            precisions=precisions,
            limits=limits or SpaceLimits(),
        )
        for n in counts
    ]
    if extra:
        parts.append({k: np.asarray(v, dtype=float) for k, v in extra.items()})
    sizes = [int(p.keep().sum()) if isinstance(p, StrategyGrid) else p["tp"].size for p in parts]
    if sum(sizes) == 0:
        raise GigafleetError(
            f"no strategy can use {', '.join(map(str, counts))} GPUs for {arch_row.name} with "
            f"global batch {global_batch} and sequence {seq_len}: the GPU count must factor into "
            "TP x PP x CP x DP with DP x micro-batch dividing the global batch",
            field="num_gpus",
        )
    consts = {"offload": float(offload), "ep_overlap": float(ep_overlap),
              "ep_dedup": float(DISPATCHERS.index(ep_dispatcher))}  # fmt: skip
    fixed = {
        "arch": arch_costs(arch_row), "hw": hw, "eff": efficiency_for(catalog, hw.generation),
        "arch_row": arch_row, "global_batch": global_batch, "seq_len": seq_len, "lora": lora,
        "flash_attention": flash_attention, "power_cap_w": power_cap_w, "pue": pue,
        "cooling": cooling, "catalog": catalog, "site_power_mw": site_power_mw,
        "gpu_hour_usd": gpu_hour_usd, "train_tokens": train_tokens, "objective": objective,
    }  # fmt: skip

    spans = [(p, i) for p in parts for i in range(0, _num_rows(p), _step(p))]
    if top_k is not None:  # one chunk at a time: never the whole space at once
        return _plan_top(spans, consts, fixed, top_k=top_k, median=median, counts=counts,
                         precisions=precisions)  # fmt: skip
    n = sum(sizes)
    res: dict[str, Any] = {}
    space: dict[str, Any] = {}
    start = 0
    for p, i in spans:  # a chunk at a time: bounded temporaries
        ch = _Chunk(p, i, consts, fixed)
        _fill(res, ch.flat_tree(ch.res), start, n)
        _fill(space, ch.flat_tree(ch.strategies), start, n)
        start += ch.size
    metrics = res["metrics"]
    step, energy = metrics["step_time_s"], metrics["energy_j_per_step"]
    cost = metrics["cost_usd_per_step"]
    feasible, over_site = res["feasible"], res["over_site"]
    key = {"time": step, "energy": energy, "cost": cost}[objective]
    idx = np.flatnonzero(feasible)
    order = idx[np.argsort(key[idx], kind="stable")]
    front = idx[pareto_front(step[idx], energy[idx])] if idx.size else idx
    return TrainingPlan(
        model=arch_row.name,
        system=hw.system,
        objective=objective,
        strategies=space,
        metrics=metrics,
        breakdown=res["breakdown"],
        feasible=feasible,
        order=order,
        pareto=front,
        info={
            "num_gpus": counts,
            "seq_len": seq_len,
            "global_batch": global_batch,
            "precisions": list(precisions),
            "pue": res["pue"],
            "power_cap_w": power_cap_w,
            "site_power_mw": site_power_mw,
            "num_over_site_power": int(over_site.sum()),
            "cost_note": _cost_note(hw.system, cost),
        },
    )


def _grid_rows(g: StrategyGrid) -> int:
    """Outer rows per chunk: about ``CHUNK`` strategies."""
    return max(1, CHUNK // max(1, int(np.prod(g.inner_shape))))


def _num_rows(p: StrategyGrid | dict[str, np.ndarray]) -> int:
    return p.num_rows if isinstance(p, StrategyGrid) else p["tp"].size


def _step(p: StrategyGrid | dict[str, np.ndarray]) -> int:
    return _grid_rows(p) if isinstance(p, StrategyGrid) else CHUNK


#: The metric each objective ranks by.
OBJECTIVE_METRIC = {
    "time": "step_time_s",
    "energy": "energy_j_per_step",
    "cost": "cost_usd_per_step",
}


def _plan_top(spans: list[Any], consts: dict[str, float], fixed: dict[str, Any], *, top_k: int,
              median: bool, counts: list[int], precisions: tuple[str, ...]) -> TrainingPlan:  # fmt: skip
    """The plan of :func:`plan_training` with ``top_k``: a streaming top-k and Pareto front
    over the chunks of ``spans`` (the space in order).

    Each chunk's candidates (its ``top_k`` best feasible strategies and its front) join
    the ones kept so far, in the order of the space, and the same selection runs on them:
    the best ``top_k`` of the whole space are among the chunks' best, and a point on the
    whole front is on its chunk's front, so the rows, and their order on ties, are those of
    the full plan. The median (``median``) is found from every feasible strategy's key and
    its chunk evaluated again (the same chunk: the same values)."""
    metric = OBJECTIVE_METRIC[fixed["objective"]]
    kept: dict[str, Any] | None = None
    n = num_feasible = num_over = 0
    pue = None
    starts, keys, where = [], [], []
    for span in spans:
        ch = _Chunk(*span, consts, fixed)
        m = ch.res["metrics"]
        feasible = np.flatnonzero(ch.flat(ch.res["feasible"]))
        num_feasible += feasible.size
        num_over += int(np.sum(ch.flat(ch.res["over_site"])))
        pue = ch.res["pue"]
        cols = {"metrics": {k: ch.flat(m[k]) for k in {metric, "step_time_s", "energy_j_per_step"}}}
        if median:
            starts.append(n)
            keys.append(cols["metrics"][metric][feasible])
            where.append(n + feasible)
        cand = ch.take(_candidates(cols, feasible, metric, top_k), n)
        n += ch.size
        merged = cand if kept is None else _cat(kept, cand)
        size = merged["metrics"][metric].size
        kept = _take(merged, _candidates(merged, np.arange(size), metric, top_k))
    assert kept is not None
    m = kept["metrics"]
    num_kept = m[metric].size
    order = np.argsort(m[metric], kind="stable")[:top_k]
    front = pareto_front(m["step_time_s"], m["energy_j_per_step"]) if num_kept else np.arange(0)
    info: dict[str, Any] = {}
    if median and num_feasible:
        # the feasible strategies in the order of the space: a stable sort ranks as the full plan
        idx = np.concatenate(where)
        g = int(idx[np.argsort(np.concatenate(keys), kind="stable")[num_feasible // 2]])
        hit = np.flatnonzero(kept["_index"] == g)
        if hit.size:
            info["median"] = int(hit[0])
        else:
            s = int(np.searchsorted(starts, g, side="right")) - 1
            ch = _Chunk(*spans[s], consts, fixed)
            kept = _cat(kept, ch.take(np.array([g - starts[s]]), starts[s]))
            info["median"] = num_kept
    kept.pop("_index")
    m = kept["metrics"]
    num_rows = m[metric].size
    return TrainingPlan(
        model=fixed["arch_row"].name,
        system=fixed["hw"].system,
        objective=fixed["objective"],
        strategies=kept["strategies"],
        metrics=m,
        breakdown=kept["breakdown"],
        feasible=np.ones(num_rows, dtype=bool),
        order=order,
        pareto=front,
        info={
            "num_gpus": counts, "seq_len": fixed["seq_len"],
            "global_batch": fixed["global_batch"], "precisions": list(precisions), "pue": pue,
            "power_cap_w": fixed["power_cap_w"], "site_power_mw": fixed["site_power_mw"],
            "num_over_site_power": num_over, "num_considered": n, "num_feasible": num_feasible,
            "top_k": top_k, **info,
            "cost_note": _cost_note(fixed["hw"].system, m["cost_usd_per_step"]),
        },
    )  # fmt: skip


def _cost_note(system: str, cost: np.ndarray) -> str | None:
    """Why the plan has no cost per step (a system without a price), else None."""
    if cost.size and np.isnan(cost).all():
        return f"no cost per step: {system} has no price; give --gpu-hour-usd"
    return None


def _candidates(rows: dict[str, Any], idx: np.ndarray, metric: str, top_k: int) -> np.ndarray:
    """Positions among ``idx`` that may be among the best ``top_k`` or on the front, sorted."""
    m = rows["metrics"]
    best = idx[_smallest(m[metric][idx], top_k)]
    front = idx[pareto_front(m["step_time_s"][idx], m["energy_j_per_step"][idx])]
    return np.union1d(best, front)


def _smallest(values: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(values, kind="stable")[:k]`` without sorting all of them: the values
    up to the ``k``-th smallest (found by a partition), sorted stably among themselves,
    are the same positions in the same order (NaN sorts last: then the full sort)."""
    if k >= values.size:
        return np.argsort(values, kind="stable")[:k]
    kth = np.partition(values, k - 1)[k - 1]
    if kth != kth:  # NaN
        return np.argsort(values, kind="stable")[:k]
    few = np.flatnonzero(values <= kth)
    return few[np.argsort(values[few], kind="stable")[:k]]


def _take(tree: dict[str, Any], idx: np.ndarray) -> dict[str, Any]:
    return {k: _take(v, idx) if isinstance(v, dict) else
            (v[idx] if isinstance(v, np.ndarray) and v.ndim == 1 else v)
            for k, v in tree.items()}  # fmt: skip


def _cat(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {k: _cat(v, b[k]) if isinstance(v, dict) else
            (np.concatenate([v, b[k]]) if isinstance(v, np.ndarray) and v.ndim == 1 else v)
            for k, v in a.items()}  # fmt: skip


def _cost_per_step(
    arch_row, system, num_gpus, step, energy, *, gpu_hour_usd, train_tokens, tokens_per_s,
    catalog, needed, pue,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``num_gpus * step / 3600 * price / ETT(num_gpus)``: a step's share of the run's cost,
    failures included. ETT is for the run (``train_tokens``) or a nominal 30-day run."""

    n = np.asarray(num_gpus, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ideal = (
            np.where(tokens_per_s > 0, train_tokens / tokens_per_s, 30 * 86400.0)
            if train_tokens
            else np.full(n.shape, 30 * 86400.0)
        )
    ideal = np.where(np.isfinite(ideal), ideal, 30 * 86400.0)
    if n.size > 1 and (n == n.flat[0]).all() and (ideal == ideal.flat[0]).all():
        # one GPU count and one run length (no tokens given): the same ETT for every strategy
        one = effective_training_time(
            ideal.reshape(-1)[:1], n.reshape(-1)[:1], num_params=arch_row_params(arch_row),
            system=system, catalog=catalog,
        ).ett  # fmt: skip
        ett = np.full(n.shape, float(np.asarray(one)[0]))
    else:
        ett = np.asarray(
            effective_training_time(
                ideal, n, num_params=arch_row_params(arch_row), system=system, catalog=catalog
            ).ett
        )
    if gpu_hour_usd:
        price = gpu_hour_usd
    else:
        try:
            inputs = cost_inputs(system, catalog=catalog, pue=pue)  # the energy model's PUE
        except GigafleetError as exc:
            if not needed:  # NaN: printed as null with the plan's cost_note
                return np.full(n.shape, np.nan), ett
            raise GigafleetError(
                f"{exc}; or give a price per GPU-hour (--gpu-hour-usd)", field="gpu_hour_usd"
            ) from None
        with np.errstate(divide="ignore", invalid="ignore"):
            power = np.where(step > 0, energy / step / n, 0.0)
        power = np.where(np.isfinite(power), power, 0.0)
        price = owned_cost_per_gpu_hour(
            avg_power_w_per_gpu=power, inputs=inputs
        ).total_usd_per_gpu_hour
    return n * step / 3600.0 * price / ett, ett


def arch_row_params(arch_row) -> float:
    """Total parameters of a catalog model (for the checkpoint size)."""
    return float(arch_costs(arch_row).params_total)
