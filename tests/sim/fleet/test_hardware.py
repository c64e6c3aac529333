"""Hardware over time: failures and repair against Little's law, the rollout with infant
mortality and burn-in, lemons found and removed."""

import math

import numpy as np
import pytest

from fleethelp import fleet, pool, quiet
from gigafleet.sim.fleet import Cohort, simulate_fleet

RATE = 2e-5  # failures per GPU-hour, all components
HW_SHARE = 0.85  # the hardware components' share of RATE (fleethelp.SHARES)


@pytest.mark.parametrize("spares", [0.05, 0.0])
def test_gpus_down_follow_littles_law(spares):
    """Failures of idle GPUs arrive at lambda = rate x GPUs; each keeps a node of 8 down for
    detect + swap (a spare is free) or detect + repair (none is): E[down] = lambda 8 T."""
    prm = quiet(spares_fraction=spares, detect_s=300.0, swap_s=3600.0, repair_s=2 * 86400.0)
    n, days = 100_000, 80
    run = simulate_fleet(fleet([pool(n, rate=RATE)], days=days, params=prm), seed=3)
    lam_per_s = RATE * HW_SHARE / 3600.0 * n
    down_s = prm.detect_s + (prm.swap_s if spares else prm.repair_s)
    expected_down = lam_per_s * down_s * 8
    failures = run.daily["failures_hardware"].sum()
    expected_failures = lam_per_s * days * 86400.0
    assert abs(failures - expected_failures) < 4 * math.sqrt(expected_failures)
    assert run.daily["failures_software"].sum() == 0  # nothing runs: software cannot fail
    steady = run.daily["gpus_down"][5:]  # after the first repairs come back
    assert steady.mean() == pytest.approx(expected_down, rel=0.1)
    assert run.daily["lost_gpu_h_repair"].sum() == pytest.approx(
        run.daily["gpus_down"].sum() * 24, rel=1e-9
    )
    assert (run.summary["hardware"]["spare_stockouts"] > 0) == (spares == 0)


def test_rollout_arrives_in_batches_with_infant_mortality_and_burn_in():
    """Three weekly batches from day 10; failures over days 10-40 against the integral of
    the infant-mortality hazard m(age) = 1 + (m0 - 1) exp(-age / tau)."""
    m0, tau_d, batch = 4.0, 10.0, 40_000
    arrive = [10 * 86400.0 + i * 7 * 86400.0 for i in range(3)]
    p = pool(0, rate=RATE, software=False, cohorts=[Cohort(a, batch) for a in arrive])
    prm = quiet(infant_multiplier=m0, infant_s=tau_d * 86400.0, burn_in_reject_fraction=0.02,
                repair_s=5 * 86400.0)  # fmt: skip
    run = simulate_fleet(fleet([p], days=40, params=prm), seed=5)
    inst = run.daily["gpus_installed"]
    assert inst[:10].max() == 0 and inst[-1] == 3 * batch
    assert inst[12] == pytest.approx(batch, rel=0.05) and inst[19] == pytest.approx(
        2 * batch, rel=0.05
    )
    assert run.daily["gpus_arrived"].sum() == 3 * batch
    rejects = run.summary["hardware"]["burn_in_rejects"]
    nodes = 3 * batch // 8
    assert abs(rejects - 0.02 * nodes) < 4 * math.sqrt(0.02 * nodes)
    r = RATE * HW_SHARE / 3600.0
    end = 40 * 86400.0
    expected = sum(
        batch
        * r
        * ((end - a) + (m0 - 1) * tau_d * 86400.0 * (1 - math.exp(-(end - a) / (tau_d * 86400.0))))
        for a in arrive
    )
    got = run.daily["failures_hardware"].sum()
    assert abs(got - expected) < 4 * math.sqrt(expected)
    # without infant mortality there would be far fewer
    flat = sum(batch * r * (end - a) for a in arrive)
    assert got > 1.5 * flat


def test_lemons_are_found_and_removed_and_the_rate_falls():
    prm = quiet(lemon_fraction=0.05, lemon_multiplier=50.0, lemon_remove_after=3,
                lemon_window_s=28 * 86400.0)  # fmt: skip
    p = pool(0, rate=RATE, software=False, cohorts=[Cohort(0.0, 100_000, None, 0.0)])
    run = simulate_fleet(fleet([p], days=90, params=prm), seed=7)
    lemons = run.daily["lemon_nodes"]
    assert lemons[0] == pytest.approx(0.05 * 12_500, rel=0.1)
    assert lemons[-1] < 0.2 * lemons[0]
    assert run.summary["hardware"]["lemons_removed"] == pytest.approx(
        lemons[0] - lemons[-1], abs=30
    )
    f = run.daily["failures_hardware"]
    assert np.mean(f[:10]) > 2 * np.mean(f[-10:])


def test_retirement_removes_gpus_and_evicts_their_work():
    from fleethelp import research
    from gigafleet.sim.fleet.loop import FleetSim

    old = pool(0, name="old", research=True, rate=RATE,
               cohorts=[Cohort(0.0, 8_000, 3 * 86400.0, 1e9)])  # fmt: skip
    new = pool(8_000, name="new", research=True, rate=RATE)
    inp = fleet([old, new], days=6, research=research(400.0, sizes=(64,), median_h=8.0))
    sim = FleetSim(inp, 1)
    out = sim.run()
    inst = out["daily"]["gpus_installed"]
    assert inst[0] == 16_000 and inst[-1] == 8_000
    assert sim.hw.installed[0] == 0 and sim.research_gpus[0] == 0
    assert sim.research.preempted > 0  # the jobs on the old pool went back to the queue
