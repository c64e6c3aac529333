"""``gigafleet train``: one training configuration, its step, power, failures and cost.

Its options are the fields of :class:`~gigafleet.spec.training.TrainingJob` and of the
energy, reliability and cost option groups (``spec/options.py``), derived, not repeated."""

from __future__ import annotations

from typing import Any

from gigafleet.cli.app import (
    CatalogOpt,
    ConfigOpt,
    JsonOpt,
    app,
    console,
    fmt_time,
    load_catalog,
    print_json,
    validate_options,
)
from gigafleet.cli.options import spec_command, spec_options
from gigafleet.spec.options import CostOptions, EnergyOptions, ReliabilityOptions
from gigafleet.spec.training import TrainingJob

JOB = spec_options(
    TrainingJob,
    ["model", "system", "num_gpus", "seq_len", "global_batch", "tp", "pp", "cp", "ep", "vp",
     "micro_batch", "precision", "zero", "recompute", "offload", "ep_overlap", "ep_dispatcher",
     "cuda_graphs", "workload", "fabric", "train_tokens", "uneven_layers", "lora_rank",
     "lora_targets", "adapters", "frozen_weights"],
    flags={"num_gpus": "--gpus", "train_tokens": "--tokens"},
)  # fmt: skip
ENERGY = spec_options(EnergyOptions, EnergyOptions.model_fields)
RELIABILITY = spec_options(ReliabilityOptions, ReliabilityOptions.model_fields, panel="Reliability")
COST = spec_options(CostOptions, CostOptions.model_fields, panel="Cost")


@spec_command(app, "train", job=JOB, energy=ENERGY, reliability=RELIABILITY, cost=COST)
def train(
    config: ConfigOpt = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
    *,
    job: dict[str, Any],
    energy: dict[str, Any],
    reliability: dict[str, Any],
    cost: dict[str, Any],
) -> None:
    """Predict one training configuration: step time, throughput, MFU, memory, power, energy,
    failures and effective training time, cost."""
    from gigafleet.pipelines.training import training_report
    from gigafleet.yamlio import load_yaml_model

    base = load_yaml_model(config, TrainingJob).model_dump(exclude_unset=True) if config else {}
    # the file alone is valid (load_yaml_model checked it): what fails now came from the options
    spec = validate_options(TrainingJob, {**base, **job}, JOB)
    options = {
        "energy": validate_options(EnergyOptions, energy, ENERGY),
        "reliability": validate_options(ReliabilityOptions, reliability, RELIABILITY),
        "cost": validate_options(CostOptions, cost, COST),
    }
    result = training_report(spec, **options, catalog=load_catalog(catalog))
    if as_json:
        print_json(result)
        return
    print_training(result)


def print_training(r: dict[str, Any]) -> None:
    from rich.table import Table

    from gigafleet.cli.energy_rows import training_energy_rows

    con = console()
    s = r["strategy"]
    title = (
        f"{r['model']} on {r['num_gpus']:,} x {r['accelerator']} ({r['system']}, {r['fabric']}): "
        f"TP{s['tp']} PP{s['pp']} VP{s['vp']} CP{s['cp']} EP{s['ep']} DP{s['dp']} "
        f"mb{s['micro_batch']} {s['precision']} ZeRO-{s['zero']} recompute={s['recompute']}"
    )
    con.print(f"[bold]{title}[/bold]")
    if not r["feasible"]:
        con.print(f"[red]infeasible:[/red] {r['infeasible_reason']}")
    t = Table("metric", "value", show_header=False)
    t.add_row("step time", fmt_time(r["step_time_s"]))
    t.add_row("tokens/s (total)", f"{r['tokens_per_s']:,.0f}")
    t.add_row("tokens/s per GPU", f"{r['tokens_per_s_per_gpu']:,.1f}")
    t.add_row("model TFLOP/s per GPU", f"{r['model_tflops_per_gpu']:,.1f}")
    t.add_row(f"MFU (vs {s['precision']} dense peak)", f"{100 * r['mfu']:.1f} %")
    t.add_row("memory per GPU", f"{r['memory_gib_per_gpu']:.1f} GiB of {r['hbm_gib']:.1f} GiB")
    t.add_row("micro-batches per step", f"{r['num_micro_batches']:.0f}")
    for label, value in training_energy_rows(r["power"]) if "power" in r else ():
        t.add_row(label, value)
    if r["time_to_train_s"] is not None:
        t.add_row("time to train", fmt_time(r["time_to_train_s"]))
    if "lora" in r:
        lo = r["lora"]
        t.add_row(
            "LoRA adapters",
            f"{lo['adapters']:,} x rank {lo['rank']} on {', '.join(lo['targets'])} "
            f"({lo['params_per_adapter'] / 1e6:,.1f} M parameters each; base frozen in "
            f"{lo['frozen_weights']})",
        )
        t.add_row("GPU-hours per 1 M tokens", f"{lo['gpu_hours_per_million_tokens']:.3g}")
        if lo.get("gpu_hours_per_adapter") is not None:
            t.add_row("GPU-hours per adapter refresh", f"{lo['gpu_hours_per_adapter']:.3g}")
    t.add_row("calibration", r["calibration"])
    con.print(t)
    b = Table("step breakdown", "time", "share", title="Where the step goes")
    for k, v in r["breakdown_s"].items():
        b.add_row(
            k.removesuffix("_s").replace("_", " "),
            fmt_time(v),
            f"{100 * v / r['step_time_s']:.1f} %",
        )
    con.print(b)
    _print_reliability_and_cost(r, con)


def _print_reliability_and_cost(r: dict[str, Any], con) -> None:
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
    con.print(t)  # fmt: skip
    c = Table("metric", "value", show_header=False, title="Cost")
    if "skipped_reason" in cost:
        c.add_row("skipped", cost["skipped_reason"])
        con.print(c)
        return
    c.add_row(
        "owned, per GPU-hour",
        f"${cost['owned_usd_per_gpu_hour']:.2f} (at {100 * cost['utilization']:.0f}% utilization, {cost['avg_power_w_per_gpu']:.0f} W)",
    )
    c.add_row("cloud, per GPU-hour", f"${cost['cloud_usd_per_gpu_hour']:.2f}")
    u_star = cost["break_even_utilization"]
    c.add_row(
        "owning beats renting above",
        f"{100 * u_star:.0f}% utilization" if u_star is not None and u_star <= 1 else "never",
    )
    if "owned_usd" in cost:
        c.add_row(
            "run, owned",
            f"${cost['owned_usd'] / 1e6:,.2f} M ({cost['gpu_hours'] / 1e6:,.2f} M GPU-hours)",
        )
        c.add_row("run, cloud", f"${cost['cloud_usd'] / 1e6:,.2f} M")
    con.print(c)  # fmt: skip
    for n in cost["notes"]:
        con.print(f"[dim]{n}[/dim]")
