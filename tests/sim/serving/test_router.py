"""Routers: the central router is an M/M/c queue (exactly FCFS on the samples, Erlang C on average)."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from gigafleet.sim.serving import (
    ReplicaConfig,
    Workload,
    erlang_c_wait_s,
    poisson_arrivals,
    simulate,
)


def fcfs_waits(arrival: np.ndarray, service: np.ndarray, c: int) -> np.ndarray:
    """Exact FCFS waiting times of a c-server queue (Kiefer-Wolfowitz recursion)."""
    free = [0.0] * c
    w = np.empty(len(arrival))
    for i, (a, s) in enumerate(zip(arrival.tolist(), service.tolist(), strict=True)):
        start = max(a, heapq.heappop(free))
        w[i] = start - a
        heapq.heappush(free, start + s)
    return w


@pytest.mark.parametrize("num_servers", [1, 4])
def test_central_router_is_an_mmc_queue(num_servers):
    """max_num_seqs=1, free prefill, a constant time per decode token and geometric output
    lengths: each replica is one server with (nearly) exponential service."""
    p = 0.05  # output_tokens ~ Geometric(p): service = (n - 1) * tok, mean 1 s
    tok = p / (1.0 - p)
    rho = 0.5
    lam = rho * num_servers
    n = 200_000
    rng = np.random.default_rng(0)
    arrival = poisson_arrivals(lam, n, rng)
    out = rng.geometric(p, n)
    wl = Workload(arrival, np.ones(n, dtype=int), out)
    reps = [
        ReplicaConfig(lambda pt, d, ctx: tok * d, 10**6, max_num_seqs=1) for _ in range(num_servers)
    ]
    res = simulate(wl, reps, router="central")
    # Exactly the FCFS queue on these samples...
    np.testing.assert_allclose(
        res.queue_s, fcfs_waits(arrival, (out - 1) * tok, num_servers), atol=1e-9
    )
    # ...and within a few percent of Erlang C. Geometric service has CV^2 = 1 / (1 - p), so
    # scale by (1 + CV^2) / 2 (Pollaczek-Khinchine for c = 1; Allen-Cunneen for c > 1).
    expected = erlang_c_wait_s(lam, 1.0, num_servers) * (1.0 + 1.0 / (1.0 - p)) / 2.0
    assert res.queue_s.mean() == pytest.approx(expected, rel=0.05)
    assert res.utilization.mean() == pytest.approx(rho, rel=0.03)


@pytest.mark.parametrize("rate", [5.0, 400.0])  # mostly idle, and busy (full replicas)
def test_heap_routing_picks_what_the_scan_picks(monkeypatch, rate):
    """least_loaded through the heaps (large pools) chooses exactly what the scan chooses,
    replicas in runs of summed iterations included."""
    from gigafleet.sim.serving import router

    rng = np.random.default_rng(3)
    n = 3000
    wl = Workload(poisson_arrivals(rate, n, rng), rng.integers(1, 400, n), rng.integers(1, 300, n))
    reps = [
        ReplicaConfig(lambda p, d, c: 0.004 + 2e-5 * (p + d) + 3e-8 * c, 60_000, max_num_seqs=8)
        for _ in range(40)
    ]
    results = []
    for size in (2, 10**9):  # heaps for every pool, then for none
        monkeypatch.setattr(router, "HEAP_MIN_REPLICAS", size)
        results.append(simulate(wl, reps, router="least_loaded"))
    heap, scan = results
    np.testing.assert_array_equal(heap.replica_index, scan.replica_index)
    np.testing.assert_array_equal(heap.e2e_s, scan.e2e_s)
    np.testing.assert_array_equal(heap.ttft_s, scan.ttft_s)
    assert heap.num_iterations == scan.num_iterations
