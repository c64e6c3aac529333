"""A training job as users write it (YAML or CLI options)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gigafleet.spec.enums import Dispatcher, Precision, Recompute, TrainingWorkload


class TrainingJob(BaseModel):
    """One model on one system with one strategy.

    Every field mirrors a ``gigafleet train`` option; see :func:`gigafleet.estimate_training`.
    """

    model_config = ConfigDict(extra="forbid")

    model: str
    system: str
    num_gpus: int = Field(gt=0)
    seq_len: int = Field(default=8192, gt=0)
    global_batch: int = Field(default=1024, gt=0, description="sequences per optimizer step")
    tp: int = Field(default=1, gt=0)
    pp: int = Field(default=1, gt=0)
    cp: int = Field(default=1, gt=0)
    ep: int = Field(default=1, gt=0)
    vp: int = Field(default=1, gt=0)
    micro_batch: int = Field(default=1, gt=0)
    precision: Precision = "bf16"
    zero: Literal[0, 1, 2, 3] = 1
    recompute: Recompute = "none"
    offload: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="fraction of layers whose activations go to host memory",
    )
    ep_overlap: bool = False
    ep_dispatcher: Dispatcher = "alltoall"
    cuda_graphs: bool = Field(
        default=False,
        description="whole iteration in CUDA graphs, MoE layers included (no per-expert fixed cost)",
    )
    workload: TrainingWorkload = "pretrain"
    fabric: str | None = None
    train_tokens: float | None = Field(default=None, gt=0)
    uneven_layers: bool = False
