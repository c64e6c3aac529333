"""What one step is worth: each lever moves the figures the way it must, re-running only
what it touches."""

import pytest

from gigafleet.plan.scenario.run import run_state
from gigafleet.plan.scenario.sensitivity import LEVER_NAMES, Base, sensitivity
from scenariohelp import ASSISTANT, RUN_8B, scenario_of, site_doc


@pytest.fixture(scope="module")
def what_if():
    site = site_doc("a", count=256, power_mw=100)
    site["fleet"].append({"system": "gb300-nvl72", "count": 2, "arrive": "2026-07"})
    site["cooling"] = "liquid"
    scn = scenario_of([site], {"training": [RUN_8B], "llm_services": [ASSISTANT]})
    scn.timeline.end = "2026-07"
    result, state = run_state(scn)
    base = Base(scn=scn, catalog=state.catalog, state=state, result=result)
    said = []
    s = sensitivity(base, progress=said.append)
    rows = {(r["lever"], r["direction"]): r for r in s["levers"]}
    return s, rows, said


def test_every_lever_is_tried_both_ways(what_if):
    s, rows, _ = what_if
    assert {lv for lv, _ in rows} == set(LEVER_NAMES)
    assert rows[("provisioning", 1)].get("delta") and ("provisioning", -1) not in rows
    for r in s["levers"]:
        assert "delta" in r or r["skipped_reason"], r


def test_levers_move_the_figures_the_way_they_must(what_if):
    _, rows, _ = what_if

    def d(lever, direction, key):
        return rows[(lever, direction)]["delta"][key]

    # cheaper or more efficient: never more expensive; the opposite step the other way
    assert d("pue", 1, "facility_mw_mean") < 0 < d("pue", -1, "facility_mw_mean")
    assert d("pue", 1, "provisioned_mw_peak") < 0
    assert (
        d("electricity", 1, "fleet_cost_usd_per_year")
        < 0
        < d("electricity", -1, "fleet_cost_usd_per_year")
    )
    assert d("electricity", 1, "gpus_used_mean") == pytest.approx(0, abs=1)
    assert d("mfu", 1, "work_cost_usd_per_year") < 0 < d("mfu", -1, "work_cost_usd_per_year")
    assert d("mfu", 1, "gpus_used_mean") < 0  # the run finishes sooner
    assert d("serving", 1, "gpus_used_mean") <= 0 <= d("serving", -1, "gpus_used_mean")
    assert d("demand", -1, "gpus_used_mean") >= 0  # the other way: demand +10%
    assert d("capex", 1, "fleet_cost_usd_per_year") < 0 and d("capex", 1, "facility_mw_mean") == 0
    assert d("amortisation", 1, "fleet_cost_usd_per_year") < 0
    assert d("provisioning", 1, "provisioned_mw_peak") < 0
    # the GB300s arrive a year earlier: clamped to the timeline's start, more capital sooner
    assert d("generation", 1, "fleet_cost_usd_per_year") > 0


def test_variants_reuse_the_base_sizing(what_if):
    _, rows, said = what_if
    # only the HBM lever sizes anything again (training plans at the placed count), and a
    # generation arriving earlier is sized for the training run it is now there for
    current, sized_under = None, set()
    for m in said:
        if m.startswith("what-if: "):
            current = m.removeprefix("what-if: ")
        elif m.startswith(("sizing", "simulating")):
            sized_under.add((current, m.split()[0]))
    assert sized_under <= {("HBM capacity +10%", "sizing"), ("HBM capacity -10%", "sizing"),
                           ("newest generation a year earlier", "sizing")}  # fmt: skip
    assert rows[("hbm", 1)]["delta"]["gpus_used_mean"] <= 0.5


@pytest.mark.parametrize(
    "demand",
    [
        {"daily_active_users": 1e9, "requests_per_user_per_day": 20},
        {"queries_per_s": 2e5},
        {"inferences_per_day": 4e11},
    ],
)
def test_demand_lever_scales_a_feed_however_its_demand_is_given(demand):
    """A recommendation service's demand in any of its three forms grows by one step."""
    from types import SimpleNamespace

    from gigafleet.plan.scenario.sensitivity import STEP, _demand
    from gigafleet.spec.scenario import RecommendationService

    site = site_doc("a", count=8, power_mw=10)
    feed = RecommendationService(name="feed", **demand)
    scn = scenario_of([site], {"recommendation": [feed.model_dump(exclude_none=True)]})
    state = SimpleNamespace(fit_cache={}, plans={})  # _demand only copies the scenario
    v = _demand(Base(scn=scn, catalog=None, state=state, result={}), 1)
    before = feed.queries_per_day
    after = v.scn.workloads.recommendation[0].queries_per_day
    assert after == pytest.approx(before * (1 + STEP))
