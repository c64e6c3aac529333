"""The JSON summary of one simulation: per training run, per service, per site, and the
fleet's totals, from the daily table and the jobs' records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gigafleet.sim.fleet.inputs import COMPONENTS
from gigafleet.sim.fleet.jobs import DONE
from gigafleet.sim.fleet.metrics import LOST_CAUSES

if TYPE_CHECKING:
    from gigafleet.sim.fleet.loop import FleetSim


def _tot(daily: dict[str, np.ndarray], key: str) -> float:
    return float(np.sum(daily[key]))


def _ratio(a: float, b: float, empty: float = 0.0) -> float:
    return a / b if b > 0 else empty


def training_rows(sim: FleetSim) -> list[dict[str, Any]]:
    """Each frontier run: ETTR (productive compute over wall time since it started), its
    interruptions and where its GPU-hours went."""
    rows = []
    horizon = sim.inp.horizon_s
    for job in sim.frontier:
        pool = sim.inp.pools[job.pool]
        started = job.first_start >= 0
        end = job.end if job.status == DONE else horizon
        wall = max(end - job.first_start, 0.0) if started else 0.0
        total = job.work / job.speed
        n_h = job.n / 3600.0
        rows.append({
            "workload": job.name,
            "pool": pool.name,
            "site": sim.inp.sites[pool.site].name,
            "num_gpus": job.n,
            "started": started,
            "finished": job.status == DONE,
            "start_day": job.arrive / 86400.0,
            "days": wall / 86400.0,
            "ideal_days": job.work / 86400.0,
            "progress": 1.0 - job.left / total if total > 0 else 1.0,
            "ettr": _ratio(job.productive, wall),
            "interruptions": job.hits,
            "mtti_h": _ratio(job.held_s, job.hits, float("inf")) / 3600.0 if job.hits else None,
            "straggler_slowdown": 1.0 / job.speed,
            "checkpoint_interval_s": job.tau,
            "lost_gpu_h": {
                "failure": job.lost * job.n / 3600.0,
                "restart": job.restart_wait * n_h,
                "checkpoint": job.ckpt * n_h,
                "straggler": job.productive * (1.0 - job.speed) * n_h,
            },
        })  # fmt: skip
    return rows


def summarize(sim: FleetSim, daily: dict[str, np.ndarray]) -> dict[str, Any]:
    """The summary of one run (``daily``: :meth:`Metrics.finish`)."""
    inp, met, res, hw = sim.inp, sim.metrics, sim.research, sim.hw
    installed = _tot(daily, "installed_gpu_h")
    healthy = _tot(daily, "healthy_gpu_h")
    used = _tot(daily, "used_gpu_h")
    goodput = _tot(daily, "goodput_gpu_h")
    lost = {c: _tot(daily, f"lost_gpu_h_{c}") for c in LOST_CAUSES}
    waits = np.asarray(res.waits) / 3600.0
    services = []
    for w, s in enumerate(inp.services):
        name = met.services[w]
        d = _tot(daily, f"demand_requests_{name}")
        services.append({
            "workload": s.name, "kind": s.kind,
            "slo_attainment": _ratio(_tot(daily, f"served_ok_requests_{name}"), d, 1.0),
            "slo_attainment_worst_day": float(np.min(daily[f"slo_attainment_{name}"])),
            "demand_requests": d,
        })  # fmt: skip
    sites = []
    for i, site in enumerate(inp.sites):
        name = met.sites[i]
        sites.append({
            "site": site.name,
            "energy_mwh": _tot(daily, f"energy_mwh_{name}"),
            "facility_mw_mean": float(np.mean(daily[f"facility_mw_{name}"])),
            "facility_mw_peak": float(np.max(daily[f"facility_mw_peak_{name}"])),
            "cap_mw": site.cap_w / 1e6,
        })  # fmt: skip
    sizes = [
        {"num_gpus": b, "jobs": int(r[2]), "interruptions": int(r[1]), "held_h": r[0] / 3600.0,
         "mtti_h": _ratio(r[0], r[1], float("inf")) / 3600.0 if r[1] else None}
        for b, r in sorted(sim.by_size.items())
    ]  # fmt: skip
    return {
        "days": inp.horizon_s / 86400.0,
        "num_events": sim.eng.num_events,
        "gpu_hours": {"installed": installed, "healthy": healthy, "used": used, "goodput": goodput},
        "utilization": _ratio(used, healthy),
        "goodput_share": _ratio(goodput, installed),
        "goodput_gpu_h": {
            k: _tot(daily, f"goodput_gpu_h_{k}") for k in ("training", "research", "serving")
        },
        "lost_gpu_h": lost,
        "interruptions": {
            k: _tot(daily, f"interruptions_{k}") for k in ("training", "research", "serving")
        },
        "training": training_rows(sim),
        "mtti_by_job_size": sizes,
        "services": services,
        "slo_attainment": _ratio(
            _tot(daily, "served_ok_requests"), _tot(daily, "demand_requests"), 1.0
        ),
        "cloud": {"gpu_h": _tot(daily, "cloud_gpu_h"), "usd": _tot(daily, "cloud_usd")},
        "research": {
            "arrived": res.arrived,
            "started": res.started,
            "finished": res.finished,
            "preempted": res.preempted,
            "queued_at_end": res.num_queued,
            "wait_h_mean": float(waits.mean()) if waits.size else 0.0,
            "wait_h_p50": float(np.percentile(waits, 50)) if waits.size else 0.0,
            "wait_h_p95": float(np.percentile(waits, 95)) if waits.size else 0.0,
        },  # fmt: skip
        "energy_mwh": _tot(daily, "energy_mwh"),
        "sites": sites,
        "grid_events": sim.power.events,
        "hardware": {
            "failures": {c: int(hw.failures[i]) for i, c in enumerate(COMPONENTS)},
            "gpus_arrived": _tot(daily, "gpus_arrived"),
            "burn_in_rejects": hw.burn_in_rejects,
            "lemons_removed": hw.lemons_removed,
            "spare_stockouts": hw.stockouts,
            "gpus_down_mean": float(np.mean(daily["gpus_down"])),
        },
    }
