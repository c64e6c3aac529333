"""Account: what the report shows, from the placed state. Per period and site: GPUs
installed and used by system, the draw (mean, peak hour, peak), the power provisioned for
what is installed against the cap, headroom and what binds; the placement of every
workload by site, system and period; per training run: energy, carbon and cost; per
service at its busiest period: capacity, replica shape and throughput per GPU, power over
the day, cost per token or inference, SLO attainment and what binds; performance per watt
per workload and system; capital against running cost; owning against renting; and where
each headline figure stands (fitted, interpolated, extrapolated)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.cost import fixed_usd_per_gpu_hour
from gigafleet.plan.scenario.costs import cost_split, own_vs_rent, used_gpus, work_cost_usd_per_year
from gigafleet.plan.scenario.place_services import binding_service
from gigafleet.plan.scenario.place_training import DAYS_PER_MONTH
from gigafleet.plan.scenario.pools import Pool, site_cooling, site_pue
from gigafleet.plan.scenario.power import site_binding, site_power
from gigafleet.plan.scenario.refresh import refresh_fields
from gigafleet.plan.scenario.size import fit_for, slo_at_load
from gigafleet.plan.scenario.state import ScenarioState
from gigafleet.plan.scenario.tags import power_tag, price_tag, serving_tag, training_tag, worst
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
    placement: list[dict[str, Any]] = field(default_factory=list)
    perf_per_watt: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # figures totals() reads
    tags: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary (``summary.json``), which the HTML report is built from."""
        return {
            "scenario": self.scenario,
            "periods": [month_text(m) for m in self.months],
            "sites": self.sites,
            "timeline": self.periods,
            "placement": self.placement,
            "training": self.training,
            "services": self.services,
            "generations": self.generations,
            "perf_per_watt": self.perf_per_watt,
            "costs": self.costs,
            "unplaced": self.unplaced,
            "warnings": self.warnings,
            "totals": self.totals(),
            "tags": self.tags,
        }

    def totals(self) -> dict[str, float]:
        """Headline figures (what ``gigafleet compare`` and ``sensitivity`` set side by side)."""
        rows = [s for p in self.periods for s in p["sites"]]
        by_k = [p["sites"] for p in self.periods]
        owned = {s["name"] for s in self.sites if s["kind"] == "owned"}
        mw = [sum(s["facility_mw"] for s in p) for p in by_k]
        gpus = [sum(s["gpus"] for s in p) for p in by_k]
        used = [sum(s["gpus_used"] for s in p) for p in by_k]
        mean_mw = [sum(s["draw_mean_mw"] for s in p if s["site"] in owned) for p in by_k]
        prov = [sum(s["provisioned_mw"] for s in p if s["site"] in owned) for p in by_k]
        served = [s for s in self.services if s.get("gpus", 0) > 0]
        split = self.costs.get("split", [])
        return {
            "gpus_peak": float(max(gpus, default=0)),
            "gpus_used_peak": float(max(used, default=0.0)),
            # training weighted by the share of each period it runs
            "gpus_used_mean": float(
                self.extra.get("gpus_used_mean", np.mean(used) if used else 0.0)
            ),
            "facility_mw_peak": float(max(mw, default=0.0)),
            "facility_mw_mean": float(np.mean(mean_mw)) if mean_mw else 0.0,
            "provisioned_mw_peak": float(max(prov, default=0.0)),
            "capped_throughput_loss_max": float(
                max((s["capping"]["throughput_loss"] for s in rows), default=0.0)
            ),
            "training_days_max": float(max((t["days"] for t in self.training), default=0.0)),
            "training_cost_usd": float(sum(t["cost_usd"] for t in self.training)),
            "training_energy_gwh": float(sum(t["energy_gwh"] for t in self.training)),
            "serving_cost_usd_per_year": float(
                sum(s["cost_usd_per_hour"] for s in served) * HOURS_PER_YEAR
            ),
            "fleet_cost_usd_per_year": float(
                np.mean([r["total_usd_per_year"] for r in split]) if split else 0.0
            ),
            "capital_usd_per_year": float(
                np.mean(
                    [
                        r["capital_usd_per_year"]
                        + r["facility_usd_per_year"]
                        + r["maintenance_usd_per_year"]
                        for r in split
                    ]
                )
                if split
                else 0.0
            ),  # fmt: skip
            "running_usd_per_year": float(
                np.mean([r["electricity_usd_per_year"] + r["cloud_usd_per_year"] for r in split])
                if split
                else 0.0
            ),  # fmt: skip
            "work_cost_usd_per_year": float(self.extra.get("work_cost_usd_per_year", 0.0)),
            "slo_attainment_min": float(
                min((s["slo_attainment"] for s in self.services), default=1.0)
            ),
            "num_unplaced": float(len(self.unplaced)),
        }


