"""Event simulation of failures, checkpoints and restarts over one training run.

The run needs ``solve_s`` of failure-free compute. It computes for ``interval_s``, writes a
checkpoint (``checkpoint_s``), and so on; the last piece needs no checkpoint. Failures
arrive as a Poisson process of mean gap ``mtbf_s`` over wall time, in any phase (compute,
checkpoint, restart). A failure loses the work since the last completed checkpoint and
starts a restart of ``restart_s`` (detection, rescheduling, checkpoint read), which a
further failure starts over. This is the model behind Daly's closed form
(:func:`gigafleet.reliability.expected_wall_time_s`); ``tests/test_sim_failures.py`` checks
that the mean wall time over many seeds agrees with it.

Events are ``(time, seq, kind, payload)`` tuples on :class:`gigafleet.sim.engine.Engine`.
A failure invalidates the pending end-of-segment or end-of-restart event by bumping an
epoch counter (lazy deletion: stale events carry an old epoch and are ignored), so the
heap never needs a removal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gigafleet.errors import GigafleetError
from gigafleet.reliability import expected_wall_time_s
from gigafleet.sim.engine import Engine


@dataclass(frozen=True, slots=True)
class FailureRun:
    """One simulated run."""

    wall_time_s: float
    num_failures: int
    lost_work_s: float  # compute done and then lost to failures
    num_checkpoints: int
    num_events: int


def _check(**kw: float) -> None:
    for name, v in kw.items():
        if not (v >= 0 and math.isfinite(v)):
            raise GigafleetError(f"got {v}; allowed: zero or a positive number", field=name)
    for name in ("interval_s", "mtbf_s"):
        if kw.get(name, 1.0) <= 0:
            raise GigafleetError(f"got {kw[name]}; allowed: a positive number", field=name)


def simulate_run(
    solve_s: float,
    *,
    mtbf_s: float,
    interval_s: float,
    checkpoint_s: float,
    restart_s: float,
    seed: int | np.random.Generator = 0,
) -> FailureRun:
    """Simulate one run; returns its wall time, failures and lost work."""
    _check(
        solve_s=solve_s, mtbf_s=mtbf_s, interval_s=interval_s, checkpoint_s=checkpoint_s,
        restart_s=restart_s,
    )  # fmt: skip
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    eng = Engine()
    st = {"done": 0.0, "epoch": 0, "seg_start": 0.0, "piece": 0.0, "finished": False}
    st.update(failures=0, lost=0.0, ckpts=0, end=0.0, phase="work")

    def start_segment(t: float) -> None:
        piece = min(interval_s, solve_s - st["done"])
        last = st["done"] + piece >= solve_s
        st["piece"], st["seg_start"], st["phase"] = piece, t, "work"
        eng.schedule(t + piece + (0.0 if last else checkpoint_s), "seg_done", st["epoch"])

    def on_seg_done(t: float, epoch: int) -> None:
        if epoch != st["epoch"] or st["finished"]:
            return
        st["done"] += st["piece"]
        if st["done"] >= solve_s - 1e-9 * max(solve_s, 1.0):
            st["finished"], st["end"] = True, t
            return
        st["ckpts"] += 1
        start_segment(t)

    def on_restart_done(t: float, epoch: int) -> None:
        if epoch == st["epoch"] and not st["finished"]:
            start_segment(t)

    def on_fail(t: float, _: object) -> None:
        if st["finished"]:
            return
        st["failures"] += 1
        st["epoch"] += 1
        if st["phase"] == "work":
            st["lost"] += min(t - st["seg_start"], st["piece"])
        st["phase"] = "restart"
        eng.schedule(t + restart_s, "restart_done", st["epoch"])
        eng.schedule(t + rng.exponential(mtbf_s), "fail")

    eng.on("seg_done", on_seg_done)
    eng.on("restart_done", on_restart_done)
    eng.on("fail", on_fail)
    eng.schedule(rng.exponential(mtbf_s), "fail")
    if solve_s > 0:
        start_segment(0.0)
        while not st["finished"]:
            eng.run(max_events=100_000)
    return FailureRun(
        wall_time_s=float(st["end"]),
        num_failures=int(st["failures"]),
        lost_work_s=float(st["lost"]),
        num_checkpoints=int(st["ckpts"]),
        num_events=eng.num_events,
    )


@dataclass(frozen=True)
class FailureRuns:
    """Many seeds of one scenario, with the closed form to compare against."""

    solve_s: float
    wall_time_s: np.ndarray
    num_failures: np.ndarray
    lost_work_s: np.ndarray
    closed_form_wall_s: float

    @property
    def mean_wall_s(self) -> float:
        return float(self.wall_time_s.mean())

    @property
    def stderr_wall_s(self) -> float:
        return float(self.wall_time_s.std(ddof=1) / math.sqrt(self.wall_time_s.size))

    @property
    def ett(self) -> float:
        """Effective training time ratio of the mean wall time: solve / E[wall]."""
        return self.solve_s / self.mean_wall_s

    @property
    def closed_form_ett(self) -> float:
        return self.solve_s / self.closed_form_wall_s

    def summary(self) -> dict[str, float]:
        return {
            "num_seeds": int(self.wall_time_s.size),
            "mean_wall_s": self.mean_wall_s,
            "stderr_wall_s": self.stderr_wall_s,
            "closed_form_wall_s": self.closed_form_wall_s,
            "ett_sim": self.ett,
            "ett_closed_form": self.closed_form_ett,
            "mean_failures": float(self.num_failures.mean()),
            "mean_lost_work_s": float(self.lost_work_s.mean()),
        }


def simulate_runs(
    solve_s: float,
    *,
    mtbf_s: float,
    interval_s: float,
    checkpoint_s: float,
    restart_s: float,
    num_seeds: int = 200,
    seed: int = 0,
) -> FailureRuns:
    """Simulate ``num_seeds`` independent runs and attach Daly's closed form."""

    if num_seeds < 2:
        raise GigafleetError(f"got {num_seeds}; allowed: 2 or more", field="num_seeds")
    streams = np.random.SeedSequence(seed).spawn(num_seeds)
    runs = [
        simulate_run(
            solve_s, mtbf_s=mtbf_s, interval_s=interval_s, checkpoint_s=checkpoint_s,
            restart_s=restart_s, seed=np.random.default_rng(s),
        )
        for s in streams
    ]  # fmt: skip
    closed = float(
        expected_wall_time_s(
            solve_s, interval_s=interval_s, checkpoint_s=checkpoint_s, restart_s=restart_s,
            mtbf_s=mtbf_s,
        )
    )  # fmt: skip
    return FailureRuns(
        solve_s=float(solve_s),
        wall_time_s=np.array([r.wall_time_s for r in runs]),
        num_failures=np.array([r.num_failures for r in runs]),
        lost_work_s=np.array([r.lost_work_s for r in runs]),
        closed_form_wall_s=closed,
    )
