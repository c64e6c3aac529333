"""LLM serving: the time of one forward iteration on a replica, and its KV-cache capacity.

A replica holds one copy of the model on ``tp x pp x dp`` GPUs: ``dp`` attention
data-parallel ranks of ``tp`` GPUs each per pipeline stage (DP attention, as DeepSeek,
SGLang and TensorRT-LLM deploy wide expert parallelism), the routed experts of each MoE layer
spread over ``ep`` of a stage's GPUs. One iteration processes ``P`` new prompt tokens
(chunked prefill) and one token for each of ``D`` running sequences whose KV contexts sum to
``C`` tokens (continuous batching, Yu et al. OSDI'22; Agrawal et al. 2024, Sarathi-Serve),
spread evenly over the ``dp`` ranks. With ``T = P + D`` and ``T_r = T / dp`` tokens per
rank, each GPU spends, layer by layer, the larger of its compute and its memory traffic
(roofline):

* dense GEMMs (attention projections, dense MLPs, shared experts): ``max((T_r + 128) F /
  (tp P_peak e), (W / tp + T_r b) / (B e_mem))``: ``W`` weight bytes (read once per
  iteration: why batching pays); ``(T_r + 128)/T_r`` the shape efficiency of a thin GEMM;
* routed experts: a GPU holds ``(E + R)/ep`` expert slots (``R`` redundant copies of hot
  experts, placed by an expert-placement balancer) and reads only those the batch routes to,
  ``1 - (1 - k/E)^T`` of them; its tokens are ``T k / ep`` times ``1 + r`` on the busiest
  rank (:func:`expert_imbalance`), in tiles of 128 per expert;
* attention: prefill ``P min(P, L)/2`` query-key pairs per layer; decode reads the KV cache
  (``C`` tokens) at HBM bandwidth, or, for MLA in its absorbed form, runs
  ``2 h (d_c + d_r + d_c)`` FLOPs per key on the latent (compute-bound: FlashMLA, see
  :data:`MLA_DECODE_EFFICIENCY`);
* elementwise operators at HBM bandwidth; TP all-reduce (two per layer) within a rank;
* the MoE all-to-all, **per GPU**: a GPU dispatches its ``T / (tp dp)`` tokens (each to
  ``k`` experts, one copy per remote scale-up domain with node-aware dispatch) and receives
  the combine, ``(b_dispatch + b_combine) w`` bytes per token copy (FP8 dispatch with FP8
  weights, BF16 combine: DeepSeek Day-6 overview), over the scale-up domain and the fabric
  (:func:`gigafleet.perf.collectives.moe_dispatch_time`);
* the logits of the decoding sequences.

Two-micro-batch overlap (``two_batch_overlap``: DeepSeek-V3 report Sec. 3.4, SGLang TBO)
splits the iteration in halves and runs one half's communication under the other's
compute: ``2 (w + m - eta min(w, m))`` with ``w``, ``m`` the compute and communication of a
half (:data:`TBO_OVERLAP`). Each half reads the weights again, so it loses at small batches
(SGLang measured -27% at 32 tokens per device, +25% at 256).

The serving engine then adds what the roofline leaves out (:mod:`gigafleet.perf.engine`):
its kernel efficiency divides the compute terms, its host work and kernel launches bound
the iteration from below. ``engine=None`` is the bare roofline.

GEMM and attention efficiencies come from the training calibration (same kernels), so the
serving predictions extrapolate from training measurements plus the engine fit;
``ServingReplica.calibration`` says so. The per-iteration function is plain Python arithmetic
on precomputed coefficients: the request simulator calls it millions of times.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import ModelArch, System
from gigafleet.enums import ENGINES, PRECISIONS
from gigafleet.errors import GigafleetError
from gigafleet.perf import collectives as coll
from gigafleet.perf.arch import arch_costs
from gigafleet.perf.engine import KERNELS_PER_LAYER, LAUNCH_S, EngineProfile, engine_profile
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
#: MLA decode attention in its absorbed form reaches 580 of the 990 TFLOP/s BF16 peak of an
#: H800 when compute-bound (FlashMLA README, github.com/deepseek-ai/FlashMLA, release of
#: 2025-02; the 2025-04 kernel reaches 660). Taken for every generation (estimate elsewhere).
MLA_DECODE_EFFICIENCY = 580.0 / 990.0
#: Expert load imbalance: the per-rank token count has coefficient of variation
#: ``cv / sqrt(slots per rank)`` and the busiest of ``ep`` ranks sits ``sqrt(2 ln ep)`` of them
#: above the mean (max of ``ep`` normals). ``cv`` per expert slot is derived from TensorRT-LLM's
#: measurement on DeepSeek-R1, EP32 on GB200, local batch 256 (NVIDIA/TensorRT-LLM tech blog 4,
#: Table 1): per rank std/mean 491.6/1024 at 8 slots without a balancer (cv = 0.48 x sqrt 8 =
#: 1.36) and 52.0/1024 at 9 slots with EPLB (0.051 x 3 = 0.152). The same formula gives
#: max/mean - 1 = 1.26 and 0.13 there against 1.564 and 0.109 measured.
#: Two-micro-batch overlap hides this share of the shorter of a half-batch's compute and
#: communication: ``2 (w + m - eta min(w, m))`` (eta = 1 would be perfect overlap). Fitted on
#: SGLang's TBO ablation for DeepSeek-V3 decode on 72 H100 at 256 tokens per device (+25.5%,
#: lmsys.org/blog/2025-05-05-large-scale-ep); the same value gives -22% at 32 tokens per
#: device (published -27%), +28% for prefill (published +27% to +35%) and +28% for simulated
#: MTP at 128 (published +35%).
TBO_OVERLAP = 0.54
EXPERT_LOAD_CV = {False: 491.6 / 1024 * math.sqrt(8), True: 52.0 / 1024 * math.sqrt(9)}

#: Most ``(prefill, decode)`` pairs whose iteration terms a replica keeps, about 400 bytes
#: each (a simulation sees thousands, DeepSeek-V3's decode batches up to ~20,000; past this
#: many the memo starts again, so a scenario's replicas hold a few MB at most).
MEMO_MAX_ENTRIES = 1 << 14


def expert_imbalance(ep: int, slots_per_rank: float, *, balanced: bool) -> float:
    """``r = (max - mean) / mean`` of routed tokens over ``ep`` ranks (see
    :data:`EXPERT_LOAD_CV`): ``cv / sqrt(m) * sqrt(2 ln ep)``; 0 without expert parallelism."""
    if ep <= 1:
        return 0.0
    return EXPERT_LOAD_CV[balanced] / math.sqrt(slots_per_rank) * math.sqrt(2.0 * math.log(ep))


@dataclass(frozen=True, slots=True)
class ServingReplica:
    """The iteration-time model of one replica: precomputed coefficients, scalar arithmetic."""

    model: str
    system: str
    accelerator: str
    tp: int
    pp: int
    ep: int
    dp: int
    num_gpus: int
    weight_precision: str
    kv_precision: str
    calibration: str
    engine: EngineProfile
    weight_bytes_per_gpu: float
    kv_bytes_per_token: float  # whole replica (what moves in a KV transfer)
    kv_capacity_tokens: int
    max_batched_tokens: int  # per iteration, all dp ranks together
    tdp_w: float
    # Prefill tokens of one iteration come from prompts of about this length; a token
    # attends to half of its own prompt on average (causal), not to the whole chunk.
    prompt_tokens_hint: float
    two_batch_overlap: bool
    expert_imbalance: float  # r of the busiest expert-parallel rank
    mtp_draft_fraction: float  # one MTP module's step as a share of a decode iteration
    # query tokens per decoding sequence (k + 1 when verifying k drafts): compute-bound
    # attention (MLA) scales with it, the KV read does not
    decode_queries: float
    # coefficients (seconds; "per token" means per token of the whole replica unless noted)
    _inv_kernel_efficiency: float  # 1 / the engine's kernel efficiency (useful GEMM rows)
    _dense_flop_s: float  # compute seconds per rank token of dense GEMMs (training efficiency)
    _dense_mem_fixed: float  # weight-read seconds of dense GEMMs
    _dense_mem_tok: float  # activation traffic per rank token
    _expert_flop_s: float  # compute seconds per token of routed experts (busiest rank)
    _expert_w_s: float  # seconds to read one layer's expert slots on a GPU
    _route_keep: float  # (1 - k/E): probability one token skips a given expert
    _expert_share: float  # k/E: token copies per expert per token
    _num_moe: int
    _attn_prefill_s: float  # per (prefill rank token x key)
    _attn_decode_flop_s: float  # per decode context rank token and query, compute
    _attn_decode_mem_s: float  # per decode context rank token, KV read
    _attn_window_s: float  # per decoding rank sequence, sliding-window layers
    _ew_tok: float  # elementwise seconds per rank token
    _ew_moe_tok: float  # elementwise seconds of routed experts per token
    _comm_fixed: float
    _comm_rank_tok: float  # TP all-reduce and stage transfers per rank token
    _comm_ep_tok: float  # all-to-all per token, node-aware (prefill kernels)
    _comm_ep_direct_tok: float  # all-to-all per token, one send per expert (decode kernels)
    _logit_flop_s: float
    _logit_w_s: float
    _launch_s: float  # CPU time to enqueue an eager iteration's kernels
    # iteration_time's terms per (prefill, decode) tokens: a cache, not a field of the model
    _memo: dict[tuple[int, int], tuple] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def _gpu(self, p: float, d: float, c: float) -> tuple[float, float]:
        """GPU seconds of one iteration: (compute and memory, communication). Only the
        decode attention depends on the context ``c`` (a scalar, or an array for
        :meth:`decode_times`): it is added to :meth:`_terms` in the formula's order."""
        work, attn, window, logits, elementwise, comm = self._terms(p, d)
        work += (c / self.dp) * attn + window
        work += logits
        work += elementwise
        return work, comm

    def _terms(self, p: float, d: float) -> tuple[float, float, float, float, float, float]:
        """The terms of :meth:`_gpu` that do not depend on the context: the work before
        the decode attention, that attention's seconds per context rank token, the
        sliding-window attention, the logits, the elementwise work, the communication."""
        t = p + d
        dp = self.dp
        tr = t / dp
        inv = self._inv_kernel_efficiency
        # a partly filled 128-row tile costs a full one at any engine's efficiency
        work = max((tr * inv + GEMM_TILE) * self._dense_flop_s,
                   self._dense_mem_fixed + tr * self._dense_mem_tok)  # fmt: skip
        if self._num_moe:
            touched = 1.0 - self._route_keep**t  # share of experts the batch routes to
            te = t * self._expert_share / touched  # tokens per routed-to expert
            work += self._num_moe * max(
                t * (inv + GEMM_TILE / te) * self._expert_flop_s, self._expert_w_s * touched
            )
        work += (p / dp) * 0.5 * self.prompt_tokens_hint * self._attn_prefill_s
        attn = max(self.decode_queries * self._attn_decode_flop_s, self._attn_decode_mem_s)
        window = (d / dp) * self._attn_window_s
        logits = max(max(d / dp, 1.0) * self._logit_flop_s, self._logit_w_s)
        elementwise = tr * self._ew_tok + t * self._ew_moe_tok
        ep_tok = self._comm_ep_tok if p else self._comm_ep_direct_tok
        comm = self._comm_fixed + tr * self._comm_rank_tok + t * ep_tok
        return work, attn, window, logits, elementwise, comm

    def _gpu_time(self, p: float, d: float, c: float) -> float:
        if self.two_batch_overlap and p + d >= 2:
            w, m = self._gpu(0.5 * p, 0.5 * d, 0.5 * c)
            return 2.0 * (w + m - TBO_OVERLAP * min(w, m))
        w, m = self._gpu(p, d, c)
        return w + m

    def iteration_time(
        self, prefill_tokens: int, decode_tokens: int, decode_context_tokens: int
    ) -> float:
        """Seconds for one iteration (see the module docstring for the formula).

        The simulator asks for the same batch at one context after another (a run), so
        what does not depend on the context is kept per ``(prefill, decode)`` pair
        (:meth:`_batch_terms`), and the context term is added to it in the formula's order
        (as :meth:`_gpu` adds it: the same floats, checked bit for bit against
        :meth:`decode_times`), in one call: 0.8 us instead of 1.9 us (measured on the
        hyperscale run's 400,000 calls)."""
        key = (prefill_tokens, decode_tokens)
        terms = self._memo.get(key)
        if terms is None:
            if prefill_tokens + decode_tokens <= 0:
                return 0.0
            if len(self._memo) >= MEMO_MAX_ENTRIES:
                self._memo.clear()
            terms = self._memo[key] = self._batch_terms(prefill_tokens, decode_tokens)
        work, attn, window, logits, elementwise, comm, halves, launch, host, overlap = terms
        c = 0.5 * decode_context_tokens if halves else decode_context_tokens
        work += (c / self.dp) * attn + window
        work += logits
        work += elementwise
        gpu = 2.0 * (work + comm - TBO_OVERLAP * min(work, comm)) if halves else work + comm
        if launch is not None:  # eager: the GPU waits for the launches
            gpu = max(gpu, launch)
        return max(gpu, host) if overlap else gpu + host

    def _batch_terms(self, p: int, d: int) -> tuple:
        """What :meth:`iteration_time` needs besides the context: the :meth:`_terms` of the
        batch (of each half-batch with two-batch overlap), whether it runs as two halves,
        the launch time the GPU waits for (None with CUDA graphs and no prefill), the host
        time per iteration, and whether the host overlaps the GPU."""
        halves = self.two_batch_overlap and p + d >= 2
        terms = self._terms(0.5 * p, 0.5 * d) if halves else self._terms(p, d)
        eng = self.engine
        launch = self._launch_s if p or not eng.cuda_graphs else None
        host = eng.host_s_per_iteration + eng.host_s_per_sequence * (d / self.dp + 1)
        return (*terms, halves, launch, host, eng.host_overlap)

    def decode_times(self, decode_tokens: int, decode_context_tokens: np.ndarray) -> np.ndarray:
        """:meth:`iteration_time` of decode-only iterations (``prefill_tokens`` 0) at each
        context of an int64 array, elementwise the same floats (the same operations in the
        same order; only the context term is an array), for the simulator's long runs."""
        d, c = decode_tokens, decode_context_tokens
        if d <= 0:
            return np.zeros(len(c))
        if self.two_batch_overlap and d >= 2:
            w, m = self._gpu(0.0, 0.5 * d, 0.5 * c)
            gpu = 2.0 * (w + m - TBO_OVERLAP * np.minimum(w, m))
        else:
            w, m = self._gpu(0, d, c)
            gpu = w + m
        eng = self.engine
        if not eng.cuda_graphs:
            gpu = np.maximum(gpu, self._launch_s)
        host = eng.host_s_per_iteration + eng.host_s_per_sequence * (d / self.dp + 1)
        return np.maximum(gpu, host) if eng.host_overlap else gpu + host

    def phase_times(
        self, prefill_tokens: int, decode_tokens: int, decode_context_tokens: int
    ) -> dict[str, float]:
        """The terms of :meth:`iteration_time` by what bounds them, for the power model:
        ``compute`` (GEMMs and attention on their FLOPs), ``memory`` (weight and KV reads,
        elementwise), ``comm`` (all-reduce, all-to-all, stage transfers) and ``idle`` (host
        work and launch gaps the GPU waits for). They sum to the iteration time."""
        p, d, c = float(prefill_tokens), float(decode_tokens), float(decode_context_tokens)
        out = {"compute": 0.0, "memory": 0.0, "comm": 0.0, "idle": 0.0}
        t = p + d
        if t <= 0:
            return out
        total = self.iteration_time(prefill_tokens, decode_tokens, decode_context_tokens)

        def put(flop_s: float, mem_s: float) -> None:
            out["compute" if flop_s >= mem_s else "memory"] += max(flop_s, mem_s)

        dp = self.dp
        tr = t / dp
        inv = self._inv_kernel_efficiency
        put((tr * inv + GEMM_TILE) * self._dense_flop_s,
            self._dense_mem_fixed + tr * self._dense_mem_tok)  # fmt: skip
        if self._num_moe:
            touched = 1.0 - self._route_keep**t
            te = t * self._expert_share / touched
            put(self._num_moe * t * (inv + GEMM_TILE / te) * self._expert_flop_s,
                self._num_moe * self._expert_w_s * touched)  # fmt: skip
        out["compute"] += (p / dp) * 0.5 * self.prompt_tokens_hint * self._attn_prefill_s
        put((c / dp) * self.decode_queries * self._attn_decode_flop_s,
            (c / dp) * self._attn_decode_mem_s)  # fmt: skip
        out["memory"] += (d / dp) * self._attn_window_s
        out["memory"] += tr * self._ew_tok + t * self._ew_moe_tok
        put(max(d / dp, 1.0) * self._logit_flop_s, self._logit_w_s)
        ep_tok = self._comm_ep_tok if p else self._comm_ep_direct_tok
        out["comm"] += self._comm_fixed + tr * self._comm_rank_tok + t * ep_tok
        busy = sum(out.values())
        gpu = self._gpu_time(p, d, c)
        scale = gpu / busy if busy > 0 else 0.0  # two-batch overlap hides part of the sum
        out = {k: v * scale for k, v in out.items()}
        out["idle"] = max(total - gpu, 0.0)
        return out

    def step(self, batch: int, context_tokens: float, prompt_tokens: float,
             output_tokens: float, *, beams: int = 1, draft_tokens: int = 0,
             acceptance_rate: float = 0.0, draft_fraction: float = 0.0) -> tuple[float, float]:  # fmt: skip
        """One steady-state step at ``batch`` running requests: (seconds, output tokens).

        Each step decodes every request (``beams`` sequences each, sharing the prompt), and
        prefills the prompts of the requests that finish meanwhile. With ``draft_tokens``
        ``k`` drafted at ``acceptance_rate`` ``a`` (speculative decoding or MTP), a step
        verifies ``k + 1`` tokens per sequence, runs ``k`` draft passes of ``draft_fraction``
        of a decode iteration and emits ``E = (1 - a^(k+1)) / (1 - a)`` tokens (Leviathan et
        al. 2023, eq. 1)."""
        k = draft_tokens
        a = acceptance_rate
        emitted = float(k + 1) if a >= 1.0 else (1.0 - a ** (k + 1)) / (1.0 - a)
        seqs = batch * beams
        prefill = batch * emitted * prompt_tokens / max(output_tokens, 1.0)
        ctx = int(seqs * context_tokens)
        rep = dataclasses.replace(self, decode_queries=float(k + 1)) if k else self
        t = rep.iteration_time(int(round(prefill)), seqs * (k + 1), ctx)
        if k:
            t += k * draft_fraction * self.iteration_time(0, seqs, ctx)
        return t, batch * emitted

    def decode_throughput(
        self, batch: int, context_tokens: float, prompt_tokens: float, output_tokens: float
    ) -> float:
        """Steady-state output tokens/s at ``batch`` running sequences: each iteration decodes
        ``batch`` tokens and prefills the prompts of the ``batch/output_tokens`` that finished."""
        t, n = self.step(batch, context_tokens, prompt_tokens, output_tokens)
        return n / t


