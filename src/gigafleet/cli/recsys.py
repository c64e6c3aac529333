"""``gigafleet recsys``: one recommendation service on one system (``serve``: items ranked
per GPU within the latency budget, p99, GPUs, power, cost per billion ranked items) and the
first-order training step of a DLRM (``train``). Options are fields of
:class:`~gigafleet.spec.recsys.RecsysJob` and the cost option group, derived, not repeated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.cli.app import (
    CatalogOpt,
    JsonOpt,
    app,
    console,
    fmt_time,
    load_catalog,
    print_json,
    validate_options,
)
from gigafleet.cli.options import spec_command, spec_options
from gigafleet.cli.train import COST
from gigafleet.spec.options import CostOptions
from gigafleet.spec.recsys import RecsysJob

recsys_app = typer.Typer(
    help="Recommendation: size a feed's ranking service on one system; DLRM training.",
    no_args_is_help=True,
)
app.add_typer(recsys_app, name="recsys")

FLAGS = {
    "items_per_query": "--candidates",
    "history_tokens": "--history",
    "latency_budget_ms": "--latency-ms",
    "zipf_s": "--zipf",
    "access_trace": "--access-trace",
    "daily_active_users": "--users",
    "requests_per_user_per_day": "--requests-per-user",
    "queries_per_s": "--qps",
    "inferences_per_day": "--items-per-day",
    "hstu.num_layers": "--hstu-layers",
    "hstu.num_heads": "--hstu-heads",
    "hstu.attention_dim": "--hstu-qk-dim",
    "hstu.linear_dim": "--hstu-v-dim",
    "hstu.max_seq_len": "--hstu-max-seq-len",
    "hstu.history_cv": "--history-cv",
}
JOB = spec_options(
    RecsysJob,
    ["model", "system", "items_per_query", "retrieval_candidates", "history_tokens",
     "latency_budget_ms", "precision", "embedding_precision", "zipf_s", "access_trace",
     "far_tier", "far_tb_per_node", "daily_active_users", "requests_per_user_per_day",
     "queries_per_s", "inferences_per_day", "peak_to_mean", "hstu.num_layers",
     "hstu.num_heads", "hstu.attention_dim", "hstu.linear_dim", "hstu.max_seq_len",
     "hstu.history_cv"],
    flags=FLAGS,
)  # fmt: skip
RecsysConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Service YAML (options override it).")
]


def recsys_job(config: Path | None, given: dict[str, Any], options: list[Any]) -> RecsysJob:
    """A RecsysJob from a YAML file and/or options (options win; ``hstu`` merges)."""
    from gigafleet.yamlio import load_yaml_model

    base = load_yaml_model(config, RecsysJob).model_dump(exclude_unset=True) if config else {}
    merged = {**base, **given}
    if "hstu" in base or "hstu" in given:
        merged["hstu"] = {**(base.get("hstu") or {}), **given.get("hstu", {})}
    return validate_options(RecsysJob, merged, options)


@spec_command(recsys_app, "serve", job=JOB, cost=COST)
def serve(
    config: RecsysConfigOpt = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
    *,
    job: dict[str, Any],
    cost: dict[str, Any],
) -> None:
    """Size one recommendation service: items ranked per GPU within the latency budget, p99,
    replica shape and embedding tiers, GPUs for the load, power, cost per billion items."""
    from gigafleet.pipelines.recsys import recsys_report

    spec = recsys_job(config, job, JOB)
    options = validate_options(CostOptions, cost, COST)
    result = recsys_report(spec, cost=options, catalog=load_catalog(catalog))
    if as_json:
        print_json(result)
        return
    print_recsys(result)


def print_recsys(r: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    c = r["capacity"]
    unit = "request" if r["kind"] == "hstu" else "pair"
    con.print(
        f"[bold]{r['model']} on {r['system']}[/bold]: replicas of {c['gpus_per_replica']} "
        f"GPU(s), batch {c['batch']:,} {unit}s per GPU, bound by {c['bound']}"
    )
    t = Table("figure", "value", show_header=False)
    t.add_row("items ranked / s / GPU", f"{c['items_per_s_per_gpu']:,.0f}")
    t.add_row("requests / s / GPU", f"{c['queries_per_s_per_gpu']:,.2f}")
    t.add_row("p99 latency", fmt_time(c["p99_latency_s"]))
    t.add_row(f"FLOP per {unit}", f"{c['flops_per_unit']:.3g}")
    t.add_row("sustained clock", f"{100 * c['clock_fraction']:.0f}% of the datasheet's")
    tiers = c["tiers"]
    t.add_row(
        "lookups served by",
        f"HBM {100 * tiers['hit_hbm']:.1f}%, host memory {100 * tiers['hit_host']:.1f}% "
        f"(over {tiers['host_link']}), far tier {100 * tiers['hit_far']:.1f}% "
        f"({tiers['table_bytes'] / 1e9:,.0f} GB of tables, {tiers['skew']})",
    )
    busy = ", ".join(f"{k} {fmt_time(v)}" for k, v in c["unit_time_s"].items())
    t.add_row(f"busy per {unit}", busy)
    t.add_row("IT power per busy GPU", f"{r['it_w_per_busy_gpu']:,.0f} W")
    con.print(t)
    if "deployment" in r:
        d = r["deployment"]
        con.print(
            f"load: {d['items_per_day']:.3g} items ranked/day ({d['requests_per_day']:.3g} "
            f"requests), peak {d['peak_items_per_s']:,.0f} items/s -> [bold]{d['gpus']:,} GPUs"
            f"[/bold] ({d['replicas']:,} replicas, {100 * d['utilization_mean']:.0f}% busy "
            f"over the day), {d['facility_mw_peak']:,.2f} MW facility at peak "
            f"({d['facility_mw_mean']:,.2f} MW mean, PUE {r['pue']:.2f})"
        )
    cost = r["cost"]
    line = (f"cost per billion ranked items: ${cost['cloud_usd_per_billion_items']:,.2f} cloud "
            f"(${cost['cloud_usd_per_gpu_hour']:.2f}/GPU-h)")  # fmt: skip
    if "owned_usd_per_billion_items" in cost:
        line += (f", ${cost['owned_usd_per_billion_items']:,.2f} owned "
                 f"(${cost['owned_usd_per_gpu_hour']:.2f}/GPU-h)")  # fmt: skip
    con.print(line)
    if "owned_skipped_reason" in cost:
        con.print(f"[dim]owned cost not shown: {cost['owned_skipped_reason']}[/dim]")
    con.print(f"[dim]calibration: {c['calibration']}[/dim]")


@recsys_app.command("train")
def train(
    model: Annotated[str, typer.Option(help="Catalog DLRM.")] = "dlrm-dcnv2",
    system: Annotated[str, typer.Option(help="Catalog system.")] = "dgx-h100",
    gpus: Annotated[int, typer.Option(help="GPUs.")] = 8,
    global_batch: Annotated[int, typer.Option(help="Samples per step.")] = 55296,
    mlperf: Annotated[
        bool, typer.Option("--mlperf", help="Compare with MLPerf Training DLRM-dcnv2 rates.")
    ] = False,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """First-order DLRM training step: model-parallel tables, data-parallel dense part,
    the embedding all-to-all (an upper bound: no overlap)."""
    from gigafleet.perf.recsys.training import compare_mlperf_training, recsys_training_step

    cat = load_catalog(catalog)
    step = recsys_training_step(model, system, num_gpus=gpus, global_batch=global_batch,
                                catalog=cat)  # fmt: skip
    rows = compare_mlperf_training(cat) if mlperf else []
    if as_json:
        print_json({"step": step.to_dict(), "mlperf": rows})
        return
    con = console()
    parts = ", ".join(f"{k} {fmt_time(v)}" for k, v in step.parts_s.items())
    con.print(
        f"[bold]{step.model} on {gpus} x {step.system}[/bold]: step {fmt_time(step.step_s)} "
        f"({parts}), {step.samples_per_s:,.3g} samples/s; {step.status}"
    )
    if rows:
        from rich.table import Table

        t = Table("round", "system", "GPUs", "measured samples/s", "predicted", "error %",
                  title="MLPerf Training DLRM-dcnv2 (rates derived from MLLOG)")  # fmt: skip
        for r in rows:
            t.add_row(r["round"], r["system"], str(r["num_gpus"]), f"{r['samples_per_s']:.3g}",
                      f"{r['predicted_samples_per_s']:.3g}", f"{r['error_pct']:+.0f}")  # fmt: skip
        con.print(t)
