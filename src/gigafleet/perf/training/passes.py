"""One micro-batch through all layers on one GPU: forward, backward and recomputation.

Summed over the model's layers (before the pipeline split): GEMMs, attention cores (and
the Mamba scan), memory-bound operators, fixed per-kernel times, and the TP collectives and
MoE all-to-alls the layers issue. The backward pass runs dgrad and wgrad GEMMs (LoRA
freezes the base weights: dgrad only), ``ATTENTION_BACKWARD_RATIO`` times the attention
core, and twice the memory-bound traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.perf.arch import ArchCosts
from gigafleet.perf.training.codes import Recompute
from gigafleet.perf.training.constants import (
    ATTENTION_BACKWARD_RATIO,
    SELECTIVE_RECOMPUTE_TIME,
    TP_OVERLAP,
)
from gigafleet.perf.training.efficiency import Efficiency
from gigafleet.perf.training.layers import Attention, Head, Mamba, Mlp, Moe, Tokens
from gigafleet.perf.training.strategy import Strategy


@dataclass(frozen=True, slots=True)
class Layers:
    """One layer of each type, and the head, forward (see :mod:`.layers`)."""

    tokens: Tokens
    attn: Attention
    mlp: Mlp
    moe: Moe
    mamba: Mamba
    head: Head


@dataclass(frozen=True, slots=True)
class Passes:
    """Times of one micro-batch through all the layers on one GPU (``_f`` forward, ``_b``
    backward)."""

    attn_core_f: Any  # attention cores alone (ring attention hides the KV exchange here)
    gemm_f: Any
    core_f: Any  # attention cores, the Mamba scan
    ew_f: Any  # memory-bound operators
    tp_f: Any  # TP collectives of the forward pass
    a2a_f: Any  # MoE all-to-all of the forward pass
    fixed_f: Any  # fixed times: MoE local experts, Mamba-2 kernel chains
    mtp_fixed_f: Any  # the MTP modules' share of ``fixed_f``
    gemm_b: Any
    core_b: Any
    ew_b: Any
    fixed_fb: Any  # forward and backward fixed times
    recompute_t: Any  # recomputed forward compute
    recompute_tp: Any  # exposed TP collectives of full recomputation
    recompute_a2a: Any  # MoE all-to-all of full recomputation
    total_fb: Any  # all compute: forward, backward, fixed, recompute


def forward_backward(arch: ArchCosts, *, s: Strategy, eff: Efficiency, ly: Layers) -> Passes:
    """Sum the layers by type, then derive the backward pass and the recomputation."""
    attn, mlp, moe, mam, hd = ly.attn, ly.mlp, ly.moe, ly.mamba, ly.head
    mtp = arch.mtp_layers
    n_full = arch.num_attn - arch.num_sliding
    attn_core_f = n_full * attn.core_full + arch.num_sliding * attn.core_win
    n_blocks_tp = arch.num_attn + arch.num_mlp + arch.num_moe + arch.num_mamba + 2 * mtp
    gemm_f = (
        arch.num_attn * attn.gemm
        + arch.num_mlp * mlp.gemm
        + arch.num_moe * moe.gemm
        + arch.num_mamba * mam.gemm
        + hd.logit_gemm
        + hd.mtp_gemm
    )
    core_f = attn_core_f + arch.num_mamba * mam.scan + hd.mtp_core
    ew_f = (
        arch.num_attn * attn.ew
        + arch.num_mlp * mlp.ew
        + arch.num_moe * moe.ew
        + arch.num_mamba * mam.ew
        + hd.logit_ew
        + hd.mtp_ew
    )
    tp_f = n_blocks_tp * ly.tokens.t_tp_coll
    a2a_f = (arch.num_moe + mtp * (arch.num_moe > 0)) * moe.a2a
    # Mamba-2 layers: a fixed time per layer as well (calibrated, ``mamba_fixed_s``). The
    # chunked SSD scan runs as a chain of small Triton kernels (chunk cumsum, chunk state,
    # state passing, chunk scan, gated norm; about twice as many in the backward pass) that
    # run far below both rooflines above; the hybrid rows (Nano at 16K tokens per rank,
    # Super at 8K, TP 1 and 2) fit a time per layer better than one per token, so the
    # constant takes the whole shortfall, launch and kernel time alike.
    fixed_f = (arch.num_moe + mtp * (arch.num_moe > 0)) * moe.fixed + (
        arch.num_mamba * eff.mamba_fixed_s
    )

    # Backward: dgrad + wgrad GEMMs (LoRA freezes the base weights: dgrad only).
    gemm_b = gemm_f * (1.0 if s.lora else 2.0)
    core_b = core_f * ATTENTION_BACKWARD_RATIO
    ew_b = 2.0 * ew_f
    # Selective recompute: with fused attention, the cheap elementwise operators (norms,
    # activations); without, the attention scores (Korthikanti et al. 2022).
    selective_t = (
        ew_f * SELECTIVE_RECOMPUTE_TIME
        if s.flash_attention
        else attn_core_f + arch.num_attn * attn.scores_ew
    )
    full = s.rec == Recompute.FULL
    recompute_t = np.where(
        full, gemm_f + core_f + ew_f + fixed_f,
        np.where(s.rec == Recompute.SELECTIVE, selective_t, 0.0),
    )  # fmt: skip
    # The backward pass launches dgrad and wgrad kernels per expert: twice the forward.
    fixed_fb = 3.0 * fixed_f
    return Passes(
        attn_core_f=attn_core_f,
        gemm_f=gemm_f,
        core_f=core_f,
        ew_f=ew_f,
        tp_f=tp_f,
        a2a_f=a2a_f,
        fixed_f=fixed_f,
        mtp_fixed_f=mtp * (arch.num_moe > 0) * moe.fixed,
        gemm_b=gemm_b,
        core_b=core_b,
        ew_b=ew_b,
        fixed_fb=fixed_fb,
        recompute_t=recompute_t,
        recompute_tp=np.where(full, tp_f * (1 - TP_OVERLAP), 0.0),
        recompute_a2a=np.where(full, a2a_f, 0.0),
        total_fb=gemm_f + gemm_b + core_f + core_b + ew_f + ew_b + fixed_fb + recompute_t,
    )
