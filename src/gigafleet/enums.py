"""The closed sets of names users choose from, in one place.

Each set is a ``Literal`` type (for pydantic fields and type checking) and the tuple of its
values in a fixed order (for CLI help, error messages and the vectorised models, which use
the position as a code). Nothing here imports pydantic or numpy: every layer may use it.
"""

from __future__ import annotations

from typing import Literal, get_args

Precision = Literal["bf16", "fp8", "fp4"]
#: GEMM (and weight/KV) precisions, in the order the vectorised models index them.
PRECISIONS: tuple[str, ...] = get_args(Precision)

Recompute = Literal["none", "selective", "full"]
RECOMPUTE: tuple[str, ...] = get_args(Recompute)

Dispatcher = Literal["alltoall", "dedup"]
#: MoE token dispatch: one copy per expert, or one per remote scale-up domain (DeepEP).
DISPATCHERS: tuple[str, ...] = get_args(Dispatcher)

TrainingWorkload = Literal["pretrain", "sft", "lora"]
WORKLOADS: tuple[str, ...] = get_args(TrainingWorkload)

LoraTarget = Literal["qkv", "o", "mlp", "experts"]
#: Base weights that may carry LoRA adapters: the mixer's input projections, its output
#: projection, dense MLPs and shared experts, routed experts (perf/training/lora.py).
LORA_TARGETS: tuple[str, ...] = get_args(LoraTarget)

Router = Literal["least_loaded", "round_robin", "central"]
ROUTERS: tuple[str, ...] = get_args(Router)

Arrival = Literal["poisson", "bursty", "diurnal", "trace"]
ARRIVALS: tuple[str, ...] = get_args(Arrival)

Engine = Literal["tensorrt-llm", "vllm", "sglang"]
#: Serving engines (perf/engine.py: host behaviour; calibration ``serving.engines``: fitted
#: kernel efficiency per release).
ENGINES: tuple[str, ...] = get_args(Engine)

Draft = Literal["model", "mtp"]
#: Where speculative drafts come from: a small draft model, or the model's MTP modules.
DRAFTS: tuple[str, ...] = get_args(Draft)

Tee = Literal["none", "sev-snp", "tdx", "any"]
TEES: tuple[str, ...] = get_args(Tee)
#: CPU TEEs a confidential-computing GPU pairs with ("any": whichever the host has).
TeeKind = Literal["sev-snp", "tdx", "any"]

Cooling = Literal["air", "liquid"]
COOLINGS: tuple[str, ...] = get_args(Cooling)

Phase = Literal["compute", "memory", "comm", "idle"]
#: GPU power phases a step's time breaks into (energy/ turns each into watts).
PHASE_NAMES: tuple[str, ...] = get_args(Phase)
