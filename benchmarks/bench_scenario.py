"""Scenario speed: the shipped hyperscale scenario end to end (sizing, placement, SLO
simulations, report), on one core.

    python benchmarks/bench_scenario.py [examples/hyperscale.yaml]

Reports the seconds per run, GPUs and workloads covered, and where the time goes
(target: well under a minute for the hyperscale example).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from gigafleet.plan.scenario import run_scenario  # noqa: E402
from gigafleet.report.html import render_html  # noqa: E402
from gigafleet.spec.scenario import load_scenario  # noqa: E402


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "examples/hyperscale.yaml"
    phases: dict[str, float] = {}
    last = [time.perf_counter(), "resolving"]

    def tick(msg: str) -> None:
        now = time.perf_counter()
        phases[last[1].split()[0]] = phases.get(last[1].split()[0], 0.0) + now - last[0]
        last[:] = [now, msg]

    t0 = time.perf_counter()
    scn = load_scenario(path)
    result = run_scenario(scn, progress=tick)
    tick("report")
    html = render_html(result.to_dict())
    tick("done")
    total = time.perf_counter() - t0
    d = result.to_dict()
    print(f"scenario={scn.name} gpus_peak={d['totals']['gpus_peak']:,.0f} "
          f"sites={len(d['sites'])} workloads={len(scn.workload_names())} "
          f"periods={len(d['periods'])} report_bytes={len(html):,}")  # fmt: skip
    print(f"total {total:.2f} s; " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))


if __name__ == "__main__":
    main()
