"""A training job as users write it (YAML or CLI options).

The field descriptions are the help texts of ``gigafleet train``: the CLI derives its
options from this model (``gigafleet.cli.options``), so a field is written once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from gigafleet.enums import LORA_TARGETS, Dispatcher, Precision, Recompute, TrainingWorkload
from gigafleet.spec.base import UserSpec
from gigafleet.spec.options import MAX_USD_PER_GPU_HOUR

#: Largest parallel degree (2**20); also a bound that keeps products of degrees exact.
MAX_DEGREE = 2**20
#: Largest GPU count of one job (2**24, ~17 M: ten times a gigawatt fleet).
MAX_GPUS = 2**24


class TrainingWork(UserSpec):
    """What is trained, on what, and how much: shared by a job and a plan."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model: str = Field(
        description="Model name from the catalog (e.g. llama3.1-405b), or a Hugging Face "
        "config.json or YAML model file."
    )
    system: str = Field(description="System name from the catalog, e.g. dgx-h100, gb200-nvl72.")
    seq_len: int = Field(default=8192, gt=0, le=2**30, description="Tokens per sequence.")
    global_batch: int = Field(
        default=1024, gt=0, le=2**30, description="Sequences per optimizer step."
    )
    ep_overlap: bool = Field(
        default=False, description="Hide MoE all-to-all behind deferred weight-gradient GEMMs."
    )
    ep_dispatcher: Dispatcher = Field(
        default="alltoall", description="MoE dispatch: alltoall, or dedup (DeepEP/HybridEP)."
    )
    train_tokens: float | None = Field(
        default=None,
        gt=0,
        description="Tokens to train on, for time to train (LoRA: all adapters together).",
    )
    lora_rank: int | None = Field(
        default=None,
        gt=0,
        description="LoRA adapter rank: fine-tune adapters on a frozen base (workload lora) [16].",
    )
    lora_targets: str = Field(
        default="qkv,o",
        description="Weights with LoRA adapters, comma-separated: "
        + ", ".join(LORA_TARGETS)
        + ", or all.",
    )
    adapters: int = Field(
        default=1,
        gt=0,
        description="LoRA adapters of one frozen base trained together in one job "
        "(batched multi-adapter fine-tuning; each sequence belongs to one adapter).",
    )
    frozen_weights: Literal["bf16", "fp8"] = Field(
        default="bf16", description="LoRA: storage of the frozen base weights, bf16 or fp8."
    )

    @field_validator("lora_targets")
    @classmethod
    def _targets(cls, v: str) -> str:
        items = [i.strip().lower() for i in v.split(",") if i.strip()]
        bad = [i for i in items if i not in (*LORA_TARGETS, "all")]
        if bad or not items:
            raise ValueError(
                f"unknown LoRA target {', '.join(bad) or repr(v)}; allowed: "
                + ", ".join((*LORA_TARGETS, "all"))
            )
        return ",".join(items)

    @property
    def is_lora(self) -> bool:
        """Whether the LoRA fields ask for adapters (a rank, targets or several adapters)."""
        return bool({"lora_rank", "lora_targets", "adapters"} & self.model_fields_set) or (
            self.frozen_weights != "bf16"
        )


class TrainingJob(TrainingWork):
    """One model on one system with one strategy; see :func:`gigafleet.estimate_training`."""

    num_gpus: int = Field(gt=0, le=MAX_GPUS, description="GPUs in the job.")
    tp: int = Field(
        default=1,
        gt=0,
        le=MAX_DEGREE,
        description="Tensor parallel degree, with sequence parallel.",
    )
    pp: int = Field(default=1, gt=0, le=MAX_DEGREE, description="Pipeline parallel degree.")
    cp: int = Field(
        default=1, gt=0, le=MAX_DEGREE, description="Context parallel degree, ring attention."
    )
    ep: int = Field(default=1, gt=0, le=MAX_DEGREE, description="Expert parallel degree, MoE.")
    vp: int = Field(
        default=1,
        gt=0,
        le=MAX_DEGREE,
        description="Virtual pipeline stages per rank, interleaved 1F1B.",
    )
    micro_batch: int = Field(
        default=1, gt=0, le=MAX_DEGREE, description="Sequences per micro-batch."
    )
    precision: Precision = Field(default="bf16", description="GEMM precision: bf16, fp8 or fp4.")
    zero: Literal[0, 1, 2, 3] = Field(
        default=1, description="0 plain DP, 1 distributed optimizer, 2 ZeRO-2, 3 FSDP."
    )
    recompute: Recompute = Field(
        default="none", description="Activation recomputation: none, selective, full."
    )
    offload: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Fraction of layers whose activations go to host memory.",
    )
    cuda_graphs: bool = Field(
        default=False,
        description="Whole iteration in CUDA graphs, MoE layers included (no per-expert fixed cost).",
    )
    workload: TrainingWorkload = Field(default="pretrain", description="pretrain, sft or lora.")
    fabric: str | None = Field(
        default=None, description="Scale-out fabric instead of the system's default."
    )
    uneven_layers: bool = Field(
        default=False, description="Allow pp x vp not dividing the layers (custom pipeline layout)."
    )

    @model_validator(mode="after")
    def _lora_workload(self) -> TrainingJob:
        # a LoRA field makes the job LoRA fine-tuning unless another workload is named
        if self.is_lora and self.workload != "lora":
            if "workload" in self.model_fields_set:
                raise ValueError(
                    f"lora_rank, lora_targets, adapters and frozen_weights need workload lora, "
                    f"not {self.workload!r}"
                )
            self.workload = "lora"
        return self


class TrainingPlanRequest(TrainingWork):
    """A planning problem: every strategy of ``model`` on ``num_gpus`` of ``system``, ranked
    by ``objective`` (see :func:`gigafleet.plan.training.plan_training`)."""

    num_gpus: list[Annotated[int, Field(gt=0, le=MAX_GPUS)]] = Field(
        min_length=1, description="GPU counts to consider."
    )
    precisions: list[Precision] = Field(default=["bf16"], min_length=1)
    objective: Literal["time", "energy", "cost"] = Field(
        default="time", description="Rank by time, energy or cost."
    )
    gpu_hour_usd: float | None = Field(
        default=None,
        gt=0,
        le=MAX_USD_PER_GPU_HOUR,
        description="Price per GPU-hour for the cost objective [owned cost, gigafleet.cost].",
    )
    site_power_mw: float | None = Field(
        default=None,
        gt=0,
        le=1e5,
        description="Site power limit, MW: strategies above it (peak facility) are out.",
    )
    top: int = Field(default=10, gt=0, le=1000, description="How many strategies to show.")
