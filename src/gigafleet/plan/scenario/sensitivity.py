"""What one point is worth: each lever the model has, moved one step each way, and what it
changes in GPUs, MW and dollars a year (the terms operators justify software and
infrastructure work in).

A lever changes the scenario, the catalog or the sizing, and each variant re-runs only
what it touches (``run.run_state`` seeded with the base run's fits and training plans;
placement and accounting always run again, the request simulation of each service's SLO
never does):

============  ===================================  ==========================================
lever         one step                             re-runs
============  ===================================  ==========================================
mfu           training MFU +/- 1 point             training fits scaled: tokens/s x (MFU +
                                                   0.01) / MFU, days by its inverse
serving       LLM tokens per GPU +/- 10%           service fits scaled (software: kernels,
                                                   batching)
pue           PUE -/+ 0.05 at every owned site     placement and accounting
electricity   electricity price -/+ 10%            placement and accounting
hbm           HBM capacity +/- 10%                 services sized again on the analytic model
                                                   with the base run's SLO derating; the
                                                   placed training runs planned again at
                                                   their GPU count
generation    newest generation a year earlier /   placement and accounting (services' fits
              later                                are per system kind, already made); a
                                                   training run sized on it if it is now in
                                                   service at the run's start
capex         system and network capital -/+ 10%   accounting
rent          cloud prices -/+ 10%                 placement and accounting
demand        service demand +/- 10%               placement and accounting
amortisation  hardware amortisation +/- 1 year     accounting
provisioning  provision for p99 of the draw        accounting (oversubscription)
              instead of nameplate (one way)
============  ===================================  ==========================================

The figures compared: GPUs in use (mean over the timeline), the owned sites' mean facility
draw (MW) and peak provisioned power, the cost of the work a year (the GPU-hours in use at
their full cost: what efficiency frees) and the fleet's cost a year (capital of everything
installed, electricity, rent).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gigafleet.catalog import Catalog
from gigafleet.plan.scenario.account import ScenarioResult
from gigafleet.plan.scenario.models import Models
from gigafleet.plan.scenario.pools import deployment_pue
from gigafleet.plan.scenario.run import run_state
from gigafleet.plan.scenario.size import size_llm, size_recsys
from gigafleet.plan.scenario.state import Progress, ScenarioState
from gigafleet.spec.scenario import (
    LlmService,
    RecommendationService,
    Scenario,
    month_index,
    month_text,
)

#: The figures a lever is judged by (``ScenarioResult.totals()``), with their units.
METRICS = {
    "gpus_used_mean": "GPUs",
    "facility_mw_mean": "MW",
    "provisioned_mw_peak": "MW",
    "work_cost_usd_per_year": "$/year",
    "fleet_cost_usd_per_year": "$/year",
}
MFU_POINT = 0.01
STEP = 0.10
PUE_STEP = 0.05
MONTHS_PER_GENERATION = 12  # NVIDIA's yearly cadence (Blackwell 2024-25, Ultra 2025, Rubin 2026)


@dataclass
class Base:
    """The run every variant starts from."""

    scn: Scenario
    catalog: Catalog  # with the scenario's own overlay applied
    state: ScenarioState
    result: ScenarioResult


@dataclass
class Variant:
    """A scenario, catalog and seeded sizing caches for one lever and direction."""

    scn: Scenario
    catalog: Catalog
    fits: dict[tuple[Any, ...], Any]
    plans: dict[tuple[Any, ...], Any]


Apply = Callable[[Base, int], "Variant | str"]


@dataclass(frozen=True)
class Lever:
    name: str
    up: str  # what the step does (direction +1: the improvement)
    down: str  # ... and the other way (empty: one way only)
    apply: Apply


def _copy(base: Base, **fields: Any) -> Variant:
    scn = base.scn.model_copy(deep=True)
    scn.catalog = None  # already in base.catalog
    return Variant(scn=scn, catalog=fields.get("catalog", base.catalog),
                   fits=dict(base.state.fit_cache), plans=dict(base.state.plans))  # fmt: skip


def _is_training(key: tuple[Any, ...]) -> bool:
    return len(key) > 4


def _service(base: Base, name: str) -> Any:
    return next((s for s in base.state.services if s.name == name), None)


# ---- the levers --------------------------------------------------------------------------------


def _mfu(base: Base, d: int) -> Variant | str:
    """Training fits at MFU + d points: tokens/s x (MFU + d) / MFU (exact, by the definition
    of MFU), the days by its inverse; power per GPU unchanged (an approximation)."""
    v = _copy(base)
    runs = {r.name: r for r in base.scn.workloads.training}
    if not runs:
        return "no training runs"

    def scaled(detail: dict[str, Any]) -> dict[str, Any]:
        mfu = detail["mfu"]
        r = max(mfu + d * MFU_POINT, 1e-6) / mfu
        out = {**detail, "mfu": mfu * r, "tokens_per_s": detail["tokens_per_s"] * r,
               "days": detail["days"] / r, "ideal_days": detail["ideal_days"] / r}  # fmt: skip
        return out

    for key, f in list(v.fits.items()):
        if _is_training(key) and f.capacity_per_gpu > 0:
            det = scaled(f.detail)
            det["meets_deadline"] = det["days"] <= runs[key[0]].deadline_days
            v.fits[key] = dataclasses.replace(
                f, capacity_per_gpu=det["tokens_per_s"] / det["num_gpus"], detail=det
            )
    v.plans = {k: (scaled(p) if p else p) for k, p in v.plans.items()}
    return v


def _serving(base: Base, d: int) -> Variant | str:
    v = _copy(base)
    hit = False
    for key, f in list(v.fits.items()):
        svc = _service(base, key[0])
        if isinstance(svc, LlmService) and f.capacity_per_gpu > 0:
            v.fits[key] = dataclasses.replace(
                f, capacity_per_gpu=f.capacity_per_gpu * (1 + d * STEP)
            )
            hit = True
    return v if hit else "no LLM services"


def _pue(base: Base, d: int) -> Variant | str:

    v = _copy(base)
    for site in v.scn.sites:
        if site.kind == "owned":
            pue = deployment_pue(site, site.fleet[0], base.catalog)
            site.pue = max(1.0, pue - d * PUE_STEP)
    return v


def _electricity(base: Base, d: int) -> Variant | str:
    v = _copy(base)
    for site in v.scn.sites:
        site.electricity_usd_per_mwh *= 1 - d * STEP
    return v


def _hbm(base: Base, d: int) -> Variant | str:
    """More (or less) HBM on every accelerator in the fleet: services sized again on the
    analytic model with the base run's SLO derating, training planned again at the placed
    GPU counts (plans at other counts are kept)."""

    accs = sorted({p.accelerator for p in base.state.pools})
    overlay = {"accelerators": [{"name": a, "hbm_gib": base.catalog.accelerator(a).hbm_gib * (1 + d * STEP)} for a in accs]}  # fmt: skip
    cat = base.catalog.with_overlay(overlay, file=f"sensitivity: HBM x{1 + d * STEP:g}")
    v = _copy(base, catalog=cat)
    models = Models(cat, v.scn)
    for key, f in list(v.fits.items()):
        if _is_training(key):
            del v.fits[key]
            continue
        svc = _service(base, key[0])
        pool = next(p for p in base.state.pools
                    if (p.system, p.fabric, p.cooling) == tuple(key[1:4]))  # fmt: skip
        if isinstance(svc, RecommendationService):
            v.fits[key] = size_recsys(svc, pool, cat, models)
        else:
            v.fits[key] = size_llm(svc, pool, cat, models, derate=f.detail.get("slo_derate", 1.0))
    for t in base.state.training:
        key = (t.run.name, t.pool.system, t.pool.fabric, t.fit.detail["num_gpus"])
        v.plans.pop(key, None)
    return v


def _generation(base: Base, d: int) -> Variant | str:
    pools = base.state.pools
    newest = max(pools, key=lambda p: p.arrive)
    if all(p.generation == newest.generation for p in pools):
        return "one generation only"
    start = month_index(base.scn.timeline.start)
    v = _copy(base)
    moved = False
    for site in v.scn.sites:
        for dep in site.fleet:
            sysrow = base.catalog.system(dep.system)
            if base.catalog.accelerator(sysrow.accelerator).generation != newest.generation:
                continue
            m = month_index(dep.arrive) - d * MONTHS_PER_GENERATION
            m = max(m, start)
            if dep.retire is not None and m >= month_index(dep.retire):
                continue
            if m != month_index(dep.arrive):
                dep.arrive = month_text(m)
                moved = True
    return v if moved else "the newest generation cannot move"


def _scaled_item(item: Any, factor: float, why: str) -> dict[str, Any]:
    return {**item.model_dump(), "value": item.value * factor,
            "source": f"{item.source or item.why} ({why})"}  # fmt: skip


def _capex(base: Base, d: int) -> Variant | str:
    f = 1 - d * STEP
    prices = base.catalog.params.prices
    why = f"sensitivity: capital x{f:g}"
    overlay = {"prices": {
        "capital": {k: _scaled_item(i, f, why) for k, i in prices.capital.items()},
        "network_usd_per_port": {k: _scaled_item(i, f, why) for k, i in prices.network_usd_per_port.items()},
    }}  # fmt: skip
    v = _copy(base, catalog=base.catalog.with_overlay(overlay, file=why))
    for site in v.scn.sites:
        for dep in site.fleet:
            if dep.usd_per_gpu:
                dep.usd_per_gpu *= f
    return v


def _rent(base: Base, d: int) -> Variant | str:
    f = 1 - d * STEP
    prices = base.catalog.params.prices
    why = f"sensitivity: rent x{f:g}"
    cloud = {
        name: {"prices": {k: _scaled_item(i, f, why) for k, i in e.prices.items()}}
        for name, e in prices.cloud.items()
    }
    overlay = {"prices": {"cloud": cloud,
                          "cloud_usd_per_gpu_hour": _scaled_item(prices.cloud_usd_per_gpu_hour, f, why)}}  # fmt: skip
    v = _copy(base, catalog=base.catalog.with_overlay(overlay, file=why))
    for site in v.scn.sites:
        if site.price_usd_per_gpu_hour:
            site.price_usd_per_gpu_hour *= f
    return v


def _demand(base: Base, d: int) -> Variant | str:
    v = _copy(base)
    w = v.scn.workloads
    services = [*w.llm_services, *w.personalized, *w.private, *w.recommendation]
    if not services:
        return "no services"
    f = 1 + d * STEP
    for s in services:
        if isinstance(s, RecommendationService):
            if s.inferences_per_day is not None:
                s.inferences_per_day *= f
            elif s.queries_per_s is not None:
                s.queries_per_s *= f
            else:  # users x requests per user: more users
                s.daily_active_users = float(s.daily_active_users or 0.0) * f
        else:
            s.requests_per_day *= f
    return v


def _amortisation(base: Base, d: int) -> Variant | str:
    v = _copy(base)
    v.scn.amortization_years = max(1.0, v.scn.amortization_years + d)
    return v


def _provisioning(base: Base, d: int) -> Variant | str:
    if d < 0:
        return "one way only"
    v = _copy(base)
    pol = v.scn.policies.power
    if pol.provision_for == "percentile":
        return "already provisioned for a percentile of the draw"
    pol.provision_for = "percentile"
    pol.percentile = 99.0
    return v


LEVERS: tuple[Lever, ...] = (
    Lever("mfu", "training MFU +1 point", "training MFU -1 point", _mfu),
    Lever("serving", "serving throughput +10%", "serving throughput -10%", _serving),
    Lever("pue", "PUE -0.05", "PUE +0.05", _pue),
    Lever("electricity", "electricity price -10%", "electricity price +10%", _electricity),
    Lever("hbm", "HBM capacity +10%", "HBM capacity -10%", _hbm),
    Lever(
        "generation",
        "newest generation a year earlier",
        "newest generation a year later",
        _generation,
    ),  # fmt: skip
    Lever("capex", "capital -10%", "capital +10%", _capex),
    Lever("rent", "cloud prices -10%", "cloud prices +10%", _rent),
    Lever("demand", "service demand -10%", "service demand +10%", lambda b, d: _demand(b, -d)),
    Lever(
        "amortisation",
        "hardware amortised 1 year longer",
        "hardware amortised 1 year shorter",
        _amortisation,
    ),  # fmt: skip
    Lever("provisioning", "provision for p99 of the draw, not nameplate", "", _provisioning),
)
LEVER_NAMES = tuple(lv.name for lv in LEVERS)


def sensitivity(
    base: Base, *, levers: tuple[str, ...] | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Every lever (``levers``: a subset by name), one step each way, against ``base``:
    the figures of ``METRICS`` and their change, with what each variant re-ran and took."""

    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    ref = base.result.totals()
    rows = []
    for lever in LEVERS:
        if levers and lever.name not in levers:
            continue
        for d, label in ((1, lever.up), (-1, lever.down)):
            if not label:
                continue
            say(f"what-if: {label}")
            t = time.perf_counter()
            v = lever.apply(base, d)
            row: dict[str, Any] = {"lever": lever.name, "direction": d, "label": label}
            if isinstance(v, str):
                rows.append({**row, "skipped_reason": v})
                continue
            r, _ = run_state(v.scn, catalog=v.catalog, fits=v.fits, plans=v.plans,
                             simulate=False, progress=progress)  # fmt: skip
            tot = r.totals()
            row["value"] = {k: tot[k] for k in METRICS}
            row["delta"] = {k: tot[k] - ref[k] for k in METRICS}
            row["num_unplaced"] = tot["num_unplaced"]
            row["seconds"] = time.perf_counter() - t
            rows.append(row)
    return {
        "base": {k: ref[k] for k in METRICS},
        "units": METRICS,
        "levers": rows,
        "seconds": time.perf_counter() - t0,
    }


def sensitivity_of(
    scn: Scenario, *, catalog: Catalog | None = None, levers: tuple[str, ...] | None = None,
    progress: Progress | None = None,
) -> tuple[ScenarioResult, dict[str, Any]]:  # fmt: skip
    """Run ``scn`` and every lever against it (``gigafleet sensitivity``)."""

    result, state = run_state(scn, catalog=catalog, progress=progress)
    base = Base(scn=scn, catalog=state.catalog, state=state, result=result)
    return result, sensitivity(base, levers=levers, progress=progress)
