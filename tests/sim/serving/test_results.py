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


def _loaded(rate: float, n: int = 20_000) -> tuple[Workload, list[ReplicaConfig]]:
    """Two replicas whose iteration costs grow with the batch, at ``rate`` requests/s."""
    import numpy as np

    from gigafleet.sim.serving import poisson_arrivals

    rng = np.random.default_rng(7)
    wl = Workload(poisson_arrivals(rate, n, rng), rng.integers(50, 400, n), rng.integers(2, 60, n))
    f = lambda p, d, c: 0.004 + 2e-5 * p + 1e-4 * d + 1e-8 * c  # noqa: E731
    return wl, [ReplicaConfig(f, 200_000, max_num_seqs=64)] * 2


@pytest.mark.parametrize(("rate", "gives_up"), [(30.0, False), (400.0, True), (2000.0, True)])
def test_giving_up_agrees_with_the_full_run(rate, gives_up):
    """A run told to give up below the target stops only when the full run misses it, with
    a bound between the full run's attainment and the target, before the run's end;
    otherwise it is the same run."""
    from gigafleet.sim.serving import SloMissed

    wl, reps = _loaded(rate)
    slo = Slo(ttft_s=0.5, tpot_s=0.05)
    full = simulate(wl, reps, slo=slo)
    if gives_up:
        with pytest.raises(SloMissed) as stop:
            simulate(wl, reps, slo=slo, give_up_below=0.99)
        assert full.slo_attainment <= stop.value.attainment_bound < 0.99
        assert stop.value.at_s < wl.arrival_s.min() + full.makespan_s
    else:
        assert full.slo_attainment >= 0.99
        assert simulate(wl, reps, slo=slo, give_up_below=0.99).summary() == full.summary()
