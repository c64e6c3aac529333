"""``gigafleet validate ...`` and ``gigafleet calibrate ...``: predictions against published
measurements (every command speaks the same JSON: ``summary`` and ``rows``), and the refit of
the calibration constants on their named rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.cli.app import (
    CatalogOpt,
    JsonOpt,
    calibrate_app,
    console,
    load_catalog,
    validate_app,
)
from gigafleet.jsonout import dumps
from gigafleet.validate.groundtruth import cell_errors

DataOpt = Annotated[
    Path | None, typer.Option("--data", help="CSV with the columns of training_runs.csv.")
]


def print_skipped(rows, con) -> None:
    """The rows a validation could not predict, each with its reason."""
    from rich.table import Table

    skipped = [r for r in rows if r.error_pct is None]
    if skipped:
        s = Table("row", "why skipped", title="Skipped rows")
        for r in skipped:
            s.add_row(r.row_id, r.skipped_reason or "")
        con.print(s)


def _validation(fn, data: Path | None, catalog: list[Path] | None, as_json: bool):
    """Run a validation over ``data`` (the caller's default already applied; None: ``fn``
    reads its own files); print JSON if asked. The summary names the data unless ``fn``
    named its files itself.

    Returns the rows and summary for the table, or None when JSON was printed.
    """
    with cell_errors():
        rows, summary = fn(data, catalog=load_catalog(catalog))
    if data is not None:
        summary.setdefault("data", str(data))
    if as_json:
        print(dumps({"summary": summary, "rows": [r.to_dict() for r in rows]}, indent=2))
        return None
    return rows, summary


TrainingHoldoutOpt = Annotated[
    str | None,
    typer.Option(
        "--holdout",
        help="Refit every calibration constant without each group and predict it: system, "
        "release, study or config.",
    ),
]


@validate_app.command("training")
def validate_training_cmd(
    data: DataOpt = None,
    holdout: TrainingHoldoutOpt = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Predict every row of the training ground truth and report the errors (rows whose
    configuration was never fitted first)."""
    from functools import partial

    from gigafleet.validate.training import default_data_path
    from gigafleet.validate.training_fit import validate_training

    if holdout is not None:
        from gigafleet.validate.training_fit import group_of

        group_of(holdout)  # a bad group name fails before any work
    result = _validation(
        partial(validate_training, holdout=holdout), data or default_data_path(), catalog, as_json
    )
    if result:
        _print_validation(*result)


def _print_validation(rows, summary) -> None:
    from rich.table import Table

    con = console()
    t = Table(
        "row",
        "model",
        "system",
        "metric",
        "measured",
        "predicted",
        "error %",
        "set",
        title="Training validation",
    )
    for r in rows:
        if r.error_pct is None:
            continue
        t.add_row(
            r.row_id, r.details.get("model", ""), r.details.get("system", ""), r.metric,
            f"{r.measured:,.1f}", f"{r.predicted:,.1f}", f"{r.error_pct:+.1f}",
            r.details.get("calibration_class", "").replace("_", " "),
        )  # fmt: skip
    con.print(t)
    print_skipped(rows, con)
    ho = summary.get("by_holdout")
    if ho:
        h = Table(
            ho["by"], "rows", "median |err| %", "p90 |err| %", "held out: rows", "median", "p90",
            title=f"Refit without each {ho['by']}, then predicted",
        )  # fmt: skip
        for name, st in ho["groups"].items():
            u = st["held_out"]
            h.add_row(
                name, str(st["num"]), str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"]),
                str(u["num"]), str(u["median_abs_error_pct"]), str(u["p90_abs_error_pct"]),
            )  # fmt: skip
        con.print(h)
    for key in ("by_calibration", "by_study", "by_model_kind", "by_system", "by_release_mapping"):
        g = Table(
            key.removeprefix("by_"),
            "rows",
            "median |err| %",
            "p90 |err| %",
            title=key.replace("_", " "),
        )
        for name, st in summary[key].items():
            g.add_row(
                name, str(st["num"]), str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"])
            )
        con.print(g)
    held = summary["held_out"]
    con.print(
        f"[bold]held out (configuration never fitted): {held['num']} rows, median |error| "
        f"{held['median_abs_error_pct']}%, p90 {held['p90_abs_error_pct']}%. "
        f"All: {summary['num_predicted']}/{summary['num_rows']} rows predicted "
        f"({100 * summary['predicted_fraction']:.0f}%), median |error| {summary['median_abs_error_pct']}%, "
        f"p90 {summary['p90_abs_error_pct']}%[/bold]  (data: {summary['data']})"
    )


