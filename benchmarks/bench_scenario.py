"""Scenario speed and memory: ``gigafleet run examples/hyperscale.yaml`` end to end (sizing,
placement, SLO simulations, report) in a fresh interpreter, on one core.

    python benchmarks/bench_scenario.py [--scenario examples/hyperscale.yaml] [--repeat 3]

Reports the median CPU time (user + system of the child) and its peak RSS against the
targets (5 s CPU, 400 MB), and where the CPU time goes in one run (training plans, the SLO
simulations, the rest). CPU time, not wall time: on a shared machine it moves less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
TARGET_CPU_S, TARGET_RSS_MB = 5.0, 400.0

#: One run in-process with the plans and SLO simulations timed (CPU), printed as JSON.
PHASES = """
import functools, json, sys, time
import gigafleet.plan.training as training, gigafleet.plan.scenario.size as size
import gigafleet.plan.scenario.account as account
T = {}
def timed(fn, label):
    @functools.wraps(fn)
    def g(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            T[label] = T.get(label, 0.0) + time.process_time() - t
    return g
training.plan_training = timed(training.plan_training, "training plans")
size.slo_attainment = account.slo_attainment = timed(size.slo_attainment, "SLO simulations")
from gigafleet.cli.main import run
sys.argv = ["gigafleet", "run", sys.argv[1], "--json", "--out", sys.argv[2]]
t0 = time.process_time()
try:
    run()
except SystemExit:
    pass
T["total"] = time.process_time() - t0
print(json.dumps(T), file=sys.stderr)
"""


def child(argv: list[str]) -> tuple[float, float, str]:
    """CPU seconds, peak RSS (MB) and stderr of one child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=env, cwd=ROOT, check=True)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, after.ru_maxrss / 1024, p.stderr  # ru_maxrss: the largest child so far, in KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="examples/hyperscale.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gigafleet-bench-") as tmp:
        cpus, rss = [], 0.0
        for _ in range(args.repeat):
            cpu, rss, _ = child([sys.executable, "-m", "gigafleet", "run", args.scenario,
                                 "--json", "--out", tmp])  # fmt: skip
            cpus.append(cpu)
        _, _, err = child([sys.executable, "-c", PHASES, args.scenario, tmp])
    phases = json.loads(err.strip().splitlines()[-1])
    rest = phases["total"] - phases.get("training plans", 0) - phases.get("SLO simulations", 0)
    print(", ".join(f"{k} {v:.2f} s" for k, v in phases.items() if k != "total")
          + f", the rest {rest:.2f} s (CPU, one run)")  # fmt: skip
    t = statistics.median(cpus)
    print(f"target {args.scenario} under {TARGET_CPU_S:g} s CPU: "
          f"{'met' if t < TARGET_CPU_S else 'MISSED'} ({t:.2f} s, median of {args.repeat}; "
          f"ratio {TARGET_CPU_S / t:.2f}x)")  # fmt: skip
    print(f"target {args.scenario} under {TARGET_RSS_MB:g} MB peak RSS: "
          f"{'met' if rss < TARGET_RSS_MB else 'MISSED'} ({rss:.0f} MB; ratio "
          f"{TARGET_RSS_MB / rss:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
