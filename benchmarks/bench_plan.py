"""Planning speed: the full strategy space of a 405B model on 16,384 GPUs, on one core.

    python benchmarks/bench_plan.py [--model llama3.1-405b] [--system dgx-h100] [--gpus 16384]

Reports the strategies considered, how many fit, and strategies per second
(target: the full space in under 5 seconds).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from gigafleet.plan.training import plan_training  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llama3.1-405b")
    ap.add_argument("--system", default="dgx-h100")
    ap.add_argument("--gpus", type=int, default=16384)
    ap.add_argument("--global-batch", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        plan = plan_training(
            args.model, args.system, num_gpus=args.gpus, seq_len=8192, global_batch=args.global_batch,
            precisions=("bf16", "fp8"),
        )  # fmt: skip
        best = min(best, time.perf_counter() - t0)
    n = plan.num_considered
    print(
        f"model={args.model} system={args.system} gpus={args.gpus} global_batch={args.global_batch}"
    )
    print(
        f"strategies={n:,} feasible={plan.num_feasible:,} seconds={best:.2f} strategies_per_s={n / best:,.0f}"
    )
    print(f"target under 5 s: {'met' if best < 5 else 'MISSED'} (ratio {5 / best:.1f}x)")


if __name__ == "__main__":
    main()