@validate_app.command("plan")
def validate_plan_cmd(
    data: DataOpt = None, catalog: CatalogOpt = None, as_json: JsonOpt = False
) -> None:
    """Rank each published (hand-tuned) strategy among all the planner considers."""
    from rich.table import Table

    from gigafleet.validate.plan import validate_plan
    from gigafleet.validate.training import default_data_path

    result = _validation(validate_plan, data or default_data_path(), catalog, as_json)
    if not result:
        return
    rows, summary = result
    con = console()
    t = Table(
        "row",
        "model",
        "system",
        "feasible",
        "published rank",
        "top %",
        "best is faster by",
        "planner best",
        title="Published strategies in the planner",
    )
    for r in rows:
        if r.error_pct is None:
            continue
        d = r.details
        b = d["planner_best"]
        best = f"TP{b['tp']} PP{b['pp']} VP{b['vp']} CP{b['cp']} EP{b['ep']} DP{b['dp']} mb{b['micro_batch']} Z{b['zero']} {b['recompute']}"
        t.add_row(
            r.row_id,
            d["model"],
            d["system"],
            f"{d['num_feasible']:,}",
            f"{d['rank']:,}",
            f"{r.error_pct:.1f}",
            f"{d['gap_pct']:.1f}%",
            best,
        )
    con.print(t)
    for r in rows:
        if r.error_pct is None:
            con.print(f"skipped {r.row_id}: {r.skipped_reason}")
    con.print(
        f"[bold]published strategy in the planner's top 10%: {100 * summary['in_top_10pct_fraction']:.0f}% of "
        f"{summary['num_predicted']} rows (target 80%); median rank {summary['rank_pct']['median_abs_error_pct']}%; "
        f"planner best slower than published: {summary['best_slower_than_published']} rows; median predicted "
        f"gain of the planner's best {summary['gap_pct']['median_abs_error_pct']}%[/bold]"
    )


InferenceDataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="CSV with the columns of mlperf_inference.csv or of confidential_computing.csv; "
        "it replaces that data set.",
    ),
]


HoldoutOpt = Annotated[
    str | None,
    typer.Option(
        "--holdout",
        help="Refit the engine constants without each group and predict it: round, system, "
        "submitter or deployment.",
    ),
]


