"""Account: what the report shows, from the placed state. Per period and site: GPUs by
generation, use and facility power; per training run: energy, carbon and cost; per service
at its busiest period: capacity, power over the day, cost per token or inference, SLO
attainment and what binds; performance per watt per generation; owning against renting."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.plan.scenario.place_services import binding_service
from gigafleet.plan.scenario.pools import Pool, site_cooling, site_pue
from gigafleet.plan.scenario.refresh import refresh_fields
from gigafleet.plan.scenario.size import fit_for, slo_attainment
from gigafleet.plan.scenario.state import ScenarioState
from gigafleet.plan.scenario.workloads import daily_profile, demand_unit, service_kind
from gigafleet.spec.scenario import AdapterRefresh, RecommendationService, month_text

#: Unmet demand below this share of the demand is whole-replica rounding, not a shortfall.
UNMET_TOLERANCE = 1e-3
#: Hours in a year (365.25 days): a year of serving at the peak hour's cost.
HOURS_PER_YEAR = 8766


@dataclass
class ScenarioResult:
    """What a scenario run hands back: the rows of each part of the report."""

    scenario: str
    months: list[int]
    pools: list[Pool]
    sites: list[dict[str, Any]]
    periods: list[dict[str, Any]]
    training: list[dict[str, Any]]
    services: list[dict[str, Any]]
    generations: list[dict[str, Any]]
    costs: dict[str, Any]
    unplaced: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary (``summary.json``), which the HTML report is built from."""
        return {
            "scenario": self.scenario,
            "periods": [month_text(m) for m in self.months],
            "sites": self.sites,
            "timeline": self.periods,
            "training": self.training,
            "services": self.services,
            "generations": self.generations,
            "costs": self.costs,
            "unplaced": self.unplaced,
            "warnings": self.warnings,
            "totals": self.totals(),
        }

    def totals(self) -> dict[str, float]:
        """Headline figures (what ``gigafleet compare`` sets side by side)."""
        mw = [sum(s["facility_mw"] for s in p["sites"]) for p in self.periods]
        gpus = [sum(s["gpus"] for s in p["sites"]) for p in self.periods]
        served = [s for s in self.services if s.get("gpus", 0) > 0]
        return {
            "gpus_peak": float(max(gpus, default=0)),
            "facility_mw_peak": float(max(mw, default=0.0)),
            "training_days_max": float(max((t["days"] for t in self.training), default=0.0)),
            "training_cost_usd": float(sum(t["cost_usd"] for t in self.training)),
            "training_energy_gwh": float(sum(t["energy_gwh"] for t in self.training)),
            "serving_cost_usd_per_year": float(
                sum(s["cost_usd_per_hour"] for s in served) * HOURS_PER_YEAR
            ),
            "slo_attainment_min": float(
                min((s["slo_attainment"] for s in self.services), default=1.0)
            ),
            "num_unplaced": float(len(self.unplaced)),
        }


def account(state: ScenarioState) -> ScenarioResult:
    """Gather the report's rows from the placed ``state``: periods, training runs, services
    (with the services that fall short added to ``state.unplaced``), generations, costs."""
    scn = state.scn
    state.periods = [period_row(state, k) for k in range(len(state.months))]
    training = [training_row(state, t) for t in state.training]
    services = [service_row(state, w) for w in range(len(state.services))]
    return ScenarioResult(
        scenario=scn.name,
        months=state.months,
        pools=state.pools,
        sites=[
            {
                "name": s.name,
                "kind": s.kind,
                "region": s.region,
                "power_mw": s.power_mw,
                "pue": site_pue(s, state.catalog),
                "cooling": site_cooling(s, state.catalog),
                "confidential_computing": s.confidential_computing,
            }
            for s in scn.sites
        ],  # fmt: skip
        periods=state.periods,
        training=training,
        services=services,
        generations=generations(state),
        costs=own_vs_rent(state),
        unplaced=state.unplaced,
        warnings=state.warnings,
    )


