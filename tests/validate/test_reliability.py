"""Reliability validation and the reliability/cost faces of train, serve and plan."""

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.validate.reliability import validate_reliability

# Validation against published data: slow, still run by .ci/run.
pytestmark = pytest.mark.slow


def test_validate_reliability_llama3_and_held_out():
    rows, summary = validate_reliability()
    by = {r.row_id: r for r in rows}
    # R01 (Llama 3's 419 interruptions) is the table the rates are fitted on: reproducing it
    # checks the fit, it is no accuracy claim
    assert by["R01"].fitted and by["R01"].predicted == pytest.approx(419, rel=0.05)
    assert by["R09"].metric == "ett_pct" and by["R09"].predicted > 90
    assert not by["R09"].fitted and not by["H01"].fitted
    assert set(summary["by_calibration"]) == {"fitted", "held_out", "same_job_as_fit"}
    # the accuracy claim: other clusters' failure counts, never fitted, within a factor of two
    held = summary["by_calibration"]["held_out"]
    assert held["num"] >= 5
    assert held["median_abs_error_pct"] <= 50 and held["p90_abs_error_pct"] <= 70


def test_validate_reliability_bad_rows(tmp_path):
    head = "row_id,study,system,num_gpus,period_days,metric,components,measured,bound,num_params,planned_per_day,fitted\n"
    f = tmp_path / "r.csv"
    f.write_text(head + "X1,s,dgx-h100,8,7,interruptions,gpu+fan,1,,,,false\n")
    with pytest.raises(GigafleetError, match="unknown failure component 'fan'"):
        validate_reliability(f)
    f.write_text(
        head
        + "X1,s,dgx-h100,8,7,interruptions,gpu,n/a,,,,false\nX2,s,nope,8,7,interruptions,gpu,1,,,,false\n"
    )
    rows, summary = validate_reliability(f)
    assert summary["num_predicted"] == 0 and all(r.skipped_reason for r in rows)
