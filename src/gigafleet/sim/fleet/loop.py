"""The fleet simulation: one event loop over the hardware, the jobs, the services and the
sites' power, on :class:`gigafleet.sim.engine.Engine`.

Events are failures (one each: they are few, a few hundred a day on a million GPUs),
nodes back from repair, jobs ending, restarting and arriving, cohorts arriving and
retiring, and an hourly tick. The tick closes the past hour's books (served demand,
energy, the state sampled), scales services to the new hour's demand, meets each site's
power cap, starts queued work, and draws the hour's failures of every pool. What a single
event would not change is aggregated: component populations are superposed Poisson
processes (``hardware.py``), a job's checkpoints follow in closed form (``jobs.py``), a
service's replicas are counts per pool (``serving.py``).

GPU ledger per pool: ``free = installed - down - frontier - research - serving``;
research may use ``free`` less the GPUs services will need at today's peak.
"""

from __future__ import annotations

import math

import numpy as np

from gigafleet.sim.engine import Engine
from gigafleet.sim.fleet.hardware import SOFTWARE, Hardware
from gigafleet.sim.fleet.inputs import FleetIn
from gigafleet.sim.fleet.jobs import DONE, RESTARTING, RUNNING, WAITING, Job
from gigafleet.sim.fleet.metrics import DAY_S, Metrics
from gigafleet.sim.fleet.power import Power
from gigafleet.sim.fleet.research import Research
from gigafleet.sim.fleet.serving import Services

HOUR_S = 3600.0


