"""Resolving pools: one per fleet deployment, its site's cooling and PUE; the policies that
keep work off a pool and the reason that binds."""

import pytest

from gigafleet.plan.scenario import resolve, run_scenario
from gigafleet.plan.scenario.pools import binding, eligible
from gigafleet.spec.scenario import month_index
from scenariohelp import scenario_of, site_doc


def test_site_pue_follows_cooling():
    air = run_scenario(scenario_of([site_doc("a")], {})).sites[0]  # DGX H100: air-cooled
    liquid = run_scenario(scenario_of([site_doc("a", cooling="liquid")], {})).sites[0]
    assert (air["cooling"], air["pue"]) == ("air", 1.5)
    assert liquid["pue"] == pytest.approx(1.10)


def test_one_pool_per_deployment_with_its_gpus_and_dates(catalog):
    a = site_doc("a")
    a["fleet"].append({"system": "dgx-h100", "count": 3, "arrive": "2026-04", "retire": "2027-01"})
    scn = scenario_of([a, site_doc("b", kind="cloud", price_usd_per_gpu_hour=2.0, count=5)], {})
    pools = resolve(scn, catalog)
    assert [(p.index, p.where, p.site, p.num_gpus) for p in pools] == [
        (0, ("sites", 0, "fleet", 0), "a", 64 * 8),
        (1, ("sites", 0, "fleet", 1), "a", 3 * 8),
        (2, ("sites", 1, "fleet", 0), "b", 5 * 8),
    ]
    later = pools[1]
    assert (later.arrive, later.retire) == (month_index("2026-04"), month_index("2027-01"))
    assert not later.active(month_index("2026-03")) and later.active(month_index("2026-04"))
    assert not later.active(month_index("2027-01"))
    assert pools[2].site_kind == "cloud" and pools[2].price_usd_per_gpu_hour == 2.0


def test_policies_keep_work_off_pools(catalog):
    sites = [site_doc("plain"), site_doc("cloud", kind="cloud", price_usd_per_gpu_hour=3.0)]
    scn = scenario_of(sites, {}, policies={"cloud_bursting": False})
    plain, cloud = resolve(scn, catalog)
    assert eligible(scn, "x", plain, private=False, training=False) is None
    assert "TEE" in eligible(scn, "x", plain, private=True, training=False)
    assert "bursting" in eligible(scn, "x", cloud, private=False, training=False)


def test_binding_names_capacity_before_rules():
    assert binding([]) == "GPUs: no pool in service"
    assert binding(["policy: p", "memory: m", "power: w", "GPUs: g"]) == "GPUs: g"
    assert binding(["policy: p", "memory: m", "power: w"]) == "power: w"
    assert binding(["policy: p", "memory: m"]) == "memory: m"
    assert binding(["other", "policy: p"]) == "policy: p"
    assert binding(["other"]) == "other"
