"""``gigafleet serve``: simulate one serving deployment (latency percentiles, goodput,
energy, cost). Its options are fields of :class:`~gigafleet.spec.serving.ServeJob` and the
cost option group, derived, not repeated."""

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
from gigafleet.errors import GigafleetError
from gigafleet.spec.options import CostOptions
from gigafleet.spec.serving import ServeJob

#: Flags that differ from their field's name.
FLAGS = {
    "traffic.rate_per_s": "--rate",
    "traffic.num_requests": "--requests",
    "traffic.trace": "--trace-file",
    "slo.ttft_s": "--ttft",
    "slo.tpot_s": "--tpot",
    "adapters.num_users": "--adapter-users",
    "adapters.rank": "--adapter-rank",
}
JOB = spec_options(
    ServeJob,
    ["model", "system", "replicas", "tp", "ep", "dp", "redundant_experts", "two_batch_overlap",
     "precision", "engine", "traffic.rate_per_s", "traffic.num_requests", "traffic.arrival",
     "traffic.trace", "traffic.prompt_tokens", "traffic.output_tokens", "traffic.length_sigma",
     "slo.ttft_s", "slo.tpot_s", "prefill_replicas", "speculative_tokens", "acceptance_rate",
     "draft", "adapters.num_users", "adapters.rank", "tee"],
    flags=FLAGS,
)  # fmt: skip
ServeConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Serving YAML (options override it).")
]


def serve_job(config: Path | None, given: dict[str, Any], options: list[Any]) -> ServeJob:
    """A ServeJob from a YAML file and/or options (options win; their errors name the
    command line). ``traffic`` and ``slo`` merge field by field; ``adapters`` is replaced."""
    from gigafleet.yamlio import load_yaml_model

    base = load_yaml_model(config, ServeJob).model_dump(exclude_unset=True) if config else {}
    trace = base.get("traffic", {}).get("trace")
    if config and trace and not Path(trace).is_absolute():  # relative to the file that names it
        base["traffic"]["trace"] = str(Path(config).parent / trace)
    adapters = given.get("adapters")
    if adapters is not None and "num_users" not in adapters:
        raise GigafleetError("--adapter-rank needs --adapter-users", field="--adapter-rank")
    merged = {**base, **given}
    for key in ("traffic", "slo"):
        merged[key] = {**base.get(key, {}), **given.get(key, {})}
    return validate_options(ServeJob, merged, options)


@spec_command(app, "serve", job=JOB, cost=COST)
def serve(
    config: ServeConfigOpt = None,
    trace: Annotated[
        Path | None, typer.Option("--trace", help="Write a Chrome/Perfetto trace here.")
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
    *,
    job: dict[str, Any],
    cost: dict[str, Any],
) -> None:
    """Simulate a serving deployment: TTFT, TPOT, latency percentiles, goodput, energy, cost."""
    from gigafleet.sim.deployment import serving_report

    spec = serve_job(config, job, JOB)
    options = validate_options(CostOptions, cost, COST)
    result = serving_report(spec, cost=options, catalog=load_catalog(catalog), trace_path=trace)
    if as_json:
        print_json(result)
        return
    print_serving(result)


def print_serving(r: dict[str, Any]) -> None:
    from rich.table import Table

    from gigafleet.cli.energy_rows import serving_energy_rows

    con = console()
    rep = r["replica"]
    con.print(
        f"[bold]{r['model']} on {r['system']}[/bold]: {r['replicas']} replicas x TP{rep['tp']} EP{rep['ep']} DP{rep['dp']} "
        f"({r['gpus']} GPUs), {rep['precision']} weights, KV cache {rep['kv_capacity_tokens']:,} tokens per replica"
    )
    m = r["metrics"]
    t = Table("metric", "p50", "p90", "p99", "mean", title="Latency")
    for name in ("ttft", "tpot", "e2e", "queue"):
        t.add_row(
            name.upper(), *(fmt_time(m[f"{name}_{q}_s"]) for q in ("p50", "p90", "p99", "mean"))
        )
    con.print(t)
    for note in r.get("metric_notes", ()):
        con.print(f"[dim]{note}[/dim]")
    s = Table("metric", "value", show_header=False)
    s.add_row("requests", f"{m['num_requests']:,.0f}")
    s.add_row("output tokens/s", f"{m['output_tokens_per_s']:,.0f}")
    s.add_row(
        "goodput (req/s within SLO)",
        f"{m['goodput_requests_per_s']:,.2f} ({100 * m['slo_attainment']:.1f}% of requests)",
    )
    s.add_row("utilization", f"{100 * m['utilization_mean']:.1f}%")
    for label, value in serving_energy_rows(r):
        s.add_row(label, value)
    s.add_row("preemptions", f"{m['num_preemptions']:,.0f}")
    s.add_row("prefix-cache hit rate", f"{100 * m['prefix_hit_rate']:.1f}%")
    s.add_row(
        "offline capacity per replica",
        f"{rep['offline_tokens_per_s']:,.0f} tokens/s (batch {rep['offline_batch']})",
    )
    con.print(s)
    if "adapters" in r:
        a = r["adapters"]
        at = Table(
            "tier",
            "hit rate",
            "load time",
            title=f"LoRA adapters ({a['adapter_bytes'] / 1e6:.0f} MB each)",
        )
        for tier, p in a["tier_hit_rate"].items():
            at.add_row(tier, f"{100 * p:.1f}%", fmt_time(a["tier_load_s"][tier]))
        con.print(at)
        con.print(
            f"cold adapters add {fmt_time(a['added_ttft_p99_s'])} to TTFT at p99 ({fmt_time(a['added_ttft_mean_s'])} mean)"
        )
    if "tee" in r:
        con.print(
            f"TEE mode: +{fmt_time(r['tee']['iteration_toll_s'])} per iteration, +{fmt_time(r['tee']['request_toll_s'])} per request"
        )
    _print_cost(r["cost"], con)


def _print_cost(c: dict[str, Any], con) -> None:
    line = f"cost per million output tokens: ${c['cloud_usd_per_million_output_tokens']:.3f} cloud (${c['cloud_usd_per_gpu_hour']:.2f}/GPU-h)"
    if "owned_usd_per_million_output_tokens" in c:
        line += f", ${c['owned_usd_per_million_output_tokens']:.3f} owned (${c['owned_usd_per_gpu_hour']:.2f}/GPU-h)"
    con.print(line)  # fmt: skip
    if "owned_skipped_reason" in c:
        con.print(f"[dim]owned cost not shown: {c['owned_skipped_reason']}[/dim]")
