"""The space of training strategies for one model, GPU count, sequence length and batch.

Every combination of TP, PP, VP, CP, EP, DP (derived), micro-batch, ZeRO stage,
recomputation and precision that is structurally valid: degrees that multiply to the GPU
count, divide the heads and experts, leave whole micro-batches, fit the sequence. Memory is
not checked here; the model does that. The space is built with numpy (a product of small
axes, then a mask), never one Python object per strategy.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def strategy_space(
    model: ModelArch,
    *,
    num_gpus: int,
    seq_len: int,
    global_batch: int,
    precisions: tuple[str, ...] = ("bf16",),
    limits: SpaceLimits = SpaceLimits(),
) -> dict[str, np.ndarray]:
    """All structurally valid strategies as parallel arrays (keys as ``training_step`` takes).

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
    axes = np.meshgrid(
        tps, pps, vps, cps, eps, mbs, limits.zero,
        [RECOMPUTE.index(r) for r in limits.recompute],
        [PRECISIONS.index(p) for p in precisions],
        indexing="ij",
    )  # fmt: skip
    tp, pp, vp, cp, ep, mb, zero, rec, prec = (a.ravel().astype(float) for a in axes)
    mp = tp * pp * cp
    dp = np.floor(num_gpus / mp)
    ok = (np.mod(num_gpus, mp) == 0) & (dp >= 1)
    ok &= (vp == 1) | ((pp > 1) & (pp * vp <= layers))
    ok &= np.mod(global_batch, np.maximum(dp, 1) * mb) == 0
    ok &= np.mod(tp * dp * cp, ep) == 0
    ok &= (dp * cp > 1) | (zero == 1)  # with one data-parallel rank every ZeRO stage is the same
    return {
        "num_gpus": np.full(int(ok.sum()), float(num_gpus)),
        "tp": tp[ok],
        "pp": pp[ok],
        "vp": vp[ok],
        "cp": cp[ok],
        "ep": ep[ok],
        "micro_batch": mb[ok],
        "zero": zero[ok],
        "recompute": rec[ok],
        "precision": prec[ok],
    }
