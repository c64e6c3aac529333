"""``gigafleet run``, ``gigafleet sensitivity``, ``gigafleet compare`` and ``gigafleet
schema``: scenario faces."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.cli.app import CatalogOpt, JsonOpt, app, console, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.jsonout import dumps

LeverOpt = Annotated[
    list[str] | None,
    typer.Option("--lever", help="Only these levers (repeatable; default: all)."),
]


def _run(
    path: Path, catalog: CatalogOpt, *, quiet: bool, sensitivity: bool = False,
    levers: list[str] | None = None, simulate: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Run the scenario at ``path`` (and, with ``sensitivity``, every lever against it);
    an error anywhere names the scenario file and line."""
    from gigafleet.spec.scenario import load_scenario, located

    cat = load_catalog(catalog)
    scn = load_scenario(path, cat)
    try:
        return _with_progress(scn.name, quiet, lambda say: _compute(
            scn, cat, say, sensitivity=sensitivity, levers=levers, simulate=simulate))  # fmt: skip
    except GigafleetError as exc:
        raise located(exc, path) from None


def _compute(scn, cat, say, *, sensitivity: bool, levers, simulate: bool) -> dict[str, Any]:
    from gigafleet.plan.scenario.run import run_state
    from gigafleet.plan.scenario.sensitivity import LEVER_NAMES, Base
    from gigafleet.plan.scenario.sensitivity import sensitivity as what_if

    for name in levers or ():
        if name not in LEVER_NAMES:
            from gigafleet.errors import unknown_name

            raise unknown_name("lever", name, LEVER_NAMES, field="--lever")
    result, state = run_state(scn, catalog=cat, progress=say, simulate=simulate)
    d = result.to_dict()
    if sensitivity:
        base = Base(scn=scn, catalog=state.catalog, state=state, result=result)
        d["sensitivity"] = what_if(base, levers=tuple(levers or ()), progress=say)
    return d


def _with_progress(name: str, quiet: bool, work) -> dict[str, Any]:
    """``work(say)`` with a transient progress line on the terminal (none when ``quiet``)."""
    if quiet:
        return work(lambda _msg: None)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console(), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(f"{name}: resolving", total=None)
        return work(lambda msg: bar.update(task, description=f"{name}: {msg}"))


def write_files(files: dict[Path, str]) -> None:
    """Write every file or none: each goes to a temporary file beside it; only when all
    are written are they renamed into place (a target that is a folder fails first)."""
    for path in files:
        if path.is_dir():
            raise GigafleetError(f"{path} is a folder; choose another --out", field="--out")
    temps: list[str] = []
    try:
        umask = os.umask(0)
        os.umask(umask)
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            temps.append(tmp)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it owner-only; a report is for reading
            with os.fdopen(fd, "w") as f:
                f.write(text)
        for tmp, path in zip(temps, files, strict=True):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            Path(tmp).unlink(missing_ok=True)
        raise


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML (see `gigafleet schema`).")]
ReportOutOpt = Annotated[
    Path | None, typer.Option("--out", help="Folder for report.html and summary.json.")
]


@app.command("run")
def run_cmd(
    scenario: ScenarioArg,
    out: ReportOutOpt = None,
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity",
            help="Also move every lever one step each way (see "
            "`gigafleet sensitivity`) and add the table and tornado to the report.",
        ),
    ] = False,  # fmt: skip
    lever: LeverOpt = None,
) -> None:
    """Size and place every workload of a scenario; write an HTML report and a JSON summary."""
    d = _run(scenario, catalog, quiet=as_json, sensitivity=sensitivity or bool(lever),
             levers=lever)  # fmt: skip
    folder = _write_report(d, out or Path("out") / scenario.stem)
    if as_json:
        print(dumps(d, default=str))
        return
    _print_summary(d)
    if "sensitivity" in d:
        _print_sensitivity(d["sensitivity"])
    console().print(f"report: {folder / 'report.html'}   summary: {folder / 'summary.json'}")


@app.command("sensitivity")
def sensitivity_cmd(
    scenario: ScenarioArg,
    out: ReportOutOpt = None,
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
    lever: LeverOpt = None,
) -> None:
    """What one point is worth: every lever (MFU, PUE, electricity price, HBM, generation,
    capital, rent, demand, amortisation, provisioning) one step each way, in GPUs, MW and
    dollars a year; a table here, a table and tornado chart in the report. Each variant
    re-runs only what its lever touches (the services' SLOs are not simulated again)."""
    d = _run(scenario, catalog, quiet=as_json, sensitivity=True, levers=lever, simulate=False)
    folder = _write_report(d, out or Path("out") / scenario.stem)
    if as_json:
        print(dumps(d["sensitivity"], default=str))
        return
    _print_sensitivity(d["sensitivity"])
    console().print(f"report: {folder / 'report.html'}   summary: {folder / 'summary.json'}")


def _write_report(d: dict[str, Any], folder: Path) -> Path:
    from gigafleet.report.html import render_html

    html = render_html(d)  # built before anything is written: nothing half-written
    text = dumps(d, indent=1, default=str)
    write_files({folder / "summary.json": text, folder / "report.html": html})
    return folder


def _usd(x: float) -> str:
    """$ with an SI suffix (k, M, B)."""
    return "$" + _money(x).lstrip("+")


