"""The integer codes of the vectorised training model, by name, with their messages.

The model runs on float arrays over strategies, so a strategy's precision and
recomputation travel as their position in :data:`gigafleet.enums.PRECISIONS` and
:data:`gigafleet.enums.RECOMPUTE`, and each strategy carries the code of the first
constraint it breaks (:class:`Reason`, 0 when it is feasible).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from gigafleet.catalog.schema import ModelArch
from gigafleet.perf.hardware import Hardware


class Precision(IntEnum):
    """GEMM precision, numbered as :data:`gigafleet.enums.PRECISIONS` orders them."""

    BF16 = 0
    FP8 = 1
    FP4 = 2


class Recompute(IntEnum):
    """Activation recomputation, numbered as :data:`gigafleet.enums.RECOMPUTE`."""

    NONE = 0
    SELECTIVE = 1
    FULL = 2


class Reason(IntEnum):
    """Why a strategy is infeasible; checked in the order of :func:`strategy.check`, the
    first broken constraint wins (memory last, once the rest holds)."""

    FEASIBLE = 0
    GPU_COUNT = 1
    HEADS = 2
    LAYERS = 3
    EXPERTS = 4
    EXPERT_GROUP = 5
    GLOBAL_BATCH = 6
    SEQUENCE = 7
    VP_WITHOUT_PP = 8
    EP_WITHOUT_MOE = 9
    PRECISION = 10
    MEMORY = 11
    NOT_POSITIVE_INTEGER = 12
    OFFLOAD = 13
    TOO_FEW_MICRO_BATCHES = 14
    KV_HEADS = 15
    OUT_OF_RANGE = 16


#: Why a strategy is infeasible, in words (:attr:`TrainingEstimate.reason`; :func:`explain`
#: gives the numbers of one strategy for the structural constraints).
REASONS: dict[int, str] = {
    Reason.GPU_COUNT: "tp x pp x cp does not divide the GPU count",
    Reason.HEADS: "tp does not divide the attention heads",
    Reason.LAYERS: "pp x vp does not divide the layers",
    Reason.EXPERTS: "ep does not divide the experts",
    Reason.EXPERT_GROUP: "ep does not divide tp x dp x cp (expert parallelism is carved from them)",
    Reason.GLOBAL_BATCH: "dp x micro_batch does not divide the global batch",
    Reason.SEQUENCE: "2 x cp does not divide the sequence length",
    Reason.VP_WITHOUT_PP: "vp > 1 needs pp > 1",
    Reason.EP_WITHOUT_MOE: "ep > 1 needs a MoE model",
    Reason.PRECISION: "the accelerator does not support this precision",
    Reason.MEMORY: "does not fit in GPU memory",
    Reason.NOT_POSITIVE_INTEGER: "degrees must be positive integers",
    Reason.OFFLOAD: "offload must be a fraction of the layers, 0 to 1",
    Reason.TOO_FEW_MICRO_BATCHES: "the interleaved schedule needs at least pp micro-batches per step",
    Reason.KV_HEADS: "tp does not divide the key-value heads",
    Reason.OUT_OF_RANGE: "zero must be 0-3, recompute and precision one of their listed values",
}


def memory_message(need_bytes: float, *, hbm_bytes: float) -> str:
    """The words of :attr:`Reason.MEMORY` with what one strategy needs and has."""
    return f"does not fit in GPU memory: needs {need_bytes / 2**30:.1f} GiB, has {hbm_bytes / 2**30:.1f} GiB"


def explain(code: int, *, arch_row: ModelArch, hw: Hardware, values: dict[str, Any]) -> str:
    """A one-line message for a structural constraint, with the numbers of one strategy.

    ``values`` holds that strategy's scalars: ``tp``, ``pp``, ``cp``, ``ep``, ``vp``,
    ``num_gpus``, ``micro_batch``, ``global_batch``, ``seq_len`` and ``offload``.
    """
    tp, pp, cp, ep, vp = (int(values[k]) for k in ("tp", "pp", "cp", "ep", "vp"))
    n, mb, gbs, seq = (
        int(values["num_gpus"]),
        int(values["micro_batch"]),
        int(values["global_batch"]),
        int(values["seq_len"]),
    )
    mp = tp * pp * cp
    dp = n // mp if mp else 0
    layers = arch_row.num_layers
    experts = arch_row.moe.num_experts if arch_row.moe else 0
    allowed_prec = ", ".join(hw.accelerator.precisions)
    msgs = {
        Reason.GPU_COUNT: f"tp x pp x cp = {tp} x {pp} x {cp} = {mp} must divide num_gpus = {n}",
        Reason.HEADS: f"tp = {tp} must divide the {arch_row.num_attention_heads} attention heads of {arch_row.name}",
        Reason.LAYERS: f"pp x vp = {pp} x {vp} = {pp * vp} must divide the {layers} layers of {arch_row.name} "
        "(or allow uneven layers: a custom pipeline layout)",
        Reason.EXPERTS: f"ep = {ep} must divide the {experts} experts of {arch_row.name}",
        Reason.EXPERT_GROUP: f"ep = {ep} must divide tp x dp x cp = {tp} x {dp} x {cp} = {tp * dp * cp}",
        Reason.GLOBAL_BATCH: f"dp x micro_batch = {dp} x {mb} = {dp * mb} must divide global_batch = {gbs}",
        Reason.SEQUENCE: f"2 x cp = {2 * cp} must divide seq_len = {seq}",
        Reason.VP_WITHOUT_PP: f"vp = {vp} needs pp > 1 (interleaving splits pipeline stages)",
        Reason.EP_WITHOUT_MOE: f"ep = {ep} needs a MoE model; {arch_row.name} is dense",
        Reason.PRECISION: f"precision not supported by {hw.accelerator.name}; allowed: {allowed_prec}",
        Reason.NOT_POSITIVE_INTEGER: "parallel degrees, micro_batch, global_batch, seq_len and num_gpus must be positive integers",
        Reason.OFFLOAD: f"offload = {values['offload']} must be a fraction of the layers, 0 to 1",
        Reason.KV_HEADS: f"tp = {tp} must divide the {arch_row.kv_heads} key-value heads of {arch_row.name} "
        "(Megatron-Core num_query_groups % tp == 0)",
        Reason.OUT_OF_RANGE: "zero must be 0, 1, 2 or 3; recompute none, selective or full; precision bf16, fp8 or fp4",
        Reason.TOO_FEW_MICRO_BATCHES: f"vp = {vp} (interleaved 1F1B) needs at least pp = {pp} micro-batches per step; "
        f"global_batch / (dp x micro_batch) = {gbs / max(dp * mb, 1):g}",
    }
    return msgs.get(code, REASONS.get(code, "invalid strategy"))
