"""Calibrated efficiencies: generations without fitted rows say where theirs come from."""

from trainhelp import est


def test_unsupported_generations_say_they_are_extrapolated():
    e = est(system="vera-rubin-nvl144", num_gpus=72, tp=8, pp=1, global_batch=72 // 8 * 8)
    assert "extrapolated" in e.calibration
    assert est(tp=8).calibration == "fitted"