def engine_efficiency(catalog: Catalog, engine: str | None) -> tuple[float, str]:
    """The fitted kernel efficiency of ``engine``'s latest release and its status."""
    prof = engine_profile(catalog, engine)
    return prof.kernel_efficiency, prof.status


def _check(m: ModelArch, acc, weight_precision, kv_precision, tp, pp, ep, dp, redundant, mbt):
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
    for name, v in (("tp", tp), ("pp", pp), ("ep", ep), ("dp", dp), ("max_batched_tokens", mbt)):
        if not isinstance(v, int) or v < 1:
            raise GigafleetError(f"must be a positive integer, got {v!r}", field=name)
    if not isinstance(redundant, int) or redundant < 0:
        raise GigafleetError(
            f"must be an integer >= 0, got {redundant!r}", field="redundant_experts"
        )
    if m.num_attention_heads % tp:
        raise GigafleetError(
            f"tp = {tp} must divide the {m.num_attention_heads} attention heads of {m.name}",
            field="tp",
        )
    if m.moe is None and (ep > 1 or dp > 1 or redundant):
        what = "ep" if ep > 1 else ("dp" if dp > 1 else "redundant_experts")
        raise GigafleetError(
            f"{what} > 1 needs a MoE model; {m.name} is dense (serve more replicas instead)",
            field=what,
        )
    if m.moe is not None:
        slots = m.moe.num_experts + redundant
        stage = tp * dp
        if slots % ep or stage % ep:
            raise GigafleetError(
                f"ep = {ep} must divide the {slots} expert slots ({m.moe.num_experts} experts + "
                f"{redundant} redundant) and the {stage} GPUs of a stage (tp x dp)",
                field="ep",
            )
        if dp > 1 and ep != stage:
            raise GigafleetError(
                f"with attention data parallelism the experts spread over every GPU of a "
                f"stage: ep must be tp x dp = {stage}, got {ep}",
                field="ep",
            )
    if pp > m.num_layers:
        raise GigafleetError(f"pp = {pp} exceeds the {m.num_layers} layers of {m.name}", field="pp")