# ---- per-period rows ---------------------------------------------------------------------------


def period_row(state: ScenarioState, k: int) -> dict[str, Any]:
    """Per site in period ``k``: GPUs by generation, use, and facility power (the idle draw
    of the installed GPUs plus what training and the placed services add)."""
    month, scn, sites = state.months[k], state.scn, state.sites
    reserved, placed, power = state.reserved[k], state.placed[k], state.power
    base_w = state.training_power[k] + state.idle_site[k]
    rows = []
    for i, name in enumerate(state.site_names):
        site = sites[name]
        mine = [p for p in state.pools if p.site == name and p.active(month)]
        by_gen: dict[str, int] = {}
        for p in mine:
            by_gen[p.generation] = by_gen.get(p.generation, 0) + p.num_gpus
        used = {p.system: 0.0 for p in mine}
        free = {p.system: 0.0 for p in mine}
        serving_w = 0.0
        for p in mine:
            n_used = reserved[p.index] + placed[:, p.index].sum()
            used[p.system] += n_used
            free[p.system] += max(p.num_gpus - n_used, 0.0)
            serving_w += float(np.sum(placed[:, p.index] * power[:, p.index]))
        facility = serving_w + base_w[i]
        rows.append(
            {
                "site": name,
                "gpus": int(sum(p.num_gpus for p in mine)),
                "gpus_by_generation": by_gen,
                "gpus_used": float(sum(used.values())),
                "free_gpus": free,
                "facility_mw": facility / 1e6,
                "it_mw": facility / next(p.pue for p in state.pools if p.site == name) / 1e6,
                "cap_mw": site.power_mw * scn.policies.power_cap_fraction,
            }
        )
    return {"period": month_text(month), "sites": rows}


# ---- training ----------------------------------------------------------------------------------


def training_row(state: ScenarioState, t: Any) -> dict[str, Any]:
    """A placed run: its fit's figures, power, energy, carbon and cost (its GPUs' full cost
    per used hour over the run's wall-clock time)."""
    run, pool, f, days = t.run, t.pool, t.fit, t.days
    n = f.detail["num_gpus"]
    it_w = n * f.power_w_per_gpu
    hours = days * 24
    it_energy_j = it_w * days * 86400
    energy_j = it_energy_j * pool.pue
    gpu_hour = state.models.full_usd_per_gpu_hour(pool, f.power_w_per_gpu)
    return {
        "workload": run.name,
        "model": f.detail.get("model", run.model),
        "site": pool.site,
        "system": pool.system,
        "generation": pool.generation,
        **{k: v for k, v in f.detail.items() if k != "strategy"},
        "strategy": f.detail["strategy"],
        "deadline_days": run.deadline_days,
        "start": run.start,
        "it_mw": it_w / 1e6,
        "facility_mw": it_w * pool.pue / 1e6,
        "energy_gwh": energy_j / 3.6e12,
        "carbon_t": energy_j / 3.6e6 * pool.grid_gco2_per_kwh / 1e6,
        "tokens_per_it_joule": run.tokens / it_energy_j,
        "cost_usd": gpu_hour * n * hours,
        "cost_usd_per_gpu_hour": gpu_hour,
    }


# ---- services ----------------------------------------------------------------------------------


