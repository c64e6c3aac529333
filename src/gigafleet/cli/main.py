"""The ``gigafleet`` command line. A face: it parses, calls the models, and prints.

Each command group lives in its own module (:data:`COMMAND_MODULES`) and registers on the
tree in ``cli/app.py``. The tree is lazy: below, one line per top-level command names it,
the modules that register it, and the first paragraph of its help (what ``gigafleet
--help`` shows without importing anything). A module is imported when its command runs or
shows its own help.

Adding a command group is a module in :data:`COMMAND_MODULES` and one ``lazy_command``
line (the help is the command's docstring, first paragraph; ``tests/cli/test_main.py``
checks that every command the modules register is listed, with its own help).
:func:`run` is the console entry point.
"""

from __future__ import annotations

import sys

from gigafleet.cli.app import app, lazy_command
from gigafleet.errors import GigafleetError

#: The modules that register commands (``gigafleet.cli.<name>``).
COMMAND_MODULES = (
    "train", "sweep", "serve", "recsys", "scenario", "simulate", "catalog", "validate",
    "mlperf_training", "plan",
)  # fmt: skip

_CLI = "gigafleet.cli."
_VALIDATE = (f"{_CLI}validate", f"{_CLI}mlperf_training")
# The order is the order of `gigafleet --help`.
lazy_command("train", f"{_CLI}train", "Predict one training configuration: step time, throughput, MFU, memory, power, energy, failures and effective training time, cost.")  # fmt: skip
lazy_command("sweep", f"{_CLI}sweep", "Run a grid (models x systems x GPU counts x ...) through the planner, into Parquet shards.")  # fmt: skip
lazy_command("serve", f"{_CLI}serve", "Simulate a serving deployment: TTFT, TPOT, latency percentiles, goodput, energy, cost.")  # fmt: skip
lazy_command("recsys", f"{_CLI}recsys", "Recommendation: size a feed's ranking service on one system; DLRM training.")  # fmt: skip
lazy_command("run", f"{_CLI}scenario", "Size and place every workload of a scenario; write an HTML report and a JSON summary.")  # fmt: skip
lazy_command("sensitivity", f"{_CLI}scenario", "What one point is worth: every lever (MFU, PUE, electricity price, HBM, generation, capital, rent, demand, amortisation, provisioning) one step each way, in GPUs, MW and dollars a year; a table here, a table and tornado chart in the report. Each variant re-runs only what its lever touches (the services' SLOs are not simulated again).")  # fmt: skip
lazy_command("compare", f"{_CLI}scenario", "Run two scenarios and set what matters side by side: time, power, cost, SLOs.")  # fmt: skip
lazy_command("schema", f"{_CLI}scenario", "Print the JSON Schema of a user file (editors complete YAML from it).")  # fmt: skip
lazy_command("simulate", f"{_CLI}simulate", "Simulate the fleet over time; write daily Parquet shards, a summary and a report.")  # fmt: skip
lazy_command("catalog", f"{_CLI}catalog", "List and show catalog entries (hardware and models).")  # fmt: skip
lazy_command("validate", _VALIDATE, "Compare predictions with published measurements.")  # fmt: skip
lazy_command("calibrate", f"{_CLI}validate", "Refit the calibration constants on their named rows.")  # fmt: skip
lazy_command("plan", f"{_CLI}plan", "Search for the best strategy.")  # fmt: skip
lazy_command("results", f"{_CLI}sweep", "Query sweep results (DuckDB over the Parquet shards).")  # fmt: skip

__all__ = ["COMMAND_MODULES", "app", "run"]


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