def serving_replica(
    model: str | ModelArch,
    system: str | System,
    *,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    dp: int = 1,
    weight_precision: str = "bf16",
    kv_precision: str | None = None,
    max_batched_tokens: int = 8192,
    prompt_tokens_hint: float = 1024.0,
    catalog: Catalog | None = None,
    fabric: str | None = None,
    engine: str | None = "tensorrt-llm",
    engine_release: str | None = None,
    redundant_experts: int = 0,
    two_batch_overlap: bool = False,
    expert_imbalance_override: float | None = None,
) -> ServingReplica:
    """Build the iteration model of one replica; bad degrees raise :class:`GigafleetError`.

    ``max_batched_tokens`` is per attention-DP rank (what an engine is configured with); the
    replica batches ``dp`` times that per iteration. ``redundant_experts`` extra expert slots
    imply an expert-placement balancer (EPLB), which lowers the load imbalance;
    ``expert_imbalance_override`` replaces the modelled imbalance (0: perfectly balanced
    routing, as DeepSeek's profiles simulate).
    """
    catalog = catalog or load_catalog()
    m = model if isinstance(model, ModelArch) else catalog.model(model)
    hw: Hardware = resolve_hardware(catalog, system, fabric=fabric)
    acc = hw.accelerator
    kv_precision = kv_precision or weight_precision
    _check(m, acc, weight_precision, kv_precision, tp, pp, ep, dp, redundant_experts,
           max_batched_tokens)  # fmt: skip
    prof = engine_profile(catalog, engine, engine_release)
    ke = prof.kernel_efficiency

    a = arch_costs(m)
    eff = efficiency_for(catalog, hw.generation)
    pidx = PRECISIONS.index(weight_precision)
    peak = acc.dense_flops(weight_precision) * float(eff.gemm[pidx])  # GEMMs: ke in _gpu
    peak_bf16 = acc.dense_flops("bf16")
    attn_rate = peak_bf16 * float(eff.gemm[0]) * ATTENTION_EFFICIENCY_RATIO * ke
    bw = hw.hbm_bw * MEMORY_EFFICIENCY
    wb = float(OPERAND_BYTES[pidx])
    kvb = KV_BYTES[kv_precision]
    h = a.hidden
    stage = tp * dp
    n_gpu = stage * pp
    # Time: the pp stages of one iteration run in turn, so an iteration costs the whole model
    # split over a stage (pipelining several batches is not modelled: pp buys memory, not
    # speed). Memory: each GPU holds its stage's share.

    # Dense GEMMs: every rank runs them on its own tokens, split over its tp GPUs.
    dense_params = a.dense_params - a.embed_params - a.output_params
    sublayers = a.num_attn + a.num_mlp + a.num_moe + a.num_mamba
    io_tok = 2.0 * (4 * h) * sublayers / tp  # GEMM inputs and outputs, BF16

    # Routed experts over the stage's GPUs: (E + R)/ep slots per EP rank, each sharded over
    # stage/ep GPUs; the busiest rank gets 1 + r times the mean tokens.
    n_moe = a.num_moe + a.mtp_param_layers * (a.num_moe > 0)
    n_exp = max(a.num_experts, 1)
    per_expert_params = a.expert_params / n_exp
    slots = a.num_experts + redundant_experts
    imb = expert_imbalance(ep, slots / ep, balanced=redundant_experts > 0) if a.num_experts else 0.0
    if expert_imbalance_override is not None:
        imb = float(expert_imbalance_override)
    expert_w_s = slots * per_expert_params * wb / stage / bw  # one layer's slots on a GPU
    expert_flop_s = 2.0 * a.top_k * per_expert_params / stage * (1.0 + imb) / peak
    route_keep = 1.0 - a.top_k / a.num_experts if a.num_experts else 1.0

    # Attention and KV cache. GQA heads split over tp (replicated when tp exceeds them); MLA
    # caches its compressed latent on every TP rank of a DP rank (DeepSeek-V3 report,
    # Sec. 2.1.1). Sliding-window layers keep only ``window`` tokens per sequence.
    full = a.num_attn - a.num_sliding
    core_layer = a.core_flops_per_key / tp  # per (query token x key) per layer
    if a.mla:
        att = m.attention
        per_layer_gpu = att.kv_lora_rank + att.qk_rope_head_dim
        per_layer_replica = per_layer_gpu
        # absorbed decode: scores over d_c + d_r, values over d_c (FlashMLA deep dive)
        mla_key = 2.0 * a.num_heads * (2 * att.kv_lora_rank + att.qk_rope_head_dim) / tp
        decode_flop_s = mla_key * full / (peak_bf16 * MLA_DECODE_EFFICIENCY * ke)
    else:
        per_layer_gpu = 2.0 * max(a.num_kv_heads / tp, 1.0) * m.dim_head
        per_layer_replica = 2.0 * a.num_kv_heads * m.dim_head
        decode_flop_s = core_layer * full / attn_rate
    kv_gpu_bytes_tok = per_layer_gpu * full / pp * kvb  # what one GPU stores per rank token
    kv_read_tok = per_layer_gpu * full * kvb  # read per context token, all stages
    attn_prefill_s = core_layer * a.num_attn / attn_rate
    attn_window_s = (
        a.window * a.num_sliding * max(core_layer / attn_rate, per_layer_gpu * kvb / bw)
    )  # per decoding sequence

    # Elementwise: norms, residuals, activations, token shuffling, KV writes.
    ew_rank = (
        sublayers * 10.0 * h / tp
        + a.num_mlp * 6.0 * a.ffn / tp
        + a.num_mamba * (a.mamba_bytes + a.mamba_ssd_bytes) / tp
        + kv_read_tok
    )
    ew_moe = n_moe * a.top_k * (16.0 * a.expert_width + 6.0 * a.expert_ffn) / stage

    # Communication: one all-reduce after each TP-split sublayer (Megatron TP at inference;
    # an MoE layer whose experts span the TP group combines through its all-to-all), the MoE
    # all-to-all per GPU, and a point-to-point transfer between consecutive stages.
    net = hw.net
    comm_fixed = comm_rank = comm_ep = comm_direct = 0.0
    if tp > 1:
        g_tp, n_tp = coll.group_layout(tp, 1, net.domain_size)
        ar_fixed = float(coll.all_reduce_time(0.0, g_tp, n_tp, net))
        ar_per_byte = float(coll.all_reduce_time(1e9, g_tp, n_tp, net)) / 1e9 - ar_fixed / 1e9
        n_ar = a.num_attn + a.num_mlp + a.num_mamba + (a.num_moe if ep < tp else 0)
        comm_fixed += n_ar * ar_fixed
        comm_rank += n_ar * ar_per_byte * 2.0 * h
    if ep > 1 and a.num_experts:
        g_ep, n_ep = coll.group_layout(ep, 1, net.domain_size)
        # Dispatch FP8 with FP8/FP4 weights (BF16 otherwise), combine BF16. Iterations that
        # prefill use node-aware kernels (one copy per remote domain: DeepEP normal mode);
        # decode-only iterations send one copy per expert, point to point (DeepEP
        # low-latency mode; DeepSeek-V3 report Sec. 3.4.2). The start-up latency is paid
        # once per dispatch and per combine (per layer and iteration), not per token.
        act = 1.0 if weight_precision != "bf16" else 2.0
        lat = float(coll.moe_dispatch_time(0.0, a.top_k, g_ep, n_ep, net, dedup=True))
        nbytes = (act + 2.0) * a.expert_width
        per = float(coll.moe_dispatch_time(nbytes, a.top_k, g_ep, n_ep, net, dedup=True)) - lat
        direct = float(coll.moe_dispatch_time(nbytes, a.top_k, g_ep, n_ep, net)) - lat
        comm_fixed += 2 * n_moe * lat
        # each GPU moves its own share of the tokens: T / (tp dp), the busiest receives 1 + r
        comm_ep += n_moe * per * (1.0 + imb) / stage
        comm_direct += n_moe * direct * (1.0 + imb) / stage
    if pp > 1:
        comm_fixed += (pp - 1) * net.out_latency
        comm_rank += (pp - 1) * 2.0 * h / net.out_bw

    # Logits of the decoding sequences (one row at least: the prefill's last token samples).
    logit_flop_s = 2.0 * h * a.vocab / tp / (peak * ke)
    logit_w_s = h * a.vocab * wb / tp / bw

    routed = a.routed_expert_params * slots / n_exp if a.num_experts else 0.0
    weight_bytes = (dense_params + a.embed_params + a.output_params) * wb / (
        tp * pp
    ) + routed * wb / (stage * pp)
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
            f"per GPU, has {hw.hbm_bytes / 2**30:.1f} GiB; raise tp, pp or ep, or lower the precision",
            field="tp",
        )
    kv_capacity = dp * int(free / kv_gpu_bytes_tok) if kv_gpu_bytes_tok else 10**12
    # one MTP module (a block and the shared output head) against the whole decode pass
    mtp_frac = 2.0 / (m.num_layers + 1) if m.mtp_layers else 0.0
    release = f" {prof.release}" if prof.release else ""
    return ServingReplica(
        model=m.name,
        system=hw.system,
        accelerator=acc.name,
        tp=tp,
        pp=pp,
        ep=ep,
        dp=dp,
        num_gpus=n_gpu,
        weight_precision=weight_precision,
        kv_precision=kv_precision,
        calibration=f"GEMM efficiency {eff.status} on training; engine kernel efficiency "
        f"({prof.name}{release}) {prof.status} on MLPerf Inference",
        engine=prof,
        weight_bytes_per_gpu=weight_bytes,
        kv_bytes_per_token=per_layer_replica * full * kvb,
        kv_capacity_tokens=kv_capacity,
        max_batched_tokens=max_batched_tokens * dp,
        tdp_w=acc.tdp_w,
        prompt_tokens_hint=float(prompt_tokens_hint),
        two_batch_overlap=bool(two_batch_overlap),
        expert_imbalance=imb,
        mtp_draft_fraction=mtp_frac,
        decode_queries=1.0,
        _inv_kernel_efficiency=1.0 / ke,
        _dense_flop_s=2.0 * dense_params / tp / peak,
        _dense_mem_fixed=dense_params * wb / tp / bw,
        _dense_mem_tok=io_tok / bw,
        _expert_flop_s=expert_flop_s,
        _expert_w_s=expert_w_s,
        _route_keep=route_keep,
        _expert_share=a.top_k / n_exp,
        _num_moe=n_moe,
        _attn_prefill_s=attn_prefill_s,
        _attn_decode_flop_s=decode_flop_s,
        _attn_decode_mem_s=kv_read_tok / bw,
        _attn_window_s=attn_window_s,
        _ew_tok=ew_rank / bw,
        _ew_moe_tok=ew_moe / bw,
        _comm_fixed=comm_fixed,
        _comm_rank_tok=comm_rank,
        _comm_ep_tok=comm_ep,
        _comm_ep_direct_tok=comm_direct,
        _logit_flop_s=logit_flop_s,
        _logit_w_s=logit_w_s,
        _launch_s=KERNELS_PER_LAYER * a.num_layers * LAUNCH_S,
    )


