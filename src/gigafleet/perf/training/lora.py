"""LoRA fine-tuning: low-rank adapters on a frozen base, one or many at once.

The base weights are frozen (Hu et al. 2021, arXiv:2106.09685): no base gradients, no
optimizer state, no weight-gradient GEMMs; the backward pass still runs through every
activation (dgrad), which :mod:`.passes` and :mod:`.data_parallel` do under ``lora``. This
module adds what the adapters cost. An adapter of rank ``r`` on a weight ``W`` (``K -> N``)
adds ``A`` (``K x r``) and ``B`` (``r x N``): ``r (K + N)`` parameters and, per token,

- forward: ``x A`` then ``(x A) B``, two thin GEMMs (``2 r (K + N)`` FLOPs);
- backward: the input gradient through ``B^T`` and ``A^T`` and the weight gradients of
  ``A`` and ``B``: four thin GEMMs, twice the forward.

The thin GEMMs run in BF16 at the calibrated BF16 GEMM efficiency and on the same roofline
as every GEMM (:mod:`.roofline`): their rank-wide dimension fills few 128-wide tiles, so
they often take their bytes (reading ``x`` again) rather than their FLOPs. Adapters are
split like their base weight under TP. Each keeps ``x A`` (``r`` values per token) for
the backward pass. The adapter parameters train as usual: BF16 weights, FP32 gradients,
Adam state (sharded by ZeRO like any optimizer state), a gradient all-reduce over the data
parallel ranks behind the backward pass, and a memory-bound optimizer step.

Targets name the base weights that carry adapters: ``qkv`` (each mixer's input
projections: Q, K, V, MLA's down and up projections, the Mamba / Gated DeltaNet input
projection), ``o`` (the mixer's output projection), ``mlp`` (dense MLPs and shared
experts: gate, up, down) and ``experts`` (every routed expert).

Batched multi-adapter fine-tuning (``num_adapters`` > 1; e.g. mLoRA, Ye et al. 2023,
arXiv:2312.02515; the batched LoRA kernels of S-LoRA and Punica): many adapters of one
frozen base train in one job, each sequence of the batch belonging to one adapter. The
base GEMMs are shared, so per token the compute is that of one adapter; the adapters'
weights, gradients and optimizer states are ``num_adapters`` times larger, a step updates
(and reduces) at most ``min(num_adapters, global_batch)`` of them, and a micro-batch of
``b`` sequences runs up to ``min(b, num_adapters)`` adapter segments, each a separate
thin GEMM (modelled as ``b`` adapters' GEMMs over ``t / b`` tokens each).

A frozen base may be stored in FP8 (``frozen_bytes`` 1): half the weight memory. GEMMs at
FP8 read it as it is; at BF16 each micro-batch dequantises it (read 1, write 2 bytes per
weight, forward and backward).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gigafleet.enums import LORA_TARGETS
from gigafleet.errors import GigafleetError
from gigafleet.perf import collectives as coll
from gigafleet.perf.arch import ArchCosts
from gigafleet.perf.training.codes import Precision, Recompute
from gigafleet.perf.training.constants import (
    GRAD_BYTES,
    GRAD_COMM_BYTES,
    MEMORY_EFFICIENCY,
    OPTIMIZER_BYTES,
    OPTIMIZER_BYTES_PER_PARAM,
    WEIGHT_BYTES,
)
from gigafleet.perf.training.efficiency import Efficiency
from gigafleet.perf.training.roofline import Roofline, _gemm

#: Targets when none are given: the attention projections (Hu et al. 2021, Sec. 4.2; the
#: MLPerf Llama 2 70B LoRA benchmark adapts qkv_proj and o_proj).
DEFAULT_TARGETS = ("qkv", "o")
#: Rank when none is given (the MLPerf Llama 2 70B LoRA benchmark: r = 16).
DEFAULT_RANK = 16


def parse_targets(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"qkv,o"`` (or a list) as a tuple of targets; ``all`` means every target."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for item in (i.strip().lower() for i in items):
        if item == "all":
            return LORA_TARGETS
        if item not in LORA_TARGETS:
            raise GigafleetError(
                f"unknown LoRA target {item!r}; allowed: {', '.join(LORA_TARGETS)}, all",
                field="lora_targets",
                allowed=(*LORA_TARGETS, "all"),
            )
        if item not in out:
            out.append(item)
    if not out:
        raise GigafleetError("give at least one LoRA target", field="lora_targets")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Lora:
    """The adapters of a LoRA job: rank, targets, how many adapters train together, and
    the bytes per frozen base weight (2: BF16, 1: FP8)."""

    rank: int = DEFAULT_RANK
    targets: tuple[str, ...] = DEFAULT_TARGETS
    num_adapters: int = 1
    frozen_bytes: float = WEIGHT_BYTES

    def __post_init__(self) -> None:
        if self.rank < 1 or self.num_adapters < 1:
            raise GigafleetError("LoRA rank and adapters must be positive", field="lora_rank")
        if self.frozen_bytes not in (1.0, 2.0):
            raise GigafleetError(
                "frozen base weights are bf16 or fp8",
                field="frozen_weights",
                allowed=("bf16", "fp8"),
            )


def adapted_matrices(
    arch: ArchCosts, targets: tuple[str, ...]
) -> list[tuple[float, int, int, int]]:
    """The adapted base weights: ``(count, N, K, split)`` per kind of matrix over the whole
    model, ``count`` weights of ``K -> N`` each (split as :attr:`ArchCosts.attn_gemms`:
    1 column-, 2 row-parallel, 0 replicated). Routed experts count as ``top_k`` per token
    (``count`` is then per token); their parameters are :func:`adapter_params`."""
    h = arch.hidden
    n_mix = arch.num_attn + arch.mtp_layers
    n_ffn = arch.num_mlp + (arch.mtp_layers if not arch.num_moe else 0)
    n_moe = arch.num_moe + (arch.mtp_layers if arch.num_moe else 0)
    out: list[tuple[float, int, int, int]] = []
    for n, k, split in arch.attn_gemms:
        if ("o" if split == 2 else "qkv") in targets:
            out.append((n_mix, n, k, split))
    if arch.num_mamba:
        if "qkv" in targets:
            out.append((arch.num_mamba, arch.mamba_in_width, h, 1))
        if "o" in targets:
            out.append((arch.num_mamba, h, arch.mamba_inner, 2))
    if "mlp" in targets:
        for count, ffn in ((n_ffn, arch.ffn), (n_moe, arch.shared_ffn)):
            if count and ffn:
                out += [(count * (arch.mlp_mats - 1), ffn, h, 1), (count, h, ffn, 2)]
    if "experts" in targets and n_moe:
        d, f, k_ = arch.expert_width, arch.expert_ffn, arch.top_k
        out += [(n_moe * k_ * (arch.mlp_mats - 1), f, d, 1), (n_moe * k_, d, f, 2)]
    return out


def adapter_params(arch: ArchCosts, lora: Lora) -> float:
    """Parameters of one adapter over the whole model: ``r (K + N)`` per adapted weight
    (every routed expert carries its own)."""
    total = sum(c * (n + k) for c, n, k, _ in adapted_matrices(arch, lora.targets))
    if "experts" in lora.targets and arch.num_experts:  # all experts hold adapters, top_k run
        per_token = sum(c * (n + k) for c, n, k, _ in adapted_matrices(arch, ("experts",)))
        total += per_token * (arch.num_experts / arch.top_k - 1)
    return float(lora.rank * total)


def adapter_flops_per_token(arch: ArchCosts, lora: Lora) -> float:
    """Forward FLOPs of the adapters per token: ``2 r (K + N)`` per adapted weight."""
    return 2.0 * lora.rank * sum(c * (n + k) for c, n, k, _ in adapted_matrices(arch, lora.targets))


@dataclass(frozen=True, slots=True)
class LoraTerms:
    """What the adapters add to a step (arrays over strategies)."""

    act_bytes: Any  # saved activations per micro-batch on the stage (x A)
    memory_bytes: Any  # adapter weights, gradients, optimizer state; minus what an FP8 base saves
    dp_exposed: Any  # adapter gradient all-reduce not hidden behind the backward pass
    t_opt: Any  # adapter optimizer step
    params_per_adapter: float


def add_adapters(
    arch: ArchCosts, *, s: Any, rf: Roofline, eff: Efficiency, tk: Any, ps: Any, lora: Lora
) -> Any:
    """``ps`` (:class:`.passes.Passes`) with the adapters' GEMMs added: forward once,
    backward twice; and with full recomputation, forward again. An FP8 base under BF16
    GEMMs adds its dequantisation to the memory-bound time."""
    t, tp = tk.t, s.tp
    b = np.minimum(s.mb, lora.num_adapters)  # adapter segments in a micro-batch
    e_bf16 = eff.gemm[Precision.BF16]
    ad_f = 0.0
    for count, n, k, split in adapted_matrices(arch, lora.targets):
        nn, kk = (n / tp if split == 1 else n), (k / tp if split == 2 else k)
        m = t / b if split else tk.tsp / b
        one = _gemm(m, lora.rank, kk, rf.peak_bf16, e_bf16, rf.bw, 2.0) + _gemm(
            m, nn, lora.rank, rf.peak_bf16, e_bf16, rf.bw, 2.0
        )
        ad_f = ad_f + count * b * one
    dequant = 0.0
    if lora.frozen_bytes < WEIGHT_BYTES:  # FP8 base, BF16 GEMMs: read 1, write 2 bytes
        weights = arch.dense_params / tp + arch.routed_expert_params / s.ep  # all layers
        dequant = np.where(s.pidx == Precision.BF16, rf.ew(weights * 3.0), 0.0)
    recompute = np.where(s.rec == Recompute.FULL, ad_f, 0.0)
    return replace(
        ps,
        gemm_f=ps.gemm_f + ad_f,
        gemm_b=ps.gemm_b + 2.0 * ad_f,
        ew_f=ps.ew_f + dequant,
        ew_b=ps.ew_b + dequant,
        recompute_t=ps.recompute_t + recompute,
        total_fb=ps.total_fb + 3.0 * ad_f + recompute + 2.0 * dequant,
    )


def lora_terms(
    arch: ArchCosts, *, s: Any, tk: Any, ps: Any, dpar: Any, hw: Any, lora: Lora
) -> LoraTerms:
    """Adapter memory, saved activations, gradient reduction and optimizer step."""
    tp, pp = s.tp, s.pp
    p_one = adapter_params(arch, lora)
    p_gpu = lora.num_adapters * p_one / (tp * pp)
    active = np.minimum(lora.num_adapters, s.gbs) * p_one / (tp * pp)  # updated in a step
    shard = np.where(s.zero >= 1, dpar.shard_dense, 1.0)
    state = p_gpu * (WEIGHT_BYTES + GRAD_BYTES) + OPTIMIZER_BYTES * p_gpu / shard
    # what the frozen base weights save when stored in FP8 (FSDP shards them)
    w_shard = np.where(s.zero == 3, dpar.shard_dense, 1.0)
    w_shard_e = np.where(s.zero == 3, dpar.shard_expert, 1.0)
    saved = (WEIGHT_BYTES - lora.frozen_bytes) * (
        dpar.dense_gpu / w_shard + dpar.expert_gpu / w_shard_e
    )
    n_mats = sum(c for c, *_ in adapted_matrices(arch, lora.targets))
    act = 2.0 * lora.rank * n_mats / tp / pp * tk.t
    g, n = coll.group_layout(s.dp * s.cp, tp, hw.net.domain_size)
    ar = coll.all_reduce_time(active * GRAD_COMM_BYTES, g, n, hw.net)
    bwd_mb = (ps.gemm_b + ps.core_b + ps.ew_b) / pp
    return LoraTerms(
        act_bytes=act,
        memory_bytes=state - saved,
        dp_exposed=np.maximum(0.0, ar - bwd_mb),
        t_opt=active / shard * OPTIMIZER_BYTES_PER_PARAM / (hw.hbm_bw * MEMORY_EFFICIENCY),
        params_per_adapter=p_one,
    )
