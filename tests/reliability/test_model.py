"""Reliability model: component rates, scaling with job size, checkpoints, Young/Daly, ETT."""

import math

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.reliability import (
    COMPONENTS,
    checkpoint_bytes,
    checkpoint_time_s,
    component_counts,
    daly_interval_s,
    effective_training_time,
    expected_wall_time_s,
    failure_rates_by_component_per_s,
    job_failure_rate_per_s,
    load_failure_rates,
    optimal_checkpoint_interval_s,
    young_interval_s,
)

LLAMA3_SECONDS = 54 * 86400.0


def test_rates_reproduce_the_llama3_table_in_sample():
    # in-sample by construction: the fit must give back the counts it was fitted on
    by = failure_rates_by_component_per_s(16384, system="grand-teton-h100")
    counts = {k: float(v) * LLAMA3_SECONDS for k, v in by.items()}
    assert counts == pytest.approx(
        {"gpu": 196, "hbm": 72, "host": 46, "nic": 7, "switch": 35, "software": 63}
    )
    assert float(job_failure_rate_per_s(16384)) * LLAMA3_SECONDS == pytest.approx(419)


def test_failures_grow_linearly_with_job_size_and_vectorise():
    n = np.array([1024, 2048, 16384, 131072])
    lam = job_failure_rate_per_s(n, system="dgx-h100")
    assert lam.shape == (4,)
    assert np.all(np.diff(lam) > 0)
    assert lam[3] / lam[2] == pytest.approx(8.0)
    # GB200 NVL72: 72 GPUs, 18 compute trays (36 Grace) per rack -> 4 GPUs per node
    h = component_counts(72, system="dgx-h100")
    g = component_counts(72, system="gb200-nvl72")
    assert float(h.node) == pytest.approx(9) and float(g.node) == pytest.approx(18)


def test_hbm_stacks_scale_hbm_failures_and_are_marked_estimated():
    a = component_counts(8, system="dgx-h100")
    assert float(a.hbm_stack) == 40 and not a.hbm_estimated
    b = component_counts(8, system="dgx-b200")  # eight stacks per B200
    assert float(b.hbm_stack) == 64 and not b.hbm_estimated
    c = component_counts(1, system="gh200-superchip")  # no stack count: hbm_gib / 16
    assert c.hbm_estimated and float(c.hbm_stack) == pytest.approx(144 / 16)


def test_unknown_component_and_bad_counts():
    with pytest.raises(GigafleetError, match="unknown failure component 'gpus'"):
        job_failure_rate_per_s(8, components=("gpus",))
    with pytest.raises(GigafleetError, match="num_gpus"):
        job_failure_rate_per_s(0)


