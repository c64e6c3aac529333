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
