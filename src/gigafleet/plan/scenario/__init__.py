"""A whole scenario: size every workload on every kind of system, place the work on the
fleet period by period, and gather what the report shows.

One module per stage, all sharing one ``ScenarioState`` (``state.py``):

- ``pools``: resolve pools (each site's fleet deployments), the policies that keep work off
  a pool, and the binding reason when no pool can take it;
- ``models``: power, reliability and cost of a pool (energy + reliability + cost chained);
- ``size``: what one GPU of a system kind does for a training run, an LLM service or a
  recommendation service, derated until the request simulator meets the SLO;
- ``place_training``: gang scheduling of training runs over the periods;
- ``place_services``: the per-period placement program (HiGHS) and why a service is short;
- ``account``: per-period rows, energy, cost, own against rent, generations, the result;
- ``compare``: two results side by side;
- ``run``: ``run_scenario``, the stages in order.
"""

from gigafleet.plan.scenario.account import ScenarioResult
from gigafleet.plan.scenario.compare import compare_results, fabric_notes
from gigafleet.plan.scenario.models import Models
from gigafleet.plan.scenario.pools import Pool, resolve
from gigafleet.plan.scenario.run import run_scenario
from gigafleet.plan.scenario.size import Fit, size_llm, size_recsys, size_training
from gigafleet.plan.scenario.state import ScenarioState
from gigafleet.plan.scenario.workloads import daily_profile, peak_demand

__all__ = [
    "Fit",
    "Models",
    "Pool",
    "ScenarioResult",
    "ScenarioState",
    "compare_results",
    "fabric_notes",
    "daily_profile",
    "peak_demand",
    "resolve",
    "run_scenario",
    "size_llm",
    "size_recsys",
    "size_training",
]
