"""Schemas of catalog rows.

Rows are written by people (the shipped CSV/YAML files and user overlays), so every model
forbids unknown fields. Columns carry their unit in the name (``hbm_gib``, ``tdp_w``); the
properties turn them into plain SI floats (``hbm_bytes``, ``bf16_dense_flops``) for the
models. Every row names its ``source``; ``estimated`` says which numbers are estimates
and why.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gigafleet.enums import PRECISIONS
from gigafleet.numbers import bounded

_TERA = 1e12
_GIGA = 1e9


class Row(BaseModel):
    """Common fields: a unique name, aliases (other spellings), the source of the numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    source: str = Field(min_length=1)
    estimated: str | None = None

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: object) -> object:
        return bounded(value)  # an overlay's 1e308 would overflow the models

    @field_validator("aliases", mode="before")
    @classmethod
    def _split_aliases(cls, v: object) -> object:
        if v is None:
            return ()
        if isinstance(v, str):
            return tuple(a.strip() for a in v.split(";") if a.strip())
        return v


Positive = Field(gt=0)
PositiveOrNone = Field(default=None, gt=0)


class Accelerator(Row):
    """A GPU or other accelerator. FLOP/s are dense (no 2:4 sparsity)."""

    vendor: str
    generation: Literal[
        "ampere", "ada", "hopper", "blackwell", "blackwell-ultra", "rubin", "cdna3", "cdna4"
    ]
    status: Literal["shipping", "announced"]
    bf16_dense_tflops: float = Positive
    fp8_dense_tflops: float | None = PositiveOrNone
    fp4_dense_tflops: float | None = PositiveOrNone
    # Vendors' "80 GB" HBM labels are binary capacities (H100: 81559 MiB in nvidia-smi).
    hbm_gib: float = Positive
    hbm_bw_tbytes_per_s: float = Positive
    tdp_w: float = Positive
    scaleup_gbytes_per_s_per_dir: float = Positive

    @property
    def hbm_bytes(self) -> float:
        return self.hbm_gib * 2**30

    @property
    def hbm_bw_bytes_per_s(self) -> float:
        return self.hbm_bw_tbytes_per_s * _TERA

    @property
    def scaleup_bw_bytes_per_s(self) -> float:
        return self.scaleup_gbytes_per_s_per_dir * _GIGA

    def dense_flops(self, precision: str) -> float | None:
        """Peak dense FLOP/s at ``precision`` (bf16, fp8, fp4); None where unsupported."""
        tflops = {
            "bf16": self.bf16_dense_tflops,
            "fp8": self.fp8_dense_tflops,
            "fp4": self.fp4_dense_tflops,
        }[precision]
        return None if tflops is None else tflops * _TERA

    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(p for p in PRECISIONS if self.dense_flops(p) is not None)


class Host(Row):
    """A host CPU and its link to the GPUs (NVLink-C2C or PCIe)."""

    vendor: str
    isa: Literal["arm", "x86"]
    num_cores: int = Positive
    memory_gb: float | None = PositiveOrNone
    memory_bw_gbytes_per_s: float | None = PositiveOrNone
    gpu_link: Literal["nvlink-c2c", "pcie4", "pcie5", "pcie6"]
    gpu_link_gbytes_per_s_per_dir: float = Positive
    tdp_w: float | None = PositiveOrNone


class Nic(Row):
    """A scale-out network adapter."""

    vendor: str
    port_gbits_per_s: float = Positive
    host_interface: str | None = None
    tdp_w: float | None = PositiveOrNone

    @property
    def bw_bytes_per_s(self) -> float:
        return self.port_gbits_per_s * _GIGA / 8


class Fabric(Row):
    """A scale-out fabric: achievable fraction of line rate, latency, in-network reduction."""

    kind: Literal["infiniband", "ethernet"]
    max_link_gbits_per_s: float | None = PositiveOrNone
    bw_efficiency: float = Field(gt=0, le=1)
    latency_us: float = Positive
    in_network_reduction: bool


#: How a fabric spreads a flow over the equal-cost paths of a Clos.
ROUTINGS = ("ecmp", "adaptive", "pinned")


