"""Checkpoint and restart against Young/Daly, and the same seed giving the same run."""

import json
import math

import numpy as np
import pytest

from fleethelp import fleet, frontier, pool, quiet, research, service
from gigafleet.reliability import daly_interval_s, expected_wall_time_s
from gigafleet.sim.fleet import simulate_fleet

RATE = 2e-5  # per GPU-hour


def _run_frontier(n, tau, seed, *, work_s=2 * 86400.0, delta=120.0, restore=180.0):
    prm = quiet(hot_spare_fraction=0.25, detect_s=60.0, restart_s=360.0, spares_fraction=1.0,
                swap_s=600.0)  # fmt: skip
    inp = fleet([pool(2 * n, rate=RATE)], days=work_s / 86400.0 * 3, params=prm,
                training=[frontier(n, work_s, tau=tau, delta=delta, restore=restore)])  # fmt: skip
    return simulate_fleet(inp, seed=seed).summary["training"][0], prm


@pytest.mark.parametrize("factor", [0.25, 1.0, 4.0])
def test_checkpoint_restart_agrees_with_daly(factor):
    """Mean wall time of a 2-day run on 4,096 GPUs (MTBF ~12 h) over seeds against Daly's
    closed form, at the optimal interval and a quarter and four times it; the restart is
    detection + restart + checkpoint read, and failures also strike during restarts."""
    n, work, delta, restore = 4096, 2 * 86400.0, 120.0, 180.0
    mtbf = 1.0 / (n * RATE / 3600.0)
    tau = factor * float(daly_interval_s(delta, mtbf))
    walls, hits = [], []
    for seed in range(30):
        row, prm = _run_frontier(n, tau, seed, work_s=work, delta=delta, restore=restore)
        assert row["finished"]
        walls.append(row["days"] * 86400.0)
        hits.append(row["interruptions"])
    walls = np.array(walls)
    restart = prm.detect_s + prm.restart_s + restore
    closed = float(expected_wall_time_s(work, interval_s=tau, checkpoint_s=delta,
                                        restart_s=restart, mtbf_s=mtbf))  # fmt: skip
    stderr = walls.std(ddof=1) / math.sqrt(walls.size)
    assert abs(walls.mean() - closed) < 4 * stderr + 0.005 * closed
    assert np.mean(hits) == pytest.approx(walls.mean() / mtbf, rel=0.15)


def test_ettr_is_best_near_the_daly_interval():
    n, delta = 4096, 120.0
    mtbf = 1.0 / (n * RATE / 3600.0)
    opt = float(daly_interval_s(delta, mtbf))
    ettr = {}
    for f in (0.1, 1.0, 10.0):
        rows = [_run_frontier(n, f * opt, s)[0] for s in range(12)]
        ettr[f] = np.mean([r["ettr"] for r in rows])
    assert ettr[1.0] > ettr[0.1] and ettr[1.0] > ettr[10.0]


def _mixed(seed):
    prm = quiet(lemon_fraction=0.02, lemon_multiplier=10.0, straggler_fraction=0.3,
                straggler_slowdown=1.3, daily_noise=0.05, headroom=0.1)  # fmt: skip
    pools = [pool(20_000, research=True), pool(4_000, name="cloud", cloud=True, site=1, price=5.0)]
    svc = service(2, rps=400.0, cap=[0.05, 0.05], gpus=[8, 8], order=[0, 1],
                  weights=[(0.0, np.array([1.0, 0.0]))])  # fmt: skip
    inp = fleet(pools, days=6, params=prm, training=[frontier(4096, 3 * 86400.0, tau=1800.0,
                delta=60.0, restore=60.0, start_s=86400.0)], services=[svc],
                research=research(300.0, sizes=(8, 64, 512), shares=(0.5, 0.3, 0.2), median_h=3.0,
                                  exponential=False, duration_sigma=1.5))  # fmt: skip
    return simulate_fleet(inp, seed=seed)


def test_same_seed_same_result_bit_for_bit():
    a, b, c = _mixed(11), _mixed(11), _mixed(12)
    assert json.dumps(a.summary, sort_keys=True) == json.dumps(b.summary, sort_keys=True)
    for k in a.daily:
        assert np.array_equal(a.daily[k], b.daily[k]), k
    assert json.dumps(a.summary, sort_keys=True) != json.dumps(c.summary, sort_keys=True)
