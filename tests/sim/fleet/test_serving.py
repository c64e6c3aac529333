"""Services over the day: autoscaling to the daily pattern, bursting to the cloud, SLO."""

import math

import numpy as np
import pytest

from fleethelp import fleet, pool, quiet, service
from gigafleet.plan.scenario.workloads import daily_profile
from gigafleet.sim.fleet import simulate_fleet

RPS, PEAK, CAP, G = 1000.0, 1.6, 0.5, 8  # mean demand, peak/mean, per GPU, GPUs per replica


def _needed(headroom):
    d = RPS * daily_profile(PEAK)
    return d, np.ceil(d * (1 + headroom) / (CAP * G) - 1e-9) * G


def test_replicas_follow_the_daily_pattern():
    d, gpus = _needed(0.1)
    svc = service(1, rps=RPS, cap=[CAP], gpus=[G], order=[0], peak_to_mean=PEAK, slo=0.995)
    inp = fleet([pool(10_000, rate=0.0)], days=3, params=quiet(headroom=0.1), services=[svc])
    run = simulate_fleet(inp, seed=1)
    assert run.daily["gpus_serving"] == pytest.approx(np.full(3, gpus.mean()))
    assert run.daily["gpus_idle"] == pytest.approx(10_000 - gpus.mean())
    util = np.minimum(d / (gpus * CAP), 1.0)
    assert run.daily["goodput_gpu_h_serving"][0] == pytest.approx(np.sum(gpus * util))
    assert run.summary["slo_attainment"] == pytest.approx(0.995)
    # replicas scale down at night: the day's peak hour needs far more than its quietest
    assert gpus.max() > 1.5 * gpus.min()


@pytest.mark.parametrize("bursting", [True, False])
def test_bursting_to_cloud_when_owned_capacity_falls_short(bursting):
    owned, price = 2_000, 5.0
    d, need = _needed(0.0)
    pools = [pool(owned, rate=0.0), pool(50_000, name="cloud", cloud=True, site=1, price=price)]
    order = [0, 1] if bursting else [0]
    svc = service(2, rps=RPS, cap=[CAP, CAP], gpus=[G, G], order=order, peak_to_mean=PEAK,
                  weights=[(0.0, np.array([1.0, 0.0]))])  # fmt: skip
    run = simulate_fleet(fleet(pools, days=2, services=[svc]), seed=1)
    own = np.minimum(need, owned // G * G)
    cloud = need - own
    if bursting:
        assert run.daily["cloud_gpu_h"][0] == pytest.approx(cloud.sum())
        assert run.summary["cloud"]["usd"] == pytest.approx(2 * price * cloud.sum())
        assert run.summary["slo_attainment"] == pytest.approx(1.0)
    else:
        assert run.summary["cloud"]["gpu_h"] == 0
        served = np.minimum(d, own * CAP)
        assert run.summary["slo_attainment"] == pytest.approx(served.sum() / d.sum())
        assert run.summary["slo_attainment"] < 0.95


def test_failures_take_replicas_down_and_cost_slo_when_there_is_no_headroom():
    rate = 5e-3  # per GPU-hour: a failure every few minutes on a few thousand GPUs
    svc = service(1, rps=RPS, cap=[CAP], gpus=[G], order=[0], peak_to_mean=1.0)
    need = math.ceil(RPS / (CAP * G)) * G
    run = simulate_fleet(fleet([pool(need, rate=rate)], days=2, services=[svc],
                               params=quiet(spares_fraction=0.0)), seed=3)  # fmt: skip
    assert run.summary["interruptions"]["serving"] > 20
    assert run.summary["lost_gpu_h"]["serving_failover"] > 0
    assert run.summary["slo_attainment"] < 0.999
