"""What a run measured: energy, utilization, SLO attainment and goodput."""

from __future__ import annotations

import pytest

from gigafleet.sim.serving import ReplicaConfig, Slo, Workload, simulate


def test_energy_utilization_and_slo():
    wl = Workload([0.0, 10.0], [100, 100], [2, 2])
    f = lambda p, d, c: 1.0  # noqa: E731
    cfg = ReplicaConfig(f, 10**4, power_busy_w=700.0, power_idle_w=100.0)
    res = simulate(wl, [cfg], slo=Slo(ttft_s=0.5, tpot_s=2.0))
    # Each request: prefill 1 s (first token), one decode 1 s. Makespan 12 s, busy 4 s.
    assert res.makespan_s == pytest.approx(12.0)
    assert res.utilization[0] == pytest.approx(4.0 / 12.0)
    assert res.energy_j == pytest.approx(4 * 700.0 + 8 * 100.0)
    assert res.energy_j_per_output_token == pytest.approx(res.energy_j / 4)
    assert res.slo_attainment == 0.0 and res.goodput_requests_per_s == 0.0
    ok = simulate(wl, [cfg], slo=Slo(ttft_s=1.5, tpot_s=2.0))
    assert ok.slo_attainment == 1.0
    assert ok.summary()["goodput_requests_per_s"] == pytest.approx(2 / 12.0)
