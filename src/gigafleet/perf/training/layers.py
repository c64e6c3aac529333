"""Forward time of one micro-batch through one layer of each type, on one GPU.

Attention, dense MLP, MoE and Mamba-2 layers, and the head (logits and loss, and the MTP
modules), each on the rooflines of :mod:`.roofline`. Column-parallel GEMMs split N by TP,
row-parallel ones K; sequence-parallel regions (norms, residuals, the router) hold
``1/tp`` of the tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.perf import collectives as coll
from gigafleet.perf.arch import ArchCosts
from gigafleet.perf.collectives import Network
from gigafleet.perf.training.efficiency import Efficiency
from gigafleet.perf.training.roofline import Roofline
from gigafleet.perf.training.strategy import Strategy


@dataclass(frozen=True, slots=True)
class Tokens:
    """The tokens of one micro-batch on one rank, and the groups it talks to."""

    t: Any  # tokens of the micro-batch on this rank
    tsp: Any  # sequence-parallel share
    norm_res: float  # two norms' read+write and two residual adds, BF16 bytes per token
    g_cp: Any  # ranks of the CP group per scale-up domain
    g_ep: Any  # ranks of the EP group per scale-up domain
    n_ep: Any  # scale-up domains the EP group spans
    t_tp_coll: Any  # TP all-gather + reduce-scatter of one block's activations


def tokens(arch: ArchCosts, *, s: Strategy, net: Network) -> Tokens:
    """Tokens per rank and the collective groups: TP ranks are adjacent; CP stride tp; EP
    (ETP=1) adjacent."""
    h = float(arch.hidden)
    t = s.mb * s.seq / s.cp
    g_tp, n_tp = coll.group_layout(s.tp, 1, net.domain_size)
    g_cp, _ = coll.group_layout(s.cp, s.tp, net.domain_size)
    g_ep, n_ep = coll.group_layout(s.ep, 1, net.domain_size)
    act_bytes = t * h * 2.0
    return Tokens(
        t=t,
        tsp=t / s.tp,
        norm_res=10.0 * h,
        g_cp=g_cp,
        g_ep=g_ep,
        n_ep=n_ep,
        t_tp_coll=2 * coll.reduce_scatter_time(act_bytes, g_tp, n_tp, net),  # AG + RS per block
    )


@dataclass(frozen=True, slots=True)
class Attention:
    """One attention layer, forward."""

    gemm: Any
    core_full: Any  # attention core over all (causal) keys
    core_win: Any  # attention core of a sliding-window layer
    ew: Any  # memory-bound operators, unfused scores included
    scores_ew: Any  # unfused attention only: writing and softmax of the score matrix
    cp_p2p: Any  # ring-attention KV exchange over the CP group (cp - 1 steps)


def attention(arch: ArchCosts, *, s: Strategy, rf: Roofline, tk: Tokens, net: Network) -> Attention:
    """Projections, the attention core (FlashAttention skips masked blocks: ``seq / 2``
    keys per query), norms, and the ring-attention exchange of context parallelism."""
    t, tsp, tp, h = tk.t, tk.tsp, s.tp, float(arch.hidden)
    keys_full = s.seq / 2.0 if s.flash_attention else s.seq  # unfused skips no masked block
    keys_win = np.minimum(arch.window, s.seq / 2.0)
    # Column-parallel GEMMs split N, row-parallel split K; replicated ones (MLA down
    # projections) run on each rank's sequence-parallel shard (Megatron-Core MLA).
    a_gemm = sum(
        rf.gemm(tsp if split == 0 else t, n / tp if split == 1 else n, k / tp if split == 2 else k)
        for n, k, split in arch.attn_gemms
    )
    # Unfused attention writes the scores, and softmax (and the dropout mask) read and
    # write them: about 7 bytes per score.
    scores_ew = 0.0 if s.flash_attention else rf.ew(t * arch.num_heads / tp * s.seq * 7.0)
    a_ew = (
        rf.ew(
            tsp * tk.norm_res / 2
            + t * 4.0 * arch.q_width / tp
            + rf.cast * (tsp * h + t * arch.attn_out_in / tp)
        )
        + scores_ew
    )
    cp_bytes = t * arch.kv_bytes_per_token / tp
    cp_same = tk.g_cp >= s.cp
    return Attention(
        gemm=a_gemm,
        core_full=rf.attention(t * keys_full * arch.core_flops_per_key / tp),
        core_win=rf.attention(t * keys_win * arch.core_flops_per_key / tp),
        ew=a_ew,
        scores_ew=scores_ew,
        cp_p2p=np.where(s.cp > 1, (s.cp - 1) * coll.p2p_time(cp_bytes, cp_same, net), 0.0),
    )


@dataclass(frozen=True, slots=True)
class Mlp:
    """One dense MLP layer, forward."""

    gemm: Any
    ew: Any
    act_rw: float  # bytes read and written per FFN unit by the activation function


def dense_mlp(arch: ArchCosts, *, s: Strategy, rf: Roofline, tk: Tokens) -> Mlp:
    """Up (and gate) and down projections; the norm, activation and casts."""
    t, tsp, tp, h = tk.t, tk.tsp, s.tp, float(arch.hidden)
    act_rw = 6.0 if arch.mlp_mats == 3 else 4.0
    return Mlp(
        gemm=rf.gemm(t, (arch.mlp_mats - 1) * arch.ffn / tp, h) + rf.gemm(t, h, arch.ffn / tp),
        ew=rf.ew(
            tsp * tk.norm_res / 2 + t * act_rw * arch.ffn / tp + rf.cast * t * (h + arch.ffn) / tp
        ),
        act_rw=act_rw,
    )


@dataclass(frozen=True, slots=True)
class Moe:
    """One MoE layer, forward (all zero for a model without MoE layers)."""

    gemm: Any
    ew: Any
    a2a: Any  # dispatch + combine
    fixed: Any  # fixed time of the local experts' launches (no CUDA graphs)


def moe(
    arch: ArchCosts,
    *,
    s: Strategy,
    rf: Roofline,
    tk: Tokens,
    mlp: Mlp,
    eff: Efficiency,
    net: Network,
) -> Moe:
    """Router, grouped expert GEMMs on the local experts, shared experts, permutation."""
    if not arch.num_moe:
        return Moe(gemm=0.0, ew=0.0, a2a=0.0, fixed=0.0)
    t, tsp, tp, ep, h = tk.t, tk.tsp, s.tp, s.ep, float(arch.hidden)
    gemm = rf.gemm
    local_experts = arch.num_experts / ep
    # Token dropping pads (or drops) every expert to capacity_factor x the balanced load.
    drop = s.capacity > 0
    tok_per_expert = tsp * arch.top_k * ep / arch.num_experts * np.where(drop, s.capacity, 1.0)
    d_e = float(arch.expert_width)
    e_gemm_t = local_experts * (
        gemm(tok_per_expert, (arch.mlp_mats - 1) * arch.expert_ffn, d_e)
        + gemm(tok_per_expert, d_e, arch.expert_ffn)
    )
    if arch.expert_width != arch.hidden:  # LatentMoE down and up projections
        e_gemm_t = e_gemm_t + gemm(tsp, d_e, h) + gemm(tsp, h, d_e)
    s_gemm = (
        gemm(t, (arch.mlp_mats - 1) * arch.shared_ffn / tp, h) + gemm(t, h, arch.shared_ffn / tp)
        if arch.shared_ffn
        else 0.0
    )
    r_gemm = gemm(tsp, float(arch.num_experts), h)
    # Token shuffling per routed copy, read + write in BF16 each: permute and unpermute,
    # and with ep > 1 also the sort by expert after dispatch and its inverse before
    # combine (Megatron-Core MoEAlltoAllTokenDispatcher). The router's softmax, top-k
    # and load-balancing loss touch the FP32 logits about four times.
    shuffle = np.where(ep > 1, 16.0, 8.0) * d_e
    act_rw, cast = mlp.act_rw, rf.cast
    moe_ew = rf.ew(
        tsp * tk.norm_res / 2
        + tsp * 16.0 * arch.num_experts
        + tsp * arch.top_k * (shuffle + act_rw * arch.expert_ffn + cast * (d_e + arch.expert_ffn))
        + t * (act_rw * arch.shared_ffn + cast * (h + arch.shared_ffn)) / tp
    )
    a2a = 2 * coll.moe_dispatch_time(  # dispatch + combine
        tsp * d_e * 2.0, arch.top_k, tk.g_ep, tk.n_ep, net, dedup=s.ep_dedup > 0
    )
    # Dropless MoE sizes each expert's GEMMs from the routing, which the host reads back
    # (a device-to-host sync per dispatch), so the host cannot run ahead of the GPU
    # there: each local expert's kernels (casts, GEMMs, activation; their gradients) cost
    # launch and minimum-kernel time that nothing hides. A fixed time per local expert
    # per MoE layer (calibrated, ``moe_expert_fixed_s``), gone when the whole iteration
    # is captured in CUDA graphs with device-side expert sizes. Token dropping with padding
    # gives every expert a static capacity the host knows without a sync (Megatron-Core
    # MoEAlltoAllTokenDispatcher.preprocess, drop_and_pad: "no_sync"): the host runs ahead
    # and the launches hide behind the layer's GPU work; only what exceeds it shows.
    launches = local_experts * eff.expert_fixed_s
    gemm_all = e_gemm_t + s_gemm + r_gemm
    fixed = np.where(
        s.graphs > 0, 0.0, np.where(drop, np.maximum(0.0, launches - gemm_all - moe_ew), launches)
    )
    return Moe(gemm=gemm_all, ew=moe_ew, a2a=a2a, fixed=fixed)


@dataclass(frozen=True, slots=True)
class Mamba:
    """One Mamba-2 layer, forward (all zero for a model without Mamba layers)."""

    gemm: Any
    scan: Any
    ew: Any


def mamba(arch: ArchCosts, *, s: Strategy, rf: Roofline, tk: Tokens) -> Mamba:
    """In and out projections, the SSD scan, norms and the gated output."""
    if not arch.num_mamba:
        return Mamba(gemm=0.0, scan=0.0, ew=0.0)
    t, tp, h = tk.t, s.tp, float(arch.hidden)
    # The SSD scan: its (small) FLOPs at attention efficiency, or its state traffic over
    # HBM, whichever is slower; plus the fixed time per layer (passes.forward).
    return Mamba(
        gemm=rf.gemm(t, arch.mamba_in_width / tp, h) + rf.gemm(t, h, arch.mamba_inner / tp),
        scan=np.maximum(
            rf.attention(t * arch.mamba_scan_flops / tp),
            rf.ew(t * arch.mamba_ssd_bytes / tp),
        ),
        ew=rf.ew(tk.tsp * tk.norm_res / 2 + t * arch.mamba_bytes / tp),
    )


@dataclass(frozen=True, slots=True)
class Head:
    """The last stage's own work: logits and loss, and the MTP modules, forward."""

    logit_gemm: Any
    logit_ew: Any
    mtp_gemm: Any  # all MTP modules: a block, a projection and logits each
    mtp_core: Any
    mtp_ew: Any


def head(
    arch: ArchCosts,
    *,
    s: Strategy,
    rf: Roofline,
    tk: Tokens,
    attn: Attention,
    mlp: Mlp,
    moe_layer: Moe,
) -> Head:
    """Logits and loss on the last stage; MTP modules add a block, a projection and logits."""
    t, tp, h = tk.t, s.tp, float(arch.hidden)
    v = float(arch.vocab)
    logit_gemm = rf.gemm(t, v / tp, h)
    logit_ew = rf.ew(t * v / tp * 4.0 * 3)  # FP32 logits: write, softmax read+write
    mtp = arch.mtp_layers
    ffn_gemm, ffn_ew = (moe_layer.gemm, moe_layer.ew) if arch.num_moe else (mlp.gemm, mlp.ew)
    return Head(
        logit_gemm=logit_gemm,
        logit_ew=logit_ew,
        mtp_gemm=mtp * (attn.gemm + ffn_gemm + rf.gemm(t, h / tp, 2 * h) + logit_gemm),
        mtp_core=mtp * attn.core_full,
        mtp_ew=mtp * (attn.ew + ffn_ew + logit_ew),
    )
