"""The training report of one strategy: the step (perf), its power and energy (energy), the
effective training time with failures and checkpoints (reliability) and its cost (cost).
``gigafleet train`` prints it; ``--json`` is this dict."""

from __future__ import annotations

import math
from typing import Any

from gigafleet.energy.summary import apply_training_energy
from gigafleet.enums import DISPATCHERS, PRECISIONS, RECOMPUTE
from gigafleet.perf.training import estimate_training
from gigafleet.pipelines.cost import training_cost
from gigafleet.reliability import (
    DEFAULT_NODE_STORAGE_BW_BYTES_PER_S,
    DEFAULT_RESTART_OVERHEAD_S,
    DEFAULT_STORAGE_BW_BYTES_PER_S,
    effective_training_time,
    load_failure_rates,
)
from gigafleet.spec.options import CostOptions, EnergyOptions, ReliabilityOptions
from gigafleet.spec.training import TrainingJob

#: Without ``train_tokens`` the effective training time is that of a run of this length.
NOMINAL_RUN_S = 30 * 86400.0


def estimate_job(job: TrainingJob, *, catalog: Any, strict: bool = True):
    """:func:`estimate_training` of one job (strict: structural errors raise)."""
    fields = job.model_dump(exclude={"model", "system"})
    return estimate_training(job.model, job.system, **fields, catalog=catalog, strict=strict)


def training_summary(est) -> dict[str, Any]:
    """Scalars of a single-strategy estimate, for printing or JSON (power and energy are
    added by the energy model: :func:`gigafleet.energy.summary.apply_training_energy`)."""
    flags = ("precision", "recompute", "offload", "ep_overlap", "ep_dispatcher", "cuda_graphs")
    s = {k: int(v) for k, v in est.strategy.items() if k not in flags}
    s["cuda_graphs"] = bool(est.strategy["cuda_graphs"])
    s["ep_dispatcher"] = DISPATCHERS[int(est.strategy["ep_dispatcher"])]
    s["offload"] = float(est.strategy["offload"])
    s["ep_overlap"] = bool(est.strategy["ep_overlap"])
    s["precision"] = PRECISIONS[int(est.strategy["precision"])]
    s["recompute"] = RECOMPUTE[int(est.strategy["recompute"])]
    out = {
        **est.info,
        "num_gpus": int(est.num_gpus),
        "strategy": s,
        "feasible": bool(est.feasible),
        "infeasible_reason": est.reason(),
        "calibration": est.calibration,
        "step_time_s": est.item("step_time_s"),
        "tokens_per_s": est.item("tokens_per_s"),
        "tokens_per_s_per_gpu": est.item("tokens_per_s_per_gpu"),
        "model_tflops_per_gpu": est.item("model_tflops_per_gpu"),
        "mfu": est.item("mfu"),
        "memory_gib_per_gpu": est.item("memory_bytes_per_gpu") / 2**30,
        "hbm_gib": est.hbm_bytes / 2**30,
        "breakdown_s": {k: float(v) for k, v in est.breakdown_s.items()},
        "time_to_train_s": None if est.time_to_train_s is None else float(est.time_to_train_s),
    }
    out["num_micro_batches"] = float(out.pop("num_micro_batches"))
    return out


def lora_hours(result: dict[str, Any], *, train_tokens: float | None) -> dict[str, Any]:
    """GPU-hours of a LoRA job per million tokens and, given the tokens of a refresh of
    every adapter (``train_tokens``, all adapters together), per adapter refresh:
    ``num_gpus x time_to_train / adapters``."""
    lo = dict(result["lora"])
    tps, n = result["tokens_per_s"], result["num_gpus"]
    lo["gpu_hours_per_million_tokens"] = n * 1e6 / tps / 3600 if tps > 0 else None
    lo["gpu_hours_per_adapter"] = (
        n * train_tokens / tps / 3600 / lo["adapters"] if train_tokens and tps > 0 else None
    )
    return lo


