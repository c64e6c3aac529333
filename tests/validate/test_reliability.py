"""Reliability validation and the reliability/cost faces of train, serve and plan."""

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.validate.reliability import validate_reliability

# Validation against published data: slow, still run by .ci/run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def validated():
    return validate_reliability()


def test_validate_reliability_llama3_and_held_out(validated):
    rows, summary = validated
    by = {r.row_id: r for r in rows}
    # R01 (Llama 3's 419 interruptions) is the table the rates are fitted on: reproducing it
    # checks the fit, it is no accuracy claim
    assert by["R01"].fitted and by["R01"].predicted == pytest.approx(419, rel=0.05)
    assert by["R09"].metric == "ett_pct" and by["R09"].predicted > 90
    assert not by["R09"].fitted and not by["H01"].fitted
    assert set(summary["by_calibration"]) == {"fitted", "held_out", "same_job_as_fit"}
    # the accuracy claim: other clusters' failure counts, never fitted, within a factor of two
    # (the simulated job-MTTF rows are held out too; they are checked on their own below)
    held = [abs(r.error_pct) for r in rows if not r.fitted and r.metric.startswith("interruptions")]
    assert len(held) >= 5 and summary["by_calibration"]["held_out"]["num"] >= len(held)
    assert np.median(held) <= 50 and np.percentile(held, 90) <= 70


def test_simulated_job_mttf_and_ettr_rows(validated):
    rows, summary = validated
    by = {r.row_id: r for r in rows}
    # the level of Meta's RSC-1 is set on its 1,024-GPU jobs; its 8-GPU jobs are held out:
    # the target is 25% on held-out job-MTTF rows
    assert by["S02"].fitted and by["S02"].details["set"] == "study_level"
    assert not by["S03"].fitted and abs(by["S03"].error_pct) < 25
    assert (
        summary["study_levels"]["Meta RSC-1 research cluster"] > 1
    )  # RSC-1 fails more than Llama 3's
    assert by["S01"].predicted == pytest.approx(54 * 24 / 419, rel=0.15)  # in-sample, within noise
    assert by["S05"].metric == "sim_ettr_pct" and by["S05"].predicted > 90


def test_simulation_agrees_with_closed_forms(validated):
    cf = validated[1]["simulation_vs_closed_form"]
    for r in cf["job_mtti_against_series_system"]:  # ~400 interruptions: 4 sigma is 20%
        assert abs(r["error_pct"]) < 20, r
    for r in cf["ettr_against_daly"]:
        assert abs(r["simulated"] - r["closed_form"]) < 4 * r["stderr"] + 0.005, r


def test_validate_reliability_bad_rows(tmp_path):
    head = "row_id,study,system,num_gpus,period_days,metric,components,measured,bound,num_params,planned_per_day,fitted\n"
    f = tmp_path / "r.csv"
    f.write_text(head + "X1,s,dgx-h100,8,7,interruptions,gpu+fan,1,,,,false\n")
    with pytest.raises(GigafleetError, match="unknown failure component 'fan'"):
        validate_reliability(f, closed_form=False)
    f.write_text(
        head
        + "X1,s,dgx-h100,8,7,interruptions,gpu,n/a,,,,false\nX2,s,nope,8,7,interruptions,gpu,1,,,,false\n"
    )
    rows, summary = validate_reliability(f, closed_form=False)
    assert summary["num_predicted"] == 0 and all(r.skipped_reason for r in rows)
    # a study of 54 million days was simulated day by day: a 1.7 GiB allocation, a traceback
    # (fuzz seed 20261203); out of range, a row is skipped with the reason
    f.write_text(
        head
        + "S1,s,dgx-h100,16384,54000000,sim_ettr_pct,all,90,>=,405e9,,false\n"
        + "S2,s,dgx-h100,1e12,30,sim_ettr_pct,all,90,>=,405e9,,false\n"
    )
    rows, summary = validate_reliability(f, closed_form=False)
    assert summary["num_predicted"] == 0
    assert all("period_days in (0, 36,500]" in r.skipped_reason for r in rows)


@pytest.mark.xfail(
    strict=True,
    reason="known miss: Crusoe's H200 cluster (MTTI ~14 h on ~1,600 GPUs) is predicted at ~29 h "
    "(+108%) at Llama 3's per-component rates: that cluster fails about twice as often, and "
    "without a level row of its own the fleet-average rates do not carry to it",
)
def test_crusoe_job_mttf_held_out(validated):
    by = {r.row_id: r for r in validated[0]}
    assert not by["S04"].fitted and abs(by["S04"].error_pct) < 25
