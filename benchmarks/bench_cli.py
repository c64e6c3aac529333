"""How light the command line is: CPU time of three commands, each in a fresh interpreter.

    python benchmarks/bench_cli.py [--repeat 3]

Runs ``gigafleet --help``, ``gigafleet catalog list`` and ``gigafleet plan train`` (Llama 3.1
405B on 16,384 H100s, BF16 and FP8) as ``python -m gigafleet ...`` and reports the median
CPU time (user + system of the child) of ``--repeat`` runs against its target (0.15 s,
0.25 s, 0.6 s), with the CPU time of a bare ``python -c pass`` beside them: on a machine
whose ``site`` imports something heavy (a ``.pth`` file), that is a floor no command gets
under. CPU time, not wall time: on a shared machine it moves less with the load.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

COMMANDS = (
    ("gigafleet --help", ["--help"], 0.15),
    ("gigafleet catalog list", ["catalog", "list"], 0.25),
    (
        "gigafleet plan train (405B, 16,384 GPUs)",
        ["plan", "train", "--model", "llama3.1-405b", "--system", "dgx-h100", "--gpus", "16384",
         "--global-batch", "2048", "--precision", "bf16", "--precision", "fp8", "--json"],
        0.6,
    ),
)  # fmt: skip


def cpu_s(argv: list[str]) -> float:
    """User + system CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env={**os.environ, "PYTHONPATH": str(SRC)})  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    floor = statistics.median(cpu_s([sys.executable, "-c", "pass"]) for _ in range(args.repeat))
    print(f"python -c pass: {floor:.3f} s CPU (the interpreter's own start on this machine)")
    for name, argv, target in COMMANDS:
        times = [cpu_s([sys.executable, "-m", "gigafleet", *argv]) for _ in range(args.repeat)]
        t = statistics.median(times)
        print(
            f"target {name} under {target} s CPU: {'met' if t < target else 'MISSED'} "
            f"({t:.3f} s, median of {args.repeat}; ratio {target / t:.2f}x)"
        )


if __name__ == "__main__":
    main()