def training_reliability(est, options: ReliabilityOptions, *, catalog: Any) -> dict[str, Any]:
    """Failures, checkpoints and effective training time of the job; for a nominal 30-day
    run when the tokens to train on are not given (or the strategy is infeasible)."""
    ideal = est.time_to_train_s
    nominal = ideal is None or not est.feasible
    o = options
    rel = effective_training_time(
        NOMINAL_RUN_S if nominal else float(ideal), int(est.num_gpus),
        num_params=float(est.info["params_total"]), system=est.info["system"], catalog=catalog,
        rates=load_failure_rates(o.failure_rates, catalog=catalog),
        storage_bw_bytes_per_s=o.storage_tbytes_per_s * 1e12 if o.storage_tbytes_per_s else DEFAULT_STORAGE_BW_BYTES_PER_S,
        node_bw_bytes_per_s=o.node_storage_gbytes_per_s * 1e9 if o.node_storage_gbytes_per_s else DEFAULT_NODE_STORAGE_BW_BYTES_PER_S,
        restart_overhead_s=DEFAULT_RESTART_OVERHEAD_S if o.restart_overhead_s is None else o.restart_overhead_s,
        checkpoint_interval_s=o.checkpoint_interval_s, planned_per_day=o.planned_per_day or 0.0,
    ).to_dict()  # fmt: skip
    if nominal:
        for k in ("ideal_time_s", "wall_time_s", "expected_failures"):
            rel[k] = None
        rel["note"] = "ETT for a nominal 30-day run; give --tokens for the wall-clock time to train"
    elif not math.isfinite(rel["wall_time_s"]):
        # failures come so fast that a checkpoint interval (plus restart) is never completed
        rel["wall_time_s"] = rel["expected_failures"] = None
        rel["note"] = (
            f"the run never finishes: one failure every {rel['mtbf_s']:.3g} s, faster than a "
            "checkpoint interval plus restart"
        )
    return rel


def training_report(
    job: TrainingJob,
    *,
    energy: EnergyOptions | None = None,
    reliability: ReliabilityOptions | None = None,
    cost: CostOptions | None = None,
    catalog: Any,
) -> dict[str, Any]:
    """Step time, throughput, memory, power and energy, failures and effective training
    time, and cost of one training job, as one JSON-ready dict (``None`` options: defaults)."""
    energy = energy or EnergyOptions()
    reliability = reliability or ReliabilityOptions()
    cost = cost or CostOptions()
    est = estimate_job(job, catalog=catalog)
    result = apply_training_energy(
        training_summary(est), est, train_tokens=job.train_tokens,
        power_cap_w=energy.power_cap_w, pue=energy.pue,
        grid_gco2_per_kwh=energy.grid_gco2_per_kwh, catalog=catalog,
    )  # fmt: skip
    if result["time_to_train_s"] is None:  # the nulls say why (issue 13: no bare nulls)
        result["time_to_train_note"] = (
            "no tokens to train on given (--tokens, train_tokens): no time, energy, carbon or "
            "GPU-hours to train"
        )
    if "lora" in result:
        result["lora"] = lora_hours(result, train_tokens=job.train_tokens)
    rel = training_reliability(est, reliability, catalog=catalog)
    model_power_w = result["power"]["it_power_w"] / est.item("num_gpus")
    if cost.avg_power_w:
        power, source = cost.avg_power_w, "--avg-power-w"
    elif model_power_w:
        power, source = model_power_w, "energy model: IT power per GPU (GPU, host, network)"
    else:
        power, source = result["power"]["gpu_power_avg_w"], "GPU power (GPU only)"
    result["reliability"] = rel
    result["cost"] = training_cost(
        system=est.info["system"], num_gpus=int(est.num_gpus), wall_time_s=rel["wall_time_s"],
        power_w_per_gpu=power, power_source=source, options=cost, catalog=catalog,
        pue=result["power"]["pue"],
    )  # fmt: skip
    return result
