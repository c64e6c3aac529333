"""``gigafleet validate collectives``: the collective and fabric model against published figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gigafleet.cli.main import CatalogOpt, JsonOpt, _catalog, _console, validate_app

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

    path = data or default_data_path()
    rows, summary = validate_collectives(path, catalog=_catalog(catalog))
    summary["data"] = str(path)
    if as_json:
        print(json.dumps({"summary": summary, "rows": [r.to_dict() for r in rows]}, indent=2))
        return
    from rich.table import Table

    con = _console()
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
    skipped = [r for r in rows if r.error_pct is None]
    if skipped:
        s = Table("row", "why skipped", title="Skipped rows")
        for r in skipped:
            s.add_row(r.row_id, r.skipped_reason or "")
        con.print(s)
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
