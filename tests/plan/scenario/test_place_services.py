"""Service placement: each policy, owned before rented, power caps, whole replicas, and the
constraint named when a service falls short."""

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.plan.scenario import run_scenario
from scenariohelp import ASSISTANT, PRIVATE, scenario_of, site_doc


def test_private_work_only_on_tee_sites():
    scn = scenario_of([site_doc("plain"), site_doc("secure", tee=True)], {"private": [PRIVATE]})
    r = run_scenario(scn)
    (svc,) = r.services
    assert svc["demand_met"] == pytest.approx(1.0)
    assert {p["site"] for p in svc["placement"]} == {"secure"}


def test_private_work_without_tee_site_is_unplaced_by_policy():
    r = run_scenario(scenario_of([site_doc("plain")], {"private": [PRIVATE]}))
    (u,) = r.unplaced
    assert u["workload"] == "private" and u["binding"].startswith("policy")


def test_residency_keeps_work_in_its_region():
    scn = scenario_of(
        [site_doc("us-1", power_mw=100), site_doc("eu-1", region="eu", power_mw=100)],
        {"llm_services": [ASSISTANT]},
        policies={"residency": {"chat": ["eu"]}},
    )
    (svc,) = run_scenario(scn).services
    assert {p["site"] for p in svc["placement"]} == {"eu-1"}


def test_cloud_bursting_off_keeps_work_on_owned_sites():
    sites = [
        site_doc("owned", count=1),
        site_doc("cloud", kind="cloud", price_usd_per_gpu_hour=3.0),
    ]
    big = {**ASSISTANT, "requests_per_day": 5e8}
    on = run_scenario(scenario_of(sites, {"llm_services": [big]}))
    assert "cloud" in {p["site"] for p in on.services[0]["placement"]}
    off = run_scenario(
        scenario_of(sites, {"llm_services": [big]}, policies={"cloud_bursting": False})
    )
    assert {p["site"] for p in off.services[0]["placement"]} <= {"owned"}
    assert off.unplaced and off.unplaced[0]["binding"].startswith("GPUs")


def test_owned_gpus_are_used_before_cloud_ones():
    sites = [
        site_doc("owned", count=64),
        site_doc("cloud", kind="cloud", price_usd_per_gpu_hour=3.0),
    ]
    (svc,) = run_scenario(scenario_of(sites, {"llm_services": [ASSISTANT]})).services
    assert {p["site"] for p in svc["placement"]} == {"owned"}


def test_power_cap_binds():
    # 512 H100s idle at about 0.2 MW: 0.25 MW leaves room for a few busy GPUs only
    big = {**ASSISTANT, "requests_per_day": 5e8}
    r = run_scenario(scenario_of([site_doc("tight", power_mw=0.25)], {"llm_services": [big]}))
    (u,) = r.unplaced
    assert u["binding"].startswith("power")
    site = r.periods[0]["sites"][0]
    # 64 DGX H100 rated 10.2 kW each need about 1 MW provisioned: the warning says so
    assert site["binding"].startswith("power: rated provisioning") and site["gpus_used"] < 512
    assert any(w.startswith("power: tight provisions") for w in r.warnings)
    # provisioned for what the site draws instead, it is the draw that binds
    pol = {"power": {"provision_for": "percentile", "percentile": 99}}
    r = run_scenario(
        scenario_of([site_doc("tight", power_mw=0.25)], {"llm_services": [big]}, policies=pol)
    )
    site = r.periods[0]["sites"][0]
    assert site["binding"].startswith("power: peak-hour draw")
    assert site["provisioned_mw"] <= site["cap_mw"] + 1e-9 < site["rated_mw"]


def test_a_cap_below_the_idle_draw_is_one_error_naming_the_site():
    with pytest.raises(
        GigafleetError, match=r"sites.0.power_mw: the idle draw .* tiny .* at least 0.2"
    ) as e:
        run_scenario(scenario_of([site_doc("tiny", power_mw=0.1)], {"llm_services": [ASSISTANT]}))
    assert e.value.loc == ("sites", 0, "power_mw")


def test_services_are_placed_in_whole_replicas():
    big = {**ASSISTANT, "model": "llama3.1-70b", "requests_per_day": 3e7}
    (svc,) = run_scenario(
        scenario_of([site_doc("a", count=64, power_mw=100)], {"llm_services": [big]})
    ).services
    g = svc["replica"]["gpus_per_replica"]
    assert g > 1 and all(p["gpus"] % g == 0 for p in svc["placement"])
