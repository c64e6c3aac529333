"""Small fleets for the fleet-simulation tests: plain inputs, no catalog, no planner."""

from __future__ import annotations

import numpy as np

from gigafleet.sim.fleet import (
    Cohort,
    FleetIn,
    Params,
    PoolIn,
    ResearchIn,
    ServiceIn,
    SiteIn,
    TrainingIn,
)

#: Per-GPU failure rates (per second) by component: the shape of the Llama 3 fit.
SHARES = {"gpu": 0.47, "hbm": 0.17, "host": 0.11, "nic": 0.02, "switch": 0.08, "software": 0.15}
OLD = 10 * 365 * 86400.0  # a cohort this old is past infant mortality


def rates(per_gpu_hour: float = 2e-5, *, software: bool = True) -> dict[str, float]:
    out = {c: per_gpu_hour * s / 3600.0 for c, s in SHARES.items()}
    if not software:
        out["software"] = 0.0
    return out


def pool(num_gpus: int, *, name: str = "p", site: int = 0, gpn: int = 8, rate: float = 2e-5,
         research: bool = False, cloud: bool = False, cohorts=None, idle_w: float = 300.0,
         research_w: float = 1000.0, price: float = 0.0, software: bool = True) -> PoolIn:  # fmt: skip
    return PoolIn(
        name=name, site=site, system="test", gpus_per_node=gpn,
        cohorts=cohorts if cohorts is not None else [Cohort(0.0, num_gpus, None, OLD)],
        rate_per_gpu_s=rates(rate, software=software), idle_w=0.0 if cloud else idle_w,
        research_w=research_w, research=research, cloud=cloud, price_usd_per_gpu_hour=price,
    )  # fmt: skip


def quiet(**kw) -> Params:
    """No noise, no lemons, no infant mortality, no stragglers, unless asked."""
    base = dict(
        detect_s=300.0, swap_s=3600.0, repair_s=3 * 86400.0, spares_fraction=0.05,
        burn_in_reject_fraction=0.0, infant_multiplier=1.0, lemon_fraction=0.0,
        restart_s=600.0, hot_spare_fraction=0.0, straggler_fraction=0.0, headroom=0.0,
        daily_noise=0.0, replica_restart_s=300.0,
    )  # fmt: skip
    base.update(kw)
    return Params(**base)


def fleet(
    pools, *, days: float, params: Params | None = None, cap_w: float = 1e12, **kw
) -> FleetIn:
    num_sites = max(p.site for p in pools) + 1
    return FleetIn(
        pools=pools, sites=[SiteIn(f"s{i}", cap_w) for i in range(num_sites)],
        horizon_s=days * 86400.0, params=params or quiet(), **kw,
    )  # fmt: skip


def frontier(n: int, work_s: float, *, tau: float, delta: float, restore: float, pool_index=0,
             start_s: float = 0.0, busy_w: float = 1000.0) -> TrainingIn:  # fmt: skip
    return TrainingIn(
        name="run", pool=pool_index, num_gpus=n, work_s=work_s, start_s=start_s,
        checkpoint_interval_s=tau, checkpoint_s=delta, restore_s=restore, busy_w=busy_w,
    )  # fmt: skip


def service(num_pools: int, *, rps: float, cap: list[float], gpus: list[int], order: list[int],
            peak_to_mean: float = 1.6, weights=None, busy_w: float = 900.0, name: str = "chat",
            slo: float = 1.0) -> ServiceIn:  # fmt: skip
    from gigafleet.plan.scenario.workloads import daily_profile

    return ServiceIn(
        name=name, kind="llm", requests_per_s=rps, growth_per_year=0.0, start_s=-1.0,
        profile=daily_profile(peak_to_mean), cap_per_gpu=np.array(cap, dtype=float),
        gpus_per_replica=np.array(gpus), busy_w=np.full(num_pools, busy_w), order=order,
        weights=weights or [], slo_at_capacity=slo,
    )  # fmt: skip


def research(per_day: float, *, sizes=(8,), shares=(1.0,), median_h: float = 1.0,
             exponential: bool = True, **kw) -> ResearchIn:  # fmt: skip
    return ResearchIn(
        arrivals_per_s=per_day / 86400.0, sizes=np.array(sizes), shares=np.array(shares),
        duration_median_s=median_h * 3600.0, duration_max_s=1e9, exponential=exponential,
        **{"high_share": 0.0, "checkpoint_s": 0.0, "duration_sigma": 0.0, **kw},
    )  # fmt: skip