def _money(x: float) -> str:
    """$ with a sign and an SI suffix (k, M, B)."""
    a = abs(x)
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:+,.2f}{suf}"
    return f"{x:+,.0f}"


def _print_sensitivity(s: dict[str, Any]) -> None:
    from rich.table import Table

    base = s["base"]
    t = Table(title=(
        f"what one step is worth (base: {base['gpus_used_mean']:,.0f} GPUs in use, "
        f"{base['facility_mw_mean']:,.0f} MW mean draw, work {_usd(base['work_cost_usd_per_year'])}"
        f"/year, fleet {_usd(base['fleet_cost_usd_per_year'])}/year)"
    ))  # fmt: skip
    for col in ("lever", "GPUs in use", "MW (mean)", "MW provisioned", "work $/year",
                "fleet $/year"):  # fmt: skip
        t.add_column(col, justify="left" if col == "lever" else "right")
    for r in s["levers"]:
        if "skipped_reason" in r:
            t.add_row(r["label"], f"[dim]{r['skipped_reason']}[/dim]", "", "", "", "")
            continue
        dl = r["delta"]
        t.add_row(r["label"], f"{dl['gpus_used_mean']:+,.0f}", f"{dl['facility_mw_mean']:+,.1f}",
                  f"{dl['provisioned_mw_peak']:+,.0f}", _money(dl["work_cost_usd_per_year"]),
                  _money(dl["fleet_cost_usd_per_year"]))  # fmt: skip
    console().print(t)
    console().print(f"{len(s['levers'])} what-ifs in {s['seconds']:.1f} s")


def _print_summary(d: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    last = d["timeline"][-1]["sites"] if d["timeline"] else []
    t = Table(title=f"{d['scenario']}: sites at {d['periods'][-1] if d['periods'] else '-'}")
    for col in ("site", "GPUs", "GPUs used", "mean MW", "peak-hour MW", "provisioned MW",
                "cap MW", "binds"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("site", "binds") else "right")
    for s in last:
        t.add_row(s["site"], f"{s['gpus']:,}", f"{s['gpus_used']:,.0f}",
                  f"{s['draw_mean_mw']:,.1f}", f"{s['facility_mw']:,.1f}",
                  f"{s['provisioned_mw']:,.0f} ({s['provision_for']})", f"{s['cap_mw']:,.0f}",
                  s["binding"])  # fmt: skip
    con.print(t)
    tot = d["totals"]
    con.print(
        f"cost a year: fleet {_usd(tot['fleet_cost_usd_per_year'])} (capital "
        f"{_usd(tot['capital_usd_per_year'])}, running {_usd(tot['running_usd_per_year'])}); "
        f"the work {_usd(tot['work_cost_usd_per_year'])}"
    )
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
    b: Annotated[Path, typer.Argument(help="Second scenario YAML (may be the same file).")],
    as_json: JsonOpt = False,
    catalog: CatalogOpt = None,
    catalog_a: Annotated[
        list[Path] | None,
        typer.Option("--catalog-a", help="Catalog overlay for side A only (repeatable)."),
    ] = None,
    catalog_b: Annotated[
        list[Path] | None,
        typer.Option("--catalog-b", help="Catalog overlay for side B only (repeatable)."),
    ] = None,
) -> None:
    """Run two scenarios and set what matters side by side: time, power, cost, SLOs. Each
    side carries its own catalog (``--catalog`` for both, ``--catalog-a``/``--catalog-b``,
    and each scenario file's own ``catalog:`` key), policies and prices; figures resting on
    something never measured are flagged."""
    from gigafleet.plan.scenario import compare_results, fabric_notes

    da = _run(a, [*(catalog or []), *(catalog_a or [])], quiet=True)
    db = _run(b, [*(catalog or []), *(catalog_b or [])], quiet=True)
    from gigafleet.plan.scenario.recsys_notes import describe, recsys_notes

    rows = compare_results(da, db)
    notes = fabric_notes(da, db)
    rec = recsys_notes(da, db)
    if as_json:
        out = {"a": da["scenario"], "b": db["scenario"], "rows": rows, "fabric": notes,
               "recommendation": rec}  # fmt: skip
        print(dumps(out))
        return
    from rich.table import Table

    t = Table(title=f"{da['scenario']} (A) against {db['scenario']} (B)")
    for col in ("figure", "A", "B", "B / A", "stands on"):
        t.add_column(col, justify="left" if col in ("figure", "stands on") else "right")
    flagged: dict[str, list[str]] = {}
    for r in rows:
        ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "-"
        tags = f"{r['tag_a'] or '-'} / {r['tag_b'] or '-'}"
        if "extrapolated" in (r["tag_a"], r["tag_b"]):
            tags = f"[yellow]{tags} *[/yellow]"
            for w in r["why"]:
                flagged.setdefault(w, []).append(r["figure"])
        t.add_row(r["figure"], f"{r['a']:,.4g}", f"{r['b']:,.4g}", ratio, tags)
    con = console()
    con.print(t)
    for why, figures in flagged.items():
        con.print(f"[yellow]* extrapolated:[/yellow] {why} ({len(figures)} figures)")
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
    print(dumps(scenario_json_schema(), indent=2))
