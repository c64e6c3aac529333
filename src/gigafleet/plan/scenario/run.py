"""Run a scenario: the stages in order, over one ``ScenarioState``.

resolve pools (``state.new_state``) -> place training (sizing each run on the pools it
could use) -> service options (sizing each service on each pool) -> place services (one
program per period) -> account (the rows the report shows).
"""

from __future__ import annotations

from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.plan.scenario.account import ScenarioResult, account
from gigafleet.plan.scenario.place_services import place_services, service_options
from gigafleet.plan.scenario.place_training import place_training
from gigafleet.plan.scenario.power import check_idle_under_cap
from gigafleet.plan.scenario.state import Progress, ScenarioState, new_state
from gigafleet.spec.scenario import Scenario, scenario_catalog


def run_scenario(
    scn: Scenario, *, catalog: Catalog | None = None, progress: Progress | None = None
) -> ScenarioResult:
    """Size, place and account for every workload of ``scn`` over its timeline.

    Args:
        scn: The scenario (``spec.scenario.load_scenario``).
        catalog: Hardware, model and price catalog; the shipped one by default. The
            scenario's own overlay (its ``catalog:`` key) is applied on top.
        progress: Called with a short message as each stage starts (sizing a workload on a
            system, placing a period, simulating a service).

    Returns:
        The result; ``to_dict()`` is what the report and ``gigafleet compare`` read.
    """
    return run_state(scn, catalog=catalog, progress=progress)[0]


def run_state(
    scn: Scenario,
    *,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    fits: dict[tuple[Any, ...], Any] | None = None,
    plans: dict[tuple[Any, ...], Any] | None = None,
    simulate: bool = True,
) -> tuple[ScenarioResult, ScenarioState]:
    """:func:`run_scenario`, also handing back the state; ``fits`` and ``plans`` seed the
    sizing caches (what-if variants share the sizing their lever does not touch) and
    ``simulate=False`` skips the request simulation of the accounted services."""
    catalog = scenario_catalog(scn, catalog or load_catalog())
    state = new_state(scn, catalog, progress=progress or (lambda _msg: None))
    if fits:
        state.fit_cache.update(fits)
    if plans:
        state.plans.update(plans)
    check_idle_under_cap(state)
    place_training(state)
    service_options(state)
    place_services(state)
    return account(state, simulate=simulate), state
