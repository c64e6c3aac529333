"""validate energy: the shared JSON shape, and the held-out targets."""

import pytest

# Validation against published data: slow, still run by .ci/run.
pytestmark = pytest.mark.slow


def test_validate_energy_shape_and_target():
    from gigafleet.energy.params import load_power_params
    from gigafleet.validate.energy import fit_dvfs_exponent, run_validation

    rows, summary = run_validation()
    for key in ("num_rows", "num_predicted", "median_abs_error_pct", "p90_abs_error_pct"):
        assert key in summary
    d = rows[0].to_dict()
    for key in ("row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"):
        assert key in d
    metrics = {r.metric for r in rows if r.error_pct is not None}
    assert {
        "system_power_w",
        "j_per_token",
        "dvfs_speed_ratio",
        "training_carbon_tco2eq",
    } <= metrics
    assert all(r.skipped_reason for r in rows if r.error_pct is None)
    assert sum(r.fitted for r in rows) == 1
    # target: wall power of the held-out MLPerf rows within 15 %, DVFS ratios within 10 %
    held = [r for r in rows if r.error_pct is not None and not r.fitted]
    assert max(abs(r.error_pct) for r in held if r.metric == "system_power_w") < 15
    assert max(abs(r.error_pct) for r in held if r.metric == "dvfs_speed_ratio") < 10
    # ML.ENERGY's H100 GPU J/token at batch 64 (measured 0.12): right order of magnitude
    ml = [r for r in rows if r.metric == "gpu_j_per_token"]
    assert len(ml) == 1 and 0.5 < ml[0].predicted / ml[0].measured < 2
    # the shipped exponent is the fit on the named row
    assert fit_dvfs_exponent() == pytest.approx(load_power_params().dvfs.exponent, abs=0.01)
