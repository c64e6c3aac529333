"""Place training: gang-schedule each run, by start month, on one pool (a system kind at a
site) for every period it covers, within the pool's free GPUs, the site's power room and the
pool's retirement (sized again within whichever binds). Training goes first; services share
what is left."""

from __future__ import annotations

from gigafleet.plan.scenario.pools import Pool, binding, eligible
from gigafleet.plan.scenario.size import Fit, fit_for
from gigafleet.plan.scenario.state import ScenarioState, TrainingPlacement
from gigafleet.spec.scenario import TrainingRun, month_index

#: Days in a month, on average (365.25 / 12, rounded): runs' lengths in months.
DAYS_PER_MONTH = 30.44
#: Times a run is sized again within what binds on one pool before it is refused there.
MAX_RESIZES = 4


def fit_on_pool(
    state: ScenarioState, run: TrainingRun, pool: Pool, start: int
) -> tuple[Fit | None, str | None]:
    """The run sized for what ``pool`` can give from ``start``: its GPUs free in every
    period the run covers, its site's power room, its retirement. Where one binds, the
    run is sized again within it (it may then miss its deadline).

    Returns:
        The fit and None, or None and the reason the run cannot go on ``pool``.
    """
    months, step = state.months, state.step
    f = fit_for(state, run, pool)
    s_i = state.site_of[pool.index]
    cap_w, idle_site, training_power = state.cap_w, state.idle_site, state.training_power
    for _ in range(MAX_RESIZES):
        if f.capacity_per_gpu <= 0:
            return None, f.reason or "memory"
        n = f.detail["num_gpus"]
        end = start + f.detail["days"] / DAYS_PER_MONTH
        covered = [k for k, m in enumerate(months) if start < m + step and end > m]
        free = min((pool.num_gpus - state.reserved[k, pool.index] for k in covered),
                   default=pool.num_gpus)  # fmt: skip
        per_gpu_w = f.power_w_per_gpu * pool.pue - state.idle_w[pool.index]
        room = min(
            (cap_w[s_i] - idle_site[k, s_i] - training_power[k, s_i] for k in covered),
            default=cap_w[s_i],
        )
        limit, deadline, reason = None, None, None
        if pool.retire is not None and pool.retire < end:
            deadline = (pool.retire - start) * DAYS_PER_MONTH
            reason = f"GPUs: {pool.system} at {pool.site} retires before the run ends"
        if n > free:
            limit = int(free)
            reason = f"GPUs: needs {n} of {pool.system} at {pool.site}, {int(free)} free"
        if n * per_gpu_w > room:
            limit = min(limit or n, int(max(room, 0.0) / max(per_gpu_w, 1e-9)))
            reason = (
                f"power: {pool.site} has {max(room, 0) / 1e6:,.0f} MW left of its cap, "
                f"the run needs {n * per_gpu_w / 1e6:,.0f} MW more"
            )
        if reason is None:
            return f, None
        if (limit is not None and limit < 1) or (deadline is not None and deadline <= 0):
            return None, reason
        smaller = fit_for(state, run, pool, gpu_cap=limit, deadline_days=deadline)
        if smaller.capacity_per_gpu <= 0 or (smaller.detail["num_gpus"] == n and deadline is None):
            return None, reason
        f = smaller
    return None, reason


def reserve(state: ScenarioState, placement: TrainingPlacement) -> None:
    """Hold the run's GPUs on its pool, and the facility power it adds over their idle draw
    at its site, in every period ``[m, m + step)`` the run overlaps."""
    pool, f, start = placement.pool, placement.fit, placement.start
    step = state.step
    n = f.detail["num_gpus"]
    end = start + placement.days / DAYS_PER_MONTH
    for k, m in enumerate(state.months):
        if start < m + step and end > m:  # the run overlaps the period [m, m + step)
            state.reserved[k, pool.index] += n
            overlap = min(end, m + step) - max(start, m)
            state.held[k, pool.index] += n * overlap / step
            state.training_power[k, state.site_of[pool.index]] += n * (
                f.power_w_per_gpu * pool.pue - state.idle_w[pool.index]
            )


def place_training(state: ScenarioState) -> None:
    """Each run, by start month, on the pool where it meets its deadline soonest (else the
    one where it finishes soonest); a run no pool can take goes to ``state.unplaced`` with
    the constraint that binds. Adds to ``state.training`` and reserves GPUs and power."""
    scn = state.scn
    for run in sorted(scn.workloads.training, key=lambda r: month_index(r.start)):
        start = month_index(run.start)
        options = []
        why = []
        for pool in state.pools:
            reason = eligible(scn, run.name, pool, private=False, training=True)
            if reason is None and not pool.active(start):
                reason = "GPUs: the pool is not in service at the run's start"
            if reason:
                why.append(reason)
                continue
            f, reason = fit_on_pool(state, run, pool, start)
            if reason:
                why.append(reason)
                continue
            options.append((not f.detail["meets_deadline"], f.detail["days"], pool, f))
        if not options:
            state.unplaced.append(
                {"workload": run.name, "kind": "training", "binding": binding(why)}
            )
            continue
        options.sort(key=lambda o: (o[0], o[1]))
        _, days, pool, f = options[0]
        placement = TrainingPlacement(run=run, pool=pool, fit=f, start=start, days=days)
        reserve(state, placement)
        state.training.append(placement)
