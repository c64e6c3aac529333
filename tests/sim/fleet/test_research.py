"""The research queue: M/M/c against Erlang C, backfill, reservation, preemption."""

import numpy as np
import pytest

from fleethelp import fleet, pool, quiet, research
from gigafleet.sim.fleet import simulate_fleet
from gigafleet.sim.serving.queueing import erlang_c_wait_s


@pytest.mark.parametrize(("servers", "rho", "tol"), [(10, 0.7, 0.15), (4, 0.6, 0.1)])
def test_queue_wait_matches_erlang_c(servers, rho, tol):
    """Jobs of one node on ``servers`` nodes, Poisson arrivals, exponential run times, no
    failures: an M/M/c queue. The mean wait of one 300-day run is noisy (waits are
    correlated), hence the tolerance; the next test checks the mechanism exactly."""
    mean_h = 1.0
    lam_per_h = rho * servers / mean_h
    p = pool(8 * servers, rate=0.0, research=True)
    inp = fleet([p], days=300, params=quiet(spares_fraction=0.0),
                research=research(lam_per_h * 24, median_h=mean_h))  # fmt: skip
    s = simulate_fleet(inp, seed=2).summary
    closed_h = erlang_c_wait_s(lam_per_h / 3600.0, 1.0 / (mean_h * 3600.0), servers) / 3600.0
    assert s["research"]["started"] > 15_000
    assert s["research"]["wait_h_mean"] == pytest.approx(closed_h, rel=tol)
    assert s["utilization"] == pytest.approx(rho, rel=0.03)


def test_fifo_starts_match_the_kiefer_wolfowitz_recursion():
    """On the simulation's own arrivals and run times, every job starts exactly when the
    c-server FIFO recursion says: start_i = max(arrival_i, earliest free server)."""
    from gigafleet.sim.fleet.loop import FleetSim

    servers = 10
    p = pool(8 * servers, rate=0.0, research=True)
    inp = fleet([p], days=60, params=quiet(spares_fraction=0.0),
                research=research(0.8 * servers * 24, median_h=1.0))  # fmt: skip
    sim = FleetSim(inp, np.random.SeedSequence(1))
    jobs = []
    enqueue = sim.research.enqueue

    def spy(job, *, front):
        if not front:
            jobs.append(job)
        enqueue(job, front=front)

    sim.research.enqueue = spy
    sim.run()
    free_at = np.zeros(servers)
    for j in jobs:
        start = max(j.arrive, free_at.min())
        free_at[free_at.argmin()] = start + j.work
        if j.first_start >= 0:
            assert j.first_start == pytest.approx(start, abs=1e-6)


def _mix(**kw):
    p = pool(512, rate=0.0, research=True)
    r = research(60.0, sizes=(8, 64, 256), shares=(0.6, 0.3, 0.1), median_h=4.0, **kw)
    return simulate_fleet(
        fleet([p], days=40, params=quiet(spares_fraction=0.0), research=r), seed=4
    )


def test_backfill_uses_more_of_the_pool_than_strict_reservation():
    backfill = _mix(reserve_after_s=1e9)
    strict = _mix(reserve_after_s=0.0)
    assert backfill.summary["utilization"] > strict.summary["utilization"] + 0.02
    assert backfill.summary["research"]["finished"] > strict.summary["research"]["finished"]


def test_preemption_for_high_priority_jobs():
    on = _mix(high_share=0.3, preemptible_after_s=0.0)
    off = _mix(high_share=0.3, preemptible_after_s=1e9)
    assert on.summary["research"]["preempted"] > 0
    assert on.summary["lost_gpu_h"]["preemption"] > 0
    assert off.summary["research"]["preempted"] == 0
    r = on.summary["research"]
    # every job is accounted for: finished, running or queued at the end
    assert r["finished"] <= r["started"] <= r["arrived"]
    assert np.isfinite(on.summary["research"]["wait_h_mean"])


def test_failures_hit_research_jobs_in_proportion_to_their_size():
    """Job MTTI by size follows the series system: MTTI(n) = 1 / (n x rate)."""
    rate = 2e-4  # per GPU-hour: many failures in a short run
    p = pool(40_000, rate=rate, research=True)
    r = research(2000.0, sizes=(8, 64, 512), shares=(0.5, 0.3, 0.2), median_h=6.0)
    s = simulate_fleet(
        fleet([p], days=20, params=quiet(spares_fraction=1.0), research=r), seed=9
    ).summary
    for row in s["mtti_by_job_size"]:
        expected = 1.0 / (row["num_gpus"] * rate)
        tol = 4.0 / np.sqrt(max(row["interruptions"], 1))
        assert row["mtti_h"] == pytest.approx(expected, rel=max(tol, 0.05))
