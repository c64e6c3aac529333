"""``gigafleet simulate``: a scenario's year of operations. Resolve and size the scenario
with the planner's stages (``plan.scenario``: pools, training placement, service options
and placement), turn it into the plain inputs of ``sim/fleet``, and run seeds.

Each seed writes its daily table (``shard-NNNNN.parquet``, queryable with ``gigafleet
results query``) and its summary (``seed-NNNNN.json``) atomically into the output folder,
so an interrupted multi-seed run keeps the seeds that finished and a re-run only does the
rest. Seeds run wherever ``runner`` sends them (the sweep executors: a process pool, Dask,
Ray); the same seed gives the same tables bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.energy.params import load_power_params
from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs
from gigafleet.plan.scenario.place_services import place_services, service_options
from gigafleet.plan.scenario.place_training import place_training
from gigafleet.plan.scenario.pools import eligible
from gigafleet.plan.scenario.size import fit_for
from gigafleet.plan.scenario.state import new_state
from gigafleet.plan.scenario.workloads import daily_profile, service_kind
from gigafleet.reliability import (
    effective_training_time,
    failure_rates_by_component_per_s,
    load_failure_rates,
)
from gigafleet.sim.fleet import (
    Cohort,
    FleetIn,
    GridEventIn,
    Params,
    PoolIn,
    ResearchIn,
    ServiceIn,
    SiteIn,
    TrainingIn,
    simulate_fleet,
)
from gigafleet.spec.scenario import Scenario, month_index, month_text
from gigafleet.spec.simulation import Simulation, check_simulation, job_size_error

#: Seconds in a month of the timeline (30.44 days, as ``place_training`` counts months).
MONTH_S = 30.44 * 86400.0
DAY_S = 86400.0
MANIFEST = "manifest.json"
#: Daily columns whose spread over seeds the report draws as bands.
BAND_COLUMNS = ("goodput_share", "utilization", "slo_attainment", "interruptions",
                "research_wait_h_mean", "lost_gpu_h", "cloud_usd", "facility_mw")  # fmt: skip

Runner = Callable[[Callable[..., Any], list[tuple[Any, ...]]], Iterable[Any]]


def _serial(fn: Callable[..., Any], tasks: list[tuple[Any, ...]]) -> Iterator[Any]:
    for t in tasks:
        yield fn(*t)


# ---- the scenario as simulation inputs ---------------------------------------------------------


def _cohorts(pool: Any, dep: Any, catalog: Catalog, sim: Simulation, start: int) -> list[Cohort]:
    """A deployment's systems as cohorts: already in service at the start (mature), or
    arriving in weekly batches over the rollout period."""
    ro = sim.hardware.rollout
    per_system = catalog.system(pool.system).num_gpus
    arrive_s = (pool.arrive - start) * MONTH_S
    retire_s = (pool.retire - start) * MONTH_S if pool.retire is not None else None
    if arrive_s <= 0 or ro.days <= 0:
        age0 = ro.initial_age_days * DAY_S if arrive_s <= 0 else 0.0
        return [Cohort(arrive_s, dep.count * per_system, retire_s, age0)]
    batches = max(1, math.ceil(ro.days / 7.0))
    base, extra = divmod(dep.count, batches)
    out = []
    for i in range(batches):
        n = base + (1 if i < extra else 0)
        if n:
            out.append(Cohort(arrive_s + i * 7 * DAY_S, n * per_system, retire_s, 0.0))
    return out


def _pools(state: Any, sim: Simulation, start: int) -> list[PoolIn]:

    scn, catalog, models = state.scn, state.catalog, state.models
    rates = load_failure_rates(catalog=catalog)
    scale = sim.hardware.rate_scale
    allowed = set(sim.research.sites) if sim.research.sites else None
    out = []
    for p, pool in enumerate(state.pools):
        row = catalog.system(pool.system)
        gpn = max(1, row.num_gpus // max(1, row.num_hosts // 2))
        per_s = failure_rates_by_component_per_s(
            1.0, system=pool.system, rates=rates, catalog=catalog
        )
        dep = scn.sites[pool.where[1]].fleet[pool.where[3]]
        cloud = pool.site_kind == "cloud"
        idle_w = float(state.idle_w[p])
        busy_w = models.it_w_per_gpu(pool.system, compute_frac=1.0, memory_frac=0.0,
                                     cooling=pool.cooling) * pool.pue  # fmt: skip
        research = eligible(scn, "", pool, private=False, training=True) is None and (
            allowed is None or pool.site in allowed
        )
        out.append(PoolIn(
            name=f"{pool.site}/{pool.system}", site=state.site_of[p], system=pool.system,
            gpus_per_node=gpn, cohorts=_cohorts(pool, dep, catalog, sim, start),
            rate_per_gpu_s={c: float(v) * scale for c, v in per_s.items()}, idle_w=idle_w,
            research_w=idle_w + sim.research.power_fraction * max(busy_w - idle_w, 0.0),
            cloud=cloud, tee=pool.tee, region=pool.region,
            price_usd_per_gpu_hour=models.inputs(pool).cloud_usd_per_gpu_hour if cloud else 0.0,
            research=research,
        ))  # fmt: skip
    return out


def _training(state: Any, start: int) -> list[TrainingIn]:

    out = []
    for tp in state.training:
        d = tp.fit.detail
        n = int(d["num_gpus"])
        work = tp.run.tokens / d["tokens_per_s"]
        params = float(arch_costs(state.catalog.model(tp.run.model)).params_total)
        rel = effective_training_time(work, n, num_params=params, system=tp.pool.system,
                                      catalog=state.catalog)  # fmt: skip
        out.append(TrainingIn(
            name=tp.run.name, pool=tp.pool.index, num_gpus=n, work_s=work,
            start_s=(tp.start - start) * MONTH_S,
            checkpoint_interval_s=float(rel.checkpoint_interval_s),
            checkpoint_s=float(rel.checkpoint_write_s), restore_s=float(rel.restore_s),
            busy_w=tp.fit.power_w_per_gpu * tp.pool.pue,
        ))  # fmt: skip
    return out


def _services(state: Any, start: int) -> list[ServiceIn]:

    out = []
    num_p = len(state.pools)
    for w, svc in enumerate(state.services):
        cap = state.cap[w]
        usable = [p for p in range(num_p) if cap[p] > 0]
        placed = state.placed[:, w, :]
        total = placed.sum(axis=0)
        owned = [p for p in usable if state.pools[p].site_kind != "cloud"]
        cloud = [p for p in usable if state.pools[p].site_kind == "cloud"]
        order = sorted((p for p in owned if total[p] > 0), key=lambda p: -total[p])
        order += sorted((p for p in owned if total[p] <= 0), key=lambda p: state.cost[w, p])
        order += sorted(cloud, key=lambda p: (-total[p], state.cost[w, p]))
        weights = []
        for k, m in enumerate(state.months):
            got = placed[k] * cap
            if got.sum() > 0:
                weights.append(((m - start) * MONTH_S, got / got.sum()))
        slo = 1.0
        main = int(np.argmax(total)) if total.sum() > 0 else (order[0] if order else None)
        if main is not None and cap[main] > 0:
            slo = float(
                fit_for(state, svc, state.pools[main]).detail.get("slo_attainment_at_capacity", 1.0)
            )
        out.append(ServiceIn(
            name=svc.name, kind=service_kind(svc), requests_per_s=svc.requests_per_day / DAY_S,
            growth_per_year=svc.growth_per_year, start_s=(month_index(svc.start) - start) * MONTH_S,
            profile=daily_profile(svc.peak_to_mean), cap_per_gpu=cap.copy(),
            gpus_per_replica=state.rep_gpus[w].copy(), busy_w=state.power[w] + state.idle_w,
            order=order, weights=weights, slo_at_capacity=min(slo, 1.0),
        ))  # fmt: skip
    return out


def _research(scn: Scenario, sim: Simulation, pools: list[PoolIn]) -> ResearchIn | None:
    r = sim.research
    if r.arrivals_per_day <= 0:
        return None
    usable = [p for p in pools if p.research]
    largest = max((sum(c.num_gpus for c in p.cohorts) for p in usable), default=0)
    for i, s in enumerate(r.sizes):
        if s.gpus > largest:
            raise job_size_error(("simulation", "research", "sizes", i, "gpus"), s.gpus, largest)
    shares = np.array([s.share for s in r.sizes], dtype=float)
    return ResearchIn(
        arrivals_per_s=r.arrivals_per_day / DAY_S,
        sizes=np.array([s.gpus for s in r.sizes], dtype=int), shares=shares / shares.sum(),
        duration_median_s=r.duration_median_h * 3600.0, duration_sigma=r.duration_sigma,
        duration_max_s=r.duration_max_h * 3600.0,
        exponential=r.duration_distribution == "exponential",
        high_share=r.high_priority_share, preemptible_after_s=r.preemptible_after_h * 3600.0,
        reserve_after_s=r.reserve_after_h * 3600.0, checkpoint_s=r.checkpoint_write_s,
    )  # fmt: skip


def _params(scn: Scenario, sim: Simulation, catalog: Catalog) -> Params:

    hw, tr = sim.hardware, sim.training
    dvfs = load_power_params(catalog).dvfs
    return Params(
        detect_s=hw.detect_s, swap_s=hw.swap_h * 3600.0, repair_s=hw.repair_days * DAY_S,
        spares_fraction=hw.spares_fraction,
        burn_in_reject_fraction=hw.rollout.burn_in_reject_fraction,
        infant_multiplier=hw.rollout.infant_multiplier, infant_s=hw.rollout.infant_days * DAY_S,
        lemon_fraction=hw.lemons.fraction, lemon_multiplier=hw.lemons.multiplier,
        lemon_remove_after=hw.lemons.remove_after, lemon_window_s=hw.lemons.window_days * DAY_S,
        restart_s=tr.restart_s, checkpoint_interval_s=tr.checkpoint_interval_s,
        hot_spare_fraction=tr.hot_spare_fraction, straggler_fraction=tr.stragglers.job_fraction,
        straggler_slowdown=tr.stragglers.slowdown, headroom=sim.serving.headroom,
        daily_noise=sim.serving.daily_noise, replica_restart_s=sim.serving.replica_restart_s,
        dvfs_exponent=dvfs.exponent, min_clock_fraction=dvfs.min_clock_fraction,
        cloud_bursting=scn.policies.cloud_bursting,
    )  # fmt: skip


def build_inputs(
    scn: Scenario, *, catalog: Catalog | None = None, days: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[FleetIn, dict[str, Any]]:  # fmt: skip
    """Size and place ``scn`` with the planner, and return the simulation's inputs and what
    the planner said (work it could not place, warnings)."""

    catalog = catalog or load_catalog()
    sim = scn.simulation or Simulation()
    check_simulation(scn)
    state = new_state(scn, catalog, progress=progress or (lambda _m: None))
    place_training(state)
    service_options(state)
    place_services(state)
    start = month_index(sim.start or scn.timeline.start)
    pools = _pools(state, sim, start)
    names = [s for s in state.site_names]
    # events act on the hourly tick: start on the hour, last whole hours
    events = [
        GridEventIn(site=names.index(e.site), start_s=round(e.start_day * 24) * 3600.0,
                    duration_s=math.ceil(e.hours) * 3600.0, shed_w=e.shed_mw * 1e6,
                    preempt=(e.policy or sim.power.policy) == "preempt")
        for e in sim.power.grid_events
    ]  # fmt: skip
    inp = FleetIn(
        pools=pools, sites=[SiteIn(n, float(state.cap_w[i])) for i, n in enumerate(names)],
        horizon_s=(days if days is not None else sim.days) * DAY_S,
        params=_params(scn, sim, catalog), training=_training(state, start),
        services=_services(state, start), research=_research(scn, sim, pools),
        grid_events=events, start_label=month_text(start),
    )  # fmt: skip
    meta = {"unplaced": state.unplaced, "warnings": state.warnings}
    return inp, meta


# ---- seeds ---------------------------------------------------------------------------------------


def shard_path(out: Path, i: int) -> Path:
    return out / f"shard-{i:05d}.parquet"


def seed_path(out: Path, i: int) -> Path:
    return out / f"seed-{i:05d}.json"


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _dates(label: str, num_days: int) -> list[str]:
    y, m = (int(x) for x in label.split("-")) if label else (2026, 1)
    d0 = date(y, m, 1)
    return [(d0 + timedelta(days=i)).isoformat() for i in range(num_days)]


def run_seed(inp: FleetIn, index: int, seed: int, out_dir: str | None) -> dict[str, Any]:
    """Simulate one seed; write its shard and summary (atomically) when ``out_dir`` is set.
    Returns ``{"index", "seed", "summary", "daily"}`` (daily: column -> list)."""

    run = simulate_fleet(inp, seed=seed)
    days = len(run.daily["day"])
    daily = {"seed": [seed] * days, "date": _dates(inp.start_label, days),
             **{k: v.tolist() for k, v in run.daily.items()}}  # fmt: skip
    result = {"index": index, "seed": seed, "summary": run.summary, "daily": daily}
    if out_dir is not None:
        from gigafleet.parquet import write_columns

        out = Path(out_dir)
        _write_atomic(shard_path(out, index), lambda tmp: write_columns(daily, tmp))
        _write_atomic(
            seed_path(out, index), lambda tmp: tmp.write_text(json.dumps(result, default=_jsonable))
        )
    return result


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON: {type(x)}")


def digest(inp: FleetIn, seeds: list[int]) -> str:
    """Identifies the work: a re-run may only resume the same inputs and seeds."""
    import pickle

    h = hashlib.sha256(pickle.dumps(inp, protocol=4))
    h.update(json.dumps(seeds).encode())
    return h.hexdigest()[:16]


def _read_json(path: Path) -> Any:
    """The JSON document in ``path``; None when it cannot be read or parsed."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def simulate(
    inp: FleetIn, *, seeds: list[int], out_dir: str | os.PathLike[str] | None = None,
    runner: Runner | None = None, on_seed: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Run every seed (skipping those already written in ``out_dir``); returns the seeds'
    results in seed order. ``runner(fn, tasks)`` yields ``fn(*task)`` results as they finish
    (default: one after another here; ``sweep.executors.run_tasks`` for a pool, Dask, Ray)."""
    runner = runner or _serial
    done: dict[int, dict[str, Any]] = {}
    folder = None
    if out_dir is not None:
        from gigafleet.parquet import duckdb_module

        duckdb_module()  # the shards need it: stop before anything is simulated or written
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / MANIFEST
        key = digest(inp, seeds)
        if manifest.exists():
            old = _read_json(manifest)
            if not isinstance(old, dict):
                raise GigafleetError(
                    f"{manifest} is not a simulation manifest (damaged?); delete it to start "
                    "again, or choose another output folder", field="--out",
                )  # fmt: skip
            if old.get("digest") != key:
                raise GigafleetError(
                    f"{folder} holds another simulation ({old.get('digest')}); choose another "
                    "output folder or remove it", field="--out",
                )  # fmt: skip
        else:
            manifest.write_text(json.dumps({"digest": key, "seeds": seeds}, indent=1))
        for i in range(len(seeds)):
            if seed_path(folder, i).exists() and shard_path(folder, i).exists():
                result = _read_json(seed_path(folder, i))
                if isinstance(result, dict):  # a damaged seed file: that seed runs again
                    done[i] = result
    todo = [
        (inp, i, s, None if folder is None else str(folder))
        for i, s in enumerate(seeds)
        if i not in done
    ]
    for res in runner(run_seed, todo):
        done[res["index"]] = res
        if on_seed:
            on_seed(res)
    return [done[i] for i in range(len(seeds))]


# ---- the spread over seeds -----------------------------------------------------------------------


def _flatten(tree: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            key = None
            if isinstance(v, dict):
                key = v.get("workload") or v.get("site") or v.get("num_gpus")
            out.update(_flatten(v, f"{prefix}[{key if key is not None else i}]"))
    elif (
        isinstance(tree, bool)
        or isinstance(tree, int | float)
        and tree is not None
        and math.isfinite(tree)
    ):
        out[prefix] = float(tree)
    return out


def spread(results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, standard deviation, min, p5, p95 and max over seeds of every number in the
    summaries (keyed by its path, e.g. ``training[frontier-moe].ettr``)."""
    flat = [_flatten(r["summary"]) for r in results]
    keys = sorted(set().union(*flat)) if flat else []
    out = {}
    for k in keys:
        v = np.array([f[k] for f in flat if k in f])
        out[k] = {
            "mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "p5": float(np.percentile(v, 5)),
            "p95": float(np.percentile(v, 95)), "max": float(v.max()), "num_seeds": int(v.size),
        }  # fmt: skip
    return out