class FabricDesign(Row):
    """A scale-out fabric design: a rail-optimised (or top-of-rack) multi-plane Clos of one to
    three tiers, its routing and congestion control, and its scale-across links.

    ``fabric`` names the technology row (latency, in-network reduction, per-flow
    efficiency). Switch ports run at ``port_gbits_per_s``; ``switch_radix`` counts them
    (``spine_radix`` where the spine chassis differs). ``leaf_oversubscription`` and
    ``spine_oversubscription`` are downlink over uplink bandwidth at the leaf and at the
    spine (1 = non-blocking); ``leaf_uplink_factor`` > 1 gives the leaf more uplink than
    downlink bandwidth (Meta's doubled RTSW uplinks). Each GPU's NIC bandwidth is split over
    ``num_planes`` identical planes. ``routing``: ``ecmp`` hashes each connection (and each
    of its ``qps_per_connection`` queue pairs) onto one path; ``adaptive`` (InfiniBand AR,
    Spectrum-X, packet spraying) spreads it over all of them; ``pinned`` maps it to a fixed
    uplink by the destination's port on its leaf. ``incast_efficiency`` is the share of a
    link's capacity the congestion control keeps where flows from several senders meet.
    ``gpus_per_pod`` caps a spine group (3 tiers) below what the spine radix allows;
    ``max_gpus`` is the size of the reference cluster. ``default_for`` lists the systems, fabric technologies or ``system+technology`` pairs
    whose default this design is.
    """

    fabric: str
    tiers: int = Field(ge=1, le=3)
    rail_optimized: bool
    num_rails: int | None = PositiveOrNone
    num_planes: int = Field(default=1, gt=0)
    switch_radix: int = Field(gt=1)
    spine_radix: int | None = Field(default=None, gt=1)
    port_gbits_per_s: float = Positive
    leaf_down_ports: int | None = PositiveOrNone
    leaf_oversubscription: float = Field(default=1.0, ge=1)
    spine_oversubscription: float = Field(default=1.0, ge=1)
    leaf_uplink_factor: float = Field(default=1.0, ge=1)
    routing: Literal["ecmp", "adaptive", "pinned"]
    qps_per_connection: int = Field(default=1, gt=0)
    channels_per_nic: int = Field(default=2, gt=0)
    incast_efficiency: float = Field(gt=0, le=1)
    max_gpus: int = Positive
    gpus_per_pod: int | None = PositiveOrNone
    nic_gbits_per_s: float | None = PositiveOrNone
    gpus_per_building: int | None = PositiveOrNone
    scale_across_tbits_per_s: float | None = PositiveOrNone
    scale_across_km: float | None = Field(default=None, ge=0)
    default_for: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _blank_is_default(cls, data: object) -> object:
        # an empty CSV cell means "the default", not null
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data

    @field_validator("default_for", mode="before")
    @classmethod
    def _split_default_for(cls, v: object) -> object:
        if v is None:
            return ()
        if isinstance(v, str):
            return tuple(a.strip() for a in v.split(";") if a.strip())
        return v

    @model_validator(mode="after")
    def _consistent(self) -> FabricDesign:
        if self.leaf_uplink_factor > 1 and self.leaf_oversubscription > 1:
            raise ValueError(
                "leaf_uplink_factor > 1 (more uplink than downlink) contradicts "
                "leaf_oversubscription > 1; give one of them"
            )
        if self.tiers < 3 and self.spine_oversubscription > 1:
            raise ValueError("spine_oversubscription needs tiers = 3 (a core above the spines)")
        if (self.gpus_per_building is None) != (self.scale_across_tbits_per_s is None):
            raise ValueError(
                "gpus_per_building and scale_across_tbits_per_s go together "
                "(buildings and the links between them)"
            )
        return self


class ScaleUp(Row):
    """A scale-up (NVLink or Infinity Fabric) domain."""

    technology: str
    num_gpus: int = Positive
    gbytes_per_s_per_gpu_per_dir: float = Positive
    in_switch_reduction: bool
    latency_us: float = Positive

    @property
    def bw_bytes_per_s(self) -> float:
        return self.gbytes_per_s_per_gpu_per_dir * _GIGA


