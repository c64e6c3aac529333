"""Accounting: the per-period rows follow the fleet as generations arrive and retire."""

from gigafleet.plan.scenario import run_scenario
from gigafleet.spec.scenario import Scenario
from scenariohelp import site_doc


def test_generations_in_rollout_arrive_and_retire():
    site = site_doc("a")
    site["fleet"] = [
        {"system": "dgx-h100", "count": 10, "arrive": "2026-01", "retire": "2027-01"},
        {"system": "gb300-nvl72", "count": 2, "arrive": "2026-07", "usd_per_gpu": 50000},
    ]
    scn = Scenario.model_validate(
        {
            "name": "t",
            "timeline": {"start": "2026-01", "end": "2027-01", "step_months": 6},
            "sites": [site],
            "workloads": {},
        }  # fmt: skip
    )
    r = run_scenario(scn)
    gens = [p["sites"][0]["gpus_by_generation"] for p in r.periods]
    assert gens == [
        {"hopper": 80},
        {"hopper": 80, "blackwell-ultra": 144},
        {"blackwell-ultra": 144},
    ]
