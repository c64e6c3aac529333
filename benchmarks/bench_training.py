"""How many training strategies the vectorised model evaluates per second on one core.

    python benchmarks/bench_training.py [--model llama3.1-405b] [--system dgx-h100] [--gpus 16384]

Builds the full grid of TP x PP x VP x CP x micro-batch x ZeRO x recompute x precision
(infeasible ones included: the planner needs to know why they fail) and evaluates it in
one call, two ways: flat (one array element per strategy) and as the planner does
(``gigafleet.plan.space.StrategyGrid``: one row per TP x PP x VP x CP x micro-batch, the
ZeRO, recomputation and precision axes broadcast, so a term that does not depend on them
is computed once per row). The two give the same numbers (checked here). Reports
strategies per second, in CPU time (the median of ``--repeat`` runs), against the target
of >= 2,000,000/s (issue 16; the first target was 50,000/s) for the planner's way.
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

AXES = dict(
    tp=[1, 2, 4, 8, 16],
    pp=[1, 2, 4, 8, 16, 32],
    vp=[1, 2, 3, 4, 6, 7, 9],
    cp=[1, 2, 4, 8],
    micro_batch=[1, 2, 4, 8, 16],
    zero=[0, 1, 2, 3],
    recompute=[0, 1, 2],
    precision=[0, 1],
)
INNER = ("zero", "recompute", "precision")


def grid(num_gpus: int) -> dict[str, np.ndarray]:
    """Every strategy of ``AXES`` as flat arrays (the last axis fastest)."""
    combos = np.array(list(itertools.product(*AXES.values())), dtype=float)
    return {k: combos[:, i] for i, k in enumerate(AXES)} | {
        "num_gpus": np.full(len(combos), float(num_gpus))
    }


def broadcast_grid(num_gpus: int) -> dict[str, np.ndarray]:
    """The same strategies in the planner's layout: outer rows x the inner axes."""
    outer = [k for k in AXES if k not in INNER]
    rows = np.array(list(itertools.product(*(AXES[k] for k in outer))), dtype=float)
    out = {k: rows[:, i].reshape(-1, 1, 1, 1) for i, k in enumerate(outer)}
    for j, k in enumerate(INNER):
        shape = [1, 1, 1, 1]
        shape[j + 1] = len(AXES[k])
        out[k] = np.asarray(AXES[k], dtype=float).reshape(shape)
    out["num_gpus"] = np.full((len(rows), 1, 1, 1), float(num_gpus))
    return out


def rate(args, g: dict[str, np.ndarray], arch, hw, eff) -> tuple[float, dict]:
    times: list[float] = []
    for _ in range(args.repeat):
        t0 = time.process_time()
        out = training_step(
            arch, hw, eff, ep=1.0, global_batch=2048.0, seq_len=8192.0, uneven_layers=True, **g
        )
        times.append(time.process_time() - t0)
    return statistics.median(times), out


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
    flat_s, out = rate(args, g, arch, hw, eff)
    grid_s, bout = rate(args, broadcast_grid(args.gpus), arch, hw, eff)
    same = np.array_equal(
        np.broadcast_to(bout["step_time_s"], (n // 24, 4, 3, 2)).reshape(-1),
        out["step_time_s"],
        equal_nan=True,
    )
    assert same, "the planner's layout must give the flat layout's numbers"
    feasible = int((out["reason_code"] == 0).sum())
    print(f"model={args.model} system={args.system} gpus={args.gpus}")
    print(f"strategies={n:,} feasible={feasible:,}")
    print(f"flat: {flat_s:.3f} s, {n / flat_s:,.0f} strategies/s")
    print(f"planner's layout (ZeRO x recompute x precision broadcast): {grid_s:.3f} s, "
          f"{n / grid_s:,.0f} strategies/s (same step times: {same})")  # fmt: skip
    r = n / grid_s
    print(f"target 2,000,000 strategies/s (CPU): {'met' if r >= 2e6 else 'MISSED'} "
          f"({r:,.0f}/s; ratio {r / 2e6:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
