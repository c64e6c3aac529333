"""Cost blocks of the training and serving reports: owned and cloud cost per GPU-hour, the
break-even utilization, cost per run and per million tokens (models in :mod:`gigafleet.cost`)."""

from __future__ import annotations

import math
from typing import Any

from gigafleet.cost import (
    break_even_utilization,
    cost_inputs,
    cost_per_million_tokens,
    load_prices,
    owned_cost_per_gpu_hour,
    training_run_cost,
)
from gigafleet.errors import GigafleetError
from gigafleet.spec.options import CostOptions

#: The error that means "this system has no sourced server price": owned cost is skipped
#: with that reason, cloud cost still applies.
NO_SERVER_PRICE = "no default server price"


def inputs_for(system: str, options: CostOptions, *, catalog: Any, pue: float | None = None):
    """The resolved prices of ``system`` with the user's overrides (``options``)."""
    return cost_inputs(
        system, prices=load_prices(options.prices, catalog=catalog), catalog=catalog,
        system_usd_per_gpu=options.system_usd_per_gpu,
        cloud_usd_per_gpu_hour=options.price_usd_per_gpu_hour, pue=pue,
    )  # fmt: skip


def training_cost(
    *,
    system: str,
    num_gpus: int,
    wall_time_s: float | None,
    power_w_per_gpu: float,
    power_source: str,
    options: CostOptions,
    catalog: Any,
    pue: float | None,
) -> dict[str, Any]:
    """Owned against cloud cost of a training job at ``power_w_per_gpu`` average IT power;
    the run's cost when its wall time is known."""
    try:
        inputs = inputs_for(system, options, catalog=catalog, pue=pue)
    except GigafleetError as exc:
        if NO_SERVER_PRICE not in str(exc):
            raise
        return {"skipped_reason": str(exc)}
    u = 1.0 if options.utilization is None else options.utilization
    owned = owned_cost_per_gpu_hour(
        avg_power_w_per_gpu=power_w_per_gpu, inputs=inputs, utilization=u
    )
    cost: dict[str, Any] = {
        "avg_power_w_per_gpu": power_w_per_gpu,
        "power_source": power_source,
        "utilization": u,
        "owned_usd_per_gpu_hour": float(owned.total_usd_per_gpu_hour),
        "owned_breakdown_usd_per_gpu_hour": {
            k: float(v) for k, v in owned.to_dict().items() if k.endswith("_usd_per_hour")
        },
        "cloud_usd_per_gpu_hour": inputs.cloud_usd_per_gpu_hour,
        "break_even_utilization": float(
            break_even_utilization(avg_power_w_per_gpu=power_w_per_gpu, inputs=inputs)
        ),
        "notes": list(inputs.notes),
    }
    if not cost["break_even_utilization"] <= 1.0:
        # above 100% (or inf: the cloud price does not even cover the energy) owning never pays
        cost["notes"].append(
            "owning never beats renting: the cloud price is below the owned cost even at 100% utilization"
        )
        if not math.isfinite(cost["break_even_utilization"]):
            cost["break_even_utilization"] = None
    if wall_time_s is not None:
        run = training_run_cost(
            num_gpus, wall_time_s, avg_power_w_per_gpu=power_w_per_gpu, inputs=inputs,
            utilization=u,
        )  # fmt: skip
        cost.update(
            {k: float(run[k]) for k in ("gpu_hours", "owned_usd", "cloud_usd", "energy_usd")}
        )
    return cost


def serving_cost(
    *,
    system: str,
    num_gpus: int,
    output_tokens_per_s: float,
    energy_j_per_output_token: float,
    options: CostOptions,
    catalog: Any,
) -> dict[str, Any]:
    """Cost per million output tokens of a deployment (owned and cloud)."""
    tps = output_tokens_per_s
    cloud_price = options.price_usd_per_gpu_hour
    out: dict[str, Any] = {}
    try:
        inputs = inputs_for(system, options, catalog=catalog)
        cloud_price = inputs.cloud_usd_per_gpu_hour
        power = options.avg_power_w or energy_j_per_output_token * tps / num_gpus
        u = 1.0 if options.utilization is None else options.utilization
        owned = float(
            owned_cost_per_gpu_hour(
                avg_power_w_per_gpu=power, inputs=inputs, utilization=u
            ).total_usd_per_gpu_hour
        )
        out.update(owned_usd_per_gpu_hour=owned, avg_power_w_per_gpu=power, utilization=u,
                   owned_usd_per_million_output_tokens=float(cost_per_million_tokens(tps, num_gpus, usd_per_gpu_hour=owned)),
                   notes=list(inputs.notes))  # fmt: skip
    except GigafleetError as exc:
        if NO_SERVER_PRICE not in str(exc):
            raise
        out["owned_skipped_reason"] = str(exc)
        if cloud_price is None:
            cloud_price = load_prices(options.prices, catalog=catalog).value(
                "cloud_usd_per_gpu_hour"
            )
    out["cloud_usd_per_gpu_hour"] = cloud_price
    out["cloud_usd_per_million_output_tokens"] = float(
        cost_per_million_tokens(tps, num_gpus, usd_per_gpu_hour=cloud_price)
    )
    return out