def account(state: ScenarioState, *, simulate: bool = True) -> ScenarioResult:
    """Gather the report's rows from the placed ``state``: periods, placement, training
    runs, services (with the services that fall short added to ``state.unplaced``), perf
    per watt, costs and tags. ``simulate=False`` skips the request simulation of each
    service's SLO (what-if variants reuse the base run's)."""
    scn = state.scn
    state.periods = [period_row(state, k) for k in range(len(state.months))]
    warn_provisioning(state)
    training = [training_row(state, t) for t in state.training]
    services = [service_row(state, w, simulate=simulate) for w in range(len(state.services))]
    costs = own_vs_rent(state)
    costs["split"] = cost_split(state)
    result = ScenarioResult(
        scenario=scn.name,
        months=state.months,
        pools=state.pools,
        sites=[
            {
                "name": s.name,
                "kind": s.kind,
                "region": s.region,
                "power_mw": s.power_mw,
                "cap_mw": s.power_mw * scn.policies.power_cap_fraction,
                "pue": site_pue(s, state.catalog),
                "cooling": site_cooling(s, state.catalog),
                "climate": s.climate,
                "confidential_computing": s.confidential_computing,
                "electricity_usd_per_mwh": s.electricity_usd_per_mwh,
            }
            for s in scn.sites
        ],  # fmt: skip
        periods=state.periods,
        training=training,
        services=services,
        generations=generations(state),
        costs=costs,
        unplaced=state.unplaced,
        warnings=state.warnings,
        placement=placement(state),
        perf_per_watt=perf_per_watt(state),
        extra={
            "work_cost_usd_per_year": work_cost_usd_per_year(state),
            "gpus_used_mean": float(used_gpus(state).sum(axis=1).mean()) if state.months else 0.0,
        },
    )
    result.tags = headline_tags(state, result)
    return result


# ---- per-period rows ---------------------------------------------------------------------------


def period_row(state: ScenarioState, k: int) -> dict[str, Any]:
    """Per site in period ``k``: GPUs installed and used (by generation and system), the
    peak-hour facility draw (the idle draw of the installed GPUs plus what training and the
    placed services add), the draw's mean and peak, power provisioned against the cap,
    headroom, capping and what binds (``power.site_power``)."""
    month, scn, sites = state.months[k], state.scn, state.sites
    reserved, placed, power = state.reserved[k], state.placed[k], state.power
    base_w = state.training_power[k] + state.idle_site[k]
    powers = site_power(state, k)
    rows = []
    for i, name in enumerate(state.site_names):
        site = sites[name]
        mine = [p for p in state.pools if p.site == name and p.active(month)]
        by_gen: dict[str, int] = {}
        installed: dict[str, int] = {}
        used: dict[str, float] = {}
        free: dict[str, float] = {}
        serving_w = 0.0
        for p in mine:
            by_gen[p.generation] = by_gen.get(p.generation, 0) + p.num_gpus
            installed[p.system] = installed.get(p.system, 0) + p.num_gpus
            n_used = reserved[p.index] + placed[:, p.index].sum()
            used[p.system] = used.get(p.system, 0.0) + n_used
            free[p.system] = free.get(p.system, 0.0) + max(p.num_gpus - n_used, 0.0)
            serving_w += float(np.sum(placed[:, p.index] * power[:, p.index]))
        facility = serving_w + base_w[i]
        pue = next(p.pue for p in state.pools if p.site == name)
        row = {
            "site": name,
            "gpus": int(sum(installed.values())),
            "gpus_by_generation": by_gen,
            "gpus_by_system": installed,
            "gpus_used": float(sum(used.values())),
            "gpus_used_by_system": used,
            "free_gpus": free,
            "facility_mw": facility / 1e6,
            "it_mw": facility / pue / 1e6,
            "cap_mw": site.power_mw * scn.policies.power_cap_fraction,
            **powers[i],
        }
        row["binding"] = site_binding(row)
        rows.append(row)
    return {"period": month_text(month), "sites": rows}


