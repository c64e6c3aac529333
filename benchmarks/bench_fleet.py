"""Fleet-simulation speed: one simulated year of the shipped hyperscale scenario (1.3 M GPUs
and its workloads) on one core, against the target of 10 minutes.

    python benchmarks/bench_fleet.py [examples/hyperscale.yaml] [--days 365]

Reports the seconds spent sizing the scenario (the planner's stages, shared with
``gigafleet run``) and simulating, the events processed and their rate, and the ratio of
the total to the 600-second target (below 1 meets it).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from gigafleet.plan.simulate import build_inputs, run_seed  # noqa: E402
from gigafleet.spec.scenario import load_scenario  # noqa: E402

TARGET_S = 600.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default="examples/hyperscale.yaml")
    ap.add_argument("--days", type=float, default=365.0)
    args = ap.parse_args()
    t0, c0 = time.perf_counter(), time.process_time()
    scn = load_scenario(args.scenario)
    inp, _ = build_inputs(scn, days=args.days)
    t1, c1 = time.perf_counter(), time.process_time()
    res = run_seed(inp, 0, 0, None)
    t2, c2 = time.perf_counter(), time.process_time()
    s = res["summary"]
    gpus = max(res["daily"]["gpus_installed"])
    events = s["num_events"]
    total = t2 - t0
    print(f"scenario={scn.name} days={args.days:.0f} gpus_installed_peak={gpus:,.0f} "
          f"research_jobs={s['research']['arrived']:,} failures={sum(s['hardware']['failures'].values()):,} "
          f"events={events:,}")  # fmt: skip
    print(
        f"sizing {t1 - t0:.1f} s, simulating {t2 - t1:.1f} s ({events / (t2 - t1):,.0f} events/s); "
        f"total {total:.1f} s = {total / TARGET_S:.2f} x the {TARGET_S:.0f} s target "
        f"(CPU time of this process: sizing {c1 - c0:.1f} s, simulating {c2 - c1:.1f} s)"
    )


if __name__ == "__main__":
    main()
