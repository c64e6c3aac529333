"""Money: the fleet's cost per period split into capital and running cost, the cost of the
work (the GPU-hours it uses at their full cost), and each owned pool set against renting
the same system at its own price.

Per period, per year (``cost.model`` for the equations):

- capital: the owned systems in service (servers and their network, at the tiers the
  pool's ports need) over the hardware amortisation; the facility (capex per MW of the IT
  power provisioned for them) over its amortisation; maintenance, a share of hardware
  capex a year;
- running: electricity of each owned site's mean draw at its price
  (``cost.electricity_usd_per_year``); cloud rent of the GPUs placed in the cloud at the
  period's price (the catalog's price of the system and provider kind along its
  trajectory, or the site's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gigafleet.plan.scenario.state import ScenarioState
from gigafleet.plan.scenario.tags import price_tag, worst
from gigafleet.spec.scenario import month_text

HOURS_PER_YEAR = 8766.0


def used_gpus(state: ScenarioState) -> np.ndarray:
    """[k, p] GPUs in use: training's (weighted by the share of the period held) and the
    services placed."""
    return state.held + state.placed.sum(axis=1)


def facility_ratio(state: ScenarioState) -> np.ndarray:
    """[k, s] provisioned over rated power of each site (below 1: oversubscribed; the
    facility a GPU pays for shrinks with it)."""
    out = np.ones((len(state.months), len(state.site_names)))
    for k, period in enumerate(state.periods):
        for i, row in enumerate(period["sites"]):
            if row["rated_mw"] > 0:
                out[k, i] = row["provisioned_mw"] / row["rated_mw"]
    return out


def cost_split(state: ScenarioState) -> list[dict[str, Any]]:
    """Per period: capital, facility, maintenance, electricity and cloud rent, USD a year."""
    from gigafleet.cost import electricity_usd_per_year, fixed_usd_per_gpu_hour

    models, pools = state.models, state.pools
    used = used_gpus(state)
    ratio = facility_ratio(state)
    rows = []
    for k, m in enumerate(state.months):
        parts = dict.fromkeys(("capital", "facility", "maintenance", "electricity", "cloud"), 0.0)
        for p in pools:
            if not p.active(m):
                continue
            if p.site_kind == "cloud":
                price = models.cloud_usd_per_gpu_hour(p, m)
                parts["cloud"] += used[k, p.index] * price * HOURS_PER_YEAR
                continue
            hw, fac, maint = fixed_usd_per_gpu_hour(models.inputs(p))
            n = p.num_gpus * HOURS_PER_YEAR
            parts["capital"] += hw * n
            parts["facility"] += fac * ratio[k, state.site_of[p.index]] * n
            parts["maintenance"] += maint * n
        for i, name in enumerate(state.site_names):
            site = state.sites[name]
            if site.kind == "owned":
                mean_w = state.periods[k]["sites"][i]["draw_mean_mw"] * 1e6
                parts["electricity"] += float(
                    electricity_usd_per_year(mean_w, usd_per_mwh=site.electricity_usd_per_mwh)
                )
        total = sum(parts.values())
        rows.append({"period": month_text(m), **{f"{k}_usd_per_year": v for k, v in parts.items()},
                     "total_usd_per_year": total})  # fmt: skip
    return rows


def work_cost_usd_per_year(state: ScenarioState) -> float:
    """What the work costs a year, averaged over the timeline: every GPU-hour in use at its
    full cost (owned: capital, facility and maintenance at full use, plus electricity at
    its busy power; cloud: the rent). What efficiency frees shows here first."""
    models = state.models
    used = used_gpus(state)
    busy = busy_it_w(state)
    total = 0.0
    for k, m in enumerate(state.months):
        for p in state.pools:
            if used[k, p.index] <= 0:
                continue
            w = busy[k].get(p.index) or models.it_w_per_gpu(p.system, compute_frac=0.5,
                                                            memory_frac=0.5, cooling=p.cooling)  # fmt: skip
            total += used[k, p.index] * models.full_usd_per_gpu_hour(p, w, month=m)
    return total * HOURS_PER_YEAR / max(len(state.months), 1)


def busy_it_w(state: ScenarioState) -> list[dict[int, float]]:
    """Per period, the IT watts of a busy GPU of each pool in use: the services' draw over
    idle plus idle, per placed GPU, over the pool's PUE; training at its fit's power."""
    out = []
    placed, power, idle_w, pools = state.placed, state.power, state.idle_w, state.pools
    for k in range(len(state.months)):
        row: dict[int, float] = {}
        for p in range(len(pools)):
            n_p = placed[k, :, p].sum()
            if n_p > 0:
                row[p] = float(np.sum(placed[k, :, p] * (power[:, p] + idle_w[p]))) / n_p / pools[p].pue  # fmt: skip
        for t in state.training:
            row.setdefault(t.pool.index, t.fit.power_w_per_gpu)
        out.append(row)
    return out


def own_vs_rent(state: ScenarioState) -> dict[str, Any]:
    """Each owned pool at its utilization over the timeline (GPUs in use over GPUs in
    service, averaged over its periods in service), against renting the same system at its
    own price: the scenario's cheapest cloud site offering it, else the price catalog's for
    ``policies.rent_as``, averaged over the same periods. A busy GPU draws what the work
    placed on it draws (half compute-, half memory-bound where none is)."""
    pools, months, models = state.pools, state.months, state.models
    used = np.minimum(used_gpus(state) / np.array([max(p.num_gpus, 1) for p in pools]), 1.0)
    busy = busy_it_w(state)
    ratio = facility_ratio(state)
    out = []
    for pool in pools:
        if pool.site_kind != "owned":
            continue
        active = [k for k, m in enumerate(months) if pool.active(m)]
        if not active:
            continue
        util = float(np.mean([used[k, pool.index] for k in active]))
        watts = [busy[k][pool.index] for k in active if pool.index in busy[k]]
        power = float(np.mean(watts)) if watts else models.it_w_per_gpu(
            pool.system, compute_frac=0.5, memory_frac=0.5, cooling=pool.cooling
        )  # fmt: skip
        clouds = [p for p in pools if p.site_kind == "cloud" and p.system == pool.system]
        prices, bases = [], []
        for k in active:
            m = months[k]
            if clouds:
                best = min(clouds, key=lambda p, m=m: models.cloud_usd_per_gpu_hour(p, m))
                prices.append(models.cloud_usd_per_gpu_hour(best, m))
                bases.append(
                    "scenario cloud site" if best.price_usd_per_gpu_hour
                    else models.rent_quote(best.system, m, kind=best.cloud_kind).basis
                )  # fmt: skip
            else:
                q = models.rent_quote(pool.system, m)
                prices.append(q.value)
                bases.append(q.basis)
        rent = float(np.mean(prices))
        fac_w = models.inputs(pool).facility_w_per_gpu * float(
            np.mean([ratio[k, state.site_of[pool.index]] for k in active])
        )
        row: dict[str, Any] = {"site": pool.site, "system": pool.system,
                               "generation": pool.generation, "utilization": util,
                               "busy_it_w_per_gpu": power}  # fmt: skip
        row.update(models.own_vs_rent(pool, power, max(util, 1e-6), rent, facility_w_per_gpu=fac_w))
        if util == 0:
            row["owned_usd_per_gpu_hour"] = None  # never used: no used hour to charge
        row["owned_over_rent_full_use"] = row["owned_usd_per_gpu_hour_full_use"] / rent
        row["cloud_price_kind"] = (
            f"scenario cloud site ({clouds[0].site}, {clouds[0].cloud_kind})" if clouds
            else state.scn.policies.rent_as
        )  # fmt: skip
        row["cloud_price_basis"] = worst_basis(bases)
        row["cloud_price_note"] = (
            "" if clouds else models.rent_quote(pool.system, months[active[0]]).note
        )
        row["basis"] = worst(price_tag(row["cloud_price_basis"], f"renting {pool.system}"),
                             price_tag(models.inputs(pool).basis.get("system_usd_per_gpu", "user"),
                                       f"capital of {pool.system}"))  # fmt: skip
        out.append(row)
    return {"owned": out, "rent_as": state.scn.policies.rent_as}


def worst_basis(bases: list[str]) -> str:
    order = ("user", "scenario cloud site", "sourced", "projected", "extrapolated", "assumption")
    return max(bases, key=lambda b: order.index(b) if b in order else 0) if bases else "user"
