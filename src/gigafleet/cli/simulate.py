"""``gigafleet simulate``: a scenario's year of operations (failures and repairs, jobs,
the daily serving load, cloud bursting, grid events, the rollout), over seeds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.cli.app import CatalogOpt, JsonOpt, app, console, load_catalog
from gigafleet.jsonout import dumps


@app.command("simulate")
def simulate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (its `simulation:` block).")],
    days: Annotated[
        float | None, typer.Option("--days", help="Days to simulate [simulation.days: 365].")
    ] = None,
    seeds: Annotated[
        int | None, typer.Option("--seeds", help="Random seeds [simulation.seeds: 1].")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="First seed [simulation.seed].")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for shards, summary.json, report.html [out/<name>-sim]."
        ),
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="Where seeds run: local, dask or ray [local].")
    ] = None,
    workers: Annotated[int, typer.Option(help="Local worker processes (several seeds).")] = 2,
    address: Annotated[str | None, typer.Option(help="Dask scheduler or Ray address.")] = None,
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Simulate the fleet over time; write daily Parquet shards, a summary and a report."""
    from gigafleet.errors import GigafleetError
    from gigafleet.plan.simulate import build_inputs, result_document, simulate
    from gigafleet.spec.scenario import load_scenario, located
    from gigafleet.spec.simulation import Simulation

    cat = load_catalog(catalog)
    scn = load_scenario(scenario, cat)
    sim = scn.simulation or Simulation()
    for name, value in (("--days", days), ("--seeds", seeds), ("--seed", seed)):
        if value is not None and (value <= 0 if name != "--seed" else value < 0):
            raise GigafleetError(f"got {value}; allowed: a positive number", field=name)
    num_seeds = seeds or sim.seeds
    first = sim.seed if seed is None else seed
    runner = _runner(executor, workers, address, num_seeds)  # bad options fail before sizing
    con = console()
    try:
        if as_json:
            inp, meta = build_inputs(scn, catalog=cat, days=days)
        else:
            with con.status(f"{scn.name}: sizing") as status:
                inp, meta = build_inputs(
                    scn, catalog=cat, days=days,
                    progress=lambda m: status.update(f"{scn.name}: {m}"),
                )  # fmt: skip
    except GigafleetError as exc:
        raise located(exc, scenario) from None
    folder = out or Path("out") / f"{scenario.stem}-sim"
    seed_list = [first + i for i in range(num_seeds)]
    done = []
    try:
        if as_json:
            results = simulate(inp, seeds=seed_list, out_dir=folder, runner=runner)
        else:
            with con.status(f"{scn.name}: simulating {inp.horizon_s / 86400:.0f} days") as status:
                results = simulate(
                    inp, seeds=seed_list, out_dir=folder, runner=runner,
                    on_seed=lambda r: (done.append(r), status.update(
                        f"{scn.name}: {len(done)}/{num_seeds} seeds done")),
                )  # fmt: skip
    except KeyboardInterrupt:
        con.print(f"interrupted: the finished seeds are kept in {folder}; run again to finish")
        sys.exit(130)
    doc = result_document(scn, inp, results, meta)
    _write(folder, doc, results)
    if as_json:
        print(dumps(doc, default=float))
        return
    _print(doc, folder)


def _runner(kind: str | None, workers: int, address: str | None, num_seeds: int):
    """Seeds run one after another here, or on a sweep executor."""
    if kind is None and num_seeds == 1:
        return None
    from functools import partial

    from gigafleet.sweep.executors import run_tasks
    from gigafleet.sweep.spec import Executor
    from gigafleet.yamlio import validate_model

    ex = validate_model({"kind": kind or "local", "workers": workers, "address": address},
                        Executor, source="command line", prefix="--executor.")  # fmt: skip
    return partial(run_tasks, ex)


def _write(folder: Path, doc: dict[str, Any], results: list[dict[str, Any]]) -> None:
    from gigafleet.cli.scenario import write_files
    from gigafleet.plan.simulate import daily_bands
    from gigafleet.report.fleet import render_fleet_html

    bands = daily_bands(results) if len(results) > 1 else None
    write_files({
        folder / "summary.json": dumps(doc, indent=1, default=float),
        folder / "report.html": render_fleet_html(doc, results[0]["daily"], bands),
    })  # fmt: skip


def _print(doc: dict[str, Any], folder: Path) -> None:
    from rich.table import Table

    con = console()
    s = doc["summary"]
    t = Table(title=f"{doc['scenario']}: {s['days']:.0f} days from {doc['start']}, "
                    f"{len(doc['seeds'])} seed(s)")  # fmt: skip
    for col in ("goodput share", "utilization", "SLO attained", "cloud GPU-h", "cloud $",
                "energy GWh", "interruptions"):  # fmt: skip
        t.add_column(col, justify="right")
    t.add_row(f"{s['goodput_share']:.3f}", f"{s['utilization']:.3f}", f"{s['slo_attainment']:.4f}",
              f"{s['cloud']['gpu_h']:,.0f}", f"{s['cloud']['usd']:,.3g}",
              f"{s['energy_mwh'] / 1e3:,.1f}", f"{sum(s['interruptions'].values()):,.0f}")  # fmt: skip
    con.print(t)
    if s["training"]:
        t = Table(title="training runs")
        for col in (
            "run",
            "GPUs",
            "finished",
            "days",
            "ideal days",
            "ETTR",
            "interruptions",
            "MTTI h",
        ):
            t.add_column(col, justify="left" if col == "run" else "right")
        for r in s["training"]:
            mtti = f"{r['mtti_h']:.2f}" if r["mtti_h"] else "-"
            t.add_row(r["workload"], f"{r['num_gpus']:,}", "yes" if r["finished"] else "no",
                      f"{r['days']:.1f}", f"{r['ideal_days']:.1f}", f"{r['ettr']:.3f}",
                      f"{r['interruptions']:,}", mtti)  # fmt: skip
        con.print(t)
    t = Table(title="lost GPU-hours by cause")
    t.add_column("cause")
    t.add_column("GPU-hours", justify="right")
    for k, v in s["lost_gpu_h"].items():
        t.add_row(k, f"{v:,.4g}")
    con.print(t)
    for u in doc["unplaced"]:
        con.print(
            f"[red]not placed by the planner:[/red] {u['workload']} ({u['kind']}): {u['binding']}"
        )
    con.print(f"report: {folder / 'report.html'}   summary: {folder / 'summary.json'}   "
              f'daily tables: gigafleet results query "SELECT ..." --dir {folder}')  # fmt: skip
