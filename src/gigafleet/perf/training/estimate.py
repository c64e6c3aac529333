"""The public face of the training model: names in, :class:`TrainingEstimate` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import ModelArch, System
from gigafleet.enums import DISPATCHERS, PRECISIONS, RECOMPUTE, WORKLOADS
from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.training.codes import REASONS, Reason, explain, memory_message
from gigafleet.perf.training.efficiency import efficiency_for
from gigafleet.perf.training.lora import (
    DEFAULT_RANK,
    DEFAULT_TARGETS,
    Lora,
    adapter_params,
    parse_targets,
)
from gigafleet.perf.training.step import training_step


@dataclass
class TrainingEstimate:
    """Predicted training metrics; every field is a numpy array over the strategies.

    Power and energy are the energy model's (:func:`gigafleet.energy.training_power`
    takes the estimate): ``phase_s`` says how long the GPUs compute, stream memory, wait on
    links and idle.
    """

    feasible: np.ndarray
    reason_code: np.ndarray  # a :class:`Reason` per strategy (0: feasible)
    step_time_s: np.ndarray
    tokens_per_s: np.ndarray
    tokens_per_s_per_gpu: np.ndarray
    model_flops_per_token: float | np.ndarray
    model_tflops_per_gpu: np.ndarray
    mfu: np.ndarray
    memory_bytes_per_gpu: np.ndarray
    hbm_bytes: float
    breakdown_s: dict[str, np.ndarray]  # by term (see ``phases.PHASES`` for their phases)
    phase_s: dict[str, np.ndarray]  # by GPU phase: compute, memory, comm, idle
    time_to_train_s: np.ndarray | None
    num_gpus: np.ndarray
    strategy: dict[str, np.ndarray]
    calibration: str
    info: dict[str, Any] = field(default_factory=dict)

    def reason(self, index: int | tuple[int, ...] = ()) -> str | None:
        """Why strategy ``index`` is infeasible, in words (None when it is feasible)."""
        code = int(np.asarray(self.reason_code)[index])
        if code == Reason.FEASIBLE:
            return None
        if code == Reason.MEMORY:
            need = float(np.asarray(self.memory_bytes_per_gpu)[index])
            return memory_message(need, hbm_bytes=self.hbm_bytes)
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
    lora_rank: int | None = None,
    lora_targets: str | tuple[str, ...] = DEFAULT_TARGETS,
    adapters: int = 1,
    frozen_weights: str = "bf16",
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
        lora_rank, lora_targets, adapters, frozen_weights: the adapters of a ``lora``
            workload (rank 16 on ``qkv,o`` unless given; a rank alone makes the workload
            ``lora``): ``adapters`` of one frozen base train together, the base stored in
            ``bf16`` or ``fp8`` (:mod:`gigafleet.perf.training.lora`).

    Every strategy argument may be an array; results broadcast.
    """
    catalog = catalog or load_catalog()
    arch_row, hw = _resolve(catalog, model, system, fabric)
    if workload not in WORKLOADS:
        raise GigafleetError(
            f"unknown workload {workload!r}; allowed: {', '.join(WORKLOADS)}", field="workload"
        )
    lora = lora_config(
        workload, rank=lora_rank, targets=lora_targets, adapters=adapters, frozen=frozen_weights
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
        lora=lora is not None,
        uneven_layers=uneven_layers,
        lora_adapters=lora,
    )
    code = out["reason_code"]
    shape = np.shape(code)
    if strict:
        bad = (code != Reason.FEASIBLE) & (code != Reason.MEMORY)
        if np.any(bad):
            at = tuple(np.argwhere(bad)[0])
            values = dict(
                tp=tp, pp=pp, cp=cp, ep=ep, vp=vp, num_gpus=num_gpus, micro_batch=micro_batch,
                global_batch=global_batch, seq_len=seq_len, offload=offload,
            )  # fmt: skip
            first = int(np.asarray(code)[at])
            at_values = {k: np.broadcast_to(np.asarray(v), shape)[at] for k, v in values.items()}
            raise GigafleetError(
                explain(first, arch_row=arch_row, hw=hw, values=at_values), field="strategy"
            )
    feasible = code == Reason.FEASIBLE
    tps = out["tokens_per_s"]
    ttt = None if train_tokens is None else train_tokens / tps
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
        phase_s=out["phase_s"],
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
            **({} if lora is None else {"lora": lora_info(arch, lora)}),
        },
    )


def lora_config(
    workload: str,
    *,
    rank: int | None,
    targets: str | tuple[str, ...] = DEFAULT_TARGETS,
    adapters: int = 1,
    frozen: str = "bf16",
) -> Lora | None:
    """The adapters of a job: ``None`` unless it is LoRA (a rank or ``adapters`` > 1 make it
    so; with another workload named they are an error)."""
    if workload != "lora" and rank is None and adapters == 1:
        return None
    if workload not in ("lora", "pretrain"):
        raise GigafleetError(
            f"LoRA adapters need workload lora, not {workload!r}",
            field="workload",
            allowed=("lora",),
        )
    if frozen not in ("bf16", "fp8"):
        raise GigafleetError(
            f"unknown value {frozen!r}; allowed: bf16, fp8",
            field="frozen_weights",
            allowed=("bf16", "fp8"),
        )
    for name, value in (("lora_rank", rank), ("adapters", adapters)):
        if value is not None and value < 1:
            raise GigafleetError(f"must be a positive whole number, got {value!r}", field=name)
    return Lora(
        rank=rank or DEFAULT_RANK,
        targets=parse_targets(targets),
        num_adapters=int(adapters),
        frozen_bytes=2.0 if frozen == "bf16" else 1.0,
    )


def lora_info(arch, lora: Lora) -> dict[str, Any]:
    """The adapters of a LoRA estimate, for reports."""
    p = adapter_params(arch, lora)
    return {
        "rank": lora.rank,
        "targets": list(lora.targets),
        "adapters": lora.num_adapters,
        "frozen_weights": "bf16" if lora.frozen_bytes == 2.0 else "fp8",
        "params_per_adapter": p,
        "trainable_params": p * lora.num_adapters,
        "trainable_fraction": p * lora.num_adapters / arch.params_total,
    }
