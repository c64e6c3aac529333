"""The command tree and what every command group shares: the typer apps, the common
options, the console, number formatting. One module per command group registers on it.

The tree is lazy: ``cli/main.py`` names every top-level command with the module that
registers it and its one-line help (:func:`lazy_command`), and :class:`LazyGroup` imports
a module only when its command runs or shows its own help. ``gigafleet --help`` lists the
commands from those names alone, so it imports none of them (no pydantic, no numpy).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from gigafleet.jsonout import dumps

#: Top-level command name -> (the modules that register it and its subcommands, its
#: one-line help), in the order of ``gigafleet --help``. Filled by :func:`lazy_command`
#: (in ``cli/main.py``).
LAZY_COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {}


def lazy_command(name: str, modules: str | tuple[str, ...], help: str) -> None:
    """Register top-level command (or group) ``name``: importing ``modules`` (one name or
    several: a group's subcommands may live in more than one module) registers it on the
    tree; ``help`` is the first paragraph of its help, shown by ``--help`` without
    importing anything (a test checks that the two agree)."""
    LAZY_COMMANDS[name] = ((modules,) if isinstance(modules, str) else modules, help)


class LazyGroup(typer.core.TyperGroup):
    """The top-level group: lists every command of :data:`LAZY_COMMANDS` from its name and
    help; imports a command's module (and builds its options) on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        # commands registered by a module imported eagerly still show, after the lazy ones
        return [*LAZY_COMMANDS, *(n for n in super().list_commands(ctx) if n not in LAZY_COMMANDS)]

    #: While the help lists the commands: show what is there, load nothing.
    listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in LAZY_COMMANDS and cmd_name not in _LOADED and not self.listing:
            for module in LAZY_COMMANDS[cmd_name][0]:
                importlib.import_module(module)
            # the tree of what is registered now; this group keeps the command it wanted
            built = typer.main.get_command(app).commands  # type: ignore[attr-defined]
            if cmd_name in built:
                self.commands[cmd_name] = built[cmd_name]
                _LOADED.add(cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:  # click's UsageError: suggest from every name, loaded or not
            if args and getattr(exc, "message", None) and "Did you mean" not in exc.message:
                import difflib

                close = difflib.get_close_matches(args[0], self.list_commands(ctx))
                if close and exc.message.startswith("No such command"):
                    names = ", ".join(f"{m!r}" for m in close)
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean {names}?"
            raise

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # Help of the commands not loaded yet from their registered text, as click shows it.
        saved = dict(self.commands)
        try:
            for name, (_, text) in LAZY_COMMANDS.items():
                if name not in _LOADED:
                    self.commands[name] = typer.core.TyperCommand(name, help=text)
            self.commands = {n: self.commands[n] for n in self.list_commands(ctx)}
            self.listing = True
            super().format_commands(ctx, formatter)
        finally:
            self.commands = saved
            self.listing = False


_LOADED: set[str] = set()

app = typer.Typer(
    cls=LazyGroup,
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
