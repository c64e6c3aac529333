"""The ``gigafleet`` command line. A face: it parses, calls the models, and prints.

Each command group lives in its own module and registers on the tree in ``cli/app.py``.
The tree is lazy: below, one line per top-level command names it, the module that
registers it, and the first paragraph of its help (what ``gigafleet --help`` shows without
importing anything). A module is imported when its command runs or shows its own help.

Adding a command is one line here: ``lazy_command("simulate", "gigafleet.cli.simulate",
"Simulate ...")`` (the help is the command's docstring, first paragraph;
``tests/cli/test_main.py`` checks that they agree). A module imported here directly
(``from gigafleet.cli import simulate``) still works, at the cost of its imports on every
command. :func:`run` is the console entry point.
"""

from __future__ import annotations

import sys

from gigafleet.cli.app import app, lazy_command
from gigafleet.errors import GigafleetError

# The order is the order of `gigafleet --help`.
lazy_command("train", "gigafleet.cli.train", "Predict one training configuration: step time, throughput, MFU, memory, power, energy, failures and effective training time, cost.")  # fmt: skip
lazy_command("sweep", "gigafleet.cli.sweep", "Run a grid (models x systems x GPU counts x ...) through the planner, into Parquet shards.")  # fmt: skip
lazy_command("serve", "gigafleet.cli.serve", "Simulate a serving deployment: TTFT, TPOT, latency percentiles, goodput, energy, cost.")  # fmt: skip
lazy_command("run", "gigafleet.cli.scenario", "Size and place every workload of a scenario; write an HTML report and a JSON summary.")  # fmt: skip
lazy_command("compare", "gigafleet.cli.scenario", "Run two scenarios and set what matters side by side: time, power, cost, SLOs.")  # fmt: skip
lazy_command("schema", "gigafleet.cli.scenario", "Print the JSON Schema of a user file (editors complete YAML from it).")  # fmt: skip
lazy_command("catalog", "gigafleet.cli.catalog", "List and show catalog entries (hardware and models).")  # fmt: skip
lazy_command("validate", "gigafleet.cli.validate", "Compare predictions with published measurements.")  # fmt: skip
lazy_command("calibrate", "gigafleet.cli.validate", "Refit the calibration constants on their named rows.")  # fmt: skip
lazy_command("plan", "gigafleet.cli.plan", "Search for the best strategy.")  # fmt: skip
lazy_command("results", "gigafleet.cli.sweep", "Query sweep results (DuckDB over the Parquet shards).")  # fmt: skip

__all__ = ["app", "run"]


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
