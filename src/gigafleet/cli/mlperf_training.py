"""``gigafleet validate mlperf-training``: MLPerf Training time to train, predicted against
the published results (the JSON of every validate command: ``summary`` and ``rows``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gigafleet.cli.app import CatalogOpt, JsonOpt, console, load_catalog, validate_app
from gigafleet.cli.validate import print_skipped
from gigafleet.jsonout import dumps


@validate_app.command("mlperf-training")
def validate_mlperf_training_cmd(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="CSV with the columns of mlperf_training.csv (any round)."),
    ] = None,
    rcps: Annotated[
        Path | None,
        typer.Option("--rcps", help="Reference convergence points [mlperf_training_rcps.csv]."),
    ] = None,
    benchmarks: Annotated[
        Path | None,
        typer.Option(
            "--benchmarks", help="Benchmark definitions [mlperf_training_benchmarks.csv]."
        ),
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Predict the time to train of every MLPerf Training LLM result: samples to converge
    from the reference convergence points, the step time of the published (or planned)
    strategy, and the evaluations the benchmark prescribes."""
    from gigafleet.validate.mlperf_training import default_data_path, validate_mlperf_training

    path = data or default_data_path()
    rows, summary = validate_mlperf_training(
        path, rcps=rcps, benchmarks=benchmarks, catalog=load_catalog(catalog)
    )
    summary["data"] = str(path)
    if as_json:
        print(dumps({"summary": summary, "rows": [r.to_dict() for r in rows]}, indent=2))
        return
    _print(rows, summary)


def _print(rows, summary) -> None:
    from rich.table import Table

    con = console()
    t = Table("row", "benchmark", "submitter", "system", "GPUs", "batch", "measured min",
              "predicted min", "error %", "strategy", title="MLPerf Training time to train")  # fmt: skip
    for r in rows:
        if r.error_pct is None:
            continue
        d = r.details
        s = d["strategy"]
        how = "published" if d["published"] else "planner"
        t.add_row(
            r.row_id, r.group, d["submitter"], d["system"], str(d["num_gpus"]),
            str(d["global_batch"]), f"{r.measured:,.2f}", f"{r.predicted:,.2f}",
            f"{r.error_pct:+.1f}",
            f"{how}: TP{s['tp']} PP{s['pp']} VP{s['vp']} CP{s['cp']} mb{s['micro_batch']} {s['precision']}",
        )  # fmt: skip
    con.print(t)
    print_skipped(rows, con)
    for key in ("by_benchmark", "by_strategy", "by_accelerator"):
        g = Table(key.removeprefix("by_"), "rows", "median |err| %", "p90 |err| %",
                  title=key.replace("_", " "))  # fmt: skip
        for name, st in summary[key].items():
            g.add_row(
                name, str(st["num"]), str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"])
            )
        con.print(g)
    con.print(
        f"[bold]{summary['num_predicted']}/{summary['num_rows']} rows predicted "
        f"({100 * summary['predicted_fraction']:.0f}%), median |error| "
        f"{summary['median_abs_error_pct']}%, p90 {summary['p90_abs_error_pct']}%[/bold]  "
        f"(data: {summary['data']})"
    )