def service_row(state: ScenarioState, w: int) -> dict[str, Any]:
    """Service ``w`` at its busiest period (the worst shortfall; with none, the latest
    peak-demand period): capacity, power and cost at the peak and over the day, the
    simulated SLO attainment, and what binds when it falls short (then also added to
    ``state.unplaced``)."""
    svc = state.services[w]
    months, pools = state.months, state.pools
    demand, unmet, placed = state.demand, state.unmet, state.placed
    cap, power, full, idle_w = state.cap, state.power, state.full, state.idle_w
    # the period of the worst shortfall; with none, the (latest) peak-demand period
    with np.errstate(divide="ignore", invalid="ignore"):
        short = np.where(demand[:, w] > 0, unmet[:, w] / demand[:, w], 0.0)
    if short.max(initial=0.0) > UNMET_TOLERANCE:
        k = int(np.argmax(short))
    else:
        k = len(months) - 1 - int(np.argmax(demand[::-1, w]))
    d = float(demand[k, w])
    got = float(np.sum(placed[k, w] * cap[w]))
    gpus = float(placed[k, w].sum())
    met = min(got / d, 1.0) if d > 0 else 1.0
    row = {
        "workload": svc.name,
        "kind": service_kind(svc),
        "model": svc.model,
        "unit": demand_unit(svc),
        "peak_demand": d,
        "capacity": got,
        "demand_met": met,
        "gpus": gpus,
        "period": month_text(months[k]),
        "placement": [
            {"site": pools[p].site, "system": pools[p].system, "gpus": float(placed[k, w, p])}
            for p in range(len(pools))
            if placed[k, w, p] > 0.5
        ],  # fmt: skip
    }
    if gpus > 0:
        peak_w = float(np.sum(placed[k, w] * (power[w] + idle_w)))  # facility, at peak
        row["facility_mw"] = peak_w / 1e6
        row["cost_usd_per_hour"] = float(np.sum(placed[k, w] * full[w]))
        p_main = int(np.argmax(placed[k, w]))
        f = fit_for(state, svc, pools[p_main])
        row["replica"] = f.detail
        # over the day: GPUs sized for the peak hour, demand following the daily pattern
        demand_h = d * daily_profile(svc.peak_to_mean) / svc.peak_to_mean
        load_h = np.minimum(demand_h / got, 1.0)
        facility_h = np.array(
            [float(np.sum(placed[k, w] * (idle_w + power[w] * x))) for x in load_h]
        )
        served_per_day = float(np.sum(np.minimum(demand_h, got))) * 3600.0
        row["daily"] = {"utilization": load_h.round(4).tolist()}
        row["facility_mw_mean"] = float(facility_h.mean()) / 1e6
        row["energy_mwh_per_day"] = float(facility_h.sum()) * 3600.0 / 3.6e9
        if isinstance(svc, AdapterRefresh):  # training work: no latency, tokens trained
            row.update(
                refresh_fields(
                    svc, f, cost_usd_per_hour=row["cost_usd_per_hour"],
                    served_per_day=served_per_day, facility_j_per_day=float(facility_h.sum()) * 3600.0,
                )
            )  # fmt: skip
            row["slo_attainment"] = met
        elif not isinstance(svc, RecommendationService):
            tok_s = got * svc.output_tokens
            tokens_per_day = served_per_day * svc.output_tokens
            row["output_tokens_per_s"] = tok_s
            # the placed GPUs are paid and powered all day; the tokens follow demand
            row["usd_per_million_tokens"] = row["cost_usd_per_hour"] * 24.0 / tokens_per_day * 1e6
            row["facility_joules_per_token"] = float(facility_h.sum()) * 3600.0 / tokens_per_day
            row["facility_joules_per_token_at_peak"] = peak_w / tok_s
            state.say(f"simulating {svc.name}")
            row["slo"] = slo_attainment(
                svc, pools[p_main], f, load=min(d / max(got, 1e-9), 1.0), catalog=state.catalog
            )
            row["slo_attainment"] = row["slo"]["slo_attainment"] * met
        else:
            row["usd_per_billion_inferences"] = (
                row["cost_usd_per_hour"] * 24.0 / served_per_day * 1e9
            )
            row["slo_attainment"] = met
    else:
        row["slo_attainment"] = 1.0 if d == 0 else 0.0  # no demand in the timeline: nothing missed
    if unmet[k, w] > UNMET_TOLERANCE * d:
        row["binding"] = binding_service(state, w, k)
        state.unplaced.append({"workload": svc.name, "kind": row["kind"],
                               "binding": row["binding"], "unmet_share": 1 - met})  # fmt: skip
    return row


