"""Sensitivity speed: the shipped hyperscale scenario and every lever one step each way
(what ``gigafleet sensitivity`` does), on one core.

    python benchmarks/bench_sensitivity.py [examples/hyperscale.yaml]

Reports the seconds of the base run, of the what-ifs and in total, and the ratio of the
total to the target (under a minute for the hyperscale example).
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from gigafleet.plan.scenario.run import run_state  # noqa: E402
from gigafleet.plan.scenario.sensitivity import Base, sensitivity  # noqa: E402
from gigafleet.spec.scenario import load_scenario  # noqa: E402

TARGET_S = 60.0


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "examples/hyperscale.yaml"
    t0 = time.perf_counter()
    scn = load_scenario(path)
    result, state = run_state(scn, simulate=False)
    base_s = time.perf_counter() - t0
    s = sensitivity(Base(scn=scn, catalog=state.catalog, state=state, result=result))
    total = time.perf_counter() - t0
    done = [r for r in s["levers"] if "delta" in r]
    print(f"scenario={scn.name} what_ifs={len(done)} base {base_s:.1f} s, what-ifs "
          f"{s['seconds']:.1f} s ({s['seconds'] / max(len(done), 1):.2f} s each), total "
          f"{total:.1f} s = {total / TARGET_S:.2f} x the {TARGET_S:.0f} s target")  # fmt: skip


if __name__ == "__main__":
    main()
