"""Flow-model speed: a 100,000-GPU fabric carrying a million flows, on one core.

    python benchmarks/bench_fabric.py [--gpus 100000] [--flows-per-gpu 10] [--design colossus-spectrum-x]

Builds the design's three-tier Clos for the GPUs, draws ``flows-per-gpu`` random
permutations (every GPU sends to that many others: 1,000,000 flows at the defaults), routes
them by ECMP hashing (port-level paths, collisions) and by adaptive routing (pooled
uplinks), and solves the max-min fair rates. Reports the time of each stage and the total
against the target: under 60 s per solve.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core

import numpy as np  # noqa: E402

from gigafleet.catalog import load_catalog  # noqa: E402
from gigafleet.perf.fabric.design import fabric_spec  # noqa: E402
from gigafleet.perf.fabric.maxmin import max_min_rates  # noqa: E402
from gigafleet.perf.fabric.routing import route  # noqa: E402
from gigafleet.perf.fabric.topology import build_topology  # noqa: E402

TARGET_S = 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpus", type=int, default=100_000)
    ap.add_argument("--flows-per-gpu", type=int, default=10)
    ap.add_argument("--design", default="colossus-spectrum-x")
    ap.add_argument("--system", default="dgx-h100")
    args = ap.parse_args()

    cat = load_catalog()
    base = fabric_spec(cat, cat.system(args.system), args.design).replace(max_gpus=args.gpus)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    topo = build_topology(base)
    t_topo = time.perf_counter() - t0
    n = topo.num_gpus
    src = np.tile(np.arange(n), args.flows_per_gpu)
    dst = np.concatenate([rng.permutation(n) for _ in range(args.flows_per_gpu)])
    keep = src != dst
    src, dst = src[keep], dst[keep]
    nbytes = np.ones(src.size)
    print(
        f"design={base.name} gpus={n:,} leaves={topo.num_leaves:,} pods={topo.num_pods} "
        f"flows={src.size:,} topology_s={t_topo:.2f}"
    )
    worst = 0.0
    for routing in ("ecmp", "adaptive"):
        spec = base.replace(routing=routing, qps_per_connection=1)
        topo = build_topology(spec)
        t0 = time.perf_counter()
        r = route(topo, src, dst, nbytes)
        t_route = time.perf_counter() - t0
        t0 = time.perf_counter()
        rate = max_min_rates(r.paths, r.capacity)
        t_solve = time.perf_counter() - t0
        total = t_route + t_solve
        worst = max(worst, total)
        share = rate / topo.endpoint_gbits
        print(
            f"routing={routing:8s} subflows={r.owner.size:,} links={r.capacity.size:,} "
            f"route_s={t_route:.2f} maxmin_s={t_solve:.2f} total_s={total:.2f} "
            f"mean_rate_share={share.mean():.3f} min_rate_share={share.min():.3f}"
        )
    verdict = "met" if worst < TARGET_S else "MISSED"
    print(f"target under {TARGET_S:.0f} s: {verdict} (ratio {TARGET_S / worst:.1f}x)")


if __name__ == "__main__":
    main()
