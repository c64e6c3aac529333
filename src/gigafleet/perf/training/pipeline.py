"""One micro-batch on one pipeline stage: its compute, the communication it cannot hide,
and the step of interleaved 1F1B (Narayanan et al. SC21, Sec. 2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.perf import collectives as coll
from gigafleet.perf.arch import ArchCosts
from gigafleet.perf.collectives import Network
from gigafleet.perf.training.constants import ATTENTION_BACKWARD_RATIO, TP_OVERLAP
from gigafleet.perf.training.passes import Layers, Passes
from gigafleet.perf.training.strategy import Strategy


@dataclass(frozen=True, slots=True)
class Stage:
    """Times of one micro-batch on the pipeline stage that sets the pace."""

    compute_mb: Any  # forward, backward, fixed and recompute
    tp_exposed_mb: Any
    cp_exposed_mb: Any
    ep_exposed_mb: Any
    pp_exposed_mb: Any


def stage(arch: ArchCosts, *, s: Strategy, ly: Layers, ps: Passes, net: Network) -> Stage:
    """The stage's compute and its exposed TP, CP, EP and PP communication.

    Layers split evenly over the pp stages; the logits, loss and MTP modules sit on the
    last stage, which sets the pace, unless the layers do not divide evenly: sources then
    use a custom layout that balances them (Megatron-Core pipeline_model_parallel_layout),
    and we take 1/pp of everything.
    """
    pp, vp, hd = s.pp, s.vp, ly.head

    def per_stage(layers_part, last_part):
        return np.where(
            (pp > 1) & (not s.uneven_layers),
            layers_part / pp + last_part,
            (layers_part + last_part) / pp,
        )

    last_f = hd.logit_gemm + hd.mtp_gemm + hd.mtp_core + hd.logit_ew + hd.mtp_ew + ps.mtp_fixed_f
    last_b = (
        (hd.logit_gemm + hd.mtp_gemm) * (1.0 if s.lora else 2.0)
        + hd.mtp_core * ATTENTION_BACKWARD_RATIO
        + 2 * (hd.logit_ew + hd.mtp_ew + ps.mtp_fixed_f)
    )
    compute_mb = per_stage(ps.total_fb - last_f - last_b, last_f + last_b)
    # Ring attention overlaps the KV exchange with the attention compute.
    core_per_layer = ps.attn_core_f / max(arch.num_attn, 1)
    a_cp = ly.attn.cp_p2p
    cp_exposed_f = arch.num_attn * np.maximum(0.0, a_cp - core_per_layer)
    cp_exposed_b = arch.num_attn * np.maximum(
        0.0, 2 * a_cp - ATTENTION_BACKWARD_RATIO * core_per_layer
    )
    # MoE all-to-all, forward and backward. With overlap (Megatron-Core
    # overlap_moe_expert_parallel_comm with delay_wgrad_compute) it hides behind the layer's
    # weight-gradient GEMMs, which are deferred to run alongside it: one GEMM pass of the
    # layer. What is longer stays exposed.
    n_moe_a2a = arch.num_moe + arch.mtp_layers * (arch.num_moe > 0)
    ep_hidden = n_moe_a2a * np.maximum(0.0, 2 * ly.moe.a2a - (ly.attn.gemm + ly.moe.gemm))
    # stage boundary, scatter-gather over SP
    p2p = coll.p2p_time(ly.tokens.tsp * float(arch.hidden) * 2.0, False, net)
    chunk = compute_mb / vp
    return Stage(
        compute_mb=compute_mb,
        tp_exposed_mb=2 * ps.tp_f * (1 - TP_OVERLAP) / pp,
        cp_exposed_mb=(cp_exposed_f + cp_exposed_b) / pp,
        ep_exposed_mb=np.where(s.ep_overlap > 0, ep_hidden, 2 * ps.a2a_f) / pp,
        pp_exposed_mb=np.where(pp > 1, 2 * vp * np.maximum(0.0, p2p - chunk / 2), 0.0),
    )


def offload_time(s: Strategy, *, act_mb_bytes, compute_mb, host_link_bw: float):
    """Activation offload: the saved activations of ``offload`` of the layers go to host
    memory in the forward pass and come back in the backward pass, behind the compute."""
    return np.maximum(0.0, 2 * s.offload * act_mb_bytes / host_link_bw - compute_mb)


def micro_batch_time(s: Strategy, *, st: Stage, ps: Passes, fsdp_mb, offload_mb):
    """``t_mb``: the stage's compute plus every exposed transfer of one micro-batch."""
    t_mb = (
        st.compute_mb
        + st.tp_exposed_mb
        + st.cp_exposed_mb
        + st.ep_exposed_mb
        + st.pp_exposed_mb
        + fsdp_mb
        + offload_mb
    )
    return t_mb + (ps.recompute_tp + ps.recompute_a2a) / s.pp


def bubble_time(s: Strategy, *, t_mb):
    """Interleaved 1F1B idles ``(pp - 1) / vp`` micro-batches per step."""
    return (s.pp - 1) / s.vp * t_mb
