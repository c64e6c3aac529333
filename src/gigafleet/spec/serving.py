"""A serving deployment as users write it (YAML or ``gigafleet serve`` options)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from gigafleet.enums import Arrival, Draft, Engine, Precision, Router, Tee
from gigafleet.spec.base import UserSpec

#: Most requests one simulation takes: its arrays stay ~100 MB and its run a few minutes.
MAX_REQUESTS = 10_000_000
#: Prompt or output tokens of one request at most: ten times the longest context windows
#: shipped (about a million tokens); a model's own window (``max_seq_len``) is checked too.
MAX_TOKENS = 10_000_000
#: Most replicas one simulation takes (its time grows with replicas: 1e6 took 33 s).
MAX_REPLICAS = 100_000


class Traffic(UserSpec):
    arrival: Arrival = Field(default="poisson", description="poisson, bursty, diurnal or trace.")
    rate_per_s: float = Field(default=10.0, gt=0, le=1e7, description="Requests per second.")
    num_requests: int = Field(
        default=20000, gt=0, le=MAX_REQUESTS, description="Requests to simulate."
    )
    burst_cv: float = Field(default=3.0, gt=0, description="coefficient of variation (bursty)")
    peak_to_trough: float = Field(default=3.0, ge=1, description="diurnal swing")
    period_s: float = Field(default=86400.0, gt=0)
    trace: str | None = Field(
        default=None,
        description="Arrival trace CSV (arrival trace): arrival_s, prompt_tokens, output_tokens.",
    )
    prompt_tokens: float = Field(
        default=1024, gt=0, le=MAX_TOKENS, description="Mean prompt tokens."
    )
    output_tokens: float = Field(
        default=256, gt=0, le=MAX_TOKENS, description="Mean output tokens."
    )
    length_sigma: float = Field(
        default=0.0, ge=0, description="Lognormal sigma of lengths [0: fixed]."
    )
    max_tokens: int = Field(default=32768, gt=0)
    prefix_tokens: int = Field(default=0, ge=0, description="shared system-prompt tokens")
    num_prefixes: int = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _trace(self) -> Traffic:
        if self.arrival == "trace" and not self.trace:
            raise ValueError("arrival 'trace' needs a trace file")
        return self


class Adapters(UserSpec):
    num_users: int = Field(gt=0, le=10**10, description="Users with a LoRA adapter each.")
    rank: int = Field(default=16, gt=0, description="LoRA rank.")
    zipf_s: float = Field(
        default=1.0, gt=0, le=10, description="Zipf exponent of adapter popularity."
    )
    mlp: bool = False
    hbm_adapters: int | None = Field(default=None, ge=0, description="default: 10% of free HBM")
    host_adapters: int | None = Field(
        default=None, ge=0, description="default: half the host memory"
    )
    nvme_adapters: int = Field(default=10_000_000, ge=0)
    nvme_bw_bytes_per_s: float = Field(default=7e9, gt=0)
    remote_bw_bytes_per_s: float = Field(default=1.25e9, gt=0)
    remote_latency_s: float = Field(default=0.02, ge=0)


class Slo(UserSpec):
    """Service-level objective: a request meets it when ``TTFT <= ttft_s`` and
    ``TPOT <= tpot_s`` (a one-token request has no TPOT and meets the second part). The one
    SLO of every serving input: ``serve``, ``plan serve``, scenario services, the simulator."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    ttft_s: float = Field(default=2.0, gt=0, description="TTFT SLO, seconds.")
    tpot_s: float = Field(default=0.2, gt=0, description="TPOT SLO, seconds.")


class ServeJob(UserSpec):
    """One model served by ``replicas`` copies on one system."""

    model: str = Field(
        description="Model name from the catalog, or a Hugging Face config.json or YAML model file."
    )
    system: str = Field(description="System name from the catalog.")
    replicas: int = Field(default=1, gt=0, le=MAX_REPLICAS, description="Model copies.")
    tp: int = Field(default=1, gt=0, description="Tensor parallel degree per replica.")
    pp: int = Field(default=1, gt=0, description="Pipeline parallel degree per replica.")
    ep: int = Field(
        default=1,
        gt=0,
        description="Expert parallel degree: experts spread over ep of a stage's tp x dp GPUs.",
    )
    dp: int = Field(
        default=1,
        gt=0,
        description="Attention data-parallel ranks per replica (DP attention with wide EP; "
        "the replica spans tp x pp x dp GPUs).",
    )
    redundant_experts: int = Field(
        default=0,
        ge=0,
        description="Extra expert slots for hot experts (expert-placement balancer, EPLB).",
    )
    two_batch_overlap: bool = Field(
        default=False,
        description="Overlap one half-batch's MoE all-to-all with the other's compute.",
    )
    precision: Precision = Field(default="bf16", description="Weight precision: bf16, fp8, fp4.")
    engine: Engine = Field(
        default="tensorrt-llm", description="Serving engine: tensorrt-llm, vllm."
    )
    kv_precision: Precision | None = None
    max_num_seqs: int = Field(
        default=256, gt=0, description="Running sequences per attention-DP rank."
    )
    max_batched_tokens: int = Field(
        default=8192, gt=0, description="Tokens per iteration per attention-DP rank."
    )
    router: Router = "least_loaded"
    prefill_replicas: int = Field(
        default=0, ge=0, description="Disaggregated prefill replicas (0: aggregated)."
    )
    speculative_tokens: int = Field(default=0, ge=0, description="Draft tokens per step [0: off].")
    acceptance_rate: float = Field(
        default=0.7, ge=0, lt=1, description="Probability each draft token is accepted."
    )
    draft: Draft = Field(
        default="model",
        description="Drafts from a small draft model, or from the model's own MTP modules.",
    )
    prefix_cache_tokens: int = Field(default=0, ge=0)
    tee: Tee = Field(default="none", description="Confidential computing: none, sev-snp, tdx, any.")
    fabric: str | None = None
    traffic: Traffic = Traffic()
    slo: Slo = Slo()
    adapters: Adapters | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _disagg(self) -> ServeJob:
        if self.prefill_replicas and self.prefill_replicas >= self.replicas:
            raise ValueError("prefill_replicas must leave at least one decode replica")
        return self
