"""Validation against published training measurements (shared/groundtruth/training_runs.csv).

The figures that count are those of rows the calibration never saw: rows whose
configuration (model, system, precision, parallel layout) was not fitted, and the
leave-one-group-out refits (``--holdout system|release``). The issue's targets: at least
90% of rows predicted; held-out median at most 10% and p90 at most 25%; leave-one-system-out
and leave-one-release-out median at most 8% and p90 at most 20%. What is met is asserted;
what is not is an xfail(strict) test whose reason gives today's figure, so the day the model
meets it the suite says so.
"""

import pytest

from gigafleet.validate.report import error_stats
from gigafleet.validate.training import default_data_path, read_rows
from gigafleet.validate.training_fit import validate_training

# Validation against published data: slow, still run by .ci/run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def validation(catalog):
    return validate_training(catalog=catalog)


@pytest.fixture(scope="module")
def by_system(catalog):
    return validate_training(catalog=catalog, holdout="system")


@pytest.fixture(scope="module")
def by_release(catalog):
    return validate_training(catalog=catalog, holdout="release")


@pytest.fixture(scope="module")
def rows_by_id():
    return {r["row_id"]: r for r in read_rows(default_data_path())}


def _errors(rows, pred):
    return [r.error_pct for r in rows if r.error_pct is not None and pred(r)]


def _held(rows):
    return lambda r: r.details["calibration_class"] == "held_out"


def test_predicts_at_least_90_percent_of_rows(validation):
    rows, summary = validation
    assert summary["num_rows"] == len(rows) >= 150
    assert summary["num_predicted"] / summary["num_rows"] >= 0.9
    for r in rows:
        assert (r.error_pct is None) == (r.skipped_reason is not None)


def test_rows_are_classed_by_whether_their_configuration_was_fitted(validation):
    """A row that repeats a fitted configuration in another release is not held out (TR0195,
    TR0239 and TR0275 repeat TR0146); the held-out figure is reported first."""
    rows, summary = validation
    by = {r.row_id: r for r in rows}
    assert by["TR0146"].details["calibration_class"] == "fitted"
    for rid in ("TR0195", "TR0239", "TR0275"):
        assert by[rid].details["calibration_class"] == "repeats_fitted_config"
        assert by[rid].details["config"] == by["TR0146"].details["config"]
    assert by["TR0160"].details["calibration_class"] == "held_out"  # DGX-B200
    cal = summary["by_calibration"]
    assert list(cal) == ["held_out", "repeats_fitted_config", "fitted"]
    assert list(summary)[0] == "held_out" and summary["held_out"] == cal["held_out"]
    assert sum(c["num"] for c in cal.values()) == summary["num_predicted"]
    assert 0 < cal["fitted"]["num"] < summary["num_rows"] / 5  # calibration sees few rows


def test_held_out_rows_meet_the_median_target(validation):
    rows, _ = validation
    e = error_stats(_errors(rows, _held(rows)))
    assert e["num"] >= 80
    assert e["median_abs_error_pct"] <= 10


@pytest.mark.xfail(
    strict=True,
    reason="held-out (configuration never fitted) p90 is 27.8%, target 25%: the MoE tail "
    "(GPT-OSS-120B on Blackwell +40-60%, Qwen3-30B at one sequence per micro-batch)",
)
def test_held_out_rows_meet_the_p90_target(validation):
    rows, _ = validation
    assert error_stats(_errors(rows, _held(rows)))["p90_abs_error_pct"] <= 25


def test_dense_models_meet_the_targets_on_held_out_rows(validation):
    rows, _ = validation
    e = error_stats(_errors(rows, lambda r: _held(rows)(r) and r.details["kind"] == "dense"))
    assert e["num"] >= 30
    assert e["median_abs_error_pct"] <= 10
    assert e["p90_abs_error_pct"] <= 25


@pytest.mark.xfail(
    strict=True, reason="MoE p90 is 40.7% (median 14.0%) on every row, target 25%: see README"
)
def test_moe_tail(validation):
    rows, _ = validation
    assert (
        error_stats(_errors(rows, lambda r: r.details["kind"] == "moe"))["p90_abs_error_pct"] <= 25
    )


def test_leave_one_system_out_refits_without_the_system(by_system):
    """Each system's rows are predicted by a calibration that never saw that system: GB200
    held out refits the Blackwell efficiencies on DGX-B200 rows; A100 held out leaves Ampere
    unfitted (it borrows the nearest fitted generation)."""
    rows, summary = by_system
    ho = summary["by_holdout"]
    assert ho["by"] == "system" and set(ho["groups"]) >= {"gb200-nvl72", "dgx-h100", "dgx-a100"}
    gb = ho["groups"]["gb200-nvl72"]["refit"]
    assert not set(gb["fit_rows"]) & {
        r.row_id for r in rows if r.details.get("system") == "gb200-nvl72"
    }
    assert "ampere" not in ho["groups"]["dgx-a100"]["refit"]["constants"]["gemm_efficiency"]
    assert not any(r.fitted for r in rows)
    assert all(r.details["calibration_class"] == "held_out" for r in rows if r.details)