def warn_provisioning(state: ScenarioState) -> None:
    """Once per site: the first period whose provisioned power exceeds its cap (the fleet
    as planned is not buildable under the policy) or whose draw must be capped."""
    pol = state.scn.policies.power
    for i, name in enumerate(state.site_names):
        for period in state.periods:
            row = period["sites"][i]
            if row["provisioned_mw"] > row["cap_mw"] * (1 + 1e-9):
                state.warnings.append(
                    f"power: {name} provisions {row['provisioned_mw']:,.0f} MW for what it "
                    f"holds from {period['period']} ({pol.provision_for}"
                    f"{f' p{pol.percentile:g}' if pol.provision_for == 'percentile' else ''}), "
                    f"over its {row['cap_mw']:,.0f} MW cap"
                )
                break
        for period in state.periods:
            c = period["sites"][i]["capping"]
            if c["throughput_loss"] > 1e-4:
                state.warnings.append(
                    f"power: capping holds {name} at its cap {c['time_capped']:.1%} of the time "
                    f"from {period['period']}, costing {c['throughput_loss']:.2%} of its throughput"
                )
                break


def placement(state: ScenarioState) -> list[dict[str, Any]]:
    """Every workload by site, system and period: GPUs held by training (for the share of
    the period it runs) and placed for services."""
    out = []
    for k, m in enumerate(state.months):
        for t in state.training:
            n = _held_by(state, t, k)
            if n > 0:
                out.append({"period": month_text(m), "workload": t.run.name, "kind": "training",
                            "site": t.pool.site, "system": t.pool.system, "gpus": float(n)})  # fmt: skip
        for w, svc in enumerate(state.services):
            for p in np.nonzero(state.placed[k, w] > 0.5)[0]:
                pool = state.pools[p]
                out.append({"period": month_text(m), "workload": svc.name, "kind": service_kind(svc),
                            "site": pool.site, "system": pool.system,
                            "gpus": float(state.placed[k, w, p])})  # fmt: skip
    return out


def _held_by(state: ScenarioState, t: Any, k: int) -> float:
    """GPUs of run ``t`` weighted by the share of period ``k`` it runs."""

    m, step = state.months[k], state.step
    end = t.start + t.days / DAYS_PER_MONTH
    overlap = max(min(end, m + step) - max(t.start, m), 0.0)
    return t.fit.detail["num_gpus"] * overlap / step


# ---- training ----------------------------------------------------------------------------------


def training_row(state: ScenarioState, t: Any) -> dict[str, Any]:
    """A placed run: its fit's figures, power, energy, carbon and cost (its GPUs' full cost
    per used hour over the run's wall-clock time), and where its figures stand."""
    run, pool, f, days = t.run, t.pool, t.fit, t.days
    n = f.detail["num_gpus"]
    it_w = n * f.power_w_per_gpu
    hours = days * 24
    it_energy_j = it_w * days * 86400
    energy_j = it_energy_j * pool.pue
    gpu_hour = state.models.full_usd_per_gpu_hour(pool, f.power_w_per_gpu, month=t.start)
    return {
        "workload": run.name,
        "model": f.detail.get("model", run.model),
        "site": pool.site,
        "system": pool.system,
        "generation": pool.generation,
        "cooling": pool.cooling,
        **{k: v for k, v in f.detail.items() if k != "strategy"},
        "strategy": f.detail["strategy"],
        "deadline_days": run.deadline_days,
        "start": run.start,
        "it_mw": it_w / 1e6,
        "facility_mw": it_w * pool.pue / 1e6,
        "energy_gwh": energy_j / 3.6e12,
        "carbon_t": energy_j / 3.6e6 * pool.grid_gco2_per_kwh / 1e6,
        "tokens_per_it_joule": run.tokens / it_energy_j,
        "tokens_per_s_per_gpu": f.capacity_per_gpu,
        "cost_usd": gpu_hour * n * hours,
        "cost_usd_per_gpu_hour": gpu_hour,
        "basis": training_tag(state.catalog, pool, run.precision),
    }


