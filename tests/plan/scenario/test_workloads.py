"""Services' demand: a recommendation load as queries or inferences, and the daily pattern."""

import pytest

from gigafleet.plan.scenario import run_scenario
from scenariohelp import scenario_of, site_doc


def test_recommendation_load_as_queries_or_inferences():
    q = {"name": "rank", "queries_per_s": 1000, "items_per_query": 500, "latency_budget_ms": 50}
    per_day = {"name": "rank", "inferences_per_day": 1000 * 500 * 86400.0, "latency_budget_ms": 50}
    a = run_scenario(scenario_of([site_doc("a")], {"recommendation": [q]})).services[0]
    b = run_scenario(scenario_of([site_doc("a")], {"recommendation": [per_day]})).services[0]
    assert a["peak_demand"] == pytest.approx(b["peak_demand"]) == pytest.approx(1000 * 500 * 1.5)
    assert a["capacity"] >= a["peak_demand"] and a["gpus"] >= 1
    assert a["replica"]["p99_latency_s"] <= 0.05
    with pytest.raises(ValueError, match="exactly one"):
        scenario_of([site_doc("a")], {"recommendation": [{**q, "inferences_per_day": 1e9}]})


def test_daily_profile_has_the_given_peak_over_mean():
    from gigafleet.plan.scenario import daily_profile

    for p2m in (1.0, 1.3, 1.8):
        prof = daily_profile(p2m)
        assert prof.mean() == pytest.approx(1.0)
        assert prof.max() == pytest.approx(p2m, rel=0.01)
