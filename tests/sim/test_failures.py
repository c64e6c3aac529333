"""The failure/checkpoint/restart event simulation against Daly's closed form."""

import math

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.reliability import daly_interval_s
from gigafleet.sim.failures import simulate_run, simulate_runs


@pytest.mark.parametrize(
    ("mtbf_s", "checkpoint_s", "restart_s", "interval_s"),
    [
        (3600.0, 60.0, 600.0, None),  # at Daly's optimum
        (3600.0, 60.0, 600.0, 1000.0),  # a longer interval
        (7200.0, 5.0, 300.0, 250.0),  # fast checkpoints, Llama-3-like ratio of delta to M
    ],
)
def test_mean_wall_time_agrees_with_closed_form(mtbf_s, checkpoint_s, restart_s, interval_s):
    tau = float(daly_interval_s(checkpoint_s, mtbf_s)) if interval_s is None else interval_s
    runs = simulate_runs(
        100 * 3600.0, mtbf_s=mtbf_s, interval_s=tau, checkpoint_s=checkpoint_s,
        restart_s=restart_s, num_seeds=400, seed=11,
    )  # fmt: skip
    s = runs.summary()
    # tolerance: 4 standard errors of the mean (seeds are fixed, so this is deterministic)
    # and, as a stated accuracy, ETT within 1% relative
    assert abs(s["mean_wall_s"] - s["closed_form_wall_s"]) < 4 * s["stderr_wall_s"]
    assert s["ett_sim"] == pytest.approx(s["ett_closed_form"], rel=0.01)
    # Poisson failures over wall time: E[N] = E[T] / M
    assert s["mean_failures"] == pytest.approx(s["mean_wall_s"] / mtbf_s, rel=0.03)


def test_no_failures_and_single_segment():
    r = simulate_run(1000.0, mtbf_s=1e15, interval_s=100.0, checkpoint_s=1.0, restart_s=5.0, seed=1)
    assert r.num_failures == 0 and r.num_checkpoints == 9
    assert r.wall_time_s == pytest.approx(1009.0)
    # one segment, no checkpoints: E[T] = M (e^{W/M} - 1) with R = 0
    runs = simulate_runs(3600.0, mtbf_s=3600.0, interval_s=1e9, checkpoint_s=0.0, restart_s=0.0,
                         num_seeds=3000, seed=2)  # fmt: skip
    assert runs.mean_wall_s == pytest.approx(3600.0 * math.expm1(1.0), rel=0.05)


def test_bad_input():
    with pytest.raises(GigafleetError, match="mtbf_s"):
        simulate_run(10.0, mtbf_s=0.0, interval_s=1.0, checkpoint_s=0.0, restart_s=0.0)
    with pytest.raises(GigafleetError, match="checkpoint_s"):
        simulate_run(10.0, mtbf_s=1.0, interval_s=1.0, checkpoint_s=-1.0, restart_s=0.0)
    with pytest.raises(GigafleetError, match="num_seeds"):
        simulate_runs(
            10.0, mtbf_s=1.0, interval_s=1.0, checkpoint_s=0.0, restart_s=0.0, num_seeds=1
        )