# ---- generations, own against rent --------------------------------------------------------------


def generations(state: ScenarioState) -> list[dict[str, Any]]:
    """Performance per watt of each system kind in the fleet, on the scenario's own work
    (its first LLM service and first training run)."""
    scn = state.scn
    llm = next(
        (s for s in state.services if not isinstance(s, (RecommendationService, AdapterRefresh))),
        None,
    )
    run = scn.workloads.training[0] if scn.workloads.training else None
    out, seen = [], set()
    for pool in state.pools:
        if pool.system in seen:
            continue
        seen.add(pool.system)
        row: dict[str, Any] = {"system": pool.system, "generation": pool.generation,
                               "accelerator": pool.accelerator}  # fmt: skip
        if llm is not None:
            f = fit_for(state, llm, pool)
            if f.capacity_per_gpu > 0:
                row["serving_workload"] = llm.name
                row["serving_tokens_per_it_joule"] = (
                    f.capacity_per_gpu * llm.output_tokens / f.power_w_per_gpu
                )
        if run is not None:
            f = fit_for(state, run, pool)
            if f.capacity_per_gpu > 0:
                row["training_workload"] = run.name
                row["training_tokens_per_it_joule"] = f.capacity_per_gpu / f.power_w_per_gpu
                row["training_mfu"] = f.detail["mfu"]
        out.append(row)
    return out


def own_vs_rent(state: ScenarioState) -> dict[str, Any]:
    """Each owned pool's cost per used GPU-hour at its utilization over the timeline (GPUs
    in use over GPUs in service, averaged over the periods it is in service) against
    renting the same system: the scenario's cheapest cloud site offering it, else the
    price catalog's default. A busy GPU draws the average IT watts of the services placed
    on its pool in the last period (``busy_w_per_gpu``); a GPU half compute-bound, half
    memory-bound where none are."""
    pools, months, models = state.pools, state.months, state.models
    busy_w = busy_w_per_gpu(state)
    used = np.zeros((len(months), len(pools)))
    for k in range(len(months)):
        for p, pool in enumerate(pools):
            used[k, p] = (state.held[k, p] + state.placed[k, :, p].sum()) / pool.num_gpus
    used = np.minimum(used, 1.0)
    cloud = {}
    for p in pools:
        if p.site_kind == "cloud" and p.price_usd_per_gpu_hour:
            cloud[p.system] = min(cloud.get(p.system, math.inf), p.price_usd_per_gpu_hour)
    out = []
    for pool in pools:
        if pool.site_kind != "owned":
            continue
        active = [k for k, m in enumerate(months) if pool.active(m)]
        util = float(np.mean([used[k, pool.index] for k in active])) if active else 0.0
        power = busy_w.get(pool.index) or models.it_w_per_gpu(
            pool.system, compute_frac=0.5, memory_frac=0.5
        )
        row: dict[str, Any] = {"site": pool.site, "system": pool.system, "utilization": util}
        row.update(models.own_vs_rent(pool, power, max(util, 1e-6), cloud.get(pool.system)))
        if util == 0:
            row["owned_usd_per_gpu_hour"] = None  # never used: no used hour to charge
        row["cloud_price_source"] = (
            "scenario cloud site" if pool.system in cloud else "price catalog default"
        )
        out.append(row)
    return {"owned": out}


def busy_w_per_gpu(state: ScenarioState) -> dict[int, float]:
    """IT watts of a busy GPU of each pool with services placed in the last period: their
    facility draw (busy over idle, plus idle) per placed GPU, over the pool's PUE."""
    busy_w = {}
    if state.months:
        placed, power, idle_w, pools = state.placed, state.power, state.idle_w, state.pools
        for p in range(len(pools)):
            n_p = placed[-1, :, p].sum()
            if n_p > 0:
                busy_w[p] = (
                    float(np.sum(placed[-1, :, p] * (power[:, p] + idle_w[p]))) / n_p / pools[p].pue
                )
    return busy_w
