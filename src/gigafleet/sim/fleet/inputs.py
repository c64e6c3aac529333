"""What the fleet simulation takes: plain dataclasses of numbers, resolved and sized above it
(``plan/simulate.py`` builds them from a scenario). Times are seconds from the start of the
simulation, powers facility watts (IT x PUE), rates per second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Failure components of the reliability model; ``software`` strikes only busy GPUs.
HARDWARE = ("gpu", "hbm", "host", "nic", "switch")
COMPONENTS = (*HARDWARE, "software")


@dataclass(frozen=True, slots=True)
class Cohort:
    """GPUs of one pool that arrive together (a weekly batch of a rollout)."""

    arrive_s: float
    num_gpus: int
    retire_s: float | None = None
    age0_s: float = 0.0  # age at arrival (deployments in service at the start are older)


@dataclass
class PoolIn:
    """One system kind at one site."""

    name: str
    site: int
    system: str
    gpus_per_node: int
    cohorts: list[Cohort]
    rate_per_gpu_s: dict[str, float]  # component -> failures per GPU-second
    idle_w: float  # facility W of a healthy GPU with nothing to do
    research_w: float = 0.0  # facility W of a GPU running a research job
    cloud: bool = False
    tee: bool = False
    region: str = ""
    price_usd_per_gpu_hour: float = 0.0  # cloud pools: what a rented GPU-hour costs
    research: bool = False  # research jobs may run here

    def installed_at(self, t: float) -> int:
        return sum(
            c.num_gpus
            for c in self.cohorts
            if c.arrive_s <= t and (c.retire_s is None or t < c.retire_s)
        )


@dataclass
class SiteIn:
    name: str
    cap_w: float  # facility W the site may draw


@dataclass
class TrainingIn:
    """A frontier run placed by the planner: gang of ``num_gpus`` on one pool."""

    name: str
    pool: int
    num_gpus: int
    work_s: float  # failure-free compute time
    start_s: float
    checkpoint_interval_s: float
    checkpoint_s: float
    restore_s: float
    busy_w: float  # facility W per GPU while training


@dataclass
class ServiceIn:
    """A service and what each pool offers it (zero capacity: the pool may not take it)."""

    name: str
    kind: str
    requests_per_s: float  # daily mean at ``start_s``
    growth_per_year: float
    start_s: float
    profile: np.ndarray  # [24] demand per hour of day over the daily mean
    cap_per_gpu: np.ndarray  # [P] requests (or inferences) per second per GPU
    gpus_per_replica: np.ndarray  # [P]
    busy_w: np.ndarray  # [P] facility W per GPU at full load
    order: list[int]  # eligible pools, the planner's placement first, then by cost
    weights: list[tuple[float, np.ndarray]] = field(default_factory=list)
    # (from_s, [P] share of capacity per pool) by period, from the static placement
    slo_at_capacity: float = 1.0  # SLO attainment the request simulator gives at capacity


@dataclass
class ResearchIn:
    arrivals_per_s: float
    sizes: np.ndarray  # GPUs per job, per class
    shares: np.ndarray  # probability of each class
    duration_median_s: float
    duration_sigma: float
    duration_max_s: float
    exponential: bool = False
    high_share: float = 0.2
    preemptible_after_s: float = 7200.0
    reserve_after_s: float = 6 * 3600.0
    checkpoint_s: float = 60.0


@dataclass
class GridEventIn:
    site: int
    start_s: float
    duration_s: float
    shed_w: float
    preempt: bool  # the policy: preempt (True) or cap (False)


@dataclass
class Params:
    """Knobs of the mechanisms (``spec/simulation.py`` documents each default)."""

    detect_s: float = 300.0
    swap_s: float = 7200.0
    repair_s: float = 5 * 86400.0
    spares_fraction: float = 0.02
    burn_in_reject_fraction: float = 0.0
    infant_multiplier: float = 1.0
    infant_s: float = 30 * 86400.0
    lemon_fraction: float = 0.0
    lemon_multiplier: float = 1.0
    lemon_remove_after: int = 3
    lemon_window_s: float = 28 * 86400.0
    restart_s: float = 300.0
    checkpoint_interval_s: float | None = None
    hot_spare_fraction: float = 0.0
    straggler_fraction: float = 0.0
    straggler_slowdown: float = 1.0
    headroom: float = 0.1
    daily_noise: float = 0.0
    replica_restart_s: float = 300.0
    dvfs_exponent: float = 1.6
    min_clock_fraction: float = 0.2
    cloud_bursting: bool = True


@dataclass
class FleetIn:
    """Everything one simulation needs."""

    pools: list[PoolIn]
    sites: list[SiteIn]
    horizon_s: float
    params: Params = field(default_factory=Params)
    training: list[TrainingIn] = field(default_factory=list)
    services: list[ServiceIn] = field(default_factory=list)
    research: ResearchIn | None = None
    grid_events: list[GridEventIn] = field(default_factory=list)
    start_label: str = ""  # YYYY-MM of day 0, for dates in the output
