"""LLM training step time, memory and throughput, vectorised over strategies.

One call evaluates any number of strategies at once: every degree (``tp``, ``pp``, ``cp``,
``ep``, ``vp``, ``dp``), ``micro_batch``, ``zero``, ``recompute`` and ``precision`` may be
a numpy array, and all outputs broadcast to their common shape.

The step (Narayanan et al. SC21, Sec. 2-3; Korthikanti et al. 2022) is

    t_step = (m + (pp - 1) / vp) * t_mb + t_dp + t_opt

with ``m = global_batch / (dp * micro_batch)`` micro-batches per pipeline, ``t_mb`` the time
of one micro-batch on one pipeline stage (forward, backward and recompute of its layers,
plus the communication that is not hidden behind them), ``(pp-1)/vp`` micro-batches of
pipeline bubble (interleaved 1F1B), ``t_dp`` the data-parallel gradient and parameter
traffic that is not overlapped, and ``t_opt`` the memory-bound optimizer step.

Each operator is timed on its own roofline: a GEMM takes
``max(F / (P * e * s(M, N, K)), bytes / (B * e_mem))`` where ``P`` is the dense peak at the
training precision, ``e`` the calibrated GEMM efficiency of the hardware generation and
precision, and ``s = prod_d d / (d + 128)`` the shape efficiency over the GEMM's three
dimensions (small dimensions fill fewer 128-wide tiles). Attention and the Mamba scan run
in BF16 at ``ATTENTION_EFFICIENCY_RATIO`` of the BF16 GEMM efficiency. Norms, residuals,
activations, rotary embeddings, FP8 casts and MoE token permutation are memory-bound and
take their bytes over ``e_mem`` of HBM bandwidth (quantising a GEMM operand costs
:data:`CAST_BYTES` per element). Dropless MoE layers add a fixed time per local expert
(``moe_expert_fixed_s``, calibrated; three times per layer for forward and backward): the
host reads the routed token counts back before it can size the expert GEMMs, so their
per-expert launches are not hidden; whole-iteration CUDA graphs remove it. Mamba-2 layers
add a fixed time per layer (``mamba_fixed_s``, calibrated) for the chain of small SSD kernels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import ModelArch, System
from gigafleet.enums import DISPATCHERS, PRECISIONS, RECOMPUTE, WORKLOADS
from gigafleet.errors import GigafleetError
from gigafleet.perf import collectives as coll
from gigafleet.perf.arch import ArchCosts, arch_costs
from gigafleet.perf.hardware import Hardware, resolve_hardware

#: Bytes per element of GEMM operands at each training precision (FP4 carries block scales).
OPERAND_BYTES = np.array([2.0, 1.0, 0.5625])

#: HBM bytes per element to quantize a GEMM operand from BF16. FP8: read BF16 (2), write FP8
#: (1). NVFP4 (NVIDIA, arXiv:2509.25149, Sec. 4; Transformer Engine NVFP4 recipe): the
#: per-tensor FP32 scale needs the tensor's amax before the block scales, an extra read (2);
#: then read (2) and write FP4 with E4M3 block scales per 16 values (0.5625) twice, row-wise
#: and column-wise, because the backward GEMMs use the transposes and the 16x16 Hadamard
#: transform of the weight-gradient operands applies to one of them only.
CAST_BYTES = np.array([0.0, 3.0, 2.0 + 2.0 + 2 * 0.5625])

#: Fraction of peak HBM bandwidth that fused elementwise kernels reach. Estimate: a pure copy
#: reaches ~0.92 (Azure ND GB200 v6, 7.35 of 8 TB/s, shared/groundtruth/hardware.csv);
#: kernels that read several tensors reach less.
MEMORY_EFFICIENCY = 0.8
#: FlashAttention efficiency relative to GEMM efficiency: FlashAttention-3 reaches ~75% of
#: H100 BF16 peak in the forward pass against ~80-85% for large GEMMs (Shah et al. 2024,
#: arXiv:2407.08608, Fig. 5); the backward pass is slower, so we take 0.75 overall.
ATTENTION_EFFICIENCY_RATIO = 0.75
#: Backward FLOPs of attention relative to forward: dQ, dK, dV plus recomputing the scores.
ATTENTION_BACKWARD_RATIO = 2.5
#: Selective recomputation with fused attention (Megatron-Core recompute_modules such as
#: layernorm, moe_act, mla_up_proj): the norms and activation functions are recomputed in
#: the backward pass, about half the forward memory-bound time, and their outputs (about
#: 30% of the saved bytes of a layer) are not kept. Estimates from the module structure.
SELECTIVE_RECOMPUTE_TIME = 0.5
SELECTIVE_RECOMPUTE_MEMORY = 0.7
#: Tile edge of tensor-core GEMM kernels (CUTLASS / cuBLAS on Hopper and Blackwell).
GEMM_TILE = 128.0
#: Fraction of tensor-parallel communication hidden behind GEMMs by communication-overlap
#: kernels (Megatron-Core tp_comm_overlap / userbuffers). Assumption, not fitted.
TP_OVERLAP = 0.5
#: HBM held by the CUDA context, NCCL buffers and allocator fragmentation: 2 GiB plus 2%.
#: Estimate from common practice (PyTorch reserves beyond allocated memory).
RESERVED_FIXED_BYTES = 2 * 2**30
RESERVED_FRACTION = 0.02
#: Adam with FP32 master weights: bytes touched per parameter in the optimizer step
#: (read grad, master, m, v; write master, m, v and the BF16 copy).
OPTIMIZER_BYTES_PER_PARAM = 30.0
#: Bytes per parameter: BF16 weights, FP32 main gradients, FP32 master + Adam m and v.
WEIGHT_BYTES, GRAD_BYTES, OPTIMIZER_BYTES = 2.0, 4.0, 12.0
#: Gradients are reduced in BF16 (Megatron-Core default, grad_reduce_in_fp32=False).
GRAD_COMM_BYTES = 2.0

# Why a strategy is infeasible (0: it is feasible).
REASONS = {
    1: "tp x pp x cp does not divide the GPU count",
    2: "tp does not divide the attention heads",
    3: "pp x vp does not divide the layers",
    4: "ep does not divide the experts",
    5: "ep does not divide tp x dp x cp (expert parallelism is carved from them)",
    6: "dp x micro_batch does not divide the global batch",
    7: "2 x cp does not divide the sequence length",
    8: "vp > 1 needs pp > 1",
    9: "ep > 1 needs a MoE model",
    10: "the accelerator does not support this precision",
    11: "does not fit in GPU memory",
    12: "degrees must be positive integers",
    13: "offload must be a fraction of the layers, 0 to 1",
    14: "the interleaved schedule needs at least pp micro-batches per step",
    15: "tp does not divide the key-value heads",
    16: "zero must be 0-3, recompute and precision one of their listed values",
}


@dataclass(frozen=True, slots=True)
class Efficiency:
    """Calibrated GEMM efficiency per precision for one hardware generation."""

    gemm: np.ndarray  # shape (3,): bf16, fp8, fp4
    status: str  # "fitted" or "extrapolated from <generation>"
    expert_fixed_s: float = 0.0  # fixed forward time per local expert per MoE layer and micro-batch
    mamba_fixed_s: float = 0.0  # fixed forward time per Mamba-2 layer and micro-batch


def efficiency_for(catalog: Catalog, generation: str) -> Efficiency:
    """The calibrated GEMM efficiencies of ``generation`` (see catalog/data/calibration.yaml).

    A generation that was not fitted uses its ``fallback`` generation (e.g. Rubin uses
    Blackwell) and says so; a precision without fitted rows uses the generation's FP8 value.
    """
    cal = catalog.params.calibration.training
    gens = cal.gemm_efficiency
    status = "fitted"
    gen = generation
    while gen not in gens and gen in cal.fallback:
        gen = cal.fallback[gen]
        status = f"extrapolated from {gen}"
    values = gens.get(gen, {})
    if not values:
        status = "uncalibrated (default efficiency)"
    fp8 = float(values.get("fp8", values.get("bf16", cal.default_efficiency)))
    vec = np.array([float(values.get(p, fp8)) for p in PRECISIONS])
    return Efficiency(
        gemm=vec,
        status=status,
        expert_fixed_s=cal.moe_expert_fixed_s,
        mamba_fixed_s=cal.mamba_fixed_s,
    )


def _shape(d):
    return d / (d + GEMM_TILE)


def _gemm(m, n, k, peak, eff, bw, operand_bytes):
    """Roofline time of an (m x k) @ (k x n) GEMM, see the module docstring."""
    flops = 2.0 * m * n * k
    t_compute = flops / (peak * eff * _shape(m) * _shape(n) * _shape(k))
    t_memory = ((m * k + k * n) * operand_bytes + 2.0 * m * n) / (bw * MEMORY_EFFICIENCY)
    return np.maximum(t_compute, t_memory)


@dataclass
class TrainingEstimate:
    """Predicted training metrics; every field is a numpy array over the strategies."""

    feasible: np.ndarray
    reason_code: np.ndarray
    step_time_s: np.ndarray
    tokens_per_s: np.ndarray
    tokens_per_s_per_gpu: np.ndarray
    model_flops_per_token: float | np.ndarray
    model_tflops_per_gpu: np.ndarray
    mfu: np.ndarray
    memory_bytes_per_gpu: np.ndarray
    hbm_bytes: float
    breakdown_s: dict[str, np.ndarray]
    power_w_per_gpu: np.ndarray  # average GPU board power (energy/ phase model)
    energy_j_per_step: np.ndarray  # IT energy of the job per step (GPUs, hosts, network)
    time_to_train_s: np.ndarray | None
    num_gpus: np.ndarray
    strategy: dict[str, np.ndarray]
    calibration: str
    info: dict[str, Any] = field(default_factory=dict)

    def reason(self, index: int | tuple[int, ...] = ()) -> str | None:
        """Why strategy ``index`` is infeasible, in words (None when it is feasible)."""
        code = int(np.asarray(self.reason_code)[index])
        if code == 0:
            return None
        if code == 11:
            need = float(np.asarray(self.memory_bytes_per_gpu)[index]) / 2**30
            return f"does not fit in GPU memory: needs {need:.1f} GiB, has {self.hbm_bytes / 2**30:.1f} GiB"
        return REASONS[code]

    def item(self, name: str, index: int | tuple[int, ...] = ()) -> float:
        value = getattr(self, name) if name in self.__dataclass_fields__ else self.breakdown_s[name]
        return float(np.asarray(value)[index])


def _as_index(values, choices: tuple[str, ...], field_name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "iuf":
        return arr.astype(float)
    flat = [str(v).lower() for v in arr.ravel()]
    for v in flat:
        if v not in choices:
            raise GigafleetError(
                f"unknown value {v!r}; allowed: {', '.join(choices)}",
                field=field_name,
                allowed=choices,
            )
    return np.array([choices.index(v) for v in flat], dtype=float).reshape(arr.shape)


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
) -> dict[str, Any]:
    """The vectorised core: all strategy arguments are float arrays (or scalars) that broadcast.

    ``precision`` and ``recompute`` are indices into :data:`PRECISIONS` and :data:`RECOMPUTE`;
    ``zero`` is the ZeRO stage (0 plain data parallel, 1 distributed optimizer, 2 also
    gradients, 3 FSDP); ``offload`` the fraction of layers whose saved activations go to host
    memory; ``ep_overlap`` (0/1) hides MoE all-to-all behind deferred weight-gradient GEMMs;
    ``ep_dedup`` (0/1) dispatches tokens once per remote domain (DeepEP / HybridEP);
    ``cuda_graphs`` (0/1) captures the whole iteration, MoE layers included, in CUDA graphs
    (device-side expert sizes), which removes the per-expert fixed cost (see below).
    ``flash_attention=False`` models the unfused attention of older frameworks: the full
    score matrix is computed, written to HBM and kept for the backward pass (Korthikanti et
    al. 2022: ``5 a s^2 b / t`` bytes per layer) unless recomputed (selective recompute).
    Returns a dict of arrays (see :class:`TrainingEstimate`).
    """
    f = np.asarray
    num_gpus, tp, pp, cp, ep, vp = (f(x, dtype=float) for x in (num_gpus, tp, pp, cp, ep, vp))
    mb, gbs, seq = (f(x, dtype=float) for x in (micro_batch, global_batch, seq_len))
    prec = f(precision, dtype=float)
    zero, rec = f(zero, dtype=float), f(recompute, dtype=float)
    offload, ep_overlap = f(offload, dtype=float), f(ep_overlap, dtype=float)
    ep_dedup, graphs = f(ep_dedup, dtype=float), f(cuda_graphs, dtype=float)
    acc, net = hw.accelerator, hw.net
    bw = hw.hbm_bw
    h = float(arch.hidden)

    # ---- constraints -------------------------------------------------------------------
    model_par = tp * pp * cp
    dp = np.floor(num_gpus / np.maximum(model_par, 1))
    num_micro = gbs / np.maximum(dp * mb, 1)
    code = np.zeros(
        np.broadcast(
            num_gpus,
            tp,
            pp,
            cp,
            ep,
            vp,
            mb,
            gbs,
            seq,
            prec,
            zero,
            rec,
            offload,
            ep_overlap,
            ep_dedup,
            graphs,
        ).shape
    )

    def flag(cond, c):
        nonlocal code
        code = np.where((code == 0) & cond, c, code)

    ints = [num_gpus, tp, pp, cp, ep, vp, mb, gbs, seq]
    flag(functools.reduce(np.logical_or, [(x < 1) | (x != np.floor(x)) for x in ints]), 12)
    flag(np.mod(num_gpus, model_par) != 0, 1)
    flag(np.mod(arch.num_heads, tp) != 0, 2)
    if not arch.mla:
        flag(np.mod(arch.num_kv_heads, tp) != 0, 15)
    if not uneven_layers:
        flag(np.mod(arch.num_layers, pp * vp) != 0, 3)
    else:
        flag(pp * vp > arch.num_layers + arch.mtp_layers + 2, 3)
    if arch.num_experts:
        flag(np.mod(arch.num_experts, ep) != 0, 4)
        flag(np.mod(tp * dp * cp, ep) != 0, 5)
    else:
        flag(ep > 1, 9)
    flag(np.mod(gbs, dp * mb) != 0, 6)
    flag((cp > 1) & (np.mod(seq, 2 * cp) != 0), 7)
    flag((vp > 1) & (pp == 1), 8)
    flag((vp > 1) & (num_micro < pp), 14)
    flag(~np.isin(zero, (0, 1, 2, 3)) | ~np.isin(rec, (0, 1, 2)) | ~np.isin(prec, (0, 1, 2)), 16)
    supported = np.array([acc.dense_flops(p) is not None for p in PRECISIONS])
    pidx = np.clip(np.nan_to_num(prec), 0, 2).astype(int)
    flag(~supported[pidx], 10)
    flag(~((offload >= 0) & (offload <= 1)), 13)

    peaks = np.array([acc.dense_flops(p) or acc.dense_flops("bf16") for p in PRECISIONS])
    peak = peaks[pidx]
    peak_bf16 = peaks[0]
    e_gemm = eff.gemm[pidx]
    e_attn = eff.gemm[0] * ATTENTION_EFFICIENCY_RATIO
    ob = OPERAND_BYTES[pidx]
    cast = CAST_BYTES[pidx]

    # ---- one micro-batch, forward, per GPU, per layer type ------------------------------
    t = mb * seq / cp  # tokens of the micro-batch on this rank
    tsp = t / tp  # sequence-parallel share
    norm_res = 10.0 * h  # two norms' read+write and two residual adds, BF16 bytes per token

    def gemm(m, n, k):
        return _gemm(m, n, k, peak, e_gemm, bw, ob)

    ew = lambda nbytes: nbytes / (bw * MEMORY_EFFICIENCY)  # noqa: E731

    # Groups: TP ranks are adjacent; CP stride tp; EP (ETP=1) adjacent; DP stride tp*cp.
    g_tp, n_tp = coll.group_layout(tp, 1, net.domain_size)
    g_cp, n_cp = coll.group_layout(cp, tp, net.domain_size)
    g_ep, n_ep = coll.group_layout(ep, 1, net.domain_size)
    act_bytes = t * h * 2.0
    t_tp_coll = 2 * coll.reduce_scatter_time(act_bytes, g_tp, n_tp, net)  # AG + RS per block

    keys_full = seq / 2.0 if flash_attention else seq  # unfused attention skips no masked block
    keys_win = np.minimum(arch.window, seq / 2.0)

    # attention block
    # Column-parallel GEMMs split N, row-parallel split K; replicated ones (MLA down
    # projections) run on each rank's sequence-parallel shard (Megatron-Core MLA).
    a_gemm = sum(
        gemm(tsp if split == 0 else t, n / tp if split == 1 else n, k / tp if split == 2 else k)
        for n, k, split in arch.attn_gemms
    )
    a_core_full = t * keys_full * arch.core_flops_per_key / tp / (peak_bf16 * e_attn)
    a_core_win = t * keys_win * arch.core_flops_per_key / tp / (peak_bf16 * e_attn)
    # Unfused attention writes the scores, and softmax (and the dropout mask) read and
    # write them: about 7 bytes per score.
    scores_ew = 0.0 if flash_attention else ew(t * arch.num_heads / tp * seq * 7.0)
    a_ew = (
        ew(
            tsp * norm_res / 2
            + t * 4.0 * arch.q_width / tp
            + cast * (tsp * h + t * arch.attn_out_in / tp)
        )
        + scores_ew
    )
    cp_bytes = t * arch.kv_bytes_per_token / tp
    cp_same = g_cp >= cp
    a_cp = np.where(cp > 1, (cp - 1) * coll.p2p_time(cp_bytes, cp_same, net), 0.0)

    n_full = arch.num_attn - arch.num_sliding
    attn_core_f = n_full * a_core_full + arch.num_sliding * a_core_win
    attn_gemm_f = arch.num_attn * a_gemm
    attn_ew_f = arch.num_attn * a_ew
    # ring attention overlaps the KV exchange with the attention compute
    core_per_layer = attn_core_f / max(arch.num_attn, 1)
    cp_exposed_f = arch.num_attn * np.maximum(0.0, a_cp - core_per_layer)
    cp_exposed_b = arch.num_attn * np.maximum(
        0.0, 2 * a_cp - ATTENTION_BACKWARD_RATIO * core_per_layer
    )

    # dense MLP
    m_gemm = gemm(t, (arch.mlp_mats - 1) * arch.ffn / tp, h) + gemm(t, h, arch.ffn / tp)
    act_rw = 6.0 if arch.mlp_mats == 3 else 4.0
    m_ew = ew(tsp * norm_res / 2 + t * act_rw * arch.ffn / tp + cast * t * (h + arch.ffn) / tp)

    # MoE: router, grouped expert GEMMs on the local experts, shared experts, permutation
    if arch.num_moe:
        local_experts = arch.num_experts / ep
        tok_per_expert = tsp * arch.top_k * ep / arch.num_experts
        d_e = float(arch.expert_width)
        e_gemm_t = local_experts * (
            gemm(tok_per_expert, (arch.mlp_mats - 1) * arch.expert_ffn, d_e)
            + gemm(tok_per_expert, d_e, arch.expert_ffn)
        )
        if arch.expert_width != arch.hidden:  # LatentMoE down and up projections
            e_gemm_t = e_gemm_t + gemm(tsp, d_e, h) + gemm(tsp, h, d_e)
        s_gemm = (
            gemm(t, (arch.mlp_mats - 1) * arch.shared_ffn / tp, h)
            + gemm(t, h, arch.shared_ffn / tp)
            if arch.shared_ffn
            else 0.0
        )
        r_gemm = gemm(tsp, float(arch.num_experts), h)
        moe_gemm = e_gemm_t + s_gemm + r_gemm
        # Token shuffling per routed copy, read + write in BF16 each: permute and unpermute,
        # and with ep > 1 also the sort by expert after dispatch and its inverse before
        # combine (Megatron-Core MoEAlltoAllTokenDispatcher). The router's softmax, top-k
        # and load-balancing loss touch the FP32 logits about four times.
        shuffle = np.where(ep > 1, 16.0, 8.0) * d_e
        moe_ew = ew(
            tsp * norm_res / 2
            + tsp * 16.0 * arch.num_experts
            + tsp
            * arch.top_k
            * (shuffle + act_rw * arch.expert_ffn + cast * (d_e + arch.expert_ffn))
            + t * (act_rw * arch.shared_ffn + cast * (h + arch.shared_ffn)) / tp
        )
        moe_a2a = 2 * coll.moe_dispatch_time(  # dispatch + combine
            tsp * d_e * 2.0, arch.top_k, g_ep, n_ep, net, dedup=ep_dedup > 0
        )
        # Dropless MoE sizes each expert's GEMMs from the routing, which the host reads back
        # (a device-to-host sync per dispatch), so the host cannot run ahead of the GPU
        # there: each local expert's kernels (casts, GEMMs, activation; their gradients) cost
        # launch and minimum-kernel time that nothing hides. A fixed time per local expert
        # per MoE layer (calibrated, ``moe_expert_fixed_s``), gone when the whole iteration
        # is captured in CUDA graphs with device-side expert sizes.
        moe_fixed = np.where(graphs > 0, 0.0, local_experts * eff.expert_fixed_s)
    else:
        moe_gemm = moe_ew = moe_a2a = moe_fixed = 0.0

    # Mamba-2
    if arch.num_mamba:
        mam_gemm = gemm(t, arch.mamba_in_width / tp, h) + gemm(t, h, arch.mamba_inner / tp)
        # The SSD scan: its (small) FLOPs at attention efficiency, or its state traffic over
        # HBM, whichever is slower; plus the fixed time per layer below.
        mam_scan = np.maximum(
            t * arch.mamba_scan_flops / tp / (peak_bf16 * e_attn),
            t * arch.mamba_ssd_bytes / tp / (bw * MEMORY_EFFICIENCY),
        )
        mam_ew = ew(tsp * norm_res / 2 + t * arch.mamba_bytes / tp)
    else:
        mam_gemm = mam_scan = mam_ew = 0.0

    # logits and loss on the last stage; MTP modules add a block, a projection and logits each
    v = float(arch.vocab)
    logit_gemm = gemm(t, v / tp, h)
    logit_ew = ew(t * v / tp * 4.0 * 3)  # FP32 logits: write, softmax read+write
    mtp = arch.mtp_layers
    mtp_gemm = mtp * (
        a_gemm + (moe_gemm if arch.num_moe else m_gemm) + gemm(t, h / tp, 2 * h) + logit_gemm
    )
    mtp_core = mtp * a_core_full
    mtp_ew = mtp * (a_ew + (moe_ew if arch.num_moe else m_ew) + logit_ew)

    n_blocks_tp = arch.num_attn + arch.num_mlp + arch.num_moe + arch.num_mamba + 2 * mtp
    gemm_f = (
        attn_gemm_f
        + arch.num_mlp * m_gemm
        + arch.num_moe * moe_gemm
        + arch.num_mamba * mam_gemm
        + logit_gemm
        + mtp_gemm
    )
    core_f = attn_core_f + arch.num_mamba * mam_scan + mtp_core
    ew_f = (
        attn_ew_f
        + arch.num_mlp * m_ew
        + arch.num_moe * moe_ew
        + arch.num_mamba * mam_ew
        + logit_ew
        + mtp_ew
    )
    tp_f = n_blocks_tp * t_tp_coll
    a2a_f = (arch.num_moe + mtp * (arch.num_moe > 0)) * moe_a2a
    # Mamba-2 layers: a fixed time per layer as well (calibrated, ``mamba_fixed_s``). The
    # chunked SSD scan runs as a chain of small Triton kernels (chunk cumsum, chunk state,
    # state passing, chunk scan, gated norm; about twice as many in the backward pass) that
    # run far below both rooflines above; the hybrid rows (Nano at 16K tokens per rank,
    # Super at 8K, TP 1 and 2) fit a time per layer better than one per token, so the
    # constant takes the whole shortfall, launch and kernel time alike.
    fixed_f = (arch.num_moe + mtp * (arch.num_moe > 0)) * moe_fixed + (
        arch.num_mamba * eff.mamba_fixed_s
    )
    mtp_fixed_f = mtp * (arch.num_moe > 0) * moe_fixed

    # Backward: dgrad + wgrad GEMMs (LoRA freezes the base weights: dgrad only).
    gemm_b = gemm_f * (1.0 if lora else 2.0)
    core_b = core_f * ATTENTION_BACKWARD_RATIO
    ew_b = 2.0 * ew_f
    # Selective recompute: with fused attention, the cheap elementwise operators (norms,
    # activations); without, the attention scores (Korthikanti et al. 2022).
    selective_t = (
        ew_f * SELECTIVE_RECOMPUTE_TIME
        if flash_attention
        else attn_core_f + arch.num_attn * scores_ew
    )
    recompute_t = np.where(
        rec == 2, gemm_f + core_f + ew_f + fixed_f, np.where(rec == 1, selective_t, 0.0)
    )
    # The backward pass launches dgrad and wgrad kernels per expert: twice the forward.
    fixed_fb = 3.0 * fixed_f
    recompute_tp = np.where(rec == 2, tp_f * (1 - TP_OVERLAP), 0.0)
    recompute_a2a = np.where(rec == 2, a2a_f, 0.0)

    # Per stage. Layers split evenly over the pp stages; the logits, loss and MTP modules
    # sit on the last stage, which sets the pace, unless the layers do not divide evenly:
    # sources then use a custom layout that balances them (Megatron-Core
    # pipeline_model_parallel_layout), and we take 1/pp of everything.
    def per_stage(layers_part, last_part):
        return np.where(
            (pp > 1) & (not uneven_layers),
            layers_part / pp + last_part,
            (layers_part + last_part) / pp,
        )

    last_f = logit_gemm + mtp_gemm + mtp_core + logit_ew + mtp_ew + mtp_fixed_f
    last_b = (
        (logit_gemm + mtp_gemm) * (1.0 if lora else 2.0)
        + mtp_core * ATTENTION_BACKWARD_RATIO
        + 2 * (logit_ew + mtp_ew + mtp_fixed_f)
    )
    total_fb = gemm_f + gemm_b + core_f + core_b + ew_f + ew_b + fixed_fb + recompute_t
    compute_mb = per_stage(total_fb - last_f - last_b, last_f + last_b)
    tp_exposed_mb = 2 * tp_f * (1 - TP_OVERLAP) / pp
    cp_exposed_mb = (cp_exposed_f + cp_exposed_b) / pp
    # MoE all-to-all, forward and backward. With overlap (Megatron-Core
    # overlap_moe_expert_parallel_comm with delay_wgrad_compute) it hides behind the layer's
    # weight-gradient GEMMs, which are deferred to run alongside it: one GEMM pass of the
    # layer. What is longer stays exposed.
    n_moe_a2a = arch.num_moe + mtp * (arch.num_moe > 0)
    ep_hidden = n_moe_a2a * np.maximum(0.0, 2 * moe_a2a - (a_gemm + moe_gemm))
    ep_exposed_mb = np.where(ep_overlap > 0, ep_hidden, 2 * a2a_f) / pp
    p2p = coll.p2p_time(tsp * h * 2.0, False, net)  # stage boundary, scatter-gather over SP
    chunk = compute_mb / vp
    pp_exposed_mb = np.where(pp > 1, 2 * vp * np.maximum(0.0, p2p - chunk / 2), 0.0)

    # ---- data parallel and parameters --------------------------------------------------
    dense_gpu = arch.dense_params / (tp * pp)
    expert_gpu = arch.routed_expert_params / (ep * pp)
    dp_dense = dp * cp
    dp_expert = np.maximum(1.0, tp * dp * cp / ep)
    g_dp, n_dp = coll.group_layout(dp_dense, tp, net.domain_size)
    g_edp, n_edp = coll.group_layout(dp_expert, ep, net.domain_size)
    trained = 0.0 if lora else 1.0
    gb_dense = dense_gpu * GRAD_COMM_BYTES * trained
    gb_expert = expert_gpu * GRAD_COMM_BYTES * trained
    rs = coll.reduce_scatter_time(gb_dense, g_dp, n_dp, net) + coll.reduce_scatter_time(
        gb_expert, g_edp, n_edp, net
    )
    ar = coll.all_reduce_time(gb_dense, g_dp, n_dp, net) + coll.all_reduce_time(
        gb_expert, g_edp, n_edp, net
    )
    ag_w = coll.all_gather_time(dense_gpu * WEIGHT_BYTES, g_dp, n_dp, net) + coll.all_gather_time(
        expert_gpu * WEIGHT_BYTES, g_edp, n_edp, net
    )
    fwd_mb = (gemm_f + core_f + ew_f) / pp
    bwd_mb = (gemm_b + core_b + ew_b) / pp
    # Gradient reduction overlaps the last backward pass; the parameter all-gather the
    # first forward pass (Megatron-Core overlap_grad_reduce / overlap_param_gather).
    dp_exposed = np.where(
        zero == 0,
        np.maximum(0.0, ar - bwd_mb),
        np.where(
            zero < 3,
            np.maximum(0.0, rs - bwd_mb) + np.maximum(0.0, ag_w * trained - fwd_mb),
            0.0,
        ),
    )
    # FSDP gathers weights for forward and backward and scatters gradients every micro-batch.
    fsdp_mb = np.where(zero == 3, np.maximum(0.0, 2 * ag_w + rs - (fwd_mb + bwd_mb)), 0.0)

    act_attn = 2.0 * (2 * h + arch.qkv_width + arch.q_width) / tp
    mlp_w = (arch.mlp_mats - 1) * arch.ffn + arch.ffn
    act_mlp = 2.0 * (2 * h + mlp_w) / tp
    act_moe = 2.0 * (
        2 * h / tp
        + arch.top_k * (2 * arch.expert_width + arch.mlp_mats * arch.expert_ffn) / tp
        + arch.mlp_mats * arch.shared_ffn / tp
    )
    act_mamba = 2.0 * (2 * h + arch.mamba_in_width + 2 * arch.mamba_inner) / tp
    act_tok = (
        arch.num_attn * act_attn
        + arch.num_mlp * act_mlp
        + arch.num_moe * act_moe
        + arch.num_mamba * act_mamba
        + mtp * (act_attn + (act_moe if arch.num_moe else act_mlp))
    )
    full_tok = 2.0 * h / tp * (arch.num_layers + mtp)
    # FP8/FP4 recipes keep the saved GEMM inputs in low precision (Transformer Engine), about
    # half of the saved bytes: estimate.
    act_tok = act_tok * np.where(pidx > 0, 0.75, 1.0)
    if flash_attention:
        act_tok = np.where(
            rec == 2, full_tok, np.where(rec == 1, act_tok * SELECTIVE_RECOMPUTE_MEMORY, act_tok)
        )
    else:
        scores_tok = arch.num_attn * 5.0 * arch.num_heads * seq / tp
        act_tok = np.where(rec == 2, full_tok, np.where(rec == 1, act_tok, act_tok + scores_tok))
    act_mb_bytes = act_tok / pp * t  # saved activations of one micro-batch on this stage
    # Activation offload: the saved activations of ``offload`` of the layers go to host memory
    # in the forward pass and come back in the backward pass, behind the compute.
    offload_mb = np.maximum(0.0, 2 * offload * act_mb_bytes / hw.host_link_bw - compute_mb)
    t_mb = (
        compute_mb
        + tp_exposed_mb
        + cp_exposed_mb
        + ep_exposed_mb
        + pp_exposed_mb
        + fsdp_mb
        + offload_mb
    )
    t_mb = t_mb + (recompute_tp + recompute_a2a) / pp
    bubble = (pp - 1) / vp * t_mb

    shard_dense = np.where(zero >= 1, dp_dense, 1.0)
    shard_expert = np.where(zero >= 1, dp_expert, 1.0)
    local_params = dense_gpu / shard_dense + expert_gpu / shard_expert
    t_opt = local_params * OPTIMIZER_BYTES_PER_PARAM / (bw * MEMORY_EFFICIENCY) * trained

    step = num_micro * t_mb + bubble + dp_exposed + t_opt

    # ---- memory per GPU ----------------------------------------------------------------
    params_gpu = dense_gpu + expert_gpu
    w_shard = np.where(zero == 3, shard_dense, 1.0)
    w_shard_e = np.where(zero == 3, shard_expert, 1.0)
    weights = WEIGHT_BYTES * (dense_gpu / w_shard + expert_gpu / w_shard_e)
    g_shard = np.where(zero >= 2, shard_dense, 1.0)
    g_shard_e = np.where(zero >= 2, shard_expert, 1.0)
    grads = GRAD_BYTES * (dense_gpu / g_shard + expert_gpu / g_shard_e) * trained
    optim = OPTIMIZER_BYTES * local_params * trained
    # FSDP keeps two layers gathered (current and prefetched).
    fsdp_buf = np.where(
        zero == 3, 2 * WEIGHT_BYTES * params_gpu / np.maximum(arch.num_layers / pp, 1), 0.0
    )

    # 1F1B keeps pp micro-batches in flight on the first stage; interleaving adds the
    # factor (1 + (pp-1)/(pp vp)) (Korthikanti et al. 2022, Sec. 4.2.3).
    interleave = np.where(vp > 1, 1 + (pp - 1) / (pp * vp), 1.0)
    in_flight = np.where(pp > 1, np.minimum(pp, num_micro) * interleave, 1.0)
    acts = act_mb_bytes * in_flight * (1 - offload)
    logits_mem = t * v / tp * 4.0 * 2
    reserved = RESERVED_FIXED_BYTES + RESERVED_FRACTION * hw.hbm_bytes
    memory = weights + grads + optim + fsdp_buf + acts + logits_mem + reserved
    flag(memory > hw.hbm_bytes, 11)

    # ---- outputs -----------------------------------------------------------------------
    tokens_step = gbs * seq
    tps = tokens_step / step
    fwd_flops_tok = (
        arch.forward_flops_per_token(seq)
        if np.ndim(seq) == 0
        else np.vectorize(arch.forward_flops_per_token)(seq)
    )
    model_flops_tok = fwd_flops_tok * (2.0 if lora else 3.0)
    tflops_gpu = tps * model_flops_tok / num_gpus / 1e12
    per_step = num_micro * compute_mb / total_fb  # the stage's share of the model's work
    breakdown = {
        "gemm_s": per_step * (gemm_f + gemm_b),
        "attention_s": per_step * (core_f + core_b),
        "memory_bound_s": per_step * (ew_f + ew_b),
        "moe_fixed_s": per_step * fixed_fb,
        "recompute_s": per_step * recompute_t,
        "tp_comm_s": num_micro * (tp_exposed_mb + recompute_tp / pp),
        "cp_comm_s": num_micro * cp_exposed_mb,
        "ep_comm_s": num_micro * (ep_exposed_mb + recompute_a2a / pp),
        "pp_comm_s": num_micro * pp_exposed_mb,
        "dp_comm_s": dp_exposed + num_micro * fsdp_mb,
        "bubble_s": bubble,
        "offload_s": num_micro * offload_mb,
        "optimizer_s": t_opt,
    }
    return {
        "reason_code": code,
        "step_time_s": step,
        "tokens_per_s": tps,
        "tokens_per_s_per_gpu": tps / num_gpus,
        "model_flops_per_token": model_flops_tok,
        "model_tflops_per_gpu": tflops_gpu,
        "mfu": tflops_gpu * 1e12 / peak,
        "memory_bytes_per_gpu": memory,
        "breakdown_s": breakdown,
        "dp": dp,
        "num_micro": num_micro,
    }


def _power(out: dict[str, Any], system: str | System, catalog: Catalog, num_gpus, *, gbs, seq):
    """Power and energy from the step breakdown, by the energy model (energy/training.py).

    Imported here, not at the top: energy/ sits beside perf/ and builds on its results, so
    the delegation is one way at import time."""
    from gigafleet.energy.training import step_power

    return step_power(
        out["breakdown_s"],
        system=system,
        num_gpus=num_gpus,
        tokens_per_step=np.asarray(gbs, dtype=float) * np.asarray(seq, dtype=float),
        flops_per_token=out["model_flops_per_token"],
        catalog=catalog,
    )


def _resolve(catalog: Catalog, model: str | ModelArch, system: str | System, fabric: str | None):
    arch_row = model if isinstance(model, ModelArch) else catalog.model(model)
    hw = resolve_hardware(catalog, system, fabric=fabric)
    return arch_row, hw


def estimate_training(
    model: str | ModelArch,
    system: str | System,
    *,
    num_gpus,
    seq_len,
    global_batch,
    tp=1,
    pp=1,
    cp=1,
    ep=1,
    vp=1,
    micro_batch=1,
    precision="bf16",
    zero=1,
    recompute="none",
    offload=0.0,
    ep_overlap=False,
    ep_dispatcher="alltoall",
    cuda_graphs=False,
    workload: str = "pretrain",
    fabric: str | None = None,
    train_tokens: float | None = None,
    catalog: Catalog | None = None,
    strict: bool = False,
    uneven_layers: bool = False,
) -> TrainingEstimate:
    """Predict a training step for one or many strategies.

    Args:
        model: catalog model name (aliases allowed) or a :class:`ModelArch`.
        system: catalog system name or a :class:`System`.
        num_gpus: GPUs in the job; ``dp = num_gpus / (tp * pp * cp)``.
        seq_len: tokens per sequence. global_batch: sequences per optimizer step.
        tp, pp, cp, ep, vp: tensor (with sequence parallel), pipeline, context, expert
            parallel degrees and virtual pipeline stages per rank (interleaved 1F1B).
        micro_batch: sequences per micro-batch.
        precision: ``bf16``, ``fp8`` or ``fp4`` (GEMM precision; attention stays BF16).
        zero: 0 plain data parallel, 1 distributed optimizer (ZeRO-1), 2 ZeRO-2, 3 FSDP.
        recompute: ``none``, ``selective`` or ``full`` activation recomputation.
        offload: fraction of layers whose saved activations are offloaded to host memory.
        ep_overlap: hide MoE all-to-all behind deferred weight-gradient GEMMs.
        ep_dispatcher: ``alltoall`` (one copy per expert) or ``dedup`` (one copy per remote
            scale-up domain, then fan-out over NVLink: DeepEP, HybridEP).
        cuda_graphs: the whole iteration runs as CUDA graphs, MoE layers included (no
            per-expert fixed cost).
        workload: ``pretrain``, ``sft`` (full fine-tune: same cost) or ``lora`` (frozen base).
        fabric: scale-out fabric name to use instead of the system's default.
        train_tokens: when given, ``time_to_train_s`` is filled in.
        strict: raise :class:`GigafleetError` when a structural constraint fails (the CLI
            does); otherwise mark the strategy infeasible.
        uneven_layers: allow ``pp x vp`` not dividing the layers (custom pipeline layouts).

    Every strategy argument may be an array; results broadcast.
    """
    catalog = catalog or load_catalog()
    arch_row, hw = _resolve(catalog, model, system, fabric)
    if workload not in WORKLOADS:
        raise GigafleetError(
            f"unknown workload {workload!r}; allowed: {', '.join(WORKLOADS)}", field="workload"
        )
    prec = _as_index(precision, PRECISIONS, "precision")
    dedup = _as_index(ep_dispatcher, DISPATCHERS, "ep_dispatcher")
    rec = _as_index(recompute, RECOMPUTE, "recompute")
    arch = arch_costs(arch_row)
    eff = efficiency_for(catalog, hw.generation)
    out = training_step(
        arch,
        hw,
        eff,
        num_gpus=num_gpus,
        tp=tp,
        pp=pp,
        cp=cp,
        ep=ep,
        vp=vp,
        micro_batch=micro_batch,
        global_batch=global_batch,
        seq_len=seq_len,
        precision=prec,
        zero=zero,
        recompute=rec,
        offload=offload,
        ep_overlap=np.asarray(ep_overlap, dtype=float),
        ep_dedup=dedup,
        cuda_graphs=np.asarray(cuda_graphs, dtype=float),
        lora=workload == "lora",
        uneven_layers=uneven_layers,
    )
    code = out["reason_code"]
    power = _power(out, system, catalog, num_gpus, gbs=global_batch, seq=seq_len)
    if strict:
        bad = (code != 0) & (code != 11)
        if np.any(bad):
            at = tuple(np.argwhere(bad)[0])
            first = int(np.asarray(code)[at])
            raise GigafleetError(_explain(first, arch_row, hw, locals(), at), field="strategy")
    feasible = code == 0
    tps = out["tokens_per_s"]
    ttt = None if train_tokens is None else train_tokens / tps
    shape = np.shape(code)
    strategy = {
        k: np.broadcast_to(np.asarray(v, dtype=float), shape)
        for k, v in dict(
            tp=tp,
            pp=pp,
            cp=cp,
            ep=ep,
            vp=vp,
            dp=out["dp"],
            micro_batch=micro_batch,
            zero=zero,
            precision=prec,
            recompute=rec,
            offload=offload,
            ep_overlap=ep_overlap,
            ep_dispatcher=dedup,
            cuda_graphs=cuda_graphs,
        ).items()
    }
    return TrainingEstimate(
        feasible=feasible,
        reason_code=code,
        step_time_s=out["step_time_s"],
        tokens_per_s=tps,
        tokens_per_s_per_gpu=out["tokens_per_s_per_gpu"],
        model_flops_per_token=out["model_flops_per_token"],
        model_tflops_per_gpu=out["model_tflops_per_gpu"],
        mfu=out["mfu"],
        memory_bytes_per_gpu=out["memory_bytes_per_gpu"],
        hbm_bytes=hw.hbm_bytes,
        breakdown_s=out["breakdown_s"],
        power_w_per_gpu=power.gpu_power_avg_w,
        energy_j_per_step=power.it_energy_j_per_step,
        time_to_train_s=ttt,
        num_gpus=np.broadcast_to(np.asarray(num_gpus, dtype=float), shape),
        strategy=strategy,
        calibration=eff.status,
        info={
            "model": arch_row.name,
            "system": hw.system,
            "accelerator": hw.accelerator.name,
            "fabric": hw.fabric,
            "num_micro_batches": out["num_micro"],
            "params_total": arch.params_total,
            "params_active": arch.params_active,
        },
    )


def _explain(
    code: int, arch_row: ModelArch, hw: Hardware, env: dict[str, Any], at: tuple[int, ...]
) -> str:
    """A one-line message for a structural constraint, with the numbers of strategy ``at``."""
    shape = np.shape(env["code"])

    def g(k: str) -> Any:
        return np.broadcast_to(np.asarray(env[k]), shape)[at]

    tp, pp, cp, ep, vp = (int(g(k)) for k in ("tp", "pp", "cp", "ep", "vp"))
    n, mb, gbs, seq = (
        int(g("num_gpus")),
        int(g("micro_batch")),
        int(g("global_batch")),
        int(g("seq_len")),
    )
    mp = tp * pp * cp
    dp = n // mp if mp else 0
    layers = arch_row.num_layers
    experts = arch_row.moe.num_experts if arch_row.moe else 0
    allowed_prec = ", ".join(hw.accelerator.precisions)
    msgs = {
        1: f"tp x pp x cp = {tp} x {pp} x {cp} = {mp} must divide num_gpus = {n}",
        2: f"tp = {tp} must divide the {arch_row.num_attention_heads} attention heads of {arch_row.name}",
        3: f"pp x vp = {pp} x {vp} = {pp * vp} must divide the {layers} layers of {arch_row.name} "
        "(or allow uneven layers: a custom pipeline layout)",
        4: f"ep = {ep} must divide the {experts} experts of {arch_row.name}",
        5: f"ep = {ep} must divide tp x dp x cp = {tp} x {dp} x {cp} = {tp * dp * cp}",
        6: f"dp x micro_batch = {dp} x {mb} = {dp * mb} must divide global_batch = {gbs}",
        7: f"2 x cp = {2 * cp} must divide seq_len = {seq}",
        8: f"vp = {vp} needs pp > 1 (interleaving splits pipeline stages)",
        9: f"ep = {ep} needs a MoE model; {arch_row.name} is dense",
        10: f"precision not supported by {hw.accelerator.name}; allowed: {allowed_prec}",
        12: "parallel degrees, micro_batch, global_batch, seq_len and num_gpus must be positive integers",
        13: f"offload = {g('offload')} must be a fraction of the layers, 0 to 1",
        15: f"tp = {tp} must divide the {arch_row.kv_heads} key-value heads of {arch_row.name} "
        "(Megatron-Core num_query_groups % tp == 0)",
        16: "zero must be 0, 1, 2 or 3; recompute none, selective or full; precision bf16, fp8 or fp4",
        14: f"vp = {vp} (interleaved 1F1B) needs at least pp = {pp} micro-batches per step; "
        f"global_batch / (dp x micro_batch) = {gbs / max(dp * mb, 1):g}",
    }
    return msgs.get(code, REASONS.get(code, "invalid strategy"))
