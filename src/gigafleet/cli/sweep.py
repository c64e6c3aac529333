"""``gigafleet sweep`` and ``gigafleet results query``: grids of planning problems and
their results (Parquet shards queried with DuckDB)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.cli.app import JsonOpt, app, console, results_app
from gigafleet.errors import GigafleetError
from gigafleet.jsonout import dumps


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep YAML: a grid of planning problems.")],
    output: Annotated[
        Path | None, typer.Option(help="Folder for the result shards [out/<name>].")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="local, dask or ray (overrides the file).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (overrides the file).")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Dask scheduler or Ray cluster address.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a grid (models x systems x GPU counts x ...) through the planner, into Parquet shards."""
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from gigafleet.sweep.run import run_sweep
    from gigafleet.sweep.spec import SweepSpec
    from gigafleet.yamlio import load_yaml_model, validate_model

    spec = load_yaml_model(file, SweepSpec)
    over = {
        k: v
        for k, v in dict(kind=executor, workers=workers, address=address).items()
        if v is not None
    }
    if over:
        spec = validate_model(
            {**spec.model_dump(), "executor": {**spec.executor.model_dump(), **over}},
            SweepSpec,
            source="command line",
        )
    out = output or Path("out") / spec.name
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        disable=as_json,
    )  # fmt: skip
    state = {"evals": 0, "t0": 0.0}

    def on_start(total: int, done: int) -> None:
        state["t0"] = time.perf_counter()
        state["task"] = progress.add_task(
            f"sweep {spec.name}", total=total, completed=done, rate=""
        )

    def on_task(result: dict[str, Any]) -> None:
        state["evals"] += result["evaluations"]
        rate = state["evals"] / max(time.perf_counter() - state["t0"], 1e-9)
        progress.update(state["task"], advance=1, rate=f"{rate:,.0f} strategies/s")

    with progress:
        summary = run_sweep(spec, out, on_start=on_start, on_task=on_task)
    if as_json:
        print(dumps(summary, indent=2))
        return
    rate = summary["evaluations"] / max(summary["seconds"], 1e-9)
    console().print(
        f"{summary['ran']} tasks run, {summary['skipped']} already done; {summary['evaluations']:,} strategies "
        f"evaluated in {summary['seconds']:.1f} s ({rate:,.0f}/s). Results: {summary['output']} "
        f'(gigafleet results query "SELECT ..." --dir {summary["output"]})'
    )


@results_app.command("query")
def results_query(
    sql: Annotated[str, typer.Argument(help="SQL over the table `results`.")],
    dir: Annotated[Path, typer.Option("--dir", help="A sweep's output folder.")] = Path("out"),
    as_json: JsonOpt = False,
) -> None:
    """Query a sweep's results with SQL (DuckDB); the table is `results`. A table shows the
    first 1,000 rows, JSON up to 200,000 (bulk exports read the Parquet shards directly)."""
    from rich.table import Table

    from gigafleet.sweep.run import QUERY_MAX_ROWS, query

    if as_json:
        cols, rows, more = query(dir, sql)
        if more:
            raise GigafleetError(
                f"the result has more than {QUERY_MAX_ROWS:,} rows; aggregate, add LIMIT, or "
                f"read the Parquet shards in {dir} directly (DuckDB, pandas)",
                field="query",
            )
        print(dumps([dict(zip(cols, r, strict=True)) for r in rows], indent=2, default=str))
        return
    cols, rows, more = query(dir, sql, max_rows=TABLE_MAX_ROWS)
    t = Table(*cols)
    for r in rows:
        t.add_row(*(_cell(v) for v in r))
    console().print(t)
    if more:
        console().print(
            f"the first {TABLE_MAX_ROWS:,} rows; add LIMIT / OFFSET to page, or --json for up "
            f"to {QUERY_MAX_ROWS:,}",
            highlight=False,
        )


#: Most rows ``results query`` prints as a table (rendering is the slow part: ~0.15 ms a row).
TABLE_MAX_ROWS = 1_000


def _cell(value: object) -> str:
    """A table cell: floats to 4 digits, a missing or non-finite number as ``-``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
