"""The space of training strategies for one model, GPU count, sequence length and batch.

Every combination of TP, PP, VP, CP, EP, DP (derived), micro-batch, ZeRO stage,
recomputation and precision that is structurally valid: degrees that multiply to the GPU
count, divide the heads and experts, leave whole micro-batches, fit the sequence. Memory is
not checked here; the model does that. The space is built with numpy (the product of small
axes, pruned axis by axis), never one Python object per strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.catalog.schema import ModelArch
from gigafleet.enums import PRECISIONS, RECOMPUTE


def _pow2_upto(n: int) -> list[int]:
    out, v = [], 1
    while v <= n:
        out.append(v)
        v *= 2
    return out


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass(frozen=True)
class SpaceLimits:
    """How wide to search (defaults cover what frameworks support in practice)."""

    max_tp: int = 64
    max_pp: int = 64
    max_vp: int = 16
    max_cp: int = 32
    max_micro_batch: int = 16
    zero: tuple[int, ...] = (0, 1, 2, 3)
    recompute: tuple[str, ...] = RECOMPUTE


@dataclass(frozen=True)
class StrategyGrid:
    """The space as a product: ``outer`` rows (GPU count, TP, PP, VP, CP, DP, EP,
    micro-batch: pruned axis by axis) times the ``inner`` axes (ZeRO stage, recomputation,
    precision), less the ZeRO stages that change nothing (one data-parallel rank).

    The model is evaluated on it by broadcasting (:meth:`model_inputs`): a term that
    depends only on the outer degrees is computed once per outer row, not once per inner
    combination, which is most of the model. :meth:`flatten` turns a broadcast result
    into the values of :meth:`flat`'s strategies, in their order.
    """

    outer: dict[str, np.ndarray]
    inner: dict[str, np.ndarray]

    @property
    def num_rows(self) -> int:
        return int(self.outer["tp"].size)

    @property
    def inner_shape(self) -> tuple[int, ...]:
        return tuple(v.size for v in self.inner.values())

    def rows(self, start: int, stop: int) -> StrategyGrid:
        """The outer rows ``start:stop`` with every inner combination."""
        return StrategyGrid({k: v[start:stop] for k, v in self.outer.items()}, self.inner)

    def model_inputs(self) -> dict[str, np.ndarray]:
        """Outer columns of shape (rows, 1, 1, 1), each inner axis along its own dimension
        (what ``training_step`` takes; it broadcasts)."""
        nd = 1 + len(self.inner)
        out = {k: v.reshape((-1,) + (1,) * (nd - 1)) for k, v in self.outer.items() if k != "dp"}
        for i, (k, v) in enumerate(self.inner.items()):
            shape = [1] * nd
            shape[i + 1] = v.size
            out[k] = v.reshape(shape)
        return out

    def keep(self) -> np.ndarray:
        """Which combinations of the product are strategies: with one data-parallel rank
        (``dp x cp == 1``) every ZeRO stage is the same, so only stage 1 is kept."""
        full = (self.num_rows, *self.inner_shape)
        one_rank = (self.outer["dp"] * self.outer["cp"] == 1).reshape(
            (-1,) + (1,) * len(self.inner)
        )
        zero = self.inner["zero"].reshape((1, -1) + (1,) * (len(self.inner) - 1))
        return np.broadcast_to(~one_rank | (zero == 1), full).reshape(-1)

    def flatten(self, value: Any, keep: np.ndarray) -> Any:
        """A broadcast model output as one value per strategy (a scalar stays a scalar)."""
        if np.ndim(value) == 0:
            return value
        full = (self.num_rows, *self.inner_shape)
        if keep.all():
            return np.broadcast_to(value, full).reshape(-1)
        return np.broadcast_to(value, full)[keep.reshape(full)]  # one pass, C order

    def flat(self) -> dict[str, np.ndarray]:
        """The strategies as parallel arrays (keys as ``training_step`` takes), the outer
        rows slowest and precision fastest."""
        keep = self.keep()
        inputs = self.model_inputs()
        return {k: self.flatten(inputs[k], keep) for k in STRATEGY_KEYS}


#: The columns of a flat strategy space, in order.
STRATEGY_KEYS = ("num_gpus", "tp", "pp", "vp", "cp", "ep", "micro_batch", "zero", "recompute",
                 "precision")  # fmt: skip


def strategy_space(model: ModelArch, **kwargs: Any) -> dict[str, np.ndarray]:
    """All structurally valid strategies as parallel arrays (:func:`strategy_grid`
    flattened)."""
    return strategy_grid(model, **kwargs).flat()


def strategy_grid(
    model: ModelArch,
    *,
    num_gpus: int,
    seq_len: int,
    global_batch: int,
    precisions: tuple[str, ...] = ("bf16",),
    limits: SpaceLimits = SpaceLimits(),
) -> StrategyGrid:
    """All structurally valid strategies, as a :class:`StrategyGrid`.

    Pipeline stages need not divide the layers (frameworks accept custom layouts), but each
    virtual stage holds at least one layer. Expert parallelism is searched over the divisors
    of the expert count that divide ``tp x dp x cp`` (expert tensor parallelism 1).
    """
    heads = model.num_attention_heads
    layers = model.num_layers
    experts = model.moe.num_experts if model.moe else 1
    tps = [t for t in _pow2_upto(limits.max_tp) if heads % t == 0 and t <= num_gpus]
    pps = sorted(
        {
            p
            for p in _pow2_upto(limits.max_pp) + _divisors(layers)
            if p <= min(layers, limits.max_pp)
        }
    )
    vps = [v for v in range(1, limits.max_vp + 1)]
    cps = [c for c in _pow2_upto(limits.max_cp) if seq_len % (2 * c) == 0 or c == 1]
    eps = [e for e in _divisors(experts) if e <= num_gpus]
    mbs = [m for m in _pow2_upto(limits.max_micro_batch) if global_batch % m == 0]
    # The product of the outer axes in lexicographic order (tp slowest), built one axis at a
    # time and filtered as soon as a rule's axes are all there: memory and time follow the
    # valid strategies, not the full product.
    c: dict[str, np.ndarray] = {"tp": np.asarray(tps, dtype=float)}
    c = _expand(c, "pp", pps)
    c = _expand(c, "vp", vps)
    c = _keep(c, (c["vp"] == 1) | ((c["pp"] > 1) & (c["pp"] * c["vp"] <= layers)))
    c = _expand(c, "cp", cps)
    mp = c["tp"] * c["pp"] * c["cp"]
    c = _keep(c, (np.mod(num_gpus, mp) == 0) & (np.floor(num_gpus / mp) >= 1))
    dp = np.floor(num_gpus / (c["tp"] * c["pp"] * c["cp"]))
    c["dp"] = dp
    c = _expand(c, "ep", eps)
    c = _keep(c, np.mod(c["tp"] * c["dp"] * c["cp"], c["ep"]) == 0)
    c = _expand(c, "micro_batch", mbs)
    c = _keep(c, np.mod(global_batch, np.maximum(c["dp"], 1) * c["micro_batch"]) == 0)
    c["num_gpus"] = np.full(c["tp"].size, float(num_gpus))
    inner = {
        "zero": np.asarray(limits.zero, dtype=float),
        "recompute": np.asarray([RECOMPUTE.index(r) for r in limits.recompute], dtype=float),
        "precision": np.asarray([PRECISIONS.index(p) for p in precisions], dtype=float),
    }
    return StrategyGrid(c, inner)


def _expand(cols: dict[str, np.ndarray], name: str, values: Any) -> dict[str, np.ndarray]:
    """Every row of ``cols`` once with each of ``values`` (the new axis varies fastest)."""
    vals = np.asarray(list(values), dtype=float)
    num_rows = next(iter(cols.values())).size
    out = {k: np.repeat(v, vals.size) for k, v in cols.items()}
    out[name] = np.tile(vals, num_rows)
    return out


def _keep(cols: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in cols.items()}
