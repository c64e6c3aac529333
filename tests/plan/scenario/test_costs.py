"""Money of a scenario: capital against running cost per period, the cost of the work, and
each owned pool against renting the same system at that system's own price."""

import pytest

from gigafleet.cost import electricity_usd_per_year
from gigafleet.plan.scenario import run_scenario
from scenariohelp import ASSISTANT, scenario_of, site_doc


def test_cost_split_adds_up_and_electricity_follows_the_mean_draw():
    r = run_scenario(
        scenario_of([site_doc("a", count=64, power_mw=5)], {"llm_services": [ASSISTANT]})
    )
    (row,) = r.costs["split"]
    parts = ("capital", "facility", "maintenance", "electricity", "cloud")
    assert row["total_usd_per_year"] == pytest.approx(sum(row[f"{p}_usd_per_year"] for p in parts))
    s = r.periods[0]["sites"][0]
    price = r.sites[0]["electricity_usd_per_mwh"]
    assert row["electricity_usd_per_year"] == pytest.approx(
        float(electricity_usd_per_year(s["draw_mean_mw"] * 1e6, usd_per_mwh=price))
    )
    # 512 H100 at $270k per 8 over five years, and their network
    assert row["capital_usd_per_year"] > 512 * 270000 / 8 / 5
    tot = r.totals()
    assert tot["fleet_cost_usd_per_year"] == pytest.approx(row["total_usd_per_year"])
    assert 0 < tot["work_cost_usd_per_year"] < tot["fleet_cost_usd_per_year"]  # mostly idle


def test_own_or_rent_uses_each_systems_own_price():
    site = site_doc("a", count=8, power_mw=20)
    site["cooling"] = "liquid"
    site["fleet"] = [{"system": "dgx-h100", "count": 64},
                     {"system": "vera-rubin-nvl144", "count": 2}]  # fmt: skip
    scn = scenario_of([site], {"llm_services": [ASSISTANT]})
    scn.timeline.start = scn.timeline.end = "2027-01"
    owned = {r["system"]: r for r in run_scenario(scn).costs["owned"]}
    h100, rubin = owned["dgx-h100"], owned["vera-rubin-nvl144"]
    # a Rubin GPU rents for more than an H100 (no longer one price for every GPU) ...
    assert rubin["cloud_usd_per_gpu_hour"] > 2 * h100["cloud_usd_per_gpu_hour"]
    assert rubin["cloud_price_basis"] == "extrapolated" and h100["cloud_price_basis"] == "projected"
    # ... so owning a Rubin at full use costs less than renting it
    assert rubin["owned_usd_per_gpu_hour_full_use"] < rubin["cloud_usd_per_gpu_hour"]
    assert rubin["basis"]["tag"] == "extrapolated"


def test_a_cloud_site_rents_at_its_systems_catalog_price_along_the_trajectory():
    cloud = site_doc("c", kind="cloud", count=4, system="dgx-h100", cloud_kind="neocloud-on-demand")
    scn = scenario_of([cloud], {"llm_services": [ASSISTANT]})
    scn.timeline.end = "2028-01"
    scn.timeline.step_months = 12
    r = run_scenario(scn)
    rent = [row["cloud_usd_per_year"] for row in r.costs["split"]]
    assert rent[0] > 0
    (svc,) = r.services
    # demand is flat and the price declines: the latest period's rent is the lowest per GPU
    gpus = [sum(p["gpus"] for p in r.placement if p["period"] == k) for k in r.to_dict()["periods"]]
    assert rent[-1] / gpus[-1] < rent[0] / gpus[0]
