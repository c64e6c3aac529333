"""Refreshing personal models: the training side of "one personalised model per user".

Every ``refresh_days`` each of ``num_users`` adapters is fine-tuned again on
``tokens_per_user`` new tokens: a steady demand of ``num_users x tokens_per_user /
refresh_days`` tokens to train per day. Jobs of ``adapters_per_job`` LoRA adapters on the
shared frozen base (:mod:`gigafleet.perf.training.lora`) serve it; a job is the smallest
power-of-two GPU count where the LoRA planner finds a strategy that fits, or the next one
up where that trains more tokens per GPU (``size_adapter_refresh``). The placement program
then places whole jobs like service replicas, flat over the day (batch work has no peak).
"""

from __future__ import annotations

from typing import Any

from gigafleet.catalog import Catalog
from gigafleet.errors import GigafleetError
from gigafleet.plan.scenario.pools import Pool
from gigafleet.plan.training import plan_training
from gigafleet.spec.scenario import AdapterRefresh

#: Largest job (GPUs) tried for one batch of adapters: a frozen base this large already
#: fits the biggest open models (DeepSeek-V3 at FP8 on 64 H100s).
MAX_JOB_GPUS = 256


def size_adapter_refresh(svc: AdapterRefresh, pool: Pool, catalog: Catalog) -> Any:
    """Tokens trained per second per GPU by the best job of ``svc.adapters_per_job``
    adapters on ``pool``'s system, its IT watts per GPU and the job (``gpus_per_replica``)."""
    from gigafleet.plan.scenario.size import Fit  # size imports this module

    acc = catalog.accelerator(pool.accelerator)
    if acc.dense_flops(svc.precision) is None:
        return Fit(0.0, 0.0, reason=f"memory/precision: {acc.name} has no {svc.precision}")
    best: dict[str, Any] | None = None
    n, top = 1, min(pool.num_gpus, MAX_JOB_GPUS)
    while n <= top:
        try:
            plan = plan_training(
                svc.model, pool.system, num_gpus=n, seq_len=svc.seq_len,
                global_batch=svc.global_batch, precisions=(svc.precision,), workload="lora",
                lora_rank=svc.adapter_rank, lora_targets=svc.lora_targets,
                adapters=svc.adapters_per_job, frozen_weights=svc.frozen_weights,
                fabric=pool.fabric, pue=pool.pue, catalog=catalog, top_k=1,
            )  # fmt: skip
        except GigafleetError:
            plan = None
        if plan is not None and plan.order.size:
            i = int(plan.order[0])
            step = float(plan.metrics["step_time_s"][i])
            job = {
                "gpus_per_replica": n,
                "tokens_per_s_per_gpu": float(plan.metrics["tokens_per_s_per_gpu"][i]),
                "step_time_s": step,
                "mfu": float(plan.metrics["mfu"][i]),
                "it_w_per_gpu": float(plan.metrics["energy_j_per_step"][i]) / step / n / pool.pue,
                "strategy": {k: v for k, v in plan.row(i).items() if k != "breakdown_s"},
            }
            if best is not None and job["tokens_per_s_per_gpu"] <= best["tokens_per_s_per_gpu"]:
                break  # more GPUs per job no longer pay
            best = job
        elif best is not None:
            break
        n *= 2
    if best is None:
        return Fit(
            0.0,
            0.0,
            reason=f"memory: no LoRA job of {svc.model} fits {pool.system} at up to {top} GPUs",
        )
    best["adapters_per_job"] = svc.adapters_per_job
    best["gpu_hours_per_adapter_refresh"] = (
        svc.tokens_per_user / best["tokens_per_s_per_gpu"] / 3600.0
    )
    return Fit(best["tokens_per_s_per_gpu"], best["it_w_per_gpu"], best)


def refresh_fields(
    svc: AdapterRefresh, f: Any, *, cost_usd_per_hour: float, served_per_day: float,
    facility_j_per_day: float,
) -> dict[str, Any]:  # fmt: skip
    """The report figures of a placed refresh workload at its busiest period: tokens trained,
    GPU-hours, dollars and energy per adapter refresh and per million tokens."""
    if served_per_day <= 0:
        return {"trained_tokens_per_day": 0.0}
    refreshes_per_day = served_per_day / svc.tokens_per_user
    return {
        "trained_tokens_per_day": served_per_day,
        "adapter_refreshes_per_day": refreshes_per_day,
        "gpu_hours_per_adapter_refresh": f.detail["gpu_hours_per_adapter_refresh"],
        "usd_per_adapter_refresh": cost_usd_per_hour * 24.0 / refreshes_per_day,
        "usd_per_million_tokens": cost_usd_per_hour * 24.0 / served_per_day * 1e6,
        "facility_joules_per_token": facility_j_per_day / served_per_day,
    }
