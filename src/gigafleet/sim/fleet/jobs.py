"""A gang-scheduled training job and its progress under checkpoints, failures and restarts.

A running job computes for ``tau`` (wall seconds), writes a checkpoint for ``delta``, and so
on; the last piece needs no checkpoint. Its progress is known in closed form from the time
it (re)started, so no event is needed per checkpoint: from a start at ``t0`` with ``R`` of
compute left, the job ends at

    t_end = t0 + k (tau + delta) + (R - k tau),    k = ceil(R / tau) - 1,

and a failure at ``t`` keeps ``j = min(floor((t - t0) / (tau + delta)), k)`` segments and
loses the compute since the last completed checkpoint (a failure during a checkpoint write
loses the whole segment). This is the model of :mod:`gigafleet.sim.failures` and of Daly's
closed form (Daly 2006, FGCS 22(3)); ``tests/sim/fleet`` checks the fleet simulation's wall
time against it.

A straggling job runs at ``speed < 1``: its compute is ``work / speed`` of wall time, the
part ``1 - speed`` of which is counted as lost to stragglers.
"""

from __future__ import annotations

import math

QUEUED, RUNNING, RESTARTING, WAITING, DONE = range(5)


class Job:
    """One gang job. Times in seconds; ``left`` is compute still to do, in wall seconds."""

    __slots__ = (
        "id", "name", "pool", "n", "prio", "frontier", "cls", "work", "left", "tau", "delta",
        "restore", "speed", "t0", "k", "status", "epoch", "arrive", "first_start", "end",
        "wait", "hits", "held_s", "held_since", "held", "spares", "started", "fail_t",
        "productive", "ckpt", "lost", "restart_wait", "preemptions", "busy_w", "slot",
    )  # fmt: skip

    def __init__(
        self, jid: int, *, name: str, n: int, work: float, tau: float, delta: float,
        restore: float, speed: float = 1.0, prio: int = 0, frontier: bool = False,
        arrive: float = 0.0, cls: int = 0, busy_w: float = 0.0,
    ) -> None:  # fmt: skip
        self.id, self.name, self.n, self.prio, self.frontier = jid, name, n, prio, frontier
        self.cls, self.busy_w = cls, busy_w
        self.work = work  # failure-free compute at nominal speed
        self.speed = speed
        self.left = work / speed
        self.tau, self.delta, self.restore = max(tau, 1e-9), delta, restore
        self.pool = -1
        self.t0 = 0.0
        self.k = 0
        self.status = QUEUED
        self.epoch = 0
        self.arrive = arrive
        self.first_start = -1.0
        self.end = -1.0
        self.wait = 0.0  # time queued before the first start
        self.hits = 0  # interruptions by failures (while running or restarting)
        self.held_s = 0.0  # time holding GPUs (running or restarting)
        self.held_since = 0.0
        self.held = 0  # GPUs held now
        self.spares = 0  # hot-spare GPUs held now (frontier runs)
        self.started = 0.0  # last start (for preemption eligibility)
        self.fail_t = 0.0  # last interruption
        self.productive = 0.0  # wall compute kept (at the job's speed)
        self.ckpt = 0.0  # wall time writing checkpoints
        self.lost = 0.0  # wall compute lost to failures and preemptions
        self.restart_wait = 0.0  # wall time restarting or waiting for nodes
        self.preemptions = 0
        self.slot = -1  # index in its pool's running list (O(1) removal)

    def run_from(self, t0: float) -> float:
        """Start computing at ``t0``; returns the end time if nothing interrupts."""
        self.t0 = t0
        self.status = RUNNING
        self.k = max(math.ceil(self.left / self.tau - 1e-12) - 1, 0) if self.tau < math.inf else 0
        return t0 + self.left + self.k * self.delta

    def progress_at(self, t: float) -> tuple[float, float, float]:
        """Compute kept, compute lost and checkpoint time if the run stops at ``t``."""
        e = max(t - self.t0, 0.0)
        if self.k == 0:  # one piece, no checkpoint (also when checkpoints are off: tau = inf)
            return 0.0, min(e, self.left), 0.0
        seg = self.tau + self.delta
        j = min(int(e // seg), self.k)
        partial = e - j * seg
        if j == self.k:  # the last piece: no checkpoint after it
            return j * self.tau, min(partial, self.left - j * self.tau), j * self.delta
        return j * self.tau, min(partial, self.tau), j * self.delta + max(partial - self.tau, 0.0)

    def stop(self, t: float, *, keep_partial: bool = False) -> tuple[float, float, float]:
        """Stop computing at ``t`` (failure, preemption, or the horizon when
        ``keep_partial``): bank the kept segments; returns (kept, lost, checkpoint)."""
        kept, lost, ckpt = self.progress_at(t)
        if keep_partial:
            kept, lost = kept + lost, 0.0
        self.left = max(self.left - kept, 0.0)
        self.productive += kept
        self.ckpt += ckpt
        self.lost += lost
        self.epoch += 1
        return kept, lost, ckpt

    def finish(self, t: float) -> tuple[float, float]:
        """Completed at ``t``; returns (kept, checkpoint) of the last run."""
        kept = self.left
        ckpt = self.k * self.delta
        self.productive += kept
        self.ckpt += ckpt
        self.left = 0.0
        self.status = DONE
        self.end = t
        self.epoch += 1
        return kept, ckpt

    def hold(self, t: float) -> None:
        self.held_since = t

    def release_hold(self, t: float) -> None:
        self.held_s += t - self.held_since
        self.held_since = t
