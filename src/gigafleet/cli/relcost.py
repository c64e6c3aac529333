"""Reliability and cost rows for ``gigafleet train`` and ``gigafleet serve`` (a face: it
gathers options, calls reliability/ and cost/, and formats; it computes nothing itself)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.errors import GigafleetError

_R = "Reliability"
_C = "Cost"
StorageOpt = Annotated[
    float | None,
    typer.Option(help="Aggregate checkpoint storage bandwidth, TB/s [2: Llama 3's Tectonic].", rich_help_panel=_R),
]  # fmt: skip
NodeStorageOpt = Annotated[
    float | None,
    typer.Option(help="Storage bandwidth per node, GB/s [50: assumption].", rich_help_panel=_R),
]
RestartOpt = Annotated[
    float | None,
    typer.Option(help="Restart overhead per failure excl. checkpoint read, s [600: assumption].", rich_help_panel=_R),
]  # fmt: skip
IntervalOpt = Annotated[
    float | None,
    typer.Option(help="Checkpoint interval, s [Daly's optimum].", rich_help_panel=_R),
]
PlannedOpt = Annotated[
    float | None,
    typer.Option(help="Planned interruptions (maintenance) per day [0].", rich_help_panel=_R),
]
RatesOpt = Annotated[
    Path | None,
    typer.Option("--failure-rates", help="YAML overriding per-component failure rates.", rich_help_panel=_R),
]  # fmt: skip
CloudPriceOpt = Annotated[
    float | None,
    typer.Option(help="Cloud price per GPU-hour, USD [2: DeepSeek-V3's H800 assumption].", rich_help_panel=_C),
]  # fmt: skip
SystemPriceOpt = Annotated[
    float | None,
    typer.Option(help="Server purchase price per GPU, USD [catalog default where sourced].", rich_help_panel=_C),
]  # fmt: skip
PricesOpt = Annotated[
    Path | None,
    typer.Option("--prices", help="YAML overriding default prices (same keys as cost/data/prices.yaml).", rich_help_panel=_C),
]  # fmt: skip
PowerOpt = Annotated[
    float | None,
    typer.Option(help="Average wall power per GPU incl. its host share, W [the GPU's first-order power].", rich_help_panel=_C),
]  # fmt: skip
UtilizationOpt = Annotated[
    float | None,
    typer.Option(help="Share of owned GPU-hours doing paid work, for owned cost [1].", rich_help_panel=_C),
]  # fmt: skip


def _positive(value: float | None, field: str) -> None:
    if value is not None and not value > 0:
        raise GigafleetError(f"got {value}; allowed: a positive number", field=field)


def cost_inputs_from_options(system: str, *, catalog, prices: Path | None, system_usd_per_gpu,
                             price_usd_per_gpu_hour, pue=None):  # fmt: skip
    from gigafleet.cost import cost_inputs, load_prices

    _positive(price_usd_per_gpu_hour, "--price-usd-per-gpu-hour")
    _positive(system_usd_per_gpu, "--system-usd-per-gpu")
    return cost_inputs(
        system, prices=load_prices(prices), catalog=catalog,
        system_usd_per_gpu=system_usd_per_gpu, cloud_usd_per_gpu_hour=price_usd_per_gpu_hour,
        pue=pue,
    )  # fmt: skip


def training_extras(
    est, *, catalog, storage_tbytes_per_s=None, node_storage_gbytes_per_s=None,
    restart_overhead_s=None, checkpoint_interval_s=None, planned_per_day=None, failure_rates=None,
    price_usd_per_gpu_hour=None, system_usd_per_gpu=None, prices=None, avg_power_w=None,
    model_power_w=None, pue=None, utilization=None,
) -> dict[str, Any]:  # fmt: skip
    """The ``reliability`` and ``cost`` blocks of a training report (``model_power_w``: the
    energy model's average IT power per GPU, used unless ``--avg-power-w`` is given)."""
    from gigafleet.cost import break_even_utilization, owned_cost_per_gpu_hour, training_run_cost
    from gigafleet.energy.training import training_power
    from gigafleet.reliability import (
        DEFAULT_NODE_STORAGE_BW_BYTES_PER_S,
        DEFAULT_RESTART_OVERHEAD_S,
        DEFAULT_STORAGE_BW_BYTES_PER_S,
        effective_training_time,
        load_failure_rates,
    )

    _positive(storage_tbytes_per_s, "--storage-tbytes-per-s")
    _positive(node_storage_gbytes_per_s, "--node-storage-gbytes-per-s")
    _positive(checkpoint_interval_s, "--checkpoint-interval-s")
    _positive(avg_power_w, "--avg-power-w")
    for v, f in (
        (restart_overhead_s, "--restart-overhead-s"),
        (planned_per_day, "--planned-per-day"),
    ):
        if v is not None and v < 0:
            raise GigafleetError(f"got {v}; allowed: zero or more", field=f)
    system = est.info["system"]
    ideal = est.time_to_train_s
    nominal = ideal is None or not est.feasible
    rel = effective_training_time(
        30 * 86400.0 if nominal else float(ideal), int(est.num_gpus),
        num_params=float(est.info["params_total"]), system=system, catalog=catalog,
        rates=load_failure_rates(failure_rates),
        storage_bw_bytes_per_s=storage_tbytes_per_s * 1e12 if storage_tbytes_per_s else DEFAULT_STORAGE_BW_BYTES_PER_S,
        node_bw_bytes_per_s=node_storage_gbytes_per_s * 1e9 if node_storage_gbytes_per_s else DEFAULT_NODE_STORAGE_BW_BYTES_PER_S,
        restart_overhead_s=DEFAULT_RESTART_OVERHEAD_S if restart_overhead_s is None else restart_overhead_s,
        checkpoint_interval_s=checkpoint_interval_s, planned_per_day=planned_per_day or 0.0,
    ).to_dict()  # fmt: skip
    if nominal:
        for k in ("ideal_time_s", "wall_time_s", "expected_failures"):
            rel[k] = None
        rel["note"] = "ETT for a nominal 30-day run; give --tokens for the wall-clock time to train"
    power = (
        avg_power_w or model_power_w or training_power(est, catalog=catalog).item("gpu_power_avg_w")
    )
    try:
        inputs = cost_inputs_from_options(
            system, catalog=catalog, prices=prices, system_usd_per_gpu=system_usd_per_gpu,
            price_usd_per_gpu_hour=price_usd_per_gpu_hour, pue=pue,
        )  # fmt: skip
    except GigafleetError as exc:
        if "no default server price" not in str(exc):
            raise
        return {"reliability": rel, "cost": {"skipped_reason": str(exc)}}
    u = 1.0 if utilization is None else utilization
    owned = owned_cost_per_gpu_hour(avg_power_w_per_gpu=power, inputs=inputs, utilization=u)
    cost: dict[str, Any] = {
        "avg_power_w_per_gpu": power,
        "power_source": "--avg-power-w"
        if avg_power_w
        else "energy model: IT power per GPU (GPU, host, network)"
        if model_power_w
        else "GPU power (GPU only)",
        "utilization": u,
        "owned_usd_per_gpu_hour": float(owned.total_usd_per_gpu_hour),
        "owned_breakdown_usd_per_gpu_hour": {
            k: float(v) for k, v in owned.to_dict().items() if k.endswith("_usd_per_hour")
        },
        "cloud_usd_per_gpu_hour": inputs.cloud_usd_per_gpu_hour,
        "break_even_utilization": float(
            break_even_utilization(avg_power_w_per_gpu=power, inputs=inputs)
        ),
        "notes": list(inputs.notes),
    }
    if not nominal:
        run = training_run_cost(
            int(est.num_gpus), rel["wall_time_s"], avg_power_w_per_gpu=power, inputs=inputs,
            utilization=u,
        )  # fmt: skip
        cost.update(
            {k: float(run[k]) for k in ("gpu_hours", "owned_usd", "cloud_usd", "energy_usd")}
        )
    return {"reliability": rel, "cost": cost}


def print_training_extras(r: dict[str, Any], console, fmt_time) -> None:
    from rich.table import Table

    rel, cost = r["reliability"], r["cost"]
    t = Table("metric", "value", show_header=False, title="Failures and checkpoints")
    t.add_row(
        "unexpected interruptions",
        f"{rel['failures_per_day']:.2f} per day (MTBF {fmt_time(rel['mtbf_s'])})",
    )
    t.add_row(
        "checkpoint",
        f"{rel['checkpoint_bytes'] / 1e12:.2f} TB, write {fmt_time(rel['checkpoint_write_s'])}, restart {fmt_time(rel['restart_s'])}",
    )
    t.add_row("checkpoint interval", fmt_time(rel["checkpoint_interval_s"]))
    t.add_row("effective training time", f"{100 * rel['ett']:.1f} %")
    if rel["wall_time_s"] is not None:
        t.add_row(
            "wall-clock time to train",
            f"{fmt_time(rel['wall_time_s'])} ({rel['expected_failures']:.0f} failures expected)",
        )
    else:
        t.add_row("note", rel["note"])
    console.print(t)  # fmt: skip
    c = Table("metric", "value", show_header=False, title="Cost")
    if "skipped_reason" in cost:
        c.add_row("skipped", cost["skipped_reason"])
        console.print(c)
        return
    c.add_row(
        "owned, per GPU-hour",
        f"${cost['owned_usd_per_gpu_hour']:.2f} (at {100 * cost['utilization']:.0f}% utilization, {cost['avg_power_w_per_gpu']:.0f} W)",
    )
    c.add_row("cloud, per GPU-hour", f"${cost['cloud_usd_per_gpu_hour']:.2f}")
    c.add_row(
        "owning beats renting above", f"{100 * cost['break_even_utilization']:.0f}% utilization"
    )
    if "owned_usd" in cost:
        c.add_row(
            "run, owned",
            f"${cost['owned_usd'] / 1e6:,.2f} M ({cost['gpu_hours'] / 1e6:,.2f} M GPU-hours)",
        )
        c.add_row("run, cloud", f"${cost['cloud_usd'] / 1e6:,.2f} M")
    console.print(c)  # fmt: skip
    for n in cost["notes"]:
        console.print(f"[dim]{n}[/dim]")


def serving_cost(
    r: dict[str, Any], *, catalog, price_usd_per_gpu_hour=None, system_usd_per_gpu=None,
    prices=None, avg_power_w=None, utilization=None,
) -> dict[str, Any]:  # fmt: skip
    """Cost per million output tokens of a simulated deployment (owned and cloud)."""
    from gigafleet.cost import cost_per_million_tokens, owned_cost_per_gpu_hour

    _positive(avg_power_w, "--avg-power-w")
    m = r["metrics"]
    tps, gpus = float(m["output_tokens_per_s"]), int(r["gpus"])
    cloud_price = price_usd_per_gpu_hour
    out: dict[str, Any] = {}
    try:
        inputs = cost_inputs_from_options(
            r["system"], catalog=catalog, prices=prices, system_usd_per_gpu=system_usd_per_gpu,
            price_usd_per_gpu_hour=price_usd_per_gpu_hour,
        )  # fmt: skip
        cloud_price = inputs.cloud_usd_per_gpu_hour
        power = avg_power_w or float(m["energy_j_per_output_token"]) * tps / gpus
        u = 1.0 if utilization is None else utilization
        owned = float(
            owned_cost_per_gpu_hour(
                avg_power_w_per_gpu=power, inputs=inputs, utilization=u
            ).total_usd_per_gpu_hour
        )
        out.update(owned_usd_per_gpu_hour=owned, avg_power_w_per_gpu=power, utilization=u,
                   owned_usd_per_million_output_tokens=float(cost_per_million_tokens(tps, gpus, usd_per_gpu_hour=owned)),
                   notes=list(inputs.notes))  # fmt: skip
    except GigafleetError as exc:
        if "no default server price" not in str(exc):
            raise
        out["owned_skipped_reason"] = str(exc)
        if cloud_price is None:
            from gigafleet.cost import load_prices

            cloud_price = load_prices(prices).value("cloud_usd_per_gpu_hour")
    out["cloud_usd_per_gpu_hour"] = cloud_price
    out["cloud_usd_per_million_output_tokens"] = float(
        cost_per_million_tokens(tps, gpus, usd_per_gpu_hour=cloud_price)
    )
    return out


def print_serving_cost(c: dict[str, Any], console) -> None:
    line = f"cost per million output tokens: ${c['cloud_usd_per_million_output_tokens']:.3f} cloud (${c['cloud_usd_per_gpu_hour']:.2f}/GPU-h)"
    if "owned_usd_per_million_output_tokens" in c:
        line += f", ${c['owned_usd_per_million_output_tokens']:.3f} owned (${c['owned_usd_per_gpu_hour']:.2f}/GPU-h)"
    console.print(line)  # fmt: skip
    if "owned_skipped_reason" in c:
        console.print(f"[dim]owned cost not shown: {c['owned_skipped_reason']}[/dim]")


def print_reliability_validation(rows, summary, console) -> None:
    from rich.table import Table

    t = Table("row", "study", "metric", "components", "measured", "predicted", "error %", "set",
              title="Reliability validation")  # fmt: skip
    for r in rows:
        if r.error_pct is None:
            continue
        d = r.details
        bound = d["bound"] + " " if d["bound"] else ""
        t.add_row(
            r.row_id, d["study"], r.metric, d["components"], f"{bound}{r.measured:,.3g}",
            f"{r.predicted:,.3g}", f"{r.error_pct:+.1f}", "fit" if r.fitted else d["set"].replace("_", " "),
        )  # fmt: skip
    console.print(t)
    for r in rows:
        if r.error_pct is None:
            console.print(f"skipped {r.row_id}: {r.skipped_reason}")
    g = Table("set", "rows", "median |err| %", "p90 |err| %", title="by calibration")
    for name, st in summary["by_calibration"].items():
        g.add_row(
            name, str(st["num"]), str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"])
        )
    console.print(g)
    console.print(
        f"[bold]{summary['num_predicted']}/{summary['num_rows']} rows predicted; median |error| "
        f"{summary['median_abs_error_pct']}%, p90 {summary['p90_abs_error_pct']}% (fitted rows "
        f"reproduce the Llama 3 counts by construction; see held_out)[/bold]  (data: {summary['data']})"
    )
