"""The strategies as float arrays that broadcast, and the constraints they must meet."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from gigafleet.catalog.schema import Accelerator
from gigafleet.enums import PRECISIONS
from gigafleet.perf.arch import ArchCosts
from gigafleet.perf.training.codes import Precision, Reason, Recompute


@dataclass(frozen=True, slots=True)
class Strategy:
    """Every strategy argument of ``training_step`` as a float array (or scalar); the
    arrays broadcast to the shape of the result. ``precision`` and ``recompute`` hold
    :class:`Precision` and :class:`Recompute` codes."""

    num_gpus: np.ndarray
    tp: np.ndarray
    pp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    vp: np.ndarray
    mb: np.ndarray  # sequences per micro-batch
    gbs: np.ndarray  # sequences per optimizer step
    seq: np.ndarray  # tokens per sequence
    prec: np.ndarray
    zero: np.ndarray
    rec: np.ndarray
    offload: np.ndarray
    ep_overlap: np.ndarray
    ep_dedup: np.ndarray
    graphs: np.ndarray  # whole-iteration CUDA graphs (0/1)
    capacity: np.ndarray  # MoE token dropping: capacity factor (0 = dropless)
    dp: np.ndarray  # data-parallel degree: num_gpus / (tp x pp x cp), rounded down
    num_micro: np.ndarray  # micro-batches per pipeline per step
    pidx: np.ndarray  # precision as an index (clipped: out-of-range values are flagged)
    lora: bool
    uneven_layers: bool
    flash_attention: bool

    @property
    def shape(self) -> tuple[int, ...]:
        """The common shape of the strategy arrays."""
        return np.broadcast(
            self.num_gpus, self.tp, self.pp, self.cp, self.ep, self.vp, self.mb, self.gbs,
            self.seq, self.prec, self.zero, self.rec, self.offload, self.ep_overlap,
            self.ep_dedup, self.graphs, self.capacity,
        ).shape  # fmt: skip


def as_strategy(
    *,
    num_gpus,
    tp,
    pp,
    cp,
    ep,
    vp,
    micro_batch,
    global_batch,
    seq_len,
    precision,
    zero,
    recompute,
    offload,
    ep_overlap,
    ep_dedup,
    cuda_graphs,
    lora: bool,
    uneven_layers: bool,
    flash_attention: bool,
    capacity_factor=0.0,
) -> Strategy:
    """The arguments of ``training_step`` as float arrays, with ``dp`` and micro-batches."""
    f = np.asarray
    num_gpus, tp, pp, cp, ep, vp = (f(x, dtype=float) for x in (num_gpus, tp, pp, cp, ep, vp))
    mb, gbs, seq = (f(x, dtype=float) for x in (micro_batch, global_batch, seq_len))
    prec = f(precision, dtype=float)
    model_par = tp * pp * cp
    dp = np.floor(num_gpus / np.maximum(model_par, 1))
    return Strategy(
        num_gpus=num_gpus,
        tp=tp,
        pp=pp,
        cp=cp,
        ep=ep,
        vp=vp,
        mb=mb,
        gbs=gbs,
        seq=seq,
        prec=prec,
        zero=f(zero, dtype=float),
        rec=f(recompute, dtype=float),
        offload=f(offload, dtype=float),
        ep_overlap=f(ep_overlap, dtype=float),
        ep_dedup=f(ep_dedup, dtype=float),
        graphs=f(cuda_graphs, dtype=float),
        capacity=f(capacity_factor, dtype=float),
        dp=dp,
        num_micro=gbs / np.maximum(dp * mb, 1),
        pidx=np.clip(np.nan_to_num(prec), Precision.BF16, Precision.FP4).astype(int),
        lora=lora,
        uneven_layers=uneven_layers,
        flash_attention=flash_attention,
    )


def flag(code: np.ndarray, cond, reason: Reason) -> np.ndarray:
    """``code`` with ``reason`` where ``cond`` holds and no earlier reason was found."""
    return np.where((code == Reason.FEASIBLE) & cond, int(reason), code)


def check(arch: ArchCosts, *, acc: Accelerator, s: Strategy) -> np.ndarray:
    """The :class:`Reason` code of each strategy for its structure (memory comes later)."""
    code = np.zeros(s.shape)
    tp, pp, cp, ep, vp = s.tp, s.pp, s.cp, s.ep, s.vp
    ints = [s.num_gpus, tp, pp, cp, ep, vp, s.mb, s.gbs, s.seq]
    bad_int = functools.reduce(np.logical_or, [(x < 1) | (x != np.floor(x)) for x in ints])
    code = flag(code, bad_int, Reason.NOT_POSITIVE_INTEGER)
    code = flag(code, np.mod(s.num_gpus, tp * pp * cp) != 0, Reason.GPU_COUNT)
    code = flag(code, np.mod(arch.num_heads, tp) != 0, Reason.HEADS)
    if not arch.mla:
        code = flag(code, np.mod(arch.num_kv_heads, tp) != 0, Reason.KV_HEADS)
    if not s.uneven_layers:
        code = flag(code, np.mod(arch.num_layers, pp * vp) != 0, Reason.LAYERS)
    else:
        code = flag(code, pp * vp > arch.num_layers + arch.mtp_layers + 2, Reason.LAYERS)
    if arch.num_experts:
        code = flag(code, np.mod(arch.num_experts, ep) != 0, Reason.EXPERTS)
        code = flag(code, np.mod(tp * s.dp * cp, ep) != 0, Reason.EXPERT_GROUP)
    else:
        code = flag(code, ep > 1, Reason.EP_WITHOUT_MOE)
    code = flag(code, np.mod(s.gbs, s.dp * s.mb) != 0, Reason.GLOBAL_BATCH)
    code = flag(code, (cp > 1) & (np.mod(s.seq, 2 * cp) != 0), Reason.SEQUENCE)
    code = flag(code, (vp > 1) & (pp == 1), Reason.VP_WITHOUT_PP)
    code = flag(code, (vp > 1) & (s.num_micro < pp), Reason.TOO_FEW_MICRO_BATCHES)
    out_of_range = (
        ~np.isin(s.zero, (0, 1, 2, 3))
        | ~np.isin(s.rec, list(Recompute))
        | ~np.isin(s.prec, list(Precision))
    )
    code = flag(code, out_of_range, Reason.OUT_OF_RANGE)
    supported = np.array([acc.dense_flops(p) is not None for p in PRECISIONS])
    code = flag(code, ~supported[s.pidx], Reason.PRECISION)
    code = flag(code, ~((s.offload >= 0) & (s.offload <= 1)), Reason.OFFLOAD)
    code = flag(code, s.capacity < 0, Reason.OUT_OF_RANGE)
    return code
