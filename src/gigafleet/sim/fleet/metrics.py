"""Daily time series of a fleet simulation: sums of what happened each day (GPU-hours,
interruptions, energy, money) and hourly samples of the state (GPUs by use), finished into
one row per day."""

from __future__ import annotations

import re

import numpy as np

DAY_S = 86400.0
#: Where GPU-hours go that are not useful work (``lost_gpu_h_<cause>``).
LOST_CAUSES = (
    "repair",  # GPUs down: detection, swap or repair
    "failure",  # compute since the last checkpoint, lost to a failure
    "restart",  # detection, restart and checkpoint read, waiting for a replacement node
    "checkpoint",  # writing checkpoints
    "straggler",  # running slower than planned
    "preemption",  # compute lost when research jobs are preempted
    "power",  # clocks lowered (or nodes stopped) to meet a site's power cap
    "serving_failover",  # replicas restarting after a failure
)
#: Hourly samples, averaged over the day.
SAMPLED = (
    "gpus_installed", "gpus_healthy", "gpus_down", "gpus_training", "gpus_hot_spare",
    "gpus_research", "gpus_serving", "gpus_idle", "gpus_cloud", "spare_nodes",
    "research_queue_jobs", "research_queue_gpus", "lemon_nodes", "facility_mw",
)  # fmt: skip
#: Daily sums.
SUMMED = (
    "goodput_gpu_h_training", "goodput_gpu_h_research", "goodput_gpu_h_serving",
    *(f"lost_gpu_h_{c}" for c in LOST_CAUSES),
    "interruptions_training", "interruptions_research", "interruptions_serving",
    "failures_hardware", "failures_software", "research_arrived", "research_started",
    "research_finished", "research_preempted", "research_wait_h_sum", "demand_requests",
    "served_ok_requests", "cloud_gpu_h", "cloud_usd", "energy_mwh", "shed_mwh",
    "lemons_removed", "burn_in_rejects", "gpus_arrived", "installed_gpu_h", "healthy_gpu_h",
    "used_gpu_h",
)  # fmt: skip


def column_name(name: str) -> str:
    """A workload or site name as a column suffix: lower case, ``[a-z0-9_]``."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


class Metrics:
    """Per-day accumulators; ``add`` files a value under the day of its time."""

    def __init__(self, num_days: int, sites: list[str], services: list[str]):
        self.num_days = num_days
        self.sites = [column_name(s) for s in sites]
        self.services = [column_name(s) for s in services]
        names = [*SAMPLED, *SUMMED]
        for s in self.sites:
            names += [f"facility_mw_{s}", f"energy_mwh_{s}"]
        for w in self.services:
            names += [f"demand_requests_{w}", f"served_ok_requests_{w}"]
        self.cols = {n: np.zeros(num_days) for n in names}
        self.peak = {s: np.zeros(num_days) for s in self.sites}
        self.hours = np.zeros(num_days)

    def day(self, t: float) -> int:
        return min(int(t // DAY_S), self.num_days - 1)

    def add(self, name: str, t: float, value: float) -> None:
        self.cols[name][self.day(t)] += value

    def add_lost(self, cause: str, t: float, gpu_s: float) -> None:
        self.cols[f"lost_gpu_h_{cause}"][self.day(t)] += gpu_s / 3600.0

    def sample(self, t: float, values: dict[str, float], weight: float = 1.0) -> None:
        """One hour's state (``weight``: the share of an hour it stands for)."""
        d = self.day(t)
        self.hours[d] += weight
        cols = self.cols
        for k, v in values.items():
            cols[k][d] += v * weight

    def site_power(self, t: float, site: int, mw: float, weight: float = 1.0) -> None:
        d, s = self.day(t), self.sites[site]
        self.cols[f"facility_mw_{s}"][d] += mw * weight
        self.cols[f"energy_mwh_{s}"][d] += mw * weight
        if mw > self.peak[s][d]:
            self.peak[s][d] = mw

    def finish(self, start_day: int = 0) -> dict[str, np.ndarray]:
        """The daily table: sampled columns as daily means, sums as they are, and the
        ratios (goodput share, utilization, SLO attainment, mean queue wait)."""
        hours = np.maximum(self.hours, 1e-12)
        out: dict[str, np.ndarray] = {"day": np.arange(self.num_days) + start_day}
        for k, v in self.cols.items():
            mean = k in SAMPLED or k.startswith("facility_mw_")
            out[k] = v / hours if mean else v.copy()
        for s in self.sites:
            out[f"facility_mw_peak_{s}"] = self.peak[s].copy()
        good = (
            out["goodput_gpu_h_training"]
            + out["goodput_gpu_h_research"]
            + out["goodput_gpu_h_serving"]
        )
        out["goodput_gpu_h"] = good
        with np.errstate(divide="ignore", invalid="ignore"):
            out["goodput_share"] = np.where(
                out["installed_gpu_h"] > 0, good / out["installed_gpu_h"], 0.0
            )
            out["utilization"] = np.where(
                out["healthy_gpu_h"] > 0, out["used_gpu_h"] / out["healthy_gpu_h"], 0.0
            )
            out["lost_gpu_h"] = sum(out[f"lost_gpu_h_{c}"] for c in LOST_CAUSES)
            out["interruptions"] = (
                out["interruptions_training"] + out["interruptions_research"]
                + out["interruptions_serving"]
            )  # fmt: skip
            out["research_wait_h_mean"] = np.where(
                out["research_started"] > 0,
                out["research_wait_h_sum"] / out["research_started"],
                0.0,
            )
            out["slo_attainment"] = np.where(
                out["demand_requests"] > 0, out["served_ok_requests"] / out["demand_requests"], 1.0
            )
            for w in self.services:
                d = out[f"demand_requests_{w}"]
                out[f"slo_attainment_{w}"] = np.where(
                    d > 0, out[f"served_ok_requests_{w}"] / d, 1.0
                )
        return out
