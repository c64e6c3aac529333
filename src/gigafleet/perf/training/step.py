"""The vectorised training step: the stages of the model in order, and its outputs."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gigafleet.perf.arch import ArchCosts
from gigafleet.perf.hardware import Hardware
from gigafleet.perf.training import layers
from gigafleet.perf.training.codes import Reason
from gigafleet.perf.training.data_parallel import data_parallel
from gigafleet.perf.training.efficiency import Efficiency
from gigafleet.perf.training.lora import Lora, adapter_flops_per_token, add_adapters, lora_terms
from gigafleet.perf.training.memory import memory_per_gpu, saved_activation_bytes
from gigafleet.perf.training.passes import Layers, forward_backward
from gigafleet.perf.training.phases import phase_seconds
from gigafleet.perf.training.pipeline import bubble_time, micro_batch_time, offload_time, stage
from gigafleet.perf.training.roofline import roofline
from gigafleet.perf.training.strategy import as_strategy, check, flag


def _quiet(fn):
    """Run a vectorised model with numpy's warnings off: infeasible strategies may divide by
    zero on the way, and they are reported through ``reason_code``, never printed."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(*args, **kwargs)

    return wrapper


@_quiet
def training_step(
    arch: ArchCosts,
    hw: Hardware,
    eff: Efficiency,
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
    offload=0.0,
    ep_overlap=0.0,
    ep_dedup=0.0,
    cuda_graphs=0.0,
    lora: bool = False,
    uneven_layers: bool = False,
    flash_attention: bool = True,
    lora_adapters: Lora | None = None,
) -> dict[str, Any]:
    """The vectorised core: all strategy arguments are float arrays (or scalars) that broadcast.

    ``precision`` and ``recompute`` are :class:`~.codes.Precision` and
    :class:`~.codes.Recompute` codes (indices into :data:`PRECISIONS` and :data:`RECOMPUTE`);
    ``zero`` is the ZeRO stage (0 plain data parallel, 1 distributed optimizer, 2 also
    gradients, 3 FSDP); ``offload`` the fraction of layers whose saved activations go to host
    memory; ``ep_overlap`` (0/1) hides MoE all-to-all behind deferred weight-gradient GEMMs;
    ``ep_dedup`` (0/1) dispatches tokens once per remote domain (DeepEP / HybridEP);
    ``cuda_graphs`` (0/1) captures the whole iteration, MoE layers included, in CUDA graphs
    (device-side expert sizes), which removes the per-expert fixed cost (:func:`.layers.moe`).
    ``flash_attention=False`` models the unfused attention of older frameworks: the full
    score matrix is computed, written to HBM and kept for the backward pass (Korthikanti et
    al. 2022: ``5 a s^2 b / t`` bytes per layer) unless recomputed (selective recompute).
    Returns a dict of arrays (see :class:`TrainingEstimate`), with ``breakdown_s`` by term
    and ``phase_s`` by GPU phase (:data:`~.phases.PHASES`).

    ``lora`` freezes the base weights; ``lora_adapters`` (which implies it) also costs the
    adapters: their GEMMs, memory, gradient reduction and optimizer step (:mod:`.lora`).
    """
    lora = lora or lora_adapters is not None
    s = as_strategy(
        num_gpus=num_gpus, tp=tp, pp=pp, cp=cp, ep=ep, vp=vp, micro_batch=micro_batch,
        global_batch=global_batch, seq_len=seq_len, precision=precision, zero=zero,
        recompute=recompute, offload=offload, ep_overlap=ep_overlap, ep_dedup=ep_dedup,
        cuda_graphs=cuda_graphs, lora=lora, uneven_layers=uneven_layers,
        flash_attention=flash_attention,
    )  # fmt: skip
    code = check(arch, acc=hw.accelerator, s=s)
    rf = roofline(hw, eff=eff, pidx=s.pidx)

    # one micro-batch, forward, per GPU, one layer of each type
    tk = layers.tokens(arch, s=s, net=hw.net)
    attn = layers.attention(arch, s=s, rf=rf, tk=tk, net=hw.net)
    mlp = layers.dense_mlp(arch, s=s, rf=rf, tk=tk)
    moe = layers.moe(arch, s=s, rf=rf, tk=tk, mlp=mlp, eff=eff, net=hw.net)
    ly = Layers(
        tokens=tk, attn=attn, mlp=mlp, moe=moe, mamba=layers.mamba(arch, s=s, rf=rf, tk=tk),
        head=layers.head(arch, s=s, rf=rf, tk=tk, attn=attn, mlp=mlp, moe_layer=moe),
    )  # fmt: skip

    # all layers: forward, backward, recompute; then one pipeline stage and data parallel
    ps = forward_backward(arch, s=s, eff=eff, ly=ly)
    if lora_adapters is not None:
        ps = add_adapters(arch, s=s, rf=rf, eff=eff, tk=tk, ps=ps, lora=lora_adapters)
    st = stage(arch, s=s, ly=ly, ps=ps, net=hw.net)
    dpar = data_parallel(arch, s=s, ps=ps, hw=hw)
    act_mb_bytes = saved_activation_bytes(arch, s=s, t=tk.t)  # one micro-batch on this stage
    adapters = None
    if lora_adapters is not None:
        adapters = lora_terms(arch, s=s, tk=tk, ps=ps, dpar=dpar, hw=hw, lora=lora_adapters)
        act_mb_bytes = act_mb_bytes + adapters.act_bytes
    offload_mb = offload_time(
        s, act_mb_bytes=act_mb_bytes, compute_mb=st.compute_mb, host_link_bw=hw.host_link_bw
    )
    t_mb = micro_batch_time(s, st=st, ps=ps, fsdp_mb=dpar.fsdp_mb, offload_mb=offload_mb)
    bubble = bubble_time(s, t_mb=t_mb)
    dp_exposed, t_opt = dpar.dp_exposed, dpar.t_opt
    if adapters is not None:
        dp_exposed, t_opt = dp_exposed + adapters.dp_exposed, t_opt + adapters.t_opt
    step = s.num_micro * t_mb + bubble + dp_exposed + t_opt

    memory = memory_per_gpu(
        arch, s=s, dpar=dpar, act_mb_bytes=act_mb_bytes, t=tk.t, hbm_bytes=hw.hbm_bytes
    )
    if adapters is not None:
        memory = memory + adapters.memory_bytes
    code = flag(code, memory > hw.hbm_bytes, Reason.MEMORY)

    # outputs
    num_micro, pp = s.num_micro, s.pp
    tps = s.gbs * s.seq / step
    fwd_flops_tok = (
        arch.forward_flops_per_token(s.seq)
        if np.ndim(s.seq) == 0
        else np.vectorize(arch.forward_flops_per_token)(s.seq)
    )
    model_flops_tok = fwd_flops_tok * (2.0 if lora else 3.0)
    if adapters is not None:  # the adapters' GEMMs: forward once, backward twice
        model_flops_tok = model_flops_tok + 3.0 * adapter_flops_per_token(arch, lora_adapters)
    tflops_gpu = tps * model_flops_tok / s.num_gpus / 1e12
    per_step = num_micro * st.compute_mb / ps.total_fb  # the stage's share of the model's work
    breakdown = {
        "gemm_s": per_step * (ps.gemm_f + ps.gemm_b),
        "attention_s": per_step * (ps.core_f + ps.core_b),
        "memory_bound_s": per_step * (ps.ew_f + ps.ew_b),
        "moe_fixed_s": per_step * ps.fixed_fb,
        "recompute_s": per_step * ps.recompute_t,
        "tp_comm_s": num_micro * (st.tp_exposed_mb + ps.recompute_tp / pp),
        "cp_comm_s": num_micro * st.cp_exposed_mb,
        "ep_comm_s": num_micro * (st.ep_exposed_mb + ps.recompute_a2a / pp),
        "pp_comm_s": num_micro * st.pp_exposed_mb,
        "dp_comm_s": dp_exposed + num_micro * dpar.fsdp_mb,
        "bubble_s": bubble,
        "offload_s": num_micro * offload_mb,
        "optimizer_s": t_opt,
    }
    return {
        "reason_code": code,
        "step_time_s": step,
        "tokens_per_s": tps,
        "tokens_per_s_per_gpu": tps / s.num_gpus,
        "model_flops_per_token": model_flops_tok,
        "model_tflops_per_gpu": tflops_gpu,
        "mfu": tflops_gpu * 1e12 / rf.peak,
        "memory_bytes_per_gpu": memory,
        "breakdown_s": breakdown,
        "phase_s": phase_seconds(breakdown),
        "dp": s.dp,
        "num_micro": num_micro,
    }
