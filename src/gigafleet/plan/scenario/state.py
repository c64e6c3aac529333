"""The one state the scenario stages share: what was resolved at the start, and what each
stage adds (fits, GPUs and power reserved per pool and period, replicas placed, rows).

Indices throughout: ``k`` a period of the timeline, ``s`` a site, ``p`` a pool, ``w`` a
service (in ``services_of`` order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gigafleet.catalog import Catalog
from gigafleet.plan.scenario.models import Models
from gigafleet.plan.scenario.pools import Pool, resolve
from gigafleet.plan.scenario.workloads import services_of
from gigafleet.spec.scenario import Scenario, TrainingRun

if TYPE_CHECKING:
    from gigafleet.plan.scenario.size import Fit

Progress = Callable[[str], None]


@dataclass(slots=True)
class TrainingPlacement:
    """A training run gang-scheduled on one pool: ``fit.detail["num_gpus"]`` GPUs from month
    ``start`` for ``days``."""

    run: TrainingRun
    pool: Pool
    fit: Fit
    start: int
    days: float


@dataclass
class ScenarioState:
    """Everything the stages read and write.

    Set by ``new_state`` (resolve): the scenario, catalog, models, progress callback, pools,
    periods, sites, the idle draw and power caps. Then each stage adds its part:

    - ``size.fit_for``: ``fit_cache`` (and ``plans``, training plans by GPU count);
    - ``place_training``: ``reserved``, ``held``, ``training_power``, ``training``,
      ``unplaced`` (runs that fit nowhere);
    - ``place_services.service_options``: ``cap``, ``power``, ``cost``, ``full``,
      ``rep_gpus``, ``why_not``;
    - ``place_services.place_services``: ``demand``, ``placed``, ``unmet``, ``warnings``;
    - ``account``: ``periods`` (per-period site rows) and ``unplaced`` (services short).
    """

    scn: Scenario
    catalog: Catalog
    models: Models
    say: Progress
    pools: list[Pool]
    months: list[int]
    step: int  # months per period
    sites: dict[str, Any]  # the scenario's sites by name
    site_names: list[str]
    site_of: list[int]  # [p] index of the pool's site in ``site_names``
    services: list[Any]
    idle_w: np.ndarray  # [p] facility W of an installed GPU with nothing to do
    idle_site: np.ndarray  # [k, s] facility W of the site's installed GPUs, idle
    cap_w: np.ndarray  # [s] facility W the site may draw (its power times the cap fraction)
    # sizing: fits by workload and system kind; training plans by run, system and GPU count
    fit_cache: dict[tuple[Any, ...], Fit] = field(default_factory=dict)
    plans: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # training placement
    reserved: np.ndarray = field(init=False)  # [k, p] GPUs held by training
    held: np.ndarray = field(init=False)  # [k, p] ... weighted by the share of the period held
    training_power: np.ndarray = field(init=False)  # [k, s] facility W training adds over idle
    training: list[TrainingPlacement] = field(default_factory=list)
    # service options per pool (0 capacity: the pool cannot take the service)
    cap: np.ndarray = field(init=False)  # [w, p] demand units per second per GPU
    power: np.ndarray = field(init=False)  # [w, p] facility W per busy GPU over its idle draw
    cost: np.ndarray = field(init=False)  # [w, p] marginal $ per busy GPU-hour
    full: np.ndarray = field(init=False)  # [w, p] $ per used GPU-hour (capital included)
    rep_gpus: np.ndarray = field(init=False)  # [w, p] GPUs per replica (whole replicas)
    why_not: list[list[str]] = field(init=False)  # [w] why pools cannot take the service
    # service placement
    demand: np.ndarray = field(init=False)  # [k, w] peak demand
    placed: np.ndarray = field(init=False)  # [k, w, p] GPUs placed
    unmet: np.ndarray = field(init=False)  # [k, w] peak demand not served
    # accounting
    periods: list[dict[str, Any]] = field(default_factory=list)
    unplaced: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        num_k, num_s = len(self.months), len(self.site_names)
        num_w, num_p = len(self.services), len(self.pools)
        self.reserved = np.zeros((num_k, num_p))
        self.held = np.zeros((num_k, num_p))
        self.training_power = np.zeros((num_k, num_s))
        self.cap = np.zeros((num_w, num_p))
        self.power = np.zeros((num_w, num_p))
        self.cost = np.zeros((num_w, num_p))
        self.full = np.zeros((num_w, num_p))
        self.rep_gpus = np.ones((num_w, num_p))
        self.why_not = [[] for _ in self.services]
        self.demand = np.zeros((num_k, num_w))
        self.placed = np.zeros((num_k, num_w, num_p))
        self.unmet = np.zeros((num_k, num_w))


def new_state(scn: Scenario, catalog: Catalog, *, progress: Progress) -> ScenarioState:
    """Resolve ``scn``: its pools (every owned system priced before anything is sized), its
    periods and sites, and the idle draw of the installed GPUs, the floor of every site's
    power budget."""
    pools = resolve(scn, catalog)
    models = Models(catalog, scn)
    for pool in pools:
        models.inputs(pool)  # every owned system has a price before anything is sized
    months = scn.timeline.months()
    sites = {s.name: s for s in scn.sites}
    site_names = list(sites)
    site_of = [site_names.index(p.site) for p in pools]
    # facility watts of an installed GPU with nothing to do (it is not switched off); a
    # cloud GPU nobody rents is not ours to power
    idle_w = np.array(
        [0.0 if p.site_kind == "cloud" else models.idle_w_per_gpu(p.system, p.cooling) * p.pue
         for p in pools]
    )  # fmt: skip
    # idle draw of the installed (owned) GPUs per period and site: the floor of every budget
    idle_site = np.zeros((len(months), len(site_names)))
    for k, m in enumerate(months):
        for p, pool in enumerate(pools):
            if pool.active(m):
                idle_site[k, site_of[p]] += pool.num_gpus * idle_w[p]
    cap_w = np.array(
        [sites[n].power_mw * 1e6 * scn.policies.power_cap_fraction for n in site_names]
    )
    return ScenarioState(
        scn=scn,
        catalog=catalog,
        models=models,
        say=progress,
        pools=pools,
        months=months,
        step=scn.timeline.step_months,
        sites=sites,
        site_names=site_names,
        site_of=site_of,
        services=services_of(scn),
        idle_w=idle_w,
        idle_site=idle_site,
        cap_w=cap_w,
    )
