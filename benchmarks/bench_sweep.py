"""Sweep throughput: at least one million strategy evaluations with two local workers.

    python benchmarks/bench_sweep.py [--workers 2]

Runs a grid (2 models x 2 systems x 3 GPU counts x 2 precisions) through the local
process pool into a temporary folder and reports evaluations per second
(target: one million evaluations in under 60 seconds).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from gigafleet.sweep.run import run_sweep
from gigafleet.sweep.spec import SweepSpec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    spec = SweepSpec.model_validate(
        {
            "name": "bench",
            "grid": {
                "model": ["llama3.1-405b", "llama3-70b"],
                "system": ["dgx-h100", "gb200-nvl72"],
                "num_gpus": [2048, 8192, 16384],
                "global_batch": [2048],
                "precision": ["bf16", "fp8"],
            },
            "top": 3,
            "points_per_task": 2,
            "executor": {"kind": "local", "workers": args.workers},
        }
    )
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        summary = run_sweep(spec, out)
        seconds = time.perf_counter() - t0
    n = summary["evaluations"]
    print(f"workers={args.workers} tasks={summary['num_tasks']} evaluations={n:,} seconds={seconds:.1f} "
          f"evaluations_per_s={n / seconds:,.0f}")  # fmt: skip
    per_million = seconds / (n / 1e6)
    print(f"target 1M evaluations under 60 s: {'met' if n >= 1e6 and per_million < 60 else 'MISSED'} "
          f"({per_million:.1f} s per million)")  # fmt: skip


if __name__ == "__main__":
    main()
