"""The command tree and what every command group shares: the typer apps, the common
options, the console, number formatting. One module per command group registers on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.jsonout import dumps

app = typer.Typer(
    name="gigafleet",
    help="Digital twin of AI fleets: predict training time, throughput, memory and power.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show defaults as "[bf16]": plain text, not markup
)
catalog_app = typer.Typer(
    help="List and show catalog entries (hardware and models).", no_args_is_help=True
)
validate_app = typer.Typer(
    help="Compare predictions with published measurements.", no_args_is_help=True
)
calibrate_app = typer.Typer(
    help="Refit the calibration constants on their named rows.", no_args_is_help=True
)
plan_app = typer.Typer(help="Search for the best strategy.", no_args_is_help=True)
results_app = typer.Typer(
    help="Query sweep results (DuckDB over the Parquet shards).", no_args_is_help=True
)
app.add_typer(catalog_app, name="catalog")
app.add_typer(validate_app, name="validate")
app.add_typer(calibrate_app, name="calibrate")
app.add_typer(plan_app, name="plan")
app.add_typer(results_app, name="results")

CatalogOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog",
        help="YAML overlay adding or overriding catalog entries or parameter sets (repeatable).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="YAML file with the fields below (options override it)."),
]


def console():
    from rich.console import Console

    return Console()


def load_catalog(paths: list[Path] | None):
    """The catalog with the user's ``--catalog`` overlays."""
    from gigafleet.catalog import load_catalog as load

    return load(paths or ())


def print_json(obj: Any) -> None:
    print(dumps(obj, indent=2, default=float))


def fmt_time(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "-"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            return f"{seconds / size:.2f} {unit}"
    return f"{seconds * 1e3:.2f} ms"


def validate_options(model: Any, data: dict[str, Any], options: list[Any]) -> Any:
    """``model`` from what the user typed; an error names the field and its flag."""
    from gigafleet.errors import GigafleetError
    from gigafleet.yamlio import validate_model

    try:
        return validate_model(data, model, source="command line")
    except GigafleetError as exc:
        flags = {".".join(o.path): o.flag for o in options}
        flag = flags.get(exc.field or "")
        if flag is None:
            raise
        raise GigafleetError(
            exc.message, file=exc.file, field=f"{exc.field} ({flag})", allowed=exc.allowed
        ) from None
