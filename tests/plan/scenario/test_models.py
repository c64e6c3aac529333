"""The models a scenario leans on: what a GPU-hour costs owned or rented, and the error when
an owned system has no price."""

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.plan.scenario import Models, resolve, run_scenario
from scenariohelp import ASSISTANT, scenario_of, site_doc


def test_cloud_only_fleet_needs_no_capital_price():
    cloud = site_doc("c", kind="cloud", system="gb300-nvl72", count=4, price_usd_per_gpu_hour=5.0)
    (svc,) = run_scenario(scenario_of([cloud], {"llm_services": [ASSISTANT]})).services
    assert svc["demand_met"] == pytest.approx(1.0)
    # rented: the cost is the price per GPU-hour, nothing else
    assert svc["cost_usd_per_hour"] == pytest.approx(5.0 * svc["gpus"])


def test_owned_system_without_a_price_names_its_fleet_entry(catalog):
    scn = scenario_of([site_doc("a"), site_doc("b", system="dgx-b200", count=1)], {})
    models = Models(catalog, scn)
    priced, unpriced = resolve(scn, catalog)
    models.inputs(priced)
    with pytest.raises(GigafleetError, match="no sourced server price") as e:
        models.inputs(unpriced)
    assert e.value.field == "sites.1.fleet.0.usd_per_gpu" and e.value.loc == unpriced.where


def test_a_busy_owned_gpu_costs_its_electricity_above_idle(catalog):
    scn = scenario_of([site_doc("a"), site_doc("c", kind="cloud", price_usd_per_gpu_hour=3.0)], {})
    models = Models(catalog, scn)
    owned, cloud = resolve(scn, catalog)
    idle = models.idle_w_per_gpu(owned.system, owned.cooling)
    assert models.marginal_usd_per_gpu_hour(owned, idle) == 0.0
    busy = models.it_w_per_gpu(owned.system, compute_frac=1.0, memory_frac=0.0)
    assert busy > idle and models.marginal_usd_per_gpu_hour(owned, busy) > 0
    # full cost includes capital: well above the electricity alone
    assert models.full_usd_per_gpu_hour(owned, busy) > 5 * models.marginal_usd_per_gpu_hour(
        owned, busy
    )
    assert models.marginal_usd_per_gpu_hour(cloud, busy) == 3.0
    assert models.full_usd_per_gpu_hour(cloud, busy) == 3.0
