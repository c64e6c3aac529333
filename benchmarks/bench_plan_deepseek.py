"""A large MoE plan in bounded memory: DeepSeek-V3 on GB200 NVL72 at 1,024 and 2,048 GPUs
(about 1.6 M strategies), in a fresh interpreter on one core.

    python benchmarks/bench_plan_deepseek.py [--repeat 3]

Runs ``plan_training(..., top_k=5)`` (chunked evaluation, streaming top-k and Pareto front:
what the scenario, the sweep and mlperf-training use) and reports its median CPU time and
peak RSS against the targets (1 s, 300 MB), then the same plan keeping every strategy's
predictions (what ``plan train`` returns) for comparison. The interpreter, numpy and the
catalog count in both figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_CPU_S, TARGET_RSS_MB = 1.0, 300.0

CODE = """
import sys, time
from gigafleet.catalog import load_catalog
from gigafleet.plan.training import plan_training
cat = load_catalog()
cat.model("deepseek-v3")
t0 = time.process_time()
top = None if sys.argv[1] == "all" else int(sys.argv[1])
p = plan_training("deepseek-v3", "gb200-nvl72", num_gpus=[1024, 2048], seq_len=4096,
                  global_batch=8192, precisions=("fp8",), catalog=cat, top_k=top)
print(p.num_considered, p.num_feasible, time.process_time() - t0, file=sys.stderr)
"""


def child(top: str) -> tuple[float, float, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([sys.executable, "-c", CODE, top], stderr=subprocess.PIPE, text=True,
                       env=env, check=True)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, after.ru_maxrss / 1024, p.stderr.split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = [child("5") for _ in range(args.repeat)]
    cpu = statistics.median(r[0] for r in runs)
    plan_s = statistics.median(float(r[2][2]) for r in runs)
    rss = runs[-1][1]
    n, feasible = int(runs[0][2][0]), int(runs[0][2][1])
    print(f"strategies={n:,} feasible={feasible:,}; the plan alone {plan_s:.2f} s CPU "
          f"({n / plan_s:,.0f} strategies/s)")  # fmt: skip
    print(f"target DeepSeek-V3 plan (top 5) under {TARGET_CPU_S:g} s CPU: "
          f"{'met' if cpu < TARGET_CPU_S else 'MISSED'} ({cpu:.2f} s with the interpreter, "
          f"median of {args.repeat}; ratio {TARGET_CPU_S / cpu:.2f}x)")  # fmt: skip
    print(f"target DeepSeek-V3 plan (top 5) under {TARGET_RSS_MB:g} MB peak RSS: "
          f"{'met' if rss < TARGET_RSS_MB else 'MISSED'} ({rss:.0f} MB; ratio "
          f"{TARGET_RSS_MB / rss:.2f}x)")  # fmt: skip
    cpu_all, rss_all, out = child("all")
    print(f"every strategy kept (plan train): {cpu_all:.2f} s CPU, {rss_all:.0f} MB peak RSS "
          f"(the plan alone {float(out[2]):.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
