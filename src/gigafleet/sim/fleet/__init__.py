"""The fleet over time: a year (or any horizon) of operations, simulated on the event engine.

Plain inputs (``inputs.py``: pools with their cohorts and failure rates, frontier runs
sized by the planner, services with their capacity per pool, the research job mix, grid
events) go in; a daily table and a summary come out. One module per mechanism:

- ``hardware``: the rollout, infant mortality, failures as superposed Poisson processes,
  detection, repair with spares, lemons;
- ``jobs``: a gang job's progress under checkpoints (closed form between events);
- ``research``: arrivals, queueing, backfill, reservation, preemption;
- ``serving``: hourly autoscaling to the daily pattern, failures, bursting, SLO;
- ``power``: site caps and grid events, capping or preemption;
- ``loop``: the event loop and the GPU ledger; ``metrics``/``summary``: the outputs;
- ``cluster``: small experiments (job MTTI by size, ETTR against the checkpoint
  interval) that ``validate reliability`` and the tests compare with published data and
  closed forms.

``plan/simulate.py`` builds the inputs from a scenario and fans seeds out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.sim.fleet.inputs import (
    COMPONENTS,
    Cohort,
    FleetIn,
    GridEventIn,
    Params,
    PoolIn,
    ResearchIn,
    ServiceIn,
    SiteIn,
    TrainingIn,
)


@dataclass
class FleetRun:
    """One seed's outputs: ``daily`` (column -> array, one entry per day), ``summary``."""

    seed: int
    daily: dict[str, np.ndarray]
    summary: dict[str, Any]


def simulate_fleet(inp: FleetIn, *, seed: int = 0) -> FleetRun:
    """Simulate ``inp`` with random stream ``seed`` (the same seed gives the same run)."""
    from gigafleet.sim.fleet.loop import FleetSim
    from gigafleet.sim.fleet.summary import summarize

    sim = FleetSim(inp, np.random.SeedSequence(seed))
    out = sim.run()
    return FleetRun(seed=seed, daily=out["daily"], summary=summarize(sim, out["daily"]))


__all__ = [
    "COMPONENTS",
    "Cohort",
    "FleetIn",
    "FleetRun",
    "GridEventIn",
    "Params",
    "PoolIn",
    "ResearchIn",
    "ServiceIn",
    "SiteIn",
    "TrainingIn",
    "simulate_fleet",
]