@pytest.mark.xfail(
    strict=True, reason="leave-one-system-out median 8.3% (target 8%), p90 35.7% (target 20%)"
)
def test_leave_one_system_out_meets_the_targets(by_system):
    e = by_system[1]["by_holdout"]["all"]
    assert e["median_abs_error_pct"] <= 8 and e["p90_abs_error_pct"] <= 20


@pytest.mark.xfail(
    strict=True, reason="DGX-B200 held out (every other system fitted): median 11.5%, p90 24.9%"
)
def test_dgx_b200_from_the_other_systems(by_system):
    e = by_system[1]["by_holdout"]["groups"]["dgx-b200"]
    assert e["median_abs_error_pct"] <= 8 and e["p90_abs_error_pct"] <= 20


def test_leave_one_release_out_refits_on_the_neighbouring_releases(by_release):
    """Leaving out 26.04.01 refits on the same configurations measured in 26.04."""
    rows, summary = by_release
    g = summary["by_holdout"]["groups"]["26.04.01"]
    assert "TR0195" in g["refit"]["fit_rows"] and "TR0146" not in g["refit"]["fit_rows"]
    by = {r.row_id: r for r in rows}
    assert by["TR0146"].details["calibration_class"] == "repeats_fitted_config"
    assert summary["by_holdout"]["groups"]["25.09"]["refit"].startswith("no fit row")


@pytest.mark.xfail(
    strict=True,
    reason="leave-one-release-out: every row median 8.3% (target 8%), p90 23.9% (target 20%); "
    "rows whose configuration no refit saw 9.9% / 27.9%",
)
def test_leave_one_release_out_meets_the_targets(by_release):
    e = by_release[1]["by_holdout"]["all"]
    assert e["median_abs_error_pct"] <= 8 and e["p90_abs_error_pct"] <= 20


def test_release_mapping_is_cited_or_reported_apart(validation):
    """Rows whose printed layout is one of their release tag's presets cite the tag; the
    others (25.11 rows printed with other layouts, TR0329 among them) are reported apart."""
    rows, summary = validation
    by = {r.row_id: r for r in rows}
    assert by["TR0146"].details["release_mapping"] == "cited: v0.4.2"
    assert by["TR0329"].details["release_mapping"].startswith("assumed: printed layout")
    assert by["TR0052"].details["release_mapping"] is None  # NeMo 24.07: no recipe settings
    assert set(summary["by_release_mapping"]) == {"cited", "assumed", "no recipe"}


def test_known_regressions_are_skipped_with_the_sources_note(validation):
    by = {r.row_id: r for r in validation[0]}
    assert "cudnn-frontend#256" in by["TR0091"].skipped_reason


def test_token_dropping_rows_take_the_capacity_factor(catalog, rows_by_id):
    from gigafleet.validate.training import resolve_row

    drop = resolve_row(catalog, rows_by_id["TR0340"])  # Qwen3-30B (tokendrop), 25.09
    assert drop["capacity_factor"] == 1.0 and drop["ep_dispatcher"] == "alltoall"
    assert resolve_row(catalog, rows_by_id["TR0345"])["capacity_factor"] == 0  # H100: dropless
    assert resolve_row(catalog, rows_by_id["TR0323"])["capacity_factor"] == 0  # 25.11


def test_rows_without_mtp_drop_it(catalog, rows_by_id):
    from gigafleet.validate.training import resolve_row

    r = resolve_row(catalog, rows_by_id["TR0314"])  # "DeepSeekV3 (w/o MTP)"
    assert r["model"].mtp_layers == 0 and any("mtp" in a for a in r["assumed"])


def test_recipe_settings_are_sourced_and_resolve(catalog):
    from gigafleet.validate.training import RECIPE_SETTINGS, _recipe_file, _recipes

    f = _recipe_file()
    for e in _recipes():
        assert e["source"]
        assert e["model"] == "any" or e["model"] in catalog.models
        assert e["system"] == "any" or e["system"] in catalog.systems
        assert set(e) <= {"model", "system", "precision", "releases", "source", *RECIPE_SETTINGS}
        assert set(e.get("releases", ())) <= set(f["releases"])  # exact, tagged releases
    for rel, entries in f["tag_layouts"].items():
        assert rel in f["releases"]
        for model, system, _, layouts in entries:
            assert model in catalog.models and system in catalog.systems and layouts


def test_recompute_to_fit_takes_the_fewest_whole_layers(catalog, rows_by_id):
    """When the source's recomputation does not fit in our memory estimate, validation
    recomputes a fraction of whole layers: between the source's level and full."""
    from gigafleet.validate.training import predict_row

    p = predict_row(catalog, rows_by_id["TR0181"])  # Nemotron 3 Nano on 16 H100, recipe: selective
    note = p["resolved"]["assumed"][-1]
    assert note.startswith("recompute=selective, full on ") and "needed to fit" in note
    frac = float(note.split("full on ")[1].split("%")[0]) / 100
    assert 0 < frac < 1
