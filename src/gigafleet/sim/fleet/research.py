"""The research job mix: Poisson arrivals, sizes from a discrete mix, lognormal (or
exponential) run times, two priorities; queueing, backfill, reservation and preemption.

Queues are FIFO per (priority, size class). A scheduling pass starts, oldest first, every
class head that fits a pool (best fit: the pool with the least free GPUs that still holds
it, within its site's power room), so smaller jobs backfill around a large head that does
not fit. A head that has waited longer than ``reserve_after_s`` stops all backfill until it
starts (the starvation guard of EASY backfilling, without run-time estimates). A
high-priority head that does not fit preempts low-priority jobs that have run at least
``preemptible_after_s`` (Meta's research clusters: two hours), youngest first; they lose
the work since their last checkpoint and go back to the front of their queue.

With one size class, exponential run times, no failures and one pool of ``c`` slots, the
queue is M/M/c and its mean wait is Erlang C (``tests/sim/fleet``).
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from gigafleet.sim.fleet.inputs import ResearchIn
from gigafleet.sim.fleet.jobs import QUEUED, RESTARTING, RUNNING, Job

if TYPE_CHECKING:
    from gigafleet.sim.fleet.loop import FleetSim


class Research:
    """Queues and running research jobs; ``sim`` owns the GPUs and the clock."""

    def __init__(self, sim: FleetSim, rin: ResearchIn | None, rng: np.random.Generator):
        self.sim = sim
        self.rin = rin
        self.rng = rng
        self.pools = [i for i, p in enumerate(sim.inp.pools) if p.research]
        sizes = rin.sizes if rin is not None else np.zeros(0, dtype=int)
        self.sizes = [int(s) for s in sizes]
        num_c = len(self.sizes)
        self.queues = [[deque() for _ in range(num_c)] for _ in range(2)]  # [prio][class]
        self.num_queued = 0
        self.queued_gpus = 0
        # running research jobs by (pool, class): lists with O(1) swap-removal
        self.running = [[[] for _ in range(num_c)] for _ in sim.inp.pools]
        self.class_gpus = [[0] * num_c for _ in sim.inp.pools]
        self.waits: list[float] = []
        self.arrived = self.started = self.finished = self.preempted = 0
        self.blocked_until_prio = -1
        self._last_preempt_try: dict[int, float] = {}
        self.min_size = min(self.sizes) if self.sizes else 0

    # ---- arrivals -----------------------------------------------------------------------

    def first_arrival(self) -> None:
        rin = self.rin
        if rin is None or rin.arrivals_per_s <= 0 or not self.pools:
            return
        self._refill()
        self.sim.eng.schedule(self._next_gap(), "arrive")

    #: Arrivals drawn at once (vectorised draws; the stream is the research generator's).
    BATCH = 4096

    def _refill(self) -> None:
        rin, rng, size = self.rin, self.rng, self.BATCH
        self._gaps = rng.exponential(1.0 / rin.arrivals_per_s, size).tolist()
        cls = (
            rng.choice(len(self.sizes), size=size, p=rin.shares)
            if len(self.sizes) > 1
            else np.zeros(size, int)
        )
        self._cls = cls.tolist()
        if rin.exponential:
            dur = rng.exponential(rin.duration_median_s, size)
        else:
            dur = rin.duration_median_s * np.exp(rin.duration_sigma * rng.standard_normal(size))
        self._dur = np.minimum(dur, rin.duration_max_s).tolist()
        self._prio = (rng.random(size) < rin.high_share).tolist()
        prm = self.sim.inp.params
        self._strag = (rng.random(size) < prm.straggler_fraction).tolist()
        self._i = 0

    def _next_gap(self) -> float:
        if self._i >= self.BATCH:
            self._refill()
        return self._gaps[self._i]

    def on_arrive(self, t: float, _: object) -> None:
        sim, rin = self.sim, self.rin
        i = self._i
        c, dur, prio, strag = self._cls[i], self._dur[i], self._prio[i], self._strag[i]
        self._i = i + 1
        nxt = t + self._next_gap()
        if nxt < sim.inp.horizon_s:
            sim.eng.schedule(nxt, "arrive")
        speed = 1.0 / sim.inp.params.straggler_slowdown if strag else 1.0
        job = Job(
            sim.new_job_id(), name="research", n=self.sizes[c], work=dur, tau=math.inf,
            delta=rin.checkpoint_s, restore=rin.checkpoint_s, speed=speed, prio=int(prio),
            arrive=t, cls=c,
        )  # fmt: skip
        self.arrived += 1
        sim.metrics.add("research_arrived", t, 1.0)
        self.enqueue(job, front=False)
        self.schedule(t)

    def enqueue(self, job: Job, *, front: bool) -> None:
        job.status = QUEUED
        q = self.queues[job.prio][job.cls]
        if front:
            q.appendleft(job)
        else:
            q.append(job)
        self.num_queued += 1
        self.queued_gpus += job.n

    # ---- scheduling ---------------------------------------------------------------------

    def schedule(self, t: float) -> None:
        """Start what fits (module docstring)."""
        if not self.num_queued:
            return
        sim = self.sim
        free = {p: sim.research_free(p) for p in self.pools}
        top = max(free.values())
        if top < self.min_size and not any(self.queues[1]):
            return  # nothing fits and nothing may preempt
        site_of = {p: sim.inp.pools[p].site for p in self.pools}
        room = {s: sim.power.cap_w(s, t) - sim.site_draw(s) for s in set(site_of.values())}
        extra = sim.research_extra_w
        reserve_after = self.rin.reserve_after_s
        # the most a pool could give research once its research jobs end: a head larger
        # than that would hold capacity for nothing
        reachable = max(free[p] + self.sim.research_gpus[p] for p in self.pools)
        for prio in (1, 0):
            queues = self.queues[prio]
            while True:
                heads = [(q[0].arrive, c) for c, q in enumerate(queues) if q]
                if not heads:
                    break
                heads.sort()
                started = False
                for i, (arrive, c) in enumerate(heads):
                    job = queues[c][0]
                    n = job.n
                    p = -1
                    if n <= top:  # best fit: the least free pool that holds it
                        best_free = math.inf
                        for q, f in free.items():
                            if n <= f < best_free and room[site_of[q]] >= n * extra[q]:
                                p, best_free = q, f
                    if p < 0 and prio == 1 and i == 0:
                        p = self.preempt_for(job, t)
                        if p >= 0:
                            free = {q: sim.research_free(q) for q in self.pools}
                            room = {s: sim.power.cap_w(s, t) - sim.site_draw(s) for s in room}
                    if p >= 0:
                        queues[c].popleft()
                        self.num_queued -= 1
                        self.queued_gpus -= n
                        self.start(job, p, t)
                        free[p] -= n
                        room[site_of[p]] -= n * extra[p]
                        top = max(free.values())
                        started = True
                        break
                    if i == 0 and t - arrive > reserve_after and n <= reachable:
                        return  # hold capacity for the oldest head: no backfill
                if not started:
                    break

    def start(self, job: Job, p: int, t: float) -> None:
        sim = self.sim
        resumed = job.first_start >= 0
        if not resumed:
            job.first_start = t
            job.wait = t - job.arrive
            self.waits.append(job.wait)
            self.started += 1
            sim.metrics.add("research_started", t, 1.0)
            sim.metrics.add("research_wait_h_sum", t, job.wait / 3600.0)
            job.tau = sim.checkpoint_interval(p, job.n, job.delta)
        job.pool = p
        sim.acquire_research(job, p, t)
        lst = self.running[p][job.cls]
        job.slot = len(lst)
        lst.append(job)
        self.class_gpus[p][job.cls] += job.n
        job.started = t
        if resumed:  # back from a preemption or a failure: restart and read the checkpoint
            job.status = RESTARTING
            job.fail_t = t
            sim.eng.schedule(t + sim.inp.params.restart_s + job.restore, "resume", (job, job.epoch))
        else:
            sim.eng.schedule(job.run_from(t), "end", (job, job.epoch))

    def remove_running(self, job: Job) -> None:
        lst = self.running[job.pool][job.cls]
        last = lst.pop()
        if last is not job:
            lst[job.slot] = last
            last.slot = job.slot
        job.slot = -1
        self.class_gpus[job.pool][job.cls] -= job.n

    def pick(self, p: int, u: float) -> Job:
        """The running job of pool ``p`` holding GPU ``u`` (0 <= u < GPUs held by research)."""
        for c, gpus in enumerate(self.class_gpus[p]):
            if u < gpus:
                lst = self.running[p][c]
                return lst[min(int(u // self.sizes[c]), len(lst) - 1)]
            u -= gpus
        for c in range(len(self.sizes) - 1, -1, -1):  # rounding at the edge
            if self.running[p][c]:
                return self.running[p][c][-1]
        raise AssertionError("no research job holds GPUs on this pool")

    # ---- preemption ---------------------------------------------------------------------

    def preempt_for(self, job: Job, t: float) -> int:
        """Preempt low-priority jobs that have run at least ``preemptible_after_s`` (oldest
        first: their next checkpoint is as near as anyone's) on the first pool where that
        makes room for ``job``; returns the pool or -1. Tried at most once per simulated
        hour per job."""
        last = self._last_preempt_try.get(job.id)
        if last is not None and t - last < 3600.0:
            return -1
        self._last_preempt_try[job.id] = t
        sim = self.sim
        after = self.rin.preemptible_after_s
        for p in self.pools:
            got = sim.research_free(p)
            if got + sum(self.class_gpus[p]) < job.n:
                continue
            picked = []
            for lst in self.running[p]:
                for j in lst:
                    if got >= job.n:
                        break
                    if j.prio == 0 and t - j.started >= after:
                        picked.append(j)
                        got += j.n
            if got < job.n:
                continue
            for j in picked:
                self.preempt(j, t)
            if sim.power_room(p) >= job.n * sim.research_extra_w[p]:
                self._last_preempt_try.pop(job.id, None)
                return p
        return -1

    def preempt(self, job: Job, t: float, *, cause: str = "preemption") -> None:
        """Stop ``job`` at ``t`` and put it back at the front of its queue."""
        sim = self.sim
        if job.status == RUNNING:
            sim.bank(job, t, cause=cause)
        else:
            job.epoch += 1  # cancels a pending resume
            if job.status == RESTARTING:
                sim.metrics.add_lost("restart", t, job.n * (t - job.fail_t))
        self.preempted += 1
        job.preemptions += 1
        sim.metrics.add("research_preempted", t, 1.0)
        self.release(job, t)
        self.enqueue(job, front=True)

    def release(self, job: Job, t: float) -> None:
        self.remove_running(job)
        self.sim.release_research(job, t)

    def reclaim(self, p: int, gpus: float, t: float, *, cause: str = "preemption") -> None:
        """Preempt research jobs on pool ``p`` (low priority first, the most recently
        started of each class first) until ``gpus`` are free or none is left."""
        sim = self.sim
        if sim.free(p) >= gpus or not any(self.class_gpus[p]):
            return
        for prio in (0, 1):
            for lst in self.running[p]:
                i = len(lst) - 1
                while i >= 0 and sim.free(p) < gpus:
                    j = lst[i]
                    if j.prio == prio:
                        self.preempt(j, t, cause=cause)  # swaps the last job into slot i
                    i = min(i - 1, len(lst) - 1)
                if sim.free(p) >= gpus:
                    return

    def on_site(self, pools: set[int]) -> list[Job]:
        return [j for p in pools for lst in self.running[p] for j in lst]
