"""Power per site and period: provisioned for what is installed (by policy) against the cap,
the draw's mean for the bill, headroom and racks that fit, capping, and what binds."""

import pytest

from gigafleet.energy.provisioning import system_rating
from gigafleet.plan.scenario import run_scenario
from scenariohelp import ASSISTANT, RUN_8B, scenario_of, site_doc

BIG = {**ASSISTANT, "requests_per_day": 1e8}


def _site(r, k=0):
    return r.periods[k]["sites"][0]


def test_rated_provisioning_is_the_nameplate_of_what_is_installed(catalog):
    r = run_scenario(scenario_of([site_doc("a", count=64, power_mw=5)], {"llm_services": [BIG]}))
    s = _site(r)
    rating = system_rating("dgx-h100", catalog=catalog)
    pue = r.sites[0]["pue"]
    assert s["provision_for"] == "rated"
    assert s["rated_mw"] == pytest.approx(64 * (rating.rated_w + rating.switch_w) * pue / 1e6)
    assert s["provisioned_mw"] == s["rated_mw"] > s["expected_peak_mw"] > s["draw_peak_mw"]
    # the bill is the mean draw: below the peak hour the services are sized for (the hourly
    # samples of the day's cosine come within 1% of its peak)
    assert s["draw_mean_mw"] < s["facility_mw"]
    assert s["draw_peak_mw"] == pytest.approx(s["facility_mw"], rel=0.01)
    assert s["headroom_mw"] == pytest.approx(s["cap_mw"] - s["provisioned_mw"])
    per_rack = (rating.rated_w + rating.switch_w) * pue / 1e6
    assert s["racks_that_fit"] == {"dgx-h100": int(s["headroom_mw"] // per_rack)}
    assert s["binding"].startswith("none") and "GPUs idle" in s["binding"]


def test_percentile_provisioning_oversubscribes_and_fits_more_racks():
    sites = [site_doc("a", count=64, power_mw=5)]
    rated = _site(run_scenario(scenario_of(sites, {"llm_services": [BIG]})))
    pol = {"power": {"provision_for": "percentile", "percentile": 95}}
    p95 = _site(run_scenario(scenario_of(sites, {"llm_services": [BIG]}, policies=pol)))
    assert p95["provisioned_mw"] == pytest.approx(p95["draw_percentile_mw"])
    assert p95["provisioned_mw"] < rated["provisioned_mw"]
    assert p95["racks_that_fit"]["dgx-h100"] > rated["racks_that_fit"]["dgx-h100"]


def test_training_swings_are_capped_at_the_cap_and_the_cost_is_shown():
    # a run sized to the site's room at its mean power swings above the cap in its
    # compute-bound phases: capping holds it there and costs throughput
    r = run_scenario(
        scenario_of([site_doc("a", count=256, power_mw=1.0)], {"training": [RUN_8B]},
                    policies={"power": {"provision_for": "percentile"}})
    )  # fmt: skip
    s = _site(r)
    assert r.training, r.unplaced
    if s["draw_peak_mw"] > s["cap_mw"]:
        assert s["capping"]["time_capped"] > 0 and 0 < s["capping"]["throughput_loss"] < 1
        assert any("capping holds a" in w for w in r.warnings)
    else:
        assert s["capping"]["throughput_loss"] == 0


def test_placement_lists_every_workload_by_site_system_and_period():
    r = run_scenario(
        scenario_of([site_doc("a", count=256, power_mw=100)],
                    {"training": [RUN_8B], "llm_services": [ASSISTANT]})
    )  # fmt: skip
    kinds = {(p["workload"], p["kind"], p["site"], p["system"]) for p in r.placement}
    assert kinds == {("r", "training", "a", "dgx-h100"), ("chat", "llm", "a", "dgx-h100")}
    (t,) = r.training
    held = sum(p["gpus"] for p in r.placement if p["workload"] == "r")
    assert 0 < held <= t["num_gpus"]  # the share of the period the run holds its GPUs
