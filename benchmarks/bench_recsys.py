"""How fast one recommendation service is sized on one system (target: under 1 s).

    python benchmarks/bench_recsys.py [--repeat 20]

Times ``gigafleet.pipelines.recsys.recsys_report`` (capacity over every replica shape with
its embedding tiers, the GPUs for the load, power and cost) for a DLRM-v2 service on
DGX H100, MLPerf DLRM-v3 on GB200 NVL72 and the production HSTU ranker on GB300 NVL72 (the
hyperscale feed), after one warm-up call that loads the catalog. Reports seconds per sizing
and the ratio to the 1 s target.
"""

from __future__ import annotations

import argparse
import time

from gigafleet.catalog import load_catalog
from gigafleet.pipelines.recsys import recsys_report
from gigafleet.spec.recsys import RecsysJob

TARGET_S = 1.0
CASES = (
    {"model": "dlrm-dcnv2", "system": "dgx-h100", "items_per_query": 270, "queries_per_s": 1e5,
     "latency_budget_ms": 60},
    {"model": "dlrm-v3", "system": "gb200-nvl72", "items_per_query": 2048, "zipf_s": 0,
     "daily_active_users": 5e8, "requests_per_user_per_day": 20, "latency_budget_ms": 80},
    {"model": "hstu-production-ranker", "system": "gb300-nvl72", "items_per_query": 2048,
     "retrieval_candidates": 10000, "daily_active_users": 3e9, "requests_per_user_per_day": 20},
)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    catalog = load_catalog()
    recsys_report(RecsysJob(**CASES[0]), catalog=catalog)  # warm-up: imports, catalog
    for case in CASES:
        job = RecsysJob(**case)
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            r = recsys_report(job, catalog=catalog)
        dt = (time.perf_counter() - t0) / args.repeat
        gpus = r.get("deployment", {}).get("gpus", "-")
        print(f"{case['model']:>24} on {case['system']:<12} {dt * 1e3:8.1f} ms per sizing "
              f"({dt / TARGET_S:.3f} of the 1 s target); {gpus} GPUs")  # fmt: skip


if __name__ == "__main__":
    main()
