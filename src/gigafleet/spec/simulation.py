"""The ``simulation:`` block of a scenario: what a year of operations needs that the static
run does not (hardware failures and repairs, research jobs, the daily serving load, grid
events), read by ``gigafleet simulate``.

Every default names its source or says it is an estimate. Figures marked *secondary* come
from digests of the papers, not the papers themselves (``research/power_money_fleet``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from gigafleet.errors import GigafleetError, unknown_name
from gigafleet.spec.base import UserSpec

_MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class _Strict(UserSpec):
    pass


class Rollout(_Strict):
    """How deployments arrive and what young hardware does."""

    days: float = Field(
        default=84.0, ge=0, description="a deployment's racks arrive in weekly batches over "
        "this many days from its arrive month (0: all at once); estimate: a quarter",
    )  # fmt: skip
    burn_in_reject_fraction: float = Field(
        default=0.015, ge=0, le=1, description="share of arriving nodes that fail burn-in and "
        "go to repair before service (Alibaba Aegis: pre-delivery checks intercept 1-2% of "
        "hosts, NSDI'25, secondary)",
    )  # fmt: skip
    infant_multiplier: float = Field(
        default=3.0, ge=1, description="hardware failure rate of a new node over a mature one "
        "at age 0, decaying as exp(-age / infant_days); estimate (no published GB200/GB300 "
        "burn-in rate: research notes)",
    )  # fmt: skip
    infant_days: float = Field(default=30.0, gt=0, description="decay time of the excess")
    initial_age_days: float = Field(
        default=365.0, ge=0, description="age of the deployments already in service at the "
        "start (past infant mortality by default)",
    )  # fmt: skip


class Lemons(_Strict):
    """Repeat offenders: nodes that fail far more often than their peers, found and removed."""

    fraction: float = Field(
        default=0.02, ge=0, le=1, description="share of a new deployment's nodes that are "
        "lemons (Meta RSC-1: 40 lemon nodes in a ~2,000-node cluster, Kokolis et al. 2024, "
        "secondary)",
    )  # fmt: skip
    multiplier: float = Field(
        default=20.0, ge=1, description="a lemon's failure rate over a normal node's (derived "
        "from a 63-node B200 cluster where 3 nodes caused over half the exclusions, "
        "arXiv:2605.09370 abstract: (0.5/3)/(0.5/60))",
    )  # fmt: skip
    remove_after: int = Field(default=3, ge=1, description="failures within the window")
    window_days: float = Field(
        default=28.0, gt=0, description="Meta's lemon thresholds come from a 28-day window "
        "(Kokolis et al. 2024, secondary)",
    )  # fmt: skip


class Hardware(_Strict):
    """Failures, detection and repair of the installed hardware."""

    rate_scale: float = Field(
        default=1.0, ge=0, description="multiplies every component rate of the reliability "
        "model (fitted on Llama 3; Meta RSC-1 reports 1.7x its per-node rate)",
    )  # fmt: skip
    detect_s: float = Field(
        default=300.0, ge=0, description="failure to detection: Meta's health checks run "
        "every 5 min (Kokolis et al., secondary); Crusoe detects and replaces in < 5 min",
    )  # fmt: skip
    swap_h: float = Field(
        default=2.0, ge=0, description="a failed node replaced from the site's spares; "
        "estimate (no published operator MTTR)",
    )  # fmt: skip
    repair_days: float = Field(
        default=5.0, gt=0, description="a failed node repaired (or RMA'd) and back in the "
        "spare stock, or in service when no spare was free; estimate",
    )  # fmt: skip
    spares_fraction: float = Field(
        default=0.02, ge=0, le=1, description="cold spare nodes per pool as a share of its "
        "nodes (NCSA Delta: 2% spares give 99.9% availability at 5-min recovery, secondary)",
    )  # fmt: skip
    rollout: Rollout = Rollout()
    lemons: Lemons = Lemons()


class Stragglers(_Strict):
    """Jobs that run persistently slower than planned (ByteDance OSDI'25, secondary:
    42.5% of 3,079 jobs straggle and 10.4% of GPU-hours are wasted overall)."""

    job_fraction: float = Field(default=0.425, ge=0, le=1, description="share of jobs")
    slowdown: float = Field(
        default=1.32, ge=1, description="step time over planned of a straggling job: "
        "1 / (1 - 0.104 / 0.425), so the waste matches 10.4% of GPU-hours",
    )  # fmt: skip


class Training(_Strict):
    """Checkpoint and restart of gang-scheduled training jobs (frontier and research)."""

    restart_s: float = Field(
        default=300.0, ge=0, description="rescheduling and re-initialisation after detection, "
        "before the checkpoint read: with detect_s, the reliability model's 10 min (PyTorch's "
        "default NCCL watchdog timeout, rescheduling folded in)",
    )  # fmt: skip
    checkpoint_interval_s: float | None = Field(
        default=None, gt=0, description="compute between checkpoints (none: Daly's optimum)"
    )
    hot_spare_fraction: float = Field(
        default=0.04, ge=0, le=1, description="idle nodes a frontier run holds for instant "
        "replacement (BLOOM kept 4 spares per 48 nodes; NCSA Delta: 2-5%)",
    )  # fmt: skip
    stragglers: Stragglers = Stragglers()


class JobSize(_Strict):
    gpus: int = Field(gt=0)
    share: float = Field(gt=0, description="share of arriving jobs (normalised)")


class Research(_Strict):
    """The research job mix: Poisson arrivals, sizes, lognormal durations, priorities."""

    arrivals_per_day: float = Field(default=0.0, ge=0, description="jobs arriving per day")
    sizes: list[JobSize] = Field(default_factory=lambda: [JobSize(gpus=8, share=1.0)], min_length=1)
    duration_median_h: float = Field(default=2.0, gt=0, description="median run time")
    duration_sigma: float = Field(
        default=2.2, ge=0, description="lognormal sigma (traces: 2.1-2.6 matching mean and "
        "median, Acme cluster_summary.csv, derived)",
    )  # fmt: skip
    duration_max_h: float = Field(default=336.0, gt=0, description="cap (Seren: 14 days)")
    duration_distribution: Literal["lognormal", "exponential"] = Field(
        default="lognormal", description="exponential: mean = duration_median_h (for checks)"
    )
    high_priority_share: float = Field(default=0.2, ge=0, le=1)
    preemptible_after_h: float = Field(
        default=2.0, ge=0, description="low-priority jobs may be preempted after running "
        "this long (Meta RSC policy, secondary)",
    )  # fmt: skip
    reserve_after_h: float = Field(
        default=6.0, ge=0, description="a queue head waiting longer stops backfill until it starts"
    )
    checkpoint_write_s: float = Field(default=60.0, ge=0, description="estimate")
    power_fraction: float = Field(
        default=0.7, ge=0, le=1, description="a research GPU's draw between idle (0) and the "
        "pool's frontier training draw (1); estimate",
    )  # fmt: skip
    sites: list[str] | None = Field(
        default=None, description="sites it may use (default: all owned)"
    )


class Serving(_Strict):
    """The daily load and how replicas follow it."""

    headroom: float = Field(default=0.1, ge=0, le=2, description="capacity kept over demand")
    daily_noise: float = Field(
        default=0.05, ge=0, le=1, description="lognormal sigma of a day's demand about its trend"
    )
    replica_restart_s: float = Field(
        default=300.0, ge=0, description="a replica hit by a failure is back after this "
        "(reschedule and load the weights); estimate",
    )  # fmt: skip


class GridEvent(_Strict):
    """A site must draw ``shed_mw`` less than it drew when the event began, for ``hours``
    from ``start_day`` (a demand-response call; the simulation acts on whole hours)."""

    site: str
    start_day: float = Field(
        ge=0, description="day from the simulation's start (rounded to the hour)"
    )
    hours: float = Field(gt=0, description="duration (rounded up to whole hours)")
    shed_mw: float = Field(gt=0, description="MW below the draw at the event's start")
    policy: Literal["cap", "preempt"] | None = Field(
        default=None, description="default: power.policy"
    )


class Power(_Strict):
    policy: Literal["cap", "preempt"] = Field(
        default="cap", description="cap: lower every busy GPU's clock (DVFS); preempt: stop "
        "research, then training, and power their nodes off (services are kept)",
    )  # fmt: skip
    grid_events: list[GridEvent] = []


class Simulation(_Strict):
    """A year (or ``days``) of the fleet's operations, over ``seeds`` random seeds."""

    days: float = Field(default=365.0, gt=0, le=3660)
    start: str | None = Field(
        default=None, pattern=_MONTH_PATTERN, description="YYYY-MM (default: timeline.start)"
    )
    seeds: int = Field(default=1, ge=1, le=10_000)
    seed: int = Field(default=0, ge=0)
    hardware: Hardware = Hardware()
    training: Training = Training()
    research: Research = Research()
    serving: Serving = Serving()
    power: Power = Power()

    @model_validator(mode="after")
    def _horizon(self) -> Simulation:
        if self.research.duration_max_h < self.research.duration_median_h and (
            self.research.duration_distribution == "lognormal"
        ):
            raise ValueError("research.duration_max_h is below duration_median_h")
        return self


