"""Validation against published training measurements (shared/groundtruth/training_runs.csv).

The issue's targets: at least 90% of rows predicted, median absolute error at most 10%,
p90 at most 25%. What is met is asserted; what is not is an xfail(strict) test, so the day
the model meets it the suite says so.
"""

import pytest

from gigafleet.validate.report import error_stats
from gigafleet.validate.training import default_data_path, validate_training

# Validation against published data: slow, still run by .ci/run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def validation(catalog):
    return validate_training(catalog=catalog)


def _errors(rows, pred):
    return [r.error_pct for r in rows if r.error_pct is not None and pred(r)]


def test_predicts_at_least_90_percent_of_rows(validation):
    rows, summary = validation
    assert summary["num_rows"] == len(rows) >= 150
    assert summary["num_predicted"] / summary["num_rows"] >= 0.9
    for r in rows:
        assert (r.error_pct is None) == (r.skipped_reason is not None)


def test_held_out_rows_are_reported_separately(validation):
    rows, summary = validation
    fitted = [r for r in rows if r.fitted]
    assert 0 < len(fitted) < len(rows) / 5  # calibration sees few rows
    assert set(summary["by_calibration"]) == {"fitted", "held_out"}
    assert summary["by_calibration"]["held_out"]["num"] == len(rows) - len(fitted)


def test_dense_models_meet_the_targets_on_held_out_rows(validation):
    rows, _ = validation
    e = error_stats(_errors(rows, lambda r: not r.fitted and r.details["kind"] == "dense"))
    assert e["num"] >= 60
    assert e["median_abs_error_pct"] <= 10
    assert e["p90_abs_error_pct"] <= 25


def test_unfitted_hardware_carries_from_specs(validation):
    """DGX-B200 has no calibration rows: dense models there are predicted from its specs."""
    rows, _ = validation
    e = error_stats(
        _errors(rows, lambda r: r.details["system"] == "dgx-b200" and r.details["kind"] == "dense")
    )
    assert e["num"] >= 4
    assert e["median_abs_error_pct"] <= 10


def test_held_out_rows_meet_the_median_target(validation):
    rows, _ = validation
    e = error_stats(_errors(rows, lambda r: not r.fitted))
    assert e["num"] >= 150
    assert e["median_abs_error_pct"] <= 10


def test_held_out_rows_meet_the_p90_target(validation):
    rows, _ = validation
    e = error_stats(_errors(rows, lambda r: not r.fitted))
    assert e["p90_abs_error_pct"] <= 25


def test_rows_without_mtp_drop_it(catalog):
    from gigafleet.validate.training import read_rows, resolve_row

    rows = {r["row_id"]: r for r in read_rows(default_data_path())}
    r = resolve_row(catalog, rows["TR0314"])  # "DeepSeekV3 (w/o MTP)"
    assert r["model"].mtp_layers == 0 and any("mtp" in a for a in r["assumed"])


def test_recipe_settings_are_sourced_and_resolve(catalog):
    from gigafleet.validate.training import _recipes

    for e in _recipes():
        assert e["source"]
        assert e["model"] == "any" or e["model"] in catalog.models
        assert e["system"] == "any" or e["system"] in catalog.systems
        assert set(e) <= {
            "model",
            "system",
            "precision",
            "releases",
            "source",
            "recompute",
            "offload",
            "ep_overlap",
            "ep_dispatcher",
            "cuda_graphs",
        }


def test_recompute_to_fit_takes_the_fewest_whole_layers(catalog):
    """When the source's recomputation does not fit in our memory estimate, validation
    recomputes a fraction of whole layers: between the source's level and full."""
    from gigafleet.validate.training import predict_row, read_rows

    rows = {r["row_id"]: r for r in read_rows(default_data_path())}
    p = predict_row(catalog, rows["TR0181"])  # Nemotron 3 Nano on 16 H100, recipe: selective
    note = p["resolved"]["assumed"][-1]
    assert note.startswith("recompute=selective, full on ") and "needed to fit" in note
    frac = float(note.split("full on ")[1].split("%")[0]) / 100
    assert 0 < frac < 1