@validate_app.command("inference")
def validate_inference_cmd(
    data: InferenceDataOpt = None,
    holdout: HoldoutOpt = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """MLPerf Inference LLM results (Offline, Server and Interactive tokens/s), MLPerf DLRM
    recommendation results (samples/s, queries/s; their own summary), DeepSeek-V3 served at
    scale, and confidential-computing overheads (Zhu et al. 2024, error in percentage
    points)."""
    from functools import partial

    from rich.table import Table

    from gigafleet.validate.inference import validate_inference

    result = _validation(partial(validate_inference, holdout=holdout), data, catalog, as_json)
    if result is None:
        return
    rows, summary = result
    con = console()
    t = Table(
        "row", "deployment", "measured tok/s", "predicted tok/s", "error %", "set",
        title="MLPerf Inference",
    )  # fmt: skip
    rec = "recommendation"
    for r in rows:
        if r.error_pct is None or not r.group.startswith("mlperf"):
            continue
        t.add_row(
            r.row_id, r.details.get("deployment", ""), f"{r.measured:,.0f}", f"{r.predicted:,.0f}",
            f"{r.error_pct:+.1f}", "fit" if r.fitted else "held out",
        )  # fmt: skip
    con.print(t)
    skipped = [r for r in rows if r.error_pct is None and r.group.startswith("mlperf")]
    if skipped:
        s = Table("row", "why skipped", title="Skipped MLPerf rows")
        for r in skipped:
            s.add_row(r.row_id, r.skipped_reason or "")
        con.print(s)
    g = Table("group", "measurements", "median |err| %", "p90 |err| %", title="MLPerf errors")
    for name, st in summary["held_out_by_deployment"].items():
        g.add_row(f"held out by deployment: {name}", str(st["num"]),
                  str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"]))  # fmt: skip
    for key in ("by_scenario_calibration", "by_accelerator"):
        for name, st in summary[key].items():
            g.add_row(
                name, str(st["num"]), str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"])
            )
    if "holdout" in summary:
        for name, st in summary["holdout"]["by_scenario"].items():
            g.add_row(f"refit without each {summary['holdout']['by']}: {name}", str(st["num"]),
                      str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"]))  # fmt: skip
    con.print(g)
    ds = [r for r in rows if r.group == "deepseek"]
    if ds:
        d = Table(
            "row",
            "what",
            "measured tok/s/GPU",
            "predicted",
            "error %",
            title="DeepSeek-V3 at scale",
        )
        for r in ds:
            d.add_row(r.row_id, r.details["what"], f"{r.measured:,.0f}", f"{r.predicted:,.0f}",
                      f"{r.error_pct:+.1f}")  # fmt: skip
        con.print(d)
    c = Table("row", "measured %", "predicted %", "error pp", "set", title="Confidential computing")
    for r in rows:
        if r.error_pct is not None and r.group == "confidential computing":
            c.add_row(
                r.row_id, f"{r.measured:.2f}", f"{r.predicted:.2f}", f"{r.error_pct:+.2f}",
                "fit" if r.fitted else "held out",
            )  # fmt: skip
    con.print(c)
    if "recommendation" in summary:
        _print_recommendation([r for r in rows if r.group == rec], summary["recommendation"], con)
    cc = summary["confidential_computing"]
    held = summary["held_out_by_deployment"]
    con.print(
        f"[bold]MLPerf: {summary['num_predicted']}/{summary['num_llm_rows']} LLM rows predicted "
        f"({100 * summary['predicted_fraction']:.0f}%), {summary['num_measurements']} "
        f"measurements; held out by deployment: Offline median |error| "
        f"{held.get('offline', {}).get('median_abs_error_pct')}%, Server "
        f"{held.get('server', {}).get('median_abs_error_pct')}%. Confidential computing: "
        f"{cc['num_predicted']}/{cc['num_rows']} rows, median |error| "
        f"{cc['median_abs_error_pct']} pp[/bold]"
    )


@validate_app.command("energy")
def validate_energy_cmd(
    data: Annotated[
        Path | None, typer.Option("--data", help="CSV with the columns of power_energy.csv.")
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Power and energy against MLPerf Power, MLPerf MaxQ/MaxP pairs and Llama 3.1 emissions."""
    from rich.table import Table

    from gigafleet.validate.energy import run_validation
    from gigafleet.validate.groundtruth import groundtruth_path

    result = _validation(
        run_validation, data or groundtruth_path("power_energy.csv"), catalog, as_json
    )
    if not result:
        return
    rows, summary = result
    t = Table("row", "metric", "measured", "predicted", "error %", "set", title="Power and energy")
    for r in rows:
        if r.error_pct is not None:
            t.add_row(r.row_id, r.metric, f"{r.measured:,.4g}", f"{r.predicted:,.4g}",
                      f"{r.error_pct:+.1f}", "fit" if r.fitted else "held out")  # fmt: skip
    con = console()
    con.print(t)
    for r in rows:
        if r.error_pct is None:
            con.print(f"skipped {r.row_id}: {r.skipped_reason}")
    con.print(
        f"[bold]{summary['num_predicted']}/{summary['num_rows']} rows predicted; median |error| "
        f"{summary['median_abs_error_pct']}%, p90 {summary['p90_abs_error_pct']}%; held out: "
        f"{summary['by_calibration'].get('held_out')}[/bold]  (data: {summary['data']})"
    )


@validate_app.command("reliability")
def validate_reliability_cmd(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="CSV with the columns of validate/data/reliability.csv."),
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Failure counts and effective training time against Llama 3 (fitted) and other clusters (held out)."""
    from functools import partial

    from gigafleet.validate.reliability import default_data_path, validate_reliability

    # the simulation-against-closed-form checks do not read the data (and take most of the
    # time): they run with the shipped data, not with the user's --data
    fn = validate_reliability if data is None else partial(validate_reliability, closed_form=False)
    result = _validation(fn, data or default_data_path(), catalog, as_json)
    if result:
        _print_reliability_validation(*result, console())


DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="CSV with the columns of validate/data/fabric_collectives.csv."),
]


@validate_app.command("collectives")
def validate_collectives_cmd(
    data: DataOpt = None, catalog: CatalogOpt = None, as_json: JsonOpt = False
) -> None:
    """nccl-tests bus bandwidth and at-scale fabric figures (routing, collisions, failures)."""
    from gigafleet.validate.collectives import default_data_path, validate_collectives

    result = _validation(validate_collectives, data or default_data_path(), catalog, as_json)
    if result is None:
        return
    rows, summary = result
    from rich.table import Table

    con = console()
    t = Table(
        "row", "metric", "system / fabric", "measured", "predicted", "error %", "set",
        title="Collectives validation",
    )  # fmt: skip
    for r in rows:
        if r.error_pct is None:
            continue
        where = " / ".join(x for x in (r.details.get("system"), r.details.get("fabric")) if x)
        t.add_row(
            r.row_id, r.metric, where, f"{r.measured:,.4g}", f"{r.predicted:,.4g}",
            f"{r.error_pct:+.1f}", r.details["set"],
        )  # fmt: skip
    con.print(t)
    print_skipped(rows, con)
    g = Table("set", "rows", "median |err| %", "p90 |err| %", title="by set")
    for name, st in summary["by_set"].items():
        g.add_row(
            name, str(st["num"]), str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"])
        )
    con.print(g)
    for c in summary["routing_comparisons"]:
        ok = "same direction" if c["same_direction"] else "OPPOSITE direction"
        con.print(
            f"{c['row_id']}: measured x{c['measured']:.3g}, predicted x{c['predicted']:.3g} "
            f"({ok}, {c['error_pct']:+.0f}%)"
        )
    ho = summary["held_out"]
    con.print(
        f"[bold]{summary['num_predicted']}/{summary['num_rows']} rows predicted; held out: "
        f"median |error| {ho['median_abs_error_pct']}%, p90 {ho['p90_abs_error_pct']}% "
        f"over {ho['num']} rows[/bold]  (fitted: {', '.join(summary['fitted_rows'])}; "
        f"data: {summary['data']})"
    )


#: ``calibrate ... --write --out FILE``: the fitted constants as a user catalog overlay.
WriteOpt = Annotated[
    bool, typer.Option("--write", help="Also write them as a catalog overlay file (see --out).")
]
OverlayOutOpt = Annotated[
    Path,
    typer.Option(
        "--out",
        help="Where --write puts the overlay; use it with --catalog FILE or $GIGAFLEET_CATALOG.",
    ),
]


@calibrate_app.command("training")
def calibrate_training_cmd(
    data: Annotated[
        Path | None, typer.Option("--data", help="CSV with the columns of training_runs.csv.")
    ] = None,
    write: WriteOpt = False,
    out: OverlayOutOpt = Path("gigafleet-calibration.yaml"),
    catalog: CatalogOpt = None,
) -> None:
    """Refit the calibration constants on their named rows; print them (and --write them)."""
    from gigafleet.validate.training import default_data_path
    from gigafleet.validate.training_fit import (
        fit_calibration,
        fitted_constants,
        write_calibration,
    )

    cat = load_catalog(catalog)
    path = data or default_data_path()
    with cell_errors():
        fitted = fitted_constants(fit_calibration(path, catalog=cat))
    print(dumps(fitted, indent=2, sort_keys=True))
    if write:
        on = f"{path}" + "".join(f", --catalog {c}" for c in catalog or ())
        print(f"wrote {write_calibration(fitted, out, catalog=cat, fitted_on=on)}")


@calibrate_app.command("inference")
def calibrate_inference_cmd(
    write: WriteOpt = False,
    out: OverlayOutOpt = Path("gigafleet-serving-calibration.yaml"),
    catalog: CatalogOpt = None,
) -> None:
    """Refit the serving engines' kernel efficiency per release on their named MLPerf rows;
    print them (and --write them)."""
    from gigafleet.validate.mlperf_fit import fit_engines, write_engines

    cat = load_catalog(catalog)
    with cell_errors():
        fitted = fit_engines(cat)
    print(dumps({f"{e}@{r}": v for (e, r), v in sorted(fitted.items())}, indent=2))
    if write:
        print(f"wrote {write_engines(fitted, out, catalog=cat)}")


def _print_reliability_validation(rows, summary, console) -> None:
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


def _print_recommendation(rows: list[Any], rs: dict[str, Any], con: Any) -> None:
    """The recommendation block of ``validate inference``: rows, errors, the targets."""
    from rich.table import Table

    t = Table("row", "system", "measured", "predicted", "error %", "set",
              title="MLPerf recommendation (samples/s Offline, queries/s Server)")  # fmt: skip
    for r in rows:
        if r.error_pct is None:
            continue
        d = r.details
        cls = (
            "fit" if r.fitted else ("same deployment" if d.get("fitted_deployment") else "held out")
        )
        t.add_row(r.row_id, f"{d['num_gpus']} x {d['accelerator']}", f"{r.measured:,.0f}",
                  f"{r.predicted:,.0f}", f"{r.error_pct:+.1f}", cls)  # fmt: skip
    con.print(t)
    g = Table("group", "measurements", "median |err| %", "p90 |err| %",
              title="MLPerf recommendation errors")  # fmt: skip
    for key in ("by_calibration", "by_scenario", "by_accelerator"):
        for name, st in rs[key].items():
            g.add_row(name, str(st["num"]), str(st["median_abs_error_pct"]),
                      str(st["p90_abs_error_pct"]))  # fmt: skip
    con.print(g)
    tg, held = rs["targets"], rs["held_out"]["all"]
    con.print(
        f"[bold]Recommendation: {rs['num_predicted']}/{rs['num_rows']} DLRM rows predicted "
        f"({100 * rs['predicted_fraction']:.0f}%, target {100 * tg['predicted_fraction']:.0f}%), "
        f"median |error| {rs['median_abs_error_pct']}% (target {tg['median_abs_error_pct']:g}), "
        f"p90 {rs['p90_abs_error_pct']}% (target {tg['p90_abs_error_pct']:g}); held out: median "
        f"{held['median_abs_error_pct']}%, p90 {held['p90_abs_error_pct']}% over {held['num']} "
        f"measurements; targets {'met' if tg['met'] else 'missed'}[/bold]"
    )
