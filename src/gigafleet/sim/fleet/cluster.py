"""Small experiments on the fleet simulation that published cluster studies and closed
forms can check: the mean time to interruption of jobs of a given size on a cluster, and
the effective training time ratio of a run against its checkpoint interval.

Both run the full machinery (a pool with its component failure processes, detection,
repair, hot spares, gang jobs with checkpoints and restarts) on a mature cluster: no
infant mortality, no lemons, no stragglers, as the reliability model's rates describe
(Llama 3's cluster). ``validate reliability`` compares them with Meta's, OPT's and
Llama 3's figures; ``tests/sim/fleet`` with the series-system MTTI ``1 / (n lambda)`` and
Daly's expected wall time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gigafleet.sim.fleet.inputs import Cohort, FleetIn, Params, PoolIn, SiteIn, TrainingIn

#: A cluster at least this large hosts jobs side by side (Meta's RSC-1 holds 16,384 GPUs).
CLUSTER_GPUS = 16_384
MATURE_AGE_S = 10 * 365 * 86400.0


def _params(**kw) -> Params:
    base = dict(
        spares_fraction=1.0, swap_s=600.0, burn_in_reject_fraction=0.0, infant_multiplier=1.0,
        lemon_fraction=0.0, straggler_fraction=0.0, hot_spare_fraction=0.25, daily_noise=0.0,
    )  # fmt: skip
    base.update(kw)
    return Params(**base)


def _cluster(num_gpus: int, rate_per_gpu_s: dict[str, float], gpus_per_node: int) -> PoolIn:
    return PoolIn(
        name="cluster", site=0, system="cluster", gpus_per_node=gpus_per_node,
        cohorts=[Cohort(0.0, num_gpus, None, MATURE_AGE_S)], rate_per_gpu_s=rate_per_gpu_s,
        idle_w=0.0,
    )  # fmt: skip


@dataclass(frozen=True)
class Mtti:
    num_gpus: int
    mtti_h: float
    interruptions: int
    job_hours: float
    closed_form_h: float  # the series system: 1 / (n x sum of per-GPU rates)


def job_mtti(
    num_gpus: int, rate_per_gpu_s: dict[str, float], *, gpus_per_node: int = 8,
    target_interruptions: int = 400, seed: int = 0,
) -> Mtti:  # fmt: skip
    """Jobs of ``num_gpus`` side by side on a cluster (as many as ``CLUSTER_GPUS`` holds, at
    least one), running until about ``target_interruptions`` interruptions in all; the MTTI
    is the jobs' time holding GPUs over the interruptions."""
    from gigafleet.sim.fleet import simulate_fleet

    lam_gpu = sum(rate_per_gpu_s.values())
    if lam_gpu <= 0:
        raise ValueError("job_mtti needs a positive failure rate")
    closed_s = 1.0 / (num_gpus * lam_gpu)
    side = max(1, CLUSTER_GPUS // num_gpus)
    horizon = max(target_interruptions * closed_s / side, 86400.0)
    nodes_per_job = math.ceil(num_gpus / gpus_per_node)
    per_job = nodes_per_job * gpus_per_node
    size = side * per_job + side * math.ceil(0.3 * nodes_per_job + 1) * gpus_per_node
    jobs = [
        TrainingIn(name=f"job{i}", pool=0, num_gpus=num_gpus, work_s=10 * horizon, start_s=0.0,
                   checkpoint_interval_s=math.inf, checkpoint_s=0.0, restore_s=0.0, busy_w=0.0)
        for i in range(side)
    ]  # fmt: skip
    inp = FleetIn(
        pools=[_cluster(size, rate_per_gpu_s, gpus_per_node)], sites=[SiteIn("site", 1e15)],
        horizon_s=horizon, params=_params(), training=jobs,
    )  # fmt: skip
    s = simulate_fleet(inp, seed=seed).summary
    row = next(r for r in s["mtti_by_job_size"] if r["num_gpus"] == 1 << int(math.log2(num_gpus)))
    return Mtti(num_gpus, row["mtti_h"] or math.inf, row["interruptions"], row["held_h"],
                closed_s / 3600.0)  # fmt: skip


@dataclass(frozen=True)
class Ettr:
    work_s: float
    ettr_mean: float
    ettr_stderr: float
    wall_s_mean: float
    wall_s_closed_form: float  # Daly's expected wall time (reliability.expected_wall_time_s)
    num_seeds: int

    @property
    def ettr_closed_form(self) -> float:
        return self.work_s / self.wall_s_closed_form


def run_ettr(
    num_gpus: int, rate_per_gpu_s: dict[str, float], *, work_s: float, interval_s: float,
    checkpoint_s: float, restore_s: float, restart_s: float = 300.0, detect_s: float = 300.0,
    gpus_per_node: int = 8, num_seeds: int = 10, seed: int = 0,
) -> Ettr:  # fmt: skip
    """ETTR of a run of ``work_s`` failure-free compute on ``num_gpus`` GPUs with hot
    spares, over seeds, and Daly's closed form at the same restart time (detection +
    restart + checkpoint read)."""
    from gigafleet.reliability import expected_wall_time_s
    from gigafleet.sim.fleet import simulate_fleet

    lam = num_gpus * sum(rate_per_gpu_s.values())
    size = math.ceil(num_gpus * 1.3 / gpus_per_node + 2) * gpus_per_node
    prm = _params(detect_s=detect_s, restart_s=restart_s)
    closed = float(expected_wall_time_s(
        work_s, interval_s=interval_s, checkpoint_s=checkpoint_s,
        restart_s=detect_s + restart_s + restore_s, mtbf_s=1.0 / lam,
    ))  # fmt: skip
    horizon = 4.0 * closed if math.isfinite(closed) else 50.0 * work_s
    walls, ettrs = [], []
    for k in range(num_seeds):
        inp = FleetIn(
            pools=[_cluster(size, rate_per_gpu_s, gpus_per_node)], sites=[SiteIn("site", 1e15)],
            horizon_s=horizon, params=prm,
            training=[TrainingIn(name="run", pool=0, num_gpus=num_gpus, work_s=work_s, start_s=0.0,
                                 checkpoint_interval_s=interval_s, checkpoint_s=checkpoint_s,
                                 restore_s=restore_s, busy_w=0.0)],
        )  # fmt: skip
        row = simulate_fleet(inp, seed=seed + k).summary["training"][0]
        walls.append(row["days"] * 86400.0)
        ettrs.append(row["ettr"])
    e = np.array(ettrs)
    return Ettr(
        work_s=work_s, ettr_mean=float(e.mean()), ettr_stderr=float(e.std(ddof=1) / math.sqrt(e.size)) if e.size > 1 else 0.0,
        wall_s_mean=float(np.mean(walls)), wall_s_closed_form=closed, num_seeds=num_seeds,
    )  # fmt: skip
