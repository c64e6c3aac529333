"""validate plan: published strategies rank near the planner's best."""

import pytest

# Validation against published data: slow, still run by .ci/run.
pytestmark = pytest.mark.slow


def test_published_strategy_rank(catalog):
    from gigafleet.validate.plan import plan_agreement_row
    from gigafleet.validate.training import default_data_path, read_rows

    rows = {r["row_id"]: r for r in read_rows(default_data_path())}
    a = plan_agreement_row(catalog, rows["TR0149"])  # Llama 3 70B, 64 H100, FP8, TP4 PP8 VP5
    assert a["published_feasible"]
    assert 0 <= a["rank_pct"] <= 100
    assert a["gap_pct"] >= 0  # the planner's best is never slower than a strategy it considered


@pytest.fixture(scope="module")
def agreement(catalog):
    from gigafleet.validate.plan import validate_plan

    return validate_plan(catalog=catalog)


def test_agreement_with_experts_every_row(agreement):
    rows, summary = agreement
    assert summary["num_predicted"] >= 0.9 * summary["num_rows"]
    # the published strategy is in the space, so the planner's best is never predicted slower
    assert summary["best_slower_than_published"] == 0
    assert all(r.details["gap_pct"] >= 0 for r in rows if r.error_pct is not None)
    # most published strategies sit in the planner's top fifth
    assert summary["in_top_10pct_fraction"] >= 0.6
    assert summary["rank_pct"]["median_abs_error_pct"] <= 10


def test_agreement_target(agreement):
    assert agreement[1]["in_top_10pct_fraction"] >= 0.8
