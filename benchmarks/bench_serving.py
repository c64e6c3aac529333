"""How fast the request-level serving simulator runs on one core.

    python benchmarks/bench_serving.py [--requests 1000000] [--replicas 8] [--rate 172]

Simulates Poisson arrivals with lognormal prompt (mean 1000) and output (mean 200) lengths
on replicas with a memory-bound iteration time shaped like Llama-3.1-8B on one H100 (closed
form below; the roofline model in gigafleet.perf.inference gives the real one). Reports
simulated requests per second of wall time, engine events per second, the mean decode batch,
and whether one million requests take under 60 s (the target). Also times the bare engine
with a trivial handler (target: about 1 M events/s).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core

import numpy as np  # noqa: E402

from gigafleet.sim.engine import Engine  # noqa: E402
from gigafleet.sim.serving import (  # noqa: E402
    ReplicaConfig,
    Workload,
    lognormal_lengths,
    poisson_arrivals,
    simulate,
)

# Llama-3.1-8B in BF16 on one H100 SXM (estimates for a benchmark, not catalog facts):
# 16 GB of weights read per iteration at ~2.7 TB/s effective, 131072 KV bytes per context
# token (32 layers x 8 KV heads x 128 x 2 x 2 bytes), 16 GFLOP per prefill token at ~600
# TFLOP/s effective, and ~1 ms of host overhead per iteration.
WEIGHT_READ_S = 16e9 / 2.7e12
KV_READ_S_PER_TOKEN = 131072 / 2.7e12
PREFILL_S_PER_TOKEN = 16e9 / 6e14
OVERHEAD_S = 1e-3
KV_CAPACITY_TOKENS = 450_000  # ~59 GB of the 80 GB HBM left for KV


def iteration_time(prefill_tokens: int, decode_tokens: int, decode_context_tokens: int) -> float:
    return (
        OVERHEAD_S
        + max(WEIGHT_READ_S, (prefill_tokens + decode_tokens) * PREFILL_S_PER_TOKEN)
        + decode_context_tokens * KV_READ_S_PER_TOKEN
    )


def bench_engine(num_events: int) -> float:
    """Events per second of the bare engine: each handler schedules the next event."""
    eng = Engine()
    sched = eng.schedule

    def tick(t: float, n: int) -> None:
        if n:
            sched(t + 1.0, 0, n - 1)

    eng.on(0, tick)
    for k in range(64):  # a heap of realistic depth
        sched(float(k) / 64, 0, num_events // 64)
    t0 = time.perf_counter()
    n = eng.run()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--rate", type=float, default=172.0, help="arrivals per second")
    ap.add_argument("--router", default="least_loaded")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    print(f"engine: {bench_engine(1_000_000) / 1e6:.2f} M events/s (trivial handler)")

    n = args.requests
    rng = np.random.default_rng(args.seed)
    wl = Workload(
        arrival_s=poisson_arrivals(args.rate, n, rng),
        prompt_tokens=lognormal_lengths(1000.0, 0.8, n, rng, max_tokens=16_384),
        output_tokens=lognormal_lengths(200.0, 0.8, n, rng, max_tokens=4096),
    )
    reps = [ReplicaConfig(iteration_time, KV_CAPACITY_TOKENS) for _ in range(args.replicas)]
    t0 = time.perf_counter()
    res = simulate(wl, reps, router=args.router)
    wall = time.perf_counter() - t0
    s = res.summary()
    print(
        f"{n:,} requests on {args.replicas} replicas ({args.router}): {wall:.1f} s wall, "
        f"{n / wall:,.0f} requests/s, {res.num_events / wall:,.0f} events/s, "
        f"{res.num_iterations / wall:,.0f} iterations/s"
    )
    print(
        f"  simulated {s['makespan_s']:,.0f} s: mean decode batch {s['mean_decode_batch']:.0f}, "
        f"TTFT p50 {s['ttft_p50_s'] * 1e3:.0f} ms, TPOT p50 {s['tpot_p50_s'] * 1e3:.1f} ms, "
        f"utilization {s['utilization_mean']:.2f}, preemptions {res.num_preemptions:,}"
    )
    per_million = wall * 1e6 / n
    verdict = "yes" if per_million < 60.0 else "NO"
    print(f"1M requests in {per_million:.1f} s (scaled): under 60 s: {verdict}")


if __name__ == "__main__":
    main()
