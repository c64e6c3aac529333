"""Power per site and period, as data centers are built: the draw over the day (services
follow their demand, training runs swing between their phases), its mean (the energy
bill), its peak and percentile, the power provisioned for the installed systems by the
scenario's policy (rated, expected peak, or a percentile of the draw), the headroom to the
site's cap, what capping the draw at the cap costs, and what binds (models in
``energy/provisioning.py``).

The placement program keeps each site's peak-hour draw, with training at its mean, under
its cap; a training run's compute-bound phases draw more than its mean, and where that
crosses the cap, capping lowers the clocks (the throughput it costs is reported).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gigafleet.errors import GigafleetError
from gigafleet.plan.scenario.place_training import DAYS_PER_MONTH
from gigafleet.plan.scenario.state import ScenarioState
from gigafleet.plan.scenario.workloads import daily_profile
from gigafleet.spec.scenario import month_text

#: A site provisioned, drawing or using this share of its limit is bound by it.
BINDING_SHARE = 0.99


def check_idle_under_cap(state: ScenarioState) -> None:
    """The installed systems' idle draw fits under every site's cap (else nothing can run
    there): one error naming the site's ``power_mw`` and the least it must be."""
    scn = state.scn
    frac = scn.policies.power_cap_fraction
    for i, name in enumerate(state.site_names):
        over = np.nonzero(state.idle_site[:, i] > state.cap_w[i] * (1 + 1e-9))[0]
        if over.size == 0:
            continue
        k = int(over[np.argmax(state.idle_site[over, i])])
        idle_mw = state.idle_site[k, i] / 1e6
        need = idle_mw / frac
        loc = ("sites", i, "power_mw")
        err = GigafleetError(
            f"the idle draw of the systems installed at {name} in {month_text(state.months[k])} "
            f"is {idle_mw:,.1f} MW (facility), above its cap of {state.cap_w[i] / 1e6:,.1f} MW "
            f"(power_mw x policies.power_cap_fraction {frac:g}); allowed: power_mw of at least "
            f"{need:,.1f}, or fewer systems",
            field=f"sites.{i}.power_mw",
        )
        err.loc = loc
        raise err


def _service_hours(state: ScenarioState, k: int) -> np.ndarray:
    """[s, 24] facility W the placed services draw over their idle floor, hour by hour."""
    hourly = np.zeros((len(state.site_names), 24))
    placed, cap, power = state.placed[k], state.cap, state.power
    for w, svc in enumerate(state.services):
        got = float(np.sum(placed[w] * cap[w]))
        if got <= 0:
            continue
        demand_h = state.demand[k, w] * daily_profile(svc.peak_to_mean) / svc.peak_to_mean
        load_h = np.minimum(demand_h / got, 1.0)
        for p in np.nonzero(placed[w] > 0)[0]:
            hourly[state.site_of[p]] += placed[w, p] * power[w, p] * load_h
    return hourly


def _runs(state: ScenarioState, k: int) -> list[list[Any]]:
    """Per site, the training runs in period ``k`` as two-level draws over the idle floor."""
    from gigafleet.energy.provisioning import RunDraw

    out: list[list[Any]] = [[] for _ in state.site_names]
    m, step, models = state.months[k], state.step, state.models
    for t in state.training:
        end = t.start + t.days / DAYS_PER_MONTH
        overlap = min(end, m + step) - max(t.start, m)
        if overlap <= 0:
            continue
        pool, n = t.pool, t.fit.detail["num_gpus"]
        idle = state.idle_w[pool.index]

        def over_idle(it_w: float, pool=pool, idle=idle, n=n) -> float:
            return n * max(it_w * pool.pue - idle, 0.0)

        peak = models.it_w_per_gpu(pool.system, compute_frac=1.0, memory_frac=0.0,
                                   cooling=pool.cooling)  # fmt: skip
        low = models.it_w_per_gpu(pool.system, compute_frac=0.0, memory_frac=1.0,
                                  cooling=pool.cooling)  # fmt: skip
        out[state.site_of[pool.index]].append(
            RunDraw.from_mean(
                share=overlap / step,
                mean_w=over_idle(t.fit.power_w_per_gpu),
                peak_w=over_idle(peak),
                low_w=over_idle(low),
            )  # fmt: skip
        )
    return out


