"""LLM serving: the time of one forward iteration on a replica, and its KV-cache capacity.

A replica holds one copy of the model on ``tp x pp`` GPUs (experts spread over ``ep`` of
them). One iteration processes ``P`` new prompt tokens (chunked prefill) and one token for
each of ``D`` running sequences whose KV contexts sum to ``C`` tokens (continuous batching,
Yu et al. OSDI'22; Agrawal et al. 2024, Sarathi-Serve). With ``T = P + D``, each GPU spends,
layer by layer, the larger of its compute and its memory traffic (roofline):

* GEMMs: ``max((T + 128) F / (P_peak e), (W + T b) / (B e_mem))``: ``F`` FLOPs per token,
  ``W`` weight bytes (read once per iteration: why batching pays), ``b`` activation bytes
  per token; ``(T + 128)/T`` is the shape efficiency of a thin GEMM (128-wide tiles);
* MoE experts: only the experts the batch routes to are read: ``E_local (1 - (1 - k/E)^T)``;
* attention: prefill ``P min(P, L)/2`` query-key pairs per layer (prompts of about ``L``
  tokens, causal) at attention efficiency; decode reads the KV cache, ``C`` tokens, at HBM
  bandwidth;
* elementwise operators at HBM bandwidth; TP all-reduce (two per layer) and EP
  all-to-all over the scale-up domain;
* the logits of the ``D`` decoding sequences;
* the whole iteration divided by the serving engine's efficiency ``e_engine``
  (``serving.engine_efficiency`` in catalog/data/calibration.yaml: TensorRT-LLM and vLLM,
  each fitted on one named MLPerf Inference v4.1 Offline result, the other results held
  out; see gigafleet/validate/mlperf.py). It stands for what the roofline leaves out
  (host scheduling, launch gaps, kernels below their roofline); ``engine=None`` gives the
  bare roofline.

Efficiencies come from the training calibration (same kernels), so serving predictions
are extrapolated from training measurements; ``ServingReplica.calibration`` says so.
The per-iteration function is plain Python arithmetic on precomputed coefficients, because
the request simulator calls it once per iteration (millions of times).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import ModelArch, System
from gigafleet.enums import ENGINES, PRECISIONS
from gigafleet.errors import GigafleetError
from gigafleet.perf import collectives as coll
from gigafleet.perf.arch import arch_costs
from gigafleet.perf.hardware import Hardware, resolve_hardware
from gigafleet.perf.training.constants import (
    ATTENTION_EFFICIENCY_RATIO,
    GEMM_TILE,
    MEMORY_EFFICIENCY,
    OPERAND_BYTES,
    RESERVED_FIXED_BYTES,
    RESERVED_FRACTION,
)
from gigafleet.perf.training.efficiency import efficiency_for

KV_PRECISIONS = PRECISIONS
KV_BYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5625}
#: Activation workspace per batched token and hidden unit (bytes): residual, norm and MLP
#: intermediates of the widest layer in flight, BF16. Estimate.
WORKSPACE_BYTES_PER_TOKEN_HIDDEN = 24.0


@dataclass(frozen=True, slots=True)
class ServingReplica:
    """The iteration-time model of one replica: precomputed coefficients, scalar arithmetic."""

    model: str
    system: str
    accelerator: str
    tp: int
    pp: int
    ep: int
    num_gpus: int
    weight_precision: str
    kv_precision: str
    calibration: str
    weight_bytes_per_gpu: float
    kv_bytes_per_token: float  # whole replica (what moves in a KV transfer)
    kv_capacity_tokens: int
    max_batched_tokens: int
    tdp_w: float
    # Prefill tokens of one iteration come from prompts of about this length; a token
    # attends to half of its own prompt on average (causal), not to the whole chunk.
    prompt_tokens_hint: float
    # coefficients (per iteration, seconds)
    efficiency: float  # the serving engine's share of roofline speed (1: bare roofline)
    _dense_flop_s: float  # compute seconds per token of all dense GEMMs (incl. tile padding /T)
    _dense_mem_fixed: float  # weight-read seconds of dense GEMMs
    _dense_mem_tok: float  # activation-traffic seconds per token
    _expert_flop_s: float  # compute seconds per token of routed experts
    _expert_w_s: float  # seconds to read one layer's experts (the GPU's share)
    _route_keep: float  # (1 - k/E): probability one token skips a given expert
    _num_moe: int
    _attn_prefill_s: float  # seconds per (prefill token x key)
    _attn_decode_s: float  # seconds per decode context token (max of flops, KV read)
    _attn_window_s: float  # seconds per decoding sequence for sliding-window layers
    _ew_tok: float  # elementwise seconds per token
    _comm_fixed: float
    _comm_tok: float
    _logit_flop_s: float
    _logit_w_s: float

    def iteration_time(
        self, prefill_tokens: int, decode_tokens: int, decode_context_tokens: int
    ) -> float:
        """Seconds for one iteration (see the module docstring for the formula)."""
        t = prefill_tokens + decode_tokens
        if t <= 0:
            return 0.0
        pad = (t + GEMM_TILE) / t  # thin-GEMM shape efficiency
        dense = max(t * pad * self._dense_flop_s, self._dense_mem_fixed + t * self._dense_mem_tok)
        moe = 0.0
        if self._num_moe:
            touched = 1.0 - self._route_keep**t  # share of experts the batch routes to
            moe = self._num_moe * max(t * pad * self._expert_flop_s, self._expert_w_s * touched)
        attn = prefill_tokens * 0.5 * self.prompt_tokens_hint * self._attn_prefill_s
        attn += decode_context_tokens * self._attn_decode_s + decode_tokens * self._attn_window_s
        logits = 0.0
        if decode_tokens or prefill_tokens:
            rows = max(decode_tokens, 1)
            logits = max(rows * self._logit_flop_s, self._logit_w_s)
        comm = self._comm_fixed + t * self._comm_tok
        return (dense + moe + attn + t * self._ew_tok + logits + comm) / self.efficiency

    def phase_times(
        self, prefill_tokens: int, decode_tokens: int, decode_context_tokens: int
    ) -> dict[str, float]:
        """The terms of :meth:`iteration_time` by what bounds them, for the power model:
        ``compute`` (GEMMs and prefill attention on their FLOPs), ``memory`` (weight and KV
        reads, elementwise), ``comm`` (all-reduce, all-to-all, stage transfers) and ``idle``
        (host overhead). They sum to the iteration time."""
        t = prefill_tokens + decode_tokens
        out = {"compute": 0.0, "memory": 0.0, "comm": 0.0, "idle": 0.0}
        if t <= 0:
            return out

        def put(flop_s: float, mem_s: float) -> None:
            key = "compute" if flop_s >= mem_s else "memory"
            out[key] += max(flop_s, mem_s)

        pad = (t + GEMM_TILE) / t
        put(t * pad * self._dense_flop_s, self._dense_mem_fixed + t * self._dense_mem_tok)
        if self._num_moe:
            touched = 1.0 - self._route_keep**t
            put(
                self._num_moe * t * pad * self._expert_flop_s,
                self._num_moe * self._expert_w_s * touched,
            )
        out["compute"] += prefill_tokens * 0.5 * self.prompt_tokens_hint * self._attn_prefill_s
        out["memory"] += (
            decode_context_tokens * self._attn_decode_s
            + decode_tokens * self._attn_window_s
            + t * self._ew_tok
        )
        rows = max(decode_tokens, 1)
        put(rows * self._logit_flop_s, self._logit_w_s)
        out["comm"] += self._comm_fixed + t * self._comm_tok
        # the engine's shortfall stretches every phase alike: the power mix is unchanged
        return {k: v / self.efficiency for k, v in out.items()}

    def decode_throughput(
        self, batch: int, context_tokens: float, prompt_tokens: float, output_tokens: float
    ) -> float:
        """Steady-state output tokens/s at ``batch`` running sequences: each iteration decodes
        ``batch`` tokens and prefills the prompts of the ``batch/output_tokens`` that finished."""
        prefill = batch * prompt_tokens / max(output_tokens, 1.0)
        t = self.iteration_time(int(round(prefill)), batch, int(batch * context_tokens))
        return batch / t


def engine_efficiency(catalog: Catalog, engine: str | None) -> tuple[float, str]:
    """The calibrated efficiency of ``engine`` and its status; ``None``: the bare roofline."""
    if engine is None:
        return 1.0, "not applied"
    if engine not in ENGINES:
        raise GigafleetError(
            f"unknown serving engine {engine!r}; allowed: {', '.join(ENGINES)}",
            field="engine",
            allowed=ENGINES,
        )
    cal = catalog.params.calibration.serving.engine_efficiency
    if engine in cal:
        return float(cal[engine]), "fitted"
    return 1.0, "uncalibrated"


def serving_replica(
    model: str | ModelArch,
    system: str | System,
    *,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    weight_precision: str = "bf16",
    kv_precision: str | None = None,
    max_batched_tokens: int = 8192,
    prompt_tokens_hint: float = 1024.0,
    catalog: Catalog | None = None,
    fabric: str | None = None,
    engine: str | None = "tensorrt-llm",
) -> ServingReplica:
    """Build the iteration model of one replica; bad degrees raise :class:`GigafleetError`."""
    catalog = catalog or load_catalog()
    m = model if isinstance(model, ModelArch) else catalog.model(model)
    hw: Hardware = resolve_hardware(catalog, system, fabric=fabric)
    acc = hw.accelerator
    kv_precision = kv_precision or weight_precision
    if weight_precision not in PRECISIONS:
        raise GigafleetError(
            f"unknown {weight_precision!r}; allowed: {', '.join(PRECISIONS)}",
            field="weight_precision",
        )
    if kv_precision not in KV_PRECISIONS:
        raise GigafleetError(
            f"unknown {kv_precision!r}; allowed: {', '.join(KV_PRECISIONS)}", field="kv_precision"
        )
    if acc.dense_flops(weight_precision) is None:
        raise GigafleetError(
            f"{acc.name} does not support {weight_precision}; allowed: {', '.join(acc.precisions)}",
            field="weight_precision",
        )
    for name, v in (("tp", tp), ("pp", pp), ("ep", ep), ("max_batched_tokens", max_batched_tokens)):
        if not isinstance(v, int) or v < 1:
            raise GigafleetError(f"must be a positive integer, got {v!r}", field=name)
    if m.num_attention_heads % tp:
        raise GigafleetError(
            f"tp = {tp} must divide the {m.num_attention_heads} attention heads of {m.name}",
            field="tp",
        )
    if m.moe is None and ep > 1:
        raise GigafleetError(f"ep = {ep} needs a MoE model; {m.name} is dense", field="ep")
    if m.moe is not None and (m.moe.num_experts % ep or (tp * pp) % ep):
        raise GigafleetError(
            f"ep = {ep} must divide the {m.moe.num_experts} experts and the replica's {tp * pp} GPUs",
            field="ep",
        )
    if pp > m.num_layers:
        raise GigafleetError(f"pp = {pp} exceeds the {m.num_layers} layers of {m.name}", field="pp")

    a = arch_costs(m)
    eff = efficiency_for(catalog, hw.generation)
    pidx = PRECISIONS.index(weight_precision)
    peak = acc.dense_flops(weight_precision)
    peak_bf16 = acc.dense_flops("bf16")
    e_gemm = float(eff.gemm[pidx])
    e_attn = float(eff.gemm[0]) * ATTENTION_EFFICIENCY_RATIO
    bw = hw.hbm_bw * MEMORY_EFFICIENCY
    wb = float(OPERAND_BYTES[pidx])
    kvb = KV_BYTES[kv_precision]
    h = a.hidden
    n_gpu = tp * pp
    # Time: the pp stages of one iteration run in turn, so an iteration costs the whole
    # model split over tp (pipelining several batches is not modelled: pp buys memory, not
    # speed). Memory: each GPU holds 1/(tp pp) of it.

    # Dense GEMMs (attention projections, dense MLPs, shared experts, Mamba projections).
    dense_params = a.dense_params - a.embed_params - a.output_params
    dense_flops_tok = 2.0 * dense_params / tp
    dense_weight_bytes = dense_params * wb / tp
    sublayers = a.num_attn + a.num_mlp + a.num_moe + a.num_mamba
    io_tok = 2.0 * (4 * h) * sublayers / tp  # GEMM inputs and outputs, BF16
    # Routed experts: spread over the tp GPUs of a stage (ep of them hold whole experts,
    # each sharded tp/ep ways); a batch reads only the experts its tokens route to.
    n_moe = a.num_moe + a.mtp_param_layers * (a.num_moe > 0)
    per_expert_params = a.expert_params / max(a.num_experts, 1)
    expert_w_s = a.expert_params * wb / tp / bw  # all experts of one layer
    expert_flop_s = (2.0 * a.top_k * per_expert_params / tp) / (peak * e_gemm)
    route_keep = 1.0 - a.top_k / a.num_experts if a.num_experts else 1.0

    # Attention and KV cache. GQA heads split over tp (replicated when tp exceeds them);
    # MLA caches its compressed latent on every TP rank (DeepSeek-V3 report, Sec. 2.1.1).
    # Sliding-window layers keep only ``window`` tokens per sequence: no per-token KV.
    full = a.num_attn - a.num_sliding
    if a.mla:
        per_layer_gpu = m.attention.kv_lora_rank + m.attention.qk_rope_head_dim
        per_layer_replica = per_layer_gpu
    else:
        per_layer_gpu = 2.0 * max(a.num_kv_heads / tp, 1.0) * m.dim_head
        per_layer_replica = 2.0 * a.num_kv_heads * m.dim_head
    kv_gpu_bytes_tok = per_layer_gpu * full / pp * kvb  # what one GPU stores per token
    kv_read_tok = (
        per_layer_gpu * full * kvb
    )  # what an iteration reads per context token (all stages)
    core_layer = a.core_flops_per_key / tp  # per (query token x key) per layer
    attn_prefill_s = core_layer * a.num_attn / (peak_bf16 * e_attn)
    attn_decode_s = max(core_layer * full / (peak_bf16 * e_attn), kv_read_tok / bw)
    attn_window_s = (
        a.window * a.num_sliding * max(core_layer / (peak_bf16 * e_attn), per_layer_gpu * kvb / bw)
    )  # per decoding sequence

    # Elementwise: norms, residuals, activations, token shuffling, KV writes.
    ew_bytes = (
        sublayers * 10.0 * h / tp
        + a.num_mlp * 6.0 * a.ffn / tp
        + n_moe * a.top_k * (16.0 * a.expert_width + 6.0 * a.expert_ffn) / tp
        + a.num_mamba * (a.mamba_bytes + a.mamba_ssd_bytes) / tp
        + kv_read_tok
    )
    ew_tok = ew_bytes / bw

    # Communication: one all-reduce after each TP-split sublayer (Megatron TP at inference;
    # an MoE layer with ep = tp combines through its all-to-all instead), the MoE all-to-all
    # over ep, and a point-to-point transfer between consecutive stages.
    net = hw.net
    g_tp, n_tp = coll.group_layout(tp, 1, net.domain_size)
    ar_fixed = float(coll.all_reduce_time(0.0, g_tp, n_tp, net))
    ar_per_byte = float(coll.all_reduce_time(1e9, g_tp, n_tp, net)) / 1e9 - ar_fixed / 1e9
    n_ar = a.num_attn + a.num_mlp + a.num_mamba + (a.num_moe if ep < tp else 0)
    comm_fixed = n_ar * ar_fixed if tp > 1 else 0.0
    comm_tok = n_ar * ar_per_byte * 2.0 * h if tp > 1 else 0.0
    if ep > 1 and a.num_experts:
        g_ep, n_ep = coll.group_layout(ep, 1, net.domain_size)
        # moe_dispatch_time includes the collective's start-up latency: that is paid once per
        # dispatch (per layer and iteration), not once per token.
        lat = float(coll.moe_dispatch_time(0.0, a.top_k, g_ep, n_ep, net))
        per = float(coll.moe_dispatch_time(2.0 * a.expert_width, a.top_k, g_ep, n_ep, net)) - lat
        comm_fixed += 2 * n_moe * lat
        comm_tok += 2 * n_moe * per
    if pp > 1:
        comm_fixed += (pp - 1) * net.out_latency
        comm_tok += (pp - 1) * 2.0 * h / net.out_bw

    # Logits of the decoding sequences (one row at least: the prefill's last token samples).
    logit_flop_s = 2.0 * h * a.vocab / tp / (peak * e_gemm)
    logit_w_s = h * a.vocab * wb / tp / bw

    weight_bytes = (
        (dense_params + a.embed_params + a.output_params + a.routed_expert_params) * wb / n_gpu
    )
    workspace = max_batched_tokens * h * WORKSPACE_BYTES_PER_TOKEN_HIDDEN
    free = (
        hw.hbm_bytes
        - RESERVED_FIXED_BYTES
        - RESERVED_FRACTION * hw.hbm_bytes
        - weight_bytes
        - workspace
    )
    if free <= 0:
        need = (hw.hbm_bytes - free) / 2**30
        raise GigafleetError(
            f"{m.name} does not fit on {n_gpu} x {acc.name} at {weight_precision}: needs {need:.1f} GiB "
            f"per GPU, has {hw.hbm_bytes / 2**30:.1f} GiB; raise tp or pp, or lower the precision",
            field="tp",
        )
    kv_capacity = int(free / kv_gpu_bytes_tok) if kv_gpu_bytes_tok else 10**12
    kv_elems_replica = per_layer_replica * full
    efficiency, status = engine_efficiency(catalog, engine)
    return ServingReplica(
        model=m.name,
        system=hw.system,
        accelerator=acc.name,
        tp=tp,
        pp=pp,
        ep=ep,
        num_gpus=n_gpu,
        weight_precision=weight_precision,
        kv_precision=kv_precision,
        calibration=f"GEMM efficiency {eff.status} on training; engine efficiency ({engine}) "
        f"{status} on MLPerf Inference v4.1",
        weight_bytes_per_gpu=weight_bytes,
        kv_bytes_per_token=kv_elems_replica * kvb,
        kv_capacity_tokens=kv_capacity,
        max_batched_tokens=max_batched_tokens,
        tdp_w=acc.tdp_w,
        prompt_tokens_hint=float(prompt_tokens_hint),
        efficiency=efficiency,
        _dense_flop_s=dense_flops_tok / (peak * e_gemm),
        _dense_mem_fixed=dense_weight_bytes / bw,
        _dense_mem_tok=io_tok / bw,
        _expert_flop_s=expert_flop_s,
        _expert_w_s=expert_w_s,
        _route_keep=route_keep,
        _num_moe=n_moe,
        _attn_prefill_s=attn_prefill_s,
        _attn_decode_s=attn_decode_s,
        _attn_window_s=attn_window_s,
        _ew_tok=ew_tok,
        _comm_fixed=comm_fixed,
        _comm_tok=comm_tok,
        _logit_flop_s=logit_flop_s,
        _logit_w_s=logit_w_s,
    )


def best_offline_throughput(
    replica: ServingReplica, *, prompt_tokens: float, output_tokens: float, max_batch: int = 4096
) -> tuple[float, int]:
    """Output tokens/s of one replica with all requests queued (MLPerf Offline): the best
    steady-state batch that fits the KV cache (each sequence holds its prompt and, on
    average, half its output), and that batch."""
    replica = dataclasses.replace(replica, prompt_tokens_hint=float(prompt_tokens))
    context = prompt_tokens + output_tokens / 2
    fit = int(replica.kv_capacity_tokens // max(prompt_tokens + output_tokens, 1))
    best, best_b = 0.0, 1
    b = 1
    while b <= min(max_batch, max(fit, 1)):
        tps = replica.decode_throughput(b, context, prompt_tokens, output_tokens)
        if tps > best:
            best, best_b = tps, b
        b = b * 2 if b < 64 else b + 64
    return best, best_b


__all__ = [
    "ENGINES",
    "KV_PRECISIONS",
    "ServingReplica",
    "best_offline_throughput",
    "engine_efficiency",
    "serving_replica",
]