class System(Row):
    """A node or rack: accelerators, scale-up domain, hosts and NICs, and its default fabric."""

    accelerator: str
    num_gpus: int = Positive
    scaleup: str
    host: str
    num_hosts: int = Positive
    nic: str
    num_nics: int = Positive
    default_fabric: str
    system_power_kw: float | None = PositiveOrNone


class Attention(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    kind: Literal["gqa", "mla"] = "gqa"
    q_lora_rank: int | None = Field(default=None, gt=0)
    kv_lora_rank: int | None = Field(default=None, gt=0)
    qk_nope_head_dim: int | None = Field(default=None, gt=0)
    qk_rope_head_dim: int | None = Field(default=None, gt=0)
    v_head_dim: int | None = Field(default=None, gt=0)
    # DeepSeek-V4 grouped low-rank output projection; recorded, not yet costed separately.
    o_lora_rank: int | None = Field(default=None, gt=0)
    o_groups: int | None = Field(default=None, gt=0)
    # Gated attention (Qwen3-Next / Qwen3.5 attn_output_gate): the query projection also
    # yields a sigmoid gate per head channel, one more hidden x (heads x head_dim) matrix.
    output_gate: bool = False

    @model_validator(mode="after")
    def _mla_fields(self) -> Attention:
        if self.kind == "mla":
            for f in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
                if getattr(self, f) is None:
                    raise ValueError(f"attention.kind 'mla' needs {f}")
        return self


class SlidingWindow(BaseModel):
    """Local attention on some layers: a window of ``size`` keys, on every ``every``-th
    attention layer (or on ``num_layers`` of them where the pattern is not regular).
    ``chunked``: ``size`` is a chunk length instead (Llama 4 chunked attention: a query
    sees the keys of its own chunk only, half a chunk on average)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    size: int = Positive
    every: int = Field(default=1, gt=0)
    num_layers: int | None = Field(default=None, ge=0)
    chunked: bool = False


class MoE(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    num_experts: int = Positive
    top_k: int = Positive
    expert_ffn_hidden_size: int = Positive
    num_shared_experts: int = Field(default=0, ge=0)
    shared_expert_ffn_hidden_size: int | None = Field(default=None, gt=0)
    num_dense_layers: int = Field(default=0, ge=0)
    # NVIDIA LatentMoE: routed experts work in a latent space of this width, entered and
    # left through hidden<->latent projections (Nemotron 3 Super / Ultra).
    latent_size: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _top_k(self) -> MoE:
        if self.top_k > self.num_experts:
            raise ValueError("moe.top_k must not exceed moe.num_experts")
        return self


class Mamba(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    num_heads: int = Positive
    head_dim: int = Positive
    state_size: int = Positive
    num_groups: int = Positive
    conv_kernel: int = 4
    expand: float | None = None


class LinearAttention(BaseModel):
    """A linear-attention (recurrent) mixer layer: Gated DeltaNet (Yang et al. 2024,
    arXiv:2412.06464) as Qwen3-Next and Qwen3.5 use it. Queries and keys have
    ``num_key_heads`` heads of ``key_head_dim``, values and the output gate
    ``num_value_heads`` of ``value_head_dim``; a short causal convolution precedes the
    chunked delta rule."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    kind: Literal["gated-deltanet"] = "gated-deltanet"
    num_key_heads: int = Positive
    num_value_heads: int = Positive
    key_head_dim: int = Positive
    value_head_dim: int = Positive
    conv_kernel: int = Field(default=4, gt=0)

    @model_validator(mode="after")
    def _heads(self) -> LinearAttention:
        if self.num_value_heads % self.num_key_heads:
            raise ValueError("linear_attention.num_value_heads must be a multiple of num_key_heads")
        return self


#: Layer codes of ``layer_pattern`` (Megatron-Core hybrid symbols): Mamba-2, self-attention,
#: dense MLP, MoE, Gated DeltaNet (linear attention).
LAYER_CODES = "M*-EG"


class ModelArch(Row):
    """A model architecture, as its config.json or paper gives it."""

    family: str
    num_layers: int = Positive
    hidden_size: int = Positive
    ffn_hidden_size: int | None = PositiveOrNone
    num_attention_heads: int = Positive
    num_kv_heads: int | None = PositiveOrNone
    head_dim: int | None = PositiveOrNone
    vocab_size: int = Positive
    max_seq_len: int | None = PositiveOrNone
    mlp: Literal["swiglu", "gelu", "relu2"] = "swiglu"
    tied_embeddings: bool = False
    attention: Attention = Attention()
    sliding_window: SlidingWindow | None = None
    moe: MoE | None = None
    mtp_layers: int = Field(default=0, ge=0)
    # True when the MTP passes reuse one block's weights (Nemotron 3: mtp_use_repeated_layer):
    # their compute counts mtp_layers times, their parameters once.
    mtp_shared_weights: bool = False
    layer_pattern: str | None = None
    mamba: Mamba | None = None
    linear_attention: LinearAttention | None = None
    params_total: float | None = PositiveOrNone
    params_active: float | None = PositiveOrNone
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ModelArch:
        if self.layer_pattern is not None:
            bad = set(self.layer_pattern) - set(LAYER_CODES)
            if bad:
                raise ValueError(
                    f"layer_pattern has unknown layer codes {sorted(bad)}; allowed: "
                    + " ".join(LAYER_CODES)
                )
            if len(self.layer_pattern) != self.num_layers:
                raise ValueError(
                    f"layer_pattern has {len(self.layer_pattern)} layers but num_layers is {self.num_layers}"
                )
            if "M" in self.layer_pattern and self.mamba is None:
                raise ValueError("layer_pattern has Mamba layers (M) but no 'mamba' block")
            if "E" in self.layer_pattern and self.moe is None:
                raise ValueError("layer_pattern has MoE layers (E) but no 'moe' block")
            if "G" in self.layer_pattern and self.linear_attention is None:
                raise ValueError(
                    "layer_pattern has linear-attention layers (G) but no 'linear_attention' block"
                )
        if self.mamba is not None and self.linear_attention is not None:
            # the cost model has one kind of recurrent layer per model
            raise ValueError("a model has either 'mamba' or 'linear_attention' layers, not both")
        if self.linear_attention is not None and "G" not in (self.layer_pattern or ""):
            raise ValueError("'linear_attention' needs a layer_pattern with G layers")
        has_dense_mlp = (
            self.moe is None or self.moe.num_dense_layers > 0 or "-" in (self.layer_pattern or "")
        )
        if has_dense_mlp and self.ffn_hidden_size is None:
            raise ValueError("ffn_hidden_size is required when the model has dense MLP layers")
        if self.num_attention_heads % (self.num_kv_heads or self.num_attention_heads):
            raise ValueError("num_attention_heads must be a multiple of num_kv_heads")
        return self

    @property
    def kv_heads(self) -> int:
        return self.num_kv_heads or self.num_attention_heads

    @property
    def dim_head(self) -> int:
        return self.head_dim or self.hidden_size // self.num_attention_heads

    def context_error(self, prompt_tokens: float, output_tokens: float) -> str | None:
        """Why requests of these lengths cannot run on the model (a prompt and its output
        live in one context window, ``max_seq_len``), or None when they fit."""
        total = prompt_tokens + output_tokens
        if self.max_seq_len is None or total <= self.max_seq_len:
            return None
        return (
            f"prompt and output tokens ({prompt_tokens:,.0f} + {output_tokens:,.0f}) exceed the "
            f"context window of {self.name} ({self.max_seq_len:,} tokens, max_seq_len); "
            f"allowed: a sum up to {self.max_seq_len:,}"
        )


from gigafleet.catalog.schema_recsys import RecsysModel  # noqa: E402

TABLES: dict[str, type[Row]] = {
    "accelerators": Accelerator,
    "hosts": Host,
    "nics": Nic,
    "fabrics": Fabric,
    "fabric_designs": FabricDesign,
    "scaleup": ScaleUp,
    "systems": System,
    "models": ModelArch,
    "recsys": RecsysModel,
}
