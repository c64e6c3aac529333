"""validate plan: published strategies rank near the planner's best, and the model orders
measured strategies as they were measured.

The published strategy is inside the space the planner minimises, so "the best is never
slower than it" cannot fail and is not tested. What can fail: how far the planner believes
the experts' strategy is from its best (experts tune these runs, so a large claimed gap
means our model is wrong about their strategy), and whether the model puts two measured
layouts of one workload in the measured order.
"""

import itertools

import pytest

# Validation against published data: slow, still run by .ci/run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def agreement(catalog):
    from gigafleet.validate.plan import validate_plan

    return validate_plan(catalog=catalog)


def test_published_strategy_rank(catalog):
    from gigafleet.validate.plan import plan_agreement_row
    from gigafleet.validate.training import default_data_path, read_rows

    rows = {r["row_id"]: r for r in read_rows(default_data_path())}
    a = plan_agreement_row(catalog, rows["TR0149"])  # Llama 3 70B, 64 H100, FP8, TP4 PP8 VP5
    assert a["published_feasible"]
    # NVIDIA's tuned strategy sits in the planner's top tenth, within 10% of its best
    assert a["rank_pct"] <= 10
    assert a["gap_pct"] <= 10


def test_agreement_with_experts_every_row(agreement):
    rows, summary = agreement
    assert summary["num_predicted"] >= 0.9 * summary["num_rows"]
    # most published strategies sit in the planner's top tenth
    assert summary["in_top_10pct_fraction"] >= 0.8
    assert summary["rank_pct"]["median_abs_error_pct"] <= 10
    # the planner believes experts leave little on the table: median gap within 10%
    assert summary["gap_pct"]["median_abs_error_pct"] <= 10


def test_measured_layouts_are_ordered_as_measured(catalog):
    """Pairs of rows with one model, system, precision, GPU count, sequence and global batch
    but different parallel layouts (counted once per layout pair, releases pooled): when the
    measurements differ by more than 10%, the model's faster layout is the measured faster
    one in at least 80% of the pairs."""
    from gigafleet.validate.training_fit import validate_training

    rows = [r for r in validate_training(catalog=catalog)[0] if r.error_pct is not None]

    def parts(r):
        model, system, label, layout, seq = r.details["config"].split(" | ")
        lay = layout.split("/")
        return (model, system, label, lay[0], lay[7], seq), layout

    votes: dict[tuple, list[bool]] = {}
    for a, b in itertools.combinations(rows, 2):
        (ka, la), (kb, lb) = parts(a), parts(b)
        if ka != kb or la == lb:
            continue
        measured = a.measured / b.measured
        if abs(measured - 1) < 0.1:
            continue
        agree = (measured > 1) == (a.predicted > b.predicted)
        votes.setdefault((ka, *sorted((la, lb))), []).append(agree)
    pairs = [sum(v) > len(v) / 2 for v in votes.values()]
    assert len(pairs) >= 5
    assert sum(pairs) / len(pairs) >= 0.8
