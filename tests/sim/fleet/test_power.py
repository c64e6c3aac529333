"""Grid events: a site sheds megawatts by capping clocks or by preempting research."""

import pytest

from fleethelp import fleet, frontier, pool, quiet, research
from gigafleet.sim.fleet import GridEventIn, simulate_fleet

IDLE_W, BUSY_W = 300.0, 1500.0


def test_cap_policy_lowers_clocks_by_the_dvfs_law():
    n_pool, n_job = 100_000, 80_000
    prm = quiet(hot_spare_fraction=0.0, spares_fraction=0.0)
    ev = GridEventIn(site=0, start_s=2 * 86400.0, duration_s=6 * 3600.0, shed_w=20e6, preempt=False)
    inp = fleet([pool(n_pool, rate=0.0, idle_w=IDLE_W)], days=10, params=prm, cap_w=200e6,
                training=[frontier(n_job, 5 * 86400.0, tau=1e9, delta=0.0, restore=0.0,
                                   busy_w=BUSY_W)], grid_events=[ev])  # fmt: skip
    s = simulate_fleet(inp, seed=1).summary
    draw = n_pool * IDLE_W + n_job * (BUSY_W - IDLE_W)
    excess = 20e6 - (n_pool - n_job) * IDLE_W  # shed 20 MW; idle nodes are switched off first
    dyn = n_job * (BUSY_W - IDLE_W)
    f = (1 - excess / dyn) ** (1 / prm.dvfs_exponent)
    e = s["grid_events"][0]
    assert e["baseline_mw"] == pytest.approx(draw / 1e6)
    assert e["min_clock"] == pytest.approx(f)
    assert e["capped_gpu_h"] == pytest.approx(n_job * (1 - f) * 6)
    assert s["lost_gpu_h"]["power"] == pytest.approx(n_job * (1 - f) * 6)
    run = s["training"][0]
    assert run["finished"] and run["days"] == pytest.approx(5 + (1 - f) * 6 / 24)


def test_preempt_policy_stops_research_and_keeps_the_cap():
    p = pool(50_000, rate=0.0, idle_w=IDLE_W, research_w=BUSY_W, research=True)
    ev = GridEventIn(site=0, start_s=3 * 86400.0, duration_s=4 * 3600.0, shed_w=20e6, preempt=True)
    inp = fleet([p], days=6, params=quiet(spares_fraction=0.0), cap_w=100e6, grid_events=[ev],
                research=research(3000.0, sizes=(64, 512), shares=(0.5, 0.5), median_h=8.0))  # fmt: skip
    s = simulate_fleet(inp, seed=2).summary
    e = s["grid_events"][0]
    assert e["needed_mwh"] > 0 and e["jobs_preempted"] > 0
    assert e["capped_gpu_h"] == 0  # stopping research was enough
    assert s["research"]["preempted"] >= e["jobs_preempted"]
