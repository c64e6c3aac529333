"""``gigafleet run``, ``gigafleet compare`` and ``gigafleet schema``: scenario faces."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.cli.app import CatalogOpt, JsonOpt, app, console, load_catalog
from gigafleet.errors import GigafleetError


def _run(path: Path, catalog: CatalogOpt, *, quiet: bool) -> dict[str, Any]:
    from gigafleet.spec.scenario import load_scenario, located

    cat = load_catalog(catalog)
    scn = load_scenario(path, cat)
    try:
        return _run_loaded(scn, cat, quiet=quiet)
    except GigafleetError as exc:
        raise located(exc, path) from None


def _run_loaded(scn, cat, *, quiet: bool) -> dict[str, Any]:
    from gigafleet.plan.scenario import run_scenario

    if quiet:
        return run_scenario(scn, catalog=cat).to_dict()
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console(), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(f"{scn.name}: resolving", total=None)
        result = run_scenario(
            scn,
            catalog=cat,
            progress=lambda msg: bar.update(task, description=f"{scn.name}: {msg}"),
        )
    return result.to_dict()


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename: never a half-written report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it owner-only; a report is for reading
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command("run")
def run_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (see `gigafleet schema`).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for report.html and summary.json.")
    ] = None,
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Size and place every workload of a scenario; write an HTML report and a JSON summary."""
    from gigafleet.report.html import render_html

    d = _run(scenario, catalog, quiet=as_json)
    folder = out or Path("out") / scenario.stem
    html = render_html(d)
    _write_atomic(folder / "summary.json", json.dumps(d, indent=1, default=str))
    _write_atomic(folder / "report.html", html)
    if as_json:
        print(json.dumps(d, default=str))
        return
    _print_summary(d)
    console().print(f"report: {folder / 'report.html'}   summary: {folder / 'summary.json'}")


def _print_summary(d: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    last = d["timeline"][-1]["sites"] if d["timeline"] else []
    t = Table(title=f"{d['scenario']}: sites at {d['periods'][-1] if d['periods'] else '-'}")
    for col in ("site", "GPUs", "GPUs used", "facility MW", "cap MW"):
        t.add_column(col, justify="left" if col == "site" else "right")
    for s in last:
        t.add_row(s["site"], f"{s['gpus']:,}", f"{s['gpus_used']:,.0f}",
                  f"{s['facility_mw']:,.1f}", f"{s['cap_mw']:,.0f}")  # fmt: skip
    con.print(t)
    if d["training"]:
        t = Table(title="training runs")
        for col in ("run", "system @ site", "GPUs", "MFU", "ETT", "days", "deadline", "cost $"):
            t.add_column(col, justify="left" if col in ("run", "system @ site") else "right")
        for r in d["training"]:
            t.add_row(r["workload"], f"{r['system']} @ {r['site']}", f"{r['num_gpus']:,}",
                      f"{r['mfu']:.2f}", f"{r['ett']:.3f}", f"{r['days']:.1f}",
                      f"{r['deadline_days']:.0f}", f"{r['cost_usd']:,.3g}")  # fmt: skip
        con.print(t)
    if d["services"]:
        t = Table(title="services at their busiest period")
        for col in ("service", "kind", "peak demand", "GPUs", "SLO attained", "MW", "cost"):
            t.add_column(col, justify="left" if col in ("service", "kind") else "right")
        for r in d["services"]:
            cost = (
                f"${r['usd_per_million_tokens']:.3f}/M tok" if "usd_per_million_tokens" in r
                else f"${r.get('usd_per_billion_inferences', 0):.2f}/B inf"
            )  # fmt: skip
            t.add_row(r["workload"], r["kind"], f"{r['peak_demand']:,.4g} {r['unit']}",
                      f"{r['gpus']:,.0f}", f"{r['slo_attainment']:.3f}",
                      f"{r.get('facility_mw', 0):,.1f}", cost)  # fmt: skip
        con.print(t)
    for r in d["services"]:  # recommendation: the ranking model's shape and calibration
        rep = r.get("replica") or {}
        if r["kind"] == "recommendation" and "embedding_tiers" in rep:
            t = rep["embedding_tiers"]
            con.print(
                f"{r['workload']}: {r['model']} in replicas of {rep['gpus_per_replica']} GPUs, "
                f"p99 {1e3 * rep['p99_latency_s']:.0f} ms, {rep['queries_per_s_per_gpu']:,.0f} "
                f"requests/s per GPU, lookups {100 * t['hbm']:.1f}% from HBM (host memory over "
                f"{t['host_link']}); calibration: {rep['calibration']}"
            )
    for w in d["warnings"]:
        con.print(f"[yellow]warning:[/yellow] {w}")
    for u in d["unplaced"]:
        con.print(f"[red]not placed:[/red] {u['workload']} ({u['kind']}): {u['binding']}")


@app.command("compare")
def compare_cmd(
    a: Annotated[Path, typer.Argument(help="First scenario YAML.")],
    b: Annotated[Path, typer.Argument(help="Second scenario YAML.")],
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Run two scenarios and set what matters side by side: time, power, cost, SLOs."""
    from gigafleet.plan.scenario import compare_results, fabric_notes

    da, db = _run(a, catalog, quiet=True), _run(b, catalog, quiet=True)
    from gigafleet.plan.scenario.recsys_notes import describe, recsys_notes

    rows = compare_results(da, db)
    notes = fabric_notes(da, db)
    rec = recsys_notes(da, db)
    if as_json:
        out = {"a": da["scenario"], "b": db["scenario"], "rows": rows, "fabric": notes,
               "recommendation": rec}  # fmt: skip
        print(json.dumps(out))
        return
    from rich.table import Table

    t = Table(title=f"{da['scenario']} (A) against {db['scenario']} (B)")
    for col in ("figure", "A", "B", "B / A"):
        t.add_column(col, justify="left" if col == "figure" else "right")
    for r in rows:
        ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "-"
        t.add_row(r["figure"], f"{r['a']:,.4g}", f"{r['b']:,.4g}", ratio)
    con = console()
    con.print(t)
    for n in notes:
        ratio = f"{n['days_ratio']:.3f}x the days" if n["days_ratio"] else ""
        con.print(
            f"[bold]{n['workload']}[/bold]: fabric {n['a']} (A) against {n['b']} (B), {ratio}"
        )
        for side in ("a", "b"):
            for why in n[f"why_{side}"]:
                con.print(f"  {side.upper()}: {why}")
    for n in rec:  # recommendation: embedding tiers and host links (Grace against x86)
        ratio = (
            f"{n['items_per_gpu_ratio']:.3f}x the items per GPU" if n["items_per_gpu_ratio"] else ""
        )
        con.print(f"[bold]{n['workload']}[/bold] (recommendation): B ranks {ratio}")
        for side in ("a", "b"):
            con.print(f"  {side.upper()}: {describe(n[side])}")


@app.command("schema")
def schema_cmd(
    what: Annotated[str, typer.Argument(help="Which schema: scenario.")] = "scenario",
) -> None:
    """Print the JSON Schema of a user file (editors complete YAML from it)."""
    from gigafleet.spec.scenario import scenario_json_schema

    if what != "scenario":
        raise GigafleetError(f"unknown schema {what!r}; allowed: scenario", field="what")
    print(json.dumps(scenario_json_schema(), indent=2))