# ---- services ----------------------------------------------------------------------------------


def _pool_cost_per_hour(state: ScenarioState, k: int, w: int, load_mean: float) -> float:
    """What service ``w``'s GPUs cost an hour in period ``k``, averaged over the day: owned
    GPUs their capital, facility and maintenance, and the electricity of their mean draw
    (idle plus busy at the day's mean load); cloud GPUs their rent that period."""

    total = 0.0
    m = state.months[k]
    for p in np.nonzero(state.placed[k, w] > 0)[0]:
        pool, n = state.pools[p], state.placed[k, w, p]
        if pool.site_kind == "cloud":
            total += n * state.models.cloud_usd_per_gpu_hour(pool, m)
            continue
        inp = state.models.inputs(pool)
        mean_w = state.idle_w[p] + state.power[w, p] * load_mean  # facility W per GPU
        total += n * (sum(fixed_usd_per_gpu_hour(inp)) + mean_w / 1e6 * inp.electricity_usd_per_mwh)
    return total


def service_row(state: ScenarioState, w: int, *, simulate: bool = True) -> dict[str, Any]:
    """Service ``w`` at its busiest period (the worst shortfall; with none, the latest
    peak-demand period): capacity, replica shape and throughput per GPU, power and cost at
    the peak and over the day, the simulated SLO attainment, and what binds when it falls
    short (then also added to ``state.unplaced``)."""
    svc = state.services[w]
    months, pools = state.months, state.pools
    demand, unmet, placed = state.demand, state.unmet, state.placed
    cap, power, idle_w = state.cap, state.power, state.idle_w
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
            {
                "site": pools[p].site,
                "system": pools[p].system,
                "gpus": float(placed[k, w, p]),
                "per_gpu": float(cap[w, p]),
            }
            for p in range(len(pools))
            if placed[k, w, p] > 0.5
        ],  # fmt: skip
    }
    if gpus > 0:
        peak_w = float(np.sum(placed[k, w] * (power[w] + idle_w)))  # facility, at peak
        row["facility_mw"] = peak_w / 1e6
        p_main = int(np.argmax(placed[k, w]))
        f = fit_for(state, svc, pools[p_main])
        row["replica"] = f.detail
        row["system"] = pools[p_main].system
        row["capacity_per_gpu"] = got / gpus
        row["basis"] = worst(*(serving_tag(state.catalog, pools[p], svc,
                                           fit_for(state, svc, pools[p]).detail)
                               for p in np.nonzero(placed[k, w] > 0.5)[0]))  # fmt: skip
        # over the day: GPUs sized for the peak hour, demand following the daily pattern
        demand_h = d * daily_profile(svc.peak_to_mean) / svc.peak_to_mean
        load_h = np.minimum(demand_h / got, 1.0)
        facility_h = np.array(
            [float(np.sum(placed[k, w] * (idle_w + power[w] * x))) for x in load_h]
        )
        row["cost_usd_per_hour"] = _pool_cost_per_hour(state, k, w, float(load_h.mean()))
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
            row["output_tokens_per_s_per_gpu"] = tok_s / gpus
            # the placed GPUs are paid and powered all day; the tokens follow demand
            row["usd_per_million_tokens"] = row["cost_usd_per_hour"] * 24.0 / tokens_per_day * 1e6
            row["facility_joules_per_token"] = float(facility_h.sum()) * 3600.0 / tokens_per_day
            row["facility_joules_per_token_at_peak"] = peak_w / tok_s
            if simulate:
                state.say(f"simulating {svc.name}")
                row["slo"] = slo_at_load(
                    svc, pools[p_main], f, load=min(d / max(got, 1e-9), 1.0), catalog=state.catalog
                )
                row["slo_attainment"] = row["slo"]["slo_attainment"] * met
            else:
                row["slo_attainment"] = f.detail.get("slo_attainment_at_capacity", 1.0) * met
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


# ---- generations, perf per watt, tags ---------------------------------------------------------