class FleetSim:
    """State and handlers of one simulation (one seed). ``run()`` returns the daily table
    and the job records the summary is built from."""

    def __init__(self, inp: FleetIn, seed: int | np.random.SeedSequence = 0):
        self.inp = inp
        # independent streams: hardware, research arrivals, everything else
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        hw_seq, research_seq, misc_seq = seq.spawn(3)
        self.rng = np.random.default_rng(misc_seq)
        self.eng = Engine()
        num_p = len(inp.pools)
        self.hw = Hardware(inp.pools, inp.params, np.random.default_rng(hw_seq))
        self.frontier_gpus = [0] * num_p  # held by frontier runs, hot spares included
        self.research_gpus = [0] * num_p
        self.serving_gpus = [0] * num_p
        self.train_extra_w = [0.0] * num_p  # frontier runs' draw above idle
        self.serve_extra_w = [0.0] * num_p
        self.research_extra_w = [max(p.research_w - p.idle_w, 0.0) for p in inp.pools]
        self.frontier: list[Job] = []
        self.waiting: list[list[Job]] = [[] for _ in range(num_p)]
        num_days = max(1, math.ceil(inp.horizon_s / DAY_S - 1e-9))
        self.metrics = Metrics(
            num_days, [s.name for s in inp.sites], [s.name for s in inp.services]
        )
        self.research = Research(self, inp.research, np.random.default_rng(research_seq))
        self.services = Services(self, inp.services)
        self.power = Power(self)
        self.next_tick = 0.0
        self.last_tick = 0.0
        self.hour_state: dict[str, float] = {}
        self.by_size: dict[int, list[float]] = {}  # GPUs (power of 2) -> [held s, hits, jobs]
        self._jid = 0
        self._tau: dict[tuple[int, int, float], float] = {}
        eng = self.eng
        for kind, fn in (
            ("tick", self.on_tick), ("fail", self.on_fail), ("back", self.on_back),
            ("stock", self.on_stock), ("end", self.on_end), ("resume", self.on_resume),
            ("arrive", self.research.on_arrive), ("frontier", self.on_frontier),
            ("cohort", self.on_cohort), ("retire", self.on_retire),
        ):  # fmt: skip
            eng.on(kind, fn)

    def new_job_id(self) -> int:
        self._jid += 1
        return self._jid

    # ---- the ledger ---------------------------------------------------------------------

    def free(self, p: int) -> int:
        hw = self.hw
        return (
            hw.installed[p] - hw.down[p] - self.frontier_gpus[p] - self.research_gpus[p]
            - self.serving_gpus[p]
        )  # fmt: skip

    def research_free(self, p: int) -> int:
        held_back = max(self.services.reserve[p] - self.serving_gpus[p], 0)
        waiting = sum(j.n - j.held for j in self.waiting[p])
        return self.free(p) - held_back - waiting

    def busy_gpus(self, p: int) -> float:
        held = sum(j.held for j in self.frontier if j.pool == p)
        return held + self.research_gpus[p] + self.serving_gpus[p]

    def site_draw(self, s: int) -> float:
        """Facility W of site ``s`` now: idle draw of healthy GPUs plus the work above it."""
        total = 0.0
        for p in self.power.site_pools[s]:
            pool = self.inp.pools[p]
            idle = 0.0 if pool.cloud else self.hw.healthy(p) * pool.idle_w
            total += idle + self.site_extra(p)
        return total - self.power.off_w[s]

    def site_extra(self, p: int) -> float:
        return (
            self.train_extra_w[p] + self.research_gpus[p] * self.research_extra_w[p]
            + self.serve_extra_w[p]
        )  # fmt: skip

    def site_dynamic_w(self, s: int) -> float:
        return sum(self.site_extra(p) for p in self.power.site_pools[s])

    def power_room(self, p: int) -> float:
        s = self.inp.pools[p].site
        return self.power.cap_w(s, self.eng.now) - self.site_draw(s)

    def checkpoint_interval(self, p: int, n: int, delta: float) -> float:
        """Daly's optimum for a job of ``n`` GPUs on pool ``p`` (or the configured one)."""
        fixed = self.inp.params.checkpoint_interval_s
        if fixed:
            return fixed
        key = (p, n, delta)
        tau = self._tau.get(key)
        if tau is None:
            from gigafleet.reliability import daly_interval_s

            rate = n * (self.hw.hw_rate[p] + self.hw.sw_rate[p])
            tau = math.inf if rate <= 0 or delta <= 0 else float(daly_interval_s(delta, 1.0 / rate))
            self._tau[key] = tau
        return tau

    # ---- acquiring and releasing GPUs -----------------------------------------------------

    def acquire_research(self, job: Job, p: int, t: float) -> None:
        job.held = job.n
        job.hold(t)
        self.research_gpus[p] += job.n

    def release_research(self, job: Job, t: float) -> None:
        self.research_gpus[job.pool] -= job.held
        job.release_hold(t)
        job.held = 0

    def _take_frontier(self, job: Job, n: int) -> None:
        p = job.pool
        job.held += n
        self.frontier_gpus[p] += n
        self.train_extra_w[p] += n * (job.busy_w - self.inp.pools[p].idle_w)

    def _drop_frontier(self, job: Job, n: int) -> None:
        p = job.pool
        job.held -= n
        self.frontier_gpus[p] -= n
        self.train_extra_w[p] -= n * (job.busy_w - self.inp.pools[p].idle_w)

    def _grab(self, p: int, n: int, t: float, *, frontier: bool) -> int:
        """Up to ``n`` free GPUs of pool ``p`` (a frontier run preempts research for them)."""
        if frontier and self.free(p) < n:
            self.research.reclaim(p, n, t)
        free = self.free(p) if frontier else self.research_free(p)
        return max(min(n, free), 0)

    def spare_target_of(self, job: Job) -> int:
        gpn = self.inp.pools[job.pool].gpus_per_node
        return math.ceil(self.inp.params.hot_spare_fraction * job.n / gpn) * gpn

    # ---- frontier runs --------------------------------------------------------------------

    def on_frontier(self, t: float, job: Job) -> None:
        """A frontier run starts: its gang and hot spares, preempting research if needed."""
        p = job.pool
        got = self._grab(p, job.n, t, frontier=True)
        self._take_frontier(job, got)
        job.hold(t)
        job.first_start = t
        job.started = t
        if job.held < job.n:
            job.status = WAITING
            job.fail_t = t
            self.waiting[p].append(job)
            return
        self.top_up_spares(job, t)
        self.eng.schedule(job.run_from(t), "end", (job, job.epoch))

    def top_up_spares(self, job: Job, t: float) -> None:
        want = self.spare_target_of(job) - job.spares
        if want > 0:
            gpn = self.inp.pools[job.pool].gpus_per_node
            n = self._grab(job.pool, want, t, frontier=False) // gpn * gpn  # whole nodes
            job.spares += n
            self.frontier_gpus[job.pool] += n

    def serve_waiting(self, p: int, t: float) -> None:
        prm = self.inp.params
        for job in list(self.waiting[p]):
            need = job.n - job.held
            n = self._grab(p, need, t, frontier=True)
            self._take_frontier(job, n)
            if job.held < job.n:
                continue
            self.waiting[p].remove(job)
            job.status = RESTARTING
            if job.hits == 0 and job.productive == 0 and job.lost == 0:  # its first start
                job.fail_t = t
                self.eng.schedule(t, "resume", (job, job.epoch))
            else:
                when = max(t, job.fail_t + prm.detect_s) + prm.restart_s + job.restore
                self.eng.schedule(when, "resume", (job, job.epoch))

    # ---- progress, failures, restarts -------------------------------------------------------

    def credit(self, job: Job, t: float, kept: float, ckpt: float) -> None:
        met = self.metrics
        good = kept * job.speed * job.n
        met.add(
            "goodput_gpu_h_training" if job.frontier else "goodput_gpu_h_research", t, good / HOUR_S
        )
        if job.speed < 1.0:
            met.add_lost("straggler", t, kept * (1.0 - job.speed) * job.n)
        if ckpt:
            met.add_lost("checkpoint", t, ckpt * job.n)

    def bank(self, job: Job, t: float, *, cause: str, keep_partial: bool = False) -> None:
        """Stop a running job at ``t``: credit what its checkpoints kept, charge what is lost."""
        kept, lost, ckpt = job.stop(t, keep_partial=keep_partial)
        self.credit(job, t, kept, ckpt)
        if lost:
            self.metrics.add_lost(cause, t, lost * job.n)

    def record_size(self, job: Job) -> None:
        b = 1 << int(math.log2(max(job.n, 1)))
        rec = self.by_size.setdefault(b, [0.0, 0.0, 0.0])
        rec[0] += job.held_s
        rec[1] += job.hits
        rec[2] += 1

    def on_end(self, t: float, payload: tuple[Job, int]) -> None:
        job, epoch = payload
        if epoch != job.epoch or job.status != RUNNING:
            return
        kept, ckpt = job.finish(t)
        self.credit(job, t, kept, ckpt)
        if job.frontier:
            self._drop_frontier(job, job.held)
            self.frontier_gpus[job.pool] -= job.spares
            job.spares = 0
            job.release_hold(t)
            self.record_size(job)
            self.kick(job.pool, t)
            return
        self.research.remove_running(job)
        self.release_research(job, t)
        self.record_size(job)
        self.research.finished += 1
        self.metrics.add("research_finished", t, 1.0)
        self.research.schedule(t)

    def on_resume(self, t: float, payload: tuple[Job, int]) -> None:
        job, epoch = payload
        if epoch != job.epoch or job.status != RESTARTING:
            return
        if t > job.fail_t:
            self.metrics.add_lost("restart", t, job.n * (t - job.fail_t))
            job.restart_wait += t - job.fail_t
        self.eng.schedule(job.run_from(t), "end", (job, job.epoch))

    def on_fail(self, t: float, payload: tuple[int, int, int]) -> None:
        """A failure lands on a GPU of pool ``p`` (busy GPUs only for software)."""
        p, comp, lemon = payload
        hw_fail = comp != SOFTWARE
        self.hw.failures[comp] += 1
        self.metrics.add("failures_hardware" if hw_fail else "failures_software", t, 1.0)
        if lemon >= 0 and self.hw.lemon_failed(p, lemon, t):
            self.metrics.add("lemons_removed", t, 1.0)
        total = self.hw.healthy(p) if hw_fail else self.busy_gpus(p)
        if total <= 0:
            return
        u = self.rng.random() * total
        gpn = self.inp.pools[p].gpus_per_node
        for job in self.frontier:
            if job.pool != p:
                continue
            span = job.held + (job.spares if hw_fail else 0)
            if u < span:
                if u >= job.held:  # a hot spare failed: it goes to repair
                    lose = min(gpn, job.spares)
                    job.spares -= lose
                    self.frontier_gpus[p] -= lose
                    self.node_down(p, t)
                else:
                    self.interrupt(job, t, hw_fail)
                return
            u -= span
        if u < self.research_gpus[p]:
            self.interrupt(self.research.pick(p, u), t, hw_fail)
            return
        u -= self.research_gpus[p]
        for w in range(len(self.inp.services)):
            g = self.services.gpus[w][p]
            if u < g:
                if hw_fail:
                    self.node_down(p, t)
                self.services.replica_failed(w, p, t, node_lost=min(gpn, g) if hw_fail else 0)
                return
            u -= g
        if hw_fail:
            self.node_down(p, t)

    def node_down(self, p: int, t: float) -> None:
        back, stock = self.hw.node_down(p, t)
        self.eng.schedule(back, "back", p)
        if stock is not None:
            self.eng.schedule(stock, "stock", p)

    def interrupt(self, job: Job, t: float, hw_fail: bool) -> None:
        """A failure hits ``job``: bank its progress, replace the failed node, restart."""
        prm = self.inp.params
        p = job.pool
        job.hits += 1
        self.metrics.add(
            "interruptions_training" if job.frontier else "interruptions_research", t, 1.0
        )
        if job.status == RUNNING:
            self.bank(job, t, cause="failure")
            job.fail_t = t
        else:
            job.epoch += 1  # a restart in progress starts over
        job.status = RESTARTING
        if hw_fail:
            gpn = self.inp.pools[p].gpus_per_node
            lose = min(gpn, job.held)
            self.node_down(p, t)
            if job.frontier:
                self._drop_frontier(job, lose)
                if job.spares >= lose:
                    job.spares -= lose
                    self.frontier_gpus[p] -= lose
                    self._take_frontier(job, lose)
                else:
                    self._take_frontier(job, self._grab(p, lose, t, frontier=True))
                if job.held < job.n:
                    job.status = WAITING
                    if job not in self.waiting[p]:
                        self.waiting[p].append(job)
                    return
            else:
                self.research_gpus[p] -= lose
                job.held -= lose
                n = self._grab(p, lose, t, frontier=False)
                if n < lose:  # no replacement node: back to the front of the queue
                    self.research.remove_running(job)
                    self.release_research(job, t)
                    self.research.enqueue(job, front=True)
                    return
                job.held += n
                self.research_gpus[p] += n
        when = t + prm.detect_s + prm.restart_s + job.restore
        self.eng.schedule(when, "resume", (job, job.epoch))

    # ---- hardware events ------------------------------------------------------------------

    def on_back(self, t: float, p: int) -> None:
        if self.hw.node_back(p):
            self.kick(p, t)

    def on_stock(self, t: float, p: int) -> None:
        self.hw.stock_back(p)

    def kick(self, p: int, t: float) -> None:
        """GPUs freed on pool ``p``: waiting frontier runs first, then the research queue."""
        if self.waiting[p]:
            self.serve_waiting(p, t)
        self.research.schedule(t)

    def on_cohort(self, t: float, payload: tuple[int, int, float]) -> None:
        p, n, age0 = payload
        rejects = self.hw.arrive(p, t, n, age0)
        if not self.inp.pools[p].cloud:
            self.metrics.add("gpus_arrived", t, n)
            gpn = self.inp.pools[p].gpus_per_node
            self.metrics.add("burn_in_rejects", t, rejects // gpn)
            for _ in range(rejects // gpn):
                self.eng.schedule(t + self.inp.params.repair_s, "back", p)
        self.kick(p, t)

    def on_retire(self, t: float, payload: tuple[int, int]) -> None:
        p, n = payload
        self.hw.retire(p, t, n)
        if self.free(p) < 0:
            self.research.reclaim(p, 0, t)
        for w in range(len(self.inp.services)):  # services move at the next hour
            if self.free(p) >= 0:
                break
            self.services.set_gpus(w, p, max(self.services.gpus[w][p] + self.free(p), 0), t)

    # ---- the hourly tick -------------------------------------------------------------------

    def state(self) -> dict[str, float]:
        """The fleet's GPUs by use now (owned pools; cloud GPUs apart)."""
        hw, pools = self.hw, self.inp.pools
        own = [p for p, pool in enumerate(pools) if not pool.cloud]
        spares = sum(j.spares for j in self.frontier)
        training = sum(self.frontier_gpus[p] for p in own) - spares
        research = sum(self.research_gpus[p] for p in own)
        serving = sum(self.serving_gpus[p] for p in own)
        healthy = sum(hw.healthy(p) for p in own)
        return {
            "gpus_installed": float(sum(hw.installed[p] for p in own)),
            "gpus_healthy": float(healthy),
            "gpus_down": float(sum(hw.down[p] for p in own)),
            "gpus_training": float(training),
            "gpus_hot_spare": float(spares),
            "gpus_research": float(research),
            "gpus_serving": float(serving),
            "gpus_idle": float(max(healthy - training - spares - research - serving, 0)),
            "gpus_cloud": float(
                sum(self.serving_gpus[p] for p, pool in enumerate(pools) if pool.cloud)
            ),
            "spare_nodes": float(sum(hw.stock[p] for p in own)),
            "research_queue_jobs": float(self.research.num_queued),
            "research_queue_gpus": float(self.research.queued_gpus),
            "lemon_nodes": float(sum(len(hw.lemons[p]) for p in own)),
        }

    def close_hour(self, t0: float, dt: float) -> None:
        """Book the hour ``[t0, t0 + dt)``."""
        met = self.metrics
        w = dt / HOUR_S
        self.services.close_hour(t0, dt, self.power.pool_factor())
        st = dict(self.hour_state)  # the state the hour started with (a fixed-time sample)
        total_mw = 0.0
        for s in range(len(self.inp.sites)):
            mw = self.power.draw_w[s] / 1e6
            total_mw += mw
            met.site_power(t0, s, mw, weight=w)
        st["facility_mw"] = total_mw
        met.add("energy_mwh", t0, total_mw * w)
        met.sample(t0, st, weight=w)
        used = st["gpus_training"] + st["gpus_research"] + st["gpus_serving"]
        met.add("installed_gpu_h", t0, st["gpus_installed"] * w)
        met.add("healthy_gpu_h", t0, st["gpus_healthy"] * w)
        met.add("used_gpu_h", t0, used * w)
        met.add_lost("repair", t0, st["gpus_down"] * dt)

    def on_tick(self, t: float, _: object) -> None:
        if t > self.last_tick:
            self.close_hour(self.last_tick, t - self.last_tick)
        self.last_tick = t
        horizon = self.inp.horizon_s
        if t >= horizon:
            return
        if t % DAY_S < 1e-6 or t == 0.0:
            self.services.new_day(t)
        self.services.autoscale(t)
        self.power.hour(t)
        for p in range(len(self.inp.pools)):
            if self.waiting[p]:
                self.serve_waiting(p, t)
        for job in self.frontier:
            if job.status in (RUNNING, RESTARTING):
                self.top_up_spares(job, t)
        self.research.schedule(t)
        nxt = min(t + HOUR_S, horizon)
        self.next_tick = nxt
        for p in range(len(self.inp.pools)):
            for when, comp, lemon in self.hw.draw_hour(p, t, self.busy_gpus(p), nxt - t):
                self.eng.schedule(when, "fail", (p, comp, lemon))
        self.hour_state = self.state()
        self.eng.schedule(nxt, "tick")

    # ---- running ---------------------------------------------------------------------------

    def start(self) -> None:
        inp, eng = self.inp, self.eng
        for p, pool in enumerate(inp.pools):
            for c in pool.cohorts:
                if c.arrive_s <= 0:  # in service at the start: installed, not arriving
                    self.hw.arrive(p, 0.0, c.num_gpus, c.age0_s - c.arrive_s)
                elif c.arrive_s < inp.horizon_s:
                    eng.schedule(c.arrive_s, "cohort", (p, c.num_gpus, c.age0_s))
                if c.retire_s is not None and max(c.arrive_s, 0.0) < c.retire_s < inp.horizon_s:
                    eng.schedule(c.retire_s, "retire", (p, c.num_gpus))
        for tr in inp.training:
            job = Job(
                self.new_job_id(), name=tr.name, n=tr.num_gpus, work=tr.work_s,
                tau=inp.params.checkpoint_interval_s or tr.checkpoint_interval_s,
                delta=tr.checkpoint_s, restore=tr.restore_s, speed=self._frontier_speed(),
                prio=2, frontier=True, arrive=tr.start_s, busy_w=tr.busy_w,
            )  # fmt: skip
            job.pool = tr.pool
            self.frontier.append(job)
            if tr.start_s < inp.horizon_s:
                eng.schedule(max(tr.start_s, 0.0), "frontier", job)
        self.research.first_arrival()
        eng.schedule(0.0, "tick")

    def _frontier_speed(self) -> float:
        prm = self.inp.params
        return 1.0 / prm.straggler_slowdown if self.rng.random() < prm.straggler_fraction else 1.0

    def run(self) -> dict:
        self.start()
        self.eng.run(until=self.inp.horizon_s)
        if self.last_tick < self.inp.horizon_s:
            self.on_tick(self.inp.horizon_s, None)
        self.finalize(self.inp.horizon_s)
        return {"daily": self.metrics.finish(), "num_events": self.eng.num_events}

    def finalize(self, t: float) -> None:
        """At the horizon: bank running jobs' progress so far, close their books."""
        running = list(self.frontier) + [j for lst in self.research.running for c in lst for j in c]
        for job in running:
            if job.first_start < 0 or job.status == DONE:
                continue
            if job.status == RUNNING:
                self.bank(job, t, cause="failure", keep_partial=True)
            elif t > job.fail_t:
                self.metrics.add_lost("restart", t, job.held * (t - job.fail_t))
                job.restart_wait += t - job.fail_t
            job.release_hold(t)
            self.record_size(job)
        for queues in self.research.queues:  # preempted or requeued jobs: their held time
            for q in queues:
                for job in q:
                    if job.first_start >= 0:
                        self.record_size(job)