def check_simulation(scn: Any) -> None:
    """Names in the block resolve: grid events and research sites name sites of ``scn``.
    The error's ``loc`` is the key path, for ``spec.scenario.located`` to add the line."""
    sim = scn.simulation
    if sim is None:
        return
    sites = [s.name for s in scn.sites]
    owned = [s.name for s in scn.sites if s.kind == "owned"]
    for i, ev in enumerate(sim.power.grid_events):
        if ev.site not in sites:
            _error(("simulation", "power", "grid_events", i, "site"), "site", ev.site, sites)
    for i, name in enumerate(sim.research.sites or []):
        if name not in sites:
            _error(("simulation", "research", "sites", i), "site", name, sites)
    if sim.research.arrivals_per_day > 0 and not (sim.research.sites or owned):
        _error(("simulation", "research", "sites"), "site", "(none)", owned)


def _error(loc: tuple[Any, ...], what: str, name: str, allowed: list[str]) -> None:

    err = unknown_name(what, name, allowed, field=".".join(str(p) for p in loc))
    err.loc = loc
    raise err


def job_size_error(loc: tuple[Any, ...], gpus: int, largest: int) -> GigafleetError:
    """A research job larger than any pool it may use."""
    err = GigafleetError(
        f"a job of {gpus:,} GPUs is larger than any pool research may use (the largest holds "
        f"{largest:,}); allowed: up to {largest:,}",
        field=".".join(str(p) for p in loc),
    )
    err.loc = loc
    return err
