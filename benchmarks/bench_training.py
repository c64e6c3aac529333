"""How many training strategies the vectorised model evaluates per second on one core.

    python benchmarks/bench_training.py [--model llama3.1-405b] [--system dgx-h100] [--gpus 16384]

Builds the full grid of TP x PP x VP x CP x micro-batch x ZeRO x recompute x precision
(infeasible ones included: the planner needs to know why they fail) and evaluates it in
one call. Reports strategies per second, in CPU time (the median of ``--repeat`` runs), against
the target of >= 2,000,000/s (issue 16; the first target was 50,000/s).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core

import numpy as np  # noqa: E402

from gigafleet.catalog import load_catalog  # noqa: E402
from gigafleet.perf.arch import arch_costs  # noqa: E402
from gigafleet.perf.hardware import resolve_hardware  # noqa: E402
from gigafleet.perf.training import efficiency_for, training_step  # noqa: E402


def grid(num_gpus: int) -> dict[str, np.ndarray]:
    axes = dict(
        tp=[1, 2, 4, 8, 16],
        pp=[1, 2, 4, 8, 16, 32],
        vp=[1, 2, 3, 4, 6, 7, 9],
        cp=[1, 2, 4, 8],
        micro_batch=[1, 2, 4, 8, 16],
        zero=[0, 1, 2, 3],
        recompute=[0, 1, 2],
        precision=[0, 1],
    )
    combos = np.array(list(itertools.product(*axes.values())), dtype=float)
    return {k: combos[:, i] for i, k in enumerate(axes)} | {
        "num_gpus": np.full(len(combos), float(num_gpus))
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llama3.1-405b")
    ap.add_argument("--system", default="dgx-h100")
    ap.add_argument("--gpus", type=int, default=16384)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    cat = load_catalog()
    arch = arch_costs(cat.model(args.model))
    hw = resolve_hardware(cat, args.system)
    eff = efficiency_for(cat, hw.generation)
    g = grid(args.gpus)
    n = len(g["tp"])
    times: list[float] = []
    for _ in range(args.repeat):
        t0 = time.process_time()
        out = training_step(
            arch, hw, eff, ep=1.0, global_batch=2048.0, seq_len=8192.0, uneven_layers=True, **g
        )
        times.append(time.process_time() - t0)
    best = statistics.median(times)
    feasible = int((out["reason_code"] == 0).sum())
    rate = n / best
    print(f"model={args.model} system={args.system} gpus={args.gpus}")
    print(f"strategies={n:,} feasible={feasible:,} seconds={best:.3f} strategies_per_s={rate:,.0f}")
    print(f"target 2,000,000 strategies/s (CPU): {'met' if rate >= 2e6 else 'MISSED'} "
          f"({rate:,.0f}/s; ratio {rate / 2e6:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
