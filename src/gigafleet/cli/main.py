"""The ``gigafleet`` command line. A face: it parses, calls the models, and prints.

Each command group lives in its own module and registers on the tree in ``cli/app.py``;
importing them here builds the whole tree. :func:`run` is the console entry point.
"""

from __future__ import annotations

import importlib
import sys

from gigafleet.cli.app import app
from gigafleet.errors import GigafleetError

#: The modules that register commands, in the order of `gigafleet --help`. A new command
#: group is a new module here.
COMMAND_MODULES = (
    "train", "sweep", "serve", "recsys", "scenario", "simulate", "catalog", "validate",
    "mlperf_training", "plan",
)  # fmt: skip
for _module in COMMAND_MODULES:
    importlib.import_module(f"gigafleet.cli.{_module}")


def run() -> None:
    """Entry point: user errors print one line and exit 2, never a traceback."""
    try:
        app()
    except (GigafleetError, OSError) as exc:
        # OSError: a path the user gave cannot be read or written (permissions, no such folder)
        from rich.console import Console
        from rich.markup import escape

        message = str(exc) if isinstance(exc, GigafleetError) else f"{exc.strerror}: {exc.filename}"
        # soft_wrap: the message stays one line however narrow the terminal
        Console(stderr=True).print(
            f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True
        )
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    run()