def best_offline_throughput(
    replica: ServingReplica,
    *,
    prompt_tokens: float,
    output_tokens: float,
    max_batch: int = 4096,
    beams: int = 1,
    draft_tokens: int = 0,
    acceptance_rate: float = 0.0,
    draft_fraction: float = 0.0,
) -> tuple[float, int]:
    """Output tokens/s of one replica with all requests queued (MLPerf Offline): the best
    steady-state batch (requests, ``max_batch`` per attention-DP rank) that fits the KV cache
    (each request holds its prompt and, on average, half of each beam's output), and that
    batch."""
    replica = dataclasses.replace(replica, prompt_tokens_hint=float(prompt_tokens))
    context = prompt_tokens + output_tokens / 2
    per_request = prompt_tokens + beams * output_tokens
    fit = int(replica.kv_capacity_tokens // max(per_request, 1))
    dp = replica.dp
    best, best_b = 0.0, 1
    b = 1
    while b <= min(max_batch * dp, max(fit, 1)):
        t, n = replica.step(b, context, prompt_tokens, output_tokens, beams=beams,
                            draft_tokens=draft_tokens, acceptance_rate=acceptance_rate,
                            draft_fraction=draft_fraction)  # fmt: skip
        if n / t > best:
            best, best_b = n / t, b
        b = b * 2 if b < 64 * dp else b + 64 * dp
    return best, best_b


__all__ = [
    "ENGINES",
    "KV_PRECISIONS",
    "MLA_DECODE_EFFICIENCY",
    "ServingReplica",
    "best_offline_throughput",
    "engine_efficiency",
    "expert_imbalance",
    "serving_replica",
]