def generations(state: ScenarioState) -> list[dict[str, Any]]:
    """Performance per watt of each system kind in the fleet, on the scenario's own work
    (its first LLM service and first training run); ``perf_per_watt`` has every workload."""
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
        f = _training_fit(state, run, pool) if run is not None else None
        if f is not None and f.capacity_per_gpu > 0:
            row["training_workload"] = run.name
            row["training_tokens_per_it_joule"] = f.capacity_per_gpu / f.power_w_per_gpu
            row["training_mfu"] = f.detail["mfu"]
        out.append(row)
    return out


def _training_fit(state: ScenarioState, run: Any, pool: Pool) -> Any:
    """The fit of ``run`` on ``pool``'s system kind: where it was placed, else any fit made
    while placing it (none: None; no new sizing here)."""
    for t in state.training:
        if t.run.name == run.name and t.pool.system == pool.system:
            return t.fit
    key = (run.name, pool.system, pool.fabric, pool.cooling)
    fits = [f for k, f in state.fit_cache.items() if k[:4] == key and f.capacity_per_gpu > 0]
    return max(fits, key=lambda f: f.detail.get("num_gpus", 0)) if fits else None


def perf_per_watt(state: ScenarioState) -> list[dict[str, Any]]:
    """Work per IT joule of every workload on every system kind it was sized on: output
    tokens (LLM services), inferences (recommendation) or trained tokens, per joule of
    IT energy of a busy GPU."""
    out = []
    seen: set[tuple[str, str]] = set()
    placed = [((t.run.name, t.pool.system), t.fit) for t in state.training]
    for key, f in [*placed, *state.fit_cache.items()]:
        name, system = key[0], key[1]
        if (name, system) in seen or f.capacity_per_gpu <= 0 or f.power_w_per_gpu <= 0:
            continue
        seen.add((name, system))
        work = next((s for s in state.services if s.name == name), None)
        pool = next(p for p in state.pools if p.system == system)
        if work is None:
            unit, per_s = "trained tokens/J", f.capacity_per_gpu
            kind = "training"
        elif isinstance(work, RecommendationService):
            unit, per_s, kind = "inferences/J", f.capacity_per_gpu, "recommendation"
        elif isinstance(work, AdapterRefresh):
            unit, per_s, kind = "trained tokens/J", f.capacity_per_gpu, "adapter refresh"
        else:
            unit, per_s = "output tokens/J", f.capacity_per_gpu * work.output_tokens
            kind = service_kind(work)
        out.append({"workload": name, "kind": kind, "system": system,
                    "generation": pool.generation, "unit": unit,
                    "per_joule": per_s / f.power_w_per_gpu})  # fmt: skip
    return out


def headline_tags(state: ScenarioState, r: ScenarioResult) -> dict[str, Any]:
    """Where each headline figure stands: the worst tag of what it rests on."""
    train = [t["basis"] for t in r.training]
    serve = [s["basis"] for s in r.services if "basis" in s]
    used_pools = {p.index for p in state.pools
                  if np.any(used_gpus(state)[:, p.index] > 0)}  # fmt: skip
    power = [power_tag(state.models.rating(p), p) for p in state.pools
             if p.site_kind == "owned" and p.index in used_pools]  # fmt: skip
    hw = [power_tag(state.models.rating(p), p) for p in state.pools if p.site_kind == "owned"]
    prices = [own["basis"] for own in r.costs.get("owned", [])]
    capital = [price_tag(state.models.inputs(p).basis.get("system_usd_per_gpu", "user"),
                         f"capital of {p.system}") for p in state.pools if p.site_kind == "owned"]  # fmt: skip
    gpus = worst(*train, *serve)
    out = {
        "gpus_used_peak": gpus,
        "gpus_used_mean": gpus,
        "facility_mw_mean": worst(gpus, *power),
        "provisioned_mw_peak": worst(*hw),
        "fleet_cost_usd_per_year": worst(*capital, gpus),
        "work_cost_usd_per_year": worst(*capital, gpus),
    }
    if train:
        out["training_days_max"] = worst(*train)
        out["training_cost_usd"] = worst(*train, *capital)
    if serve:
        out["serving_cost_usd_per_year"] = worst(*serve, *capital)
    if prices:
        out["own_or_rent"] = worst(*prices)
    return out