def daily_bands(results: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Per day, the p5, median and p95 over seeds of the report's banded columns."""
    out = {}
    for col in BAND_COLUMNS:
        arr = np.array([r["daily"][col] for r in results if col in r["daily"]], dtype=float)
        if arr.size:
            q = np.percentile(arr, [5, 50, 95], axis=0)
            out[col] = {"p5": q[0].tolist(), "p50": q[1].tolist(), "p95": q[2].tolist()}
    return out


def result_document(
    scn: Scenario, inp: FleetIn, results: list[dict[str, Any]], meta: dict[str, Any]
) -> dict[str, Any]:
    """The JSON the CLI prints and writes (``summary.json``): the first seed's summary, the
    spread over seeds, each seed's headline, and what the planner could not place."""
    first = results[0]
    return {
        "scenario": scn.name,
        "start": inp.start_label,
        "days": inp.horizon_s / DAY_S,
        "seeds": [r["seed"] for r in results],
        "summary": first["summary"],
        "spread": spread(results) if len(results) > 1 else {},
        "per_seed": [
            {
                "seed": r["seed"],
                "goodput_share": r["summary"]["goodput_share"],
                "utilization": r["summary"]["utilization"],
                "slo_attainment": r["summary"]["slo_attainment"],
                "cloud_usd": r["summary"]["cloud"]["usd"],
                "ettr": {t["workload"]: t["ettr"] for t in r["summary"]["training"]},
            }
            for r in results
        ],  # fmt: skip
        "unplaced": meta.get("unplaced", []),
        "warnings": meta.get("warnings", []),
    }