def site_power(state: ScenarioState, k: int) -> list[dict[str, Any]]:
    """Per site in period ``k``: draw (mean, peak hour, percentile, peak), nameplate and
    expected peak of the installed systems, what the policy provisions, the headroom to the
    cap and how many more racks of the site's newest system it holds, and capping."""
    from gigafleet.energy.provisioning import capping, provisioned_w, site_draw

    pol = state.scn.policies.power
    m = state.months[k]
    hourly = _service_hours(state, k)
    runs = _runs(state, k)
    rows = []
    for i, name in enumerate(state.site_names):
        owned = [p for p in state.pools
                 if p.site == name and p.active(m) and p.site_kind == "owned"]  # fmt: skip
        draw = site_draw(float(state.idle_site[k, i]), hourly[i], runs[i])
        rated = peak = 0.0
        for p in owned:
            r = state.models.rating(p)
            rated += p.num_systems * (r.rated_w + r.switch_w) * p.pue
            peak += p.num_systems * (r.peak_w + r.switch_w) * p.pue
        cloud = state.sites[name].kind == "cloud"
        # a cloud region's power is its provider's: what we provision there is what we draw
        prov = draw.peak_w if cloud else provisioned_w(
            pol.provision_for, rated_w=rated, peak_w=peak, draw=draw, percentile=pol.percentile
        )  # fmt: skip
        cap_w = float(state.cap_w[i])
        row: dict[str, Any] = {
            "draw_mean_mw": draw.mean_w / 1e6,
            "draw_peak_mw": draw.peak_w / 1e6,
            "draw_percentile_mw": draw.percentile_w(pol.percentile) / 1e6,
            "rated_mw": rated / 1e6,
            "expected_peak_mw": peak / 1e6,
            "provisioned_mw": prov / 1e6,
            "provision_for": "draw (cloud)" if cloud else pol.provision_for,
            "headroom_mw": (cap_w - prov) / 1e6,
            "capping": capping(draw, cap_w, catalog=state.catalog).to_dict(),
        }
        if owned and not cloud:
            newest = max(owned, key=lambda p: p.arrive)
            r = state.models.rating(newest)
            per_rack = ((r.peak_w if pol.provision_for == "peak" else r.rated_w) + r.switch_w) * newest.pue  # fmt: skip
            if pol.provision_for == "percentile" and rated > 0:
                per_rack *= prov / rated  # racks are provisioned at the site's oversubscription
            row["racks_that_fit"] = {newest.system: int(max(cap_w - prov, 0.0) // per_rack)}
        rows.append(row)
    return rows


def site_binding(row: dict[str, Any]) -> str:
    """What binds a site in a period: power provisioned over its cap, its peak-hour draw at
    the cap, all its GPUs in use, or nothing (its idle GPUs and headroom said)."""
    cap = row["cap_mw"]
    if cap > 0 and row["provisioned_mw"] > cap * (1 + 1e-9):
        return (
            f"power: {row['provision_for']} provisioning {row['provisioned_mw']:,.0f} MW over "
            f"the {cap:,.0f} MW cap"
        )
    if cap > 0 and row["facility_mw"] >= BINDING_SHARE * cap:
        return f"power: peak-hour draw {row['facility_mw']:,.0f} MW at the {cap:,.0f} MW cap"
    if row["gpus"] > 0 and row["gpus_used"] >= BINDING_SHARE * row["gpus"]:
        return "GPUs: all in use"
    idle = max(row["gpus"] - row["gpus_used"], 0.0)
    return f"none: {idle:,.0f} GPUs idle, {max(row['headroom_mw'], 0.0):,.0f} MW headroom"
