"""The cluster experiments behind ``validate reliability``: job MTTI and ETTR."""

import math

import pytest

from fleethelp import rates
from gigafleet.reliability import daly_interval_s
from gigafleet.sim.fleet.cluster import job_mtti, run_ettr


@pytest.mark.parametrize("n", [8, 512, 8192])
def test_job_mtti_is_the_series_system(n):
    m = job_mtti(n, rates(2e-5), target_interruptions=300, seed=1)
    assert m.closed_form_h == pytest.approx(1 / (n * 2e-5))
    assert m.interruptions > 200
    assert m.mtti_h == pytest.approx(m.closed_form_h, rel=4 / math.sqrt(m.interruptions))


def test_run_ettr_against_daly():
    n, delta = 8192, 120.0
    r = rates(2e-5)
    mtbf = 1 / (n * 2e-5 / 3600)
    e = run_ettr(n, r, work_s=5 * 86400.0, interval_s=float(daly_interval_s(delta, mtbf)),
                 checkpoint_s=delta, restore_s=delta, num_seeds=8, seed=3)  # fmt: skip
    assert 0.5 < e.ettr_closed_form < 1
    assert abs(e.ettr_mean - e.ettr_closed_form) < 4 * e.ettr_stderr + 0.005