def test_user_overlay_rate_and_forbidden_keys(tmp_path):
    f = tmp_path / "rates.yaml"
    f.write_text("components:\n  software:\n    unit: job\n    rate_per_hour: 0.5\n")
    r = load_failure_rates(f)
    assert r.per_unit_hour["software"] == 0.5 and r.units["software"] == "job"
    base = load_failure_rates()
    assert r.per_unit_hour["gpu"] == base.per_unit_hour["gpu"]
    lam = failure_rates_by_component_per_s(8, rates=r, components=("software",))["software"]
    assert float(lam) * 3600 == pytest.approx(0.5)  # per job: independent of size
    bad = tmp_path / "bad.yaml"
    bad.write_text("components:\n  gpu:\n    unit: gpu\n    rate: 1\n")
    with pytest.raises(GigafleetError, match="rate"):
        load_failure_rates(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("components:\n  fan:\n    unit: node\n    rate_per_hour: 1\n")
    with pytest.raises(GigafleetError, match="did you mean|allowed"):
        load_failure_rates(unknown)


def test_checkpoint_size_and_time():
    b = checkpoint_bytes(405e9)
    assert b == pytest.approx(405e9 * 14)
    # aggregate-bound at scale, node-bound for a small job
    big = checkpoint_time_s(
        b, num_nodes=2048, storage_bw_bytes_per_s=2e12, node_bw_bytes_per_s=50e9
    )
    small = checkpoint_time_s(b, num_nodes=4, storage_bw_bytes_per_s=2e12, node_bw_bytes_per_s=50e9)
    assert big == pytest.approx(b / 2e12) and small == pytest.approx(b / 200e9)
    with pytest.raises(GigafleetError, match="storage_bw_bytes_per_s"):
        checkpoint_time_s(b, num_nodes=4, storage_bw_bytes_per_s=-1.0)


def test_young_and_daly_intervals():
    assert young_interval_s(60.0, 3600.0) == pytest.approx(math.sqrt(2 * 60 * 3600))
    # Daly's higher-order form is close to Young's when delta << M, and is M for delta >= 2M
    d = daly_interval_s(60.0, 36000.0)
    assert abs(d / young_interval_s(60.0, 36000.0) - 1) < 0.05
    assert daly_interval_s(10000.0, 1000.0) == pytest.approx(1000.0)
    with pytest.raises(GigafleetError, match="method"):
        optimal_checkpoint_interval_s(1.0, 1.0, method="best")


def test_daly_interval_minimises_the_closed_form():
    kw = dict(checkpoint_s=120.0, restart_s=600.0, mtbf_s=4 * 3600.0)
    taus = np.linspace(200, 6000, 2000)
    wall = expected_wall_time_s(1e7, interval_s=taus, **kw)
    best = taus[np.argmin(wall)]
    tau = float(daly_interval_s(120.0, 4 * 3600.0))
    assert abs(best - tau) / tau < 0.05
    # and at the optimum, Daly's form is no worse than Young's
    y = float(young_interval_s(120.0, 4 * 3600.0))
    assert expected_wall_time_s(1e7, interval_s=tau, **kw) <= expected_wall_time_s(
        1e7, interval_s=y, **kw
    )


def test_no_failures_limit():
    # very reliable: wall time is ideal plus checkpoints only
    w = expected_wall_time_s(1000.0, interval_s=100.0, checkpoint_s=1.0, restart_s=0.0, mtbf_s=1e15)
    assert w == pytest.approx(1000.0 + 9 * 1.0)


def test_llama3_effective_training_time_above_90pct():
    r = effective_training_time(
        LLAMA3_SECONDS * 0.92, 16384, num_params=405e9, system="grand-teton-h100",
        planned_per_day=47 / 54,
    )  # fmt: skip
    assert float(r.failures_per_day) * 54 == pytest.approx(419)
    assert 0.90 < float(r.ett) < 0.97
    assert float(r.wall_time_s) == pytest.approx(float(r.ideal_time_s) / float(r.ett))
    # the expected lost compute per failure is about half a checkpoint interval
    assert float(r.lost_work_s_per_failure) == pytest.approx(
        float(r.checkpoint_interval_s) / 2, rel=0.05
    )
    d = r.to_dict()
    assert set(d["failures_per_day_by_component"]) == set(COMPONENTS)


def test_ett_falls_with_job_size_and_slow_storage():
    n = np.array([1024, 16384, 131072])
    r = effective_training_time(30 * 86400.0, n, num_params=405e9, system="dgx-h100")
    assert np.all(np.diff(r.ett) < 0)
    slow = effective_training_time(
        30 * 86400.0, 16384, num_params=405e9, system="dgx-h100", storage_bw_bytes_per_s=2e10
    )
    assert float(slow.ett) < float(r.ett[1])
    assert float(slow.checkpoint_interval_s) > float(r.checkpoint_interval_s[1])


def test_ett_bad_input():
    with pytest.raises(GigafleetError, match="restart_overhead_s"):
        effective_training_time(1.0, 8, num_params=1e9, restart_overhead_s=-1)
    with pytest.raises(GigafleetError, match="checkpoint_interval_s"):
        effective_training_time(1.0, 8, num_params=1e9, checkpoint_interval_s=0)
    with pytest.raises(GigafleetError, match="node_bw_bytes_per_s"):
        effective_training_time(1.0, 8, num_params=1e9, node_bw_bytes_per_s=0)
