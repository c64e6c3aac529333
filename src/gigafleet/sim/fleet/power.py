"""Each site's power against its cap, every hour, and grid events (shed ``X`` MW for ``Y``
hours) met by capping clocks or by preempting work, as the policy says.

A grid event asks a site to draw ``X`` MW less than it drew when the event began (a
demand-response call): for its hours the site's cap is ``min(cap, baseline - X)``, with the
baseline the draw of the event's first hour. A site draws ``sum_p healthy_p x idle_p + busy extras`` (facility watts: every healthy GPU
its idle draw, every busy one the extra of its work; GPUs down for repair are off). When
that exceeds the cap (less any grid event's shed), the site first powers off idle nodes,
then, by policy:

- ``preempt``: stops research jobs (low priority first, youngest first) and powers their
  nodes off, until the draw fits; frontier runs and services are capped, not stopped;
- ``cap``: lowers the clock of every busy GPU at the site. Dynamic power above idle scales
  as ``f^a`` (``energy/power.py``'s DVFS model, ``a`` from the power catalog), so meeting
  a reduction ``X`` out of a dynamic draw ``D`` takes

      f = (1 - X / D)^(1 / a)     (at least the catalog's minimum clock fraction),

  and compute-bound work runs ``f`` times as fast: every busy GPU loses ``1 - f`` of the
  hour (``lost_gpu_h_power``), jobs are delayed as much, services serve ``f`` times their
  capacity. Taking all work as compute-bound overstates the cost for memory-bound decode,
  which keeps its speed under a cap (Ma et al. 2026, as in ``energy/power.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gigafleet.sim.fleet.jobs import RUNNING

if TYPE_CHECKING:
    from gigafleet.sim.fleet.loop import FleetSim


class Power:
    """The hour's cap and clock factor per site; what each grid event cost."""

    def __init__(self, sim: FleetSim):
        self.sim = sim
        inp = sim.inp
        self.site_pools = [
            [i for i, p in enumerate(inp.pools) if p.site == s] for s in range(len(inp.sites))
        ]
        self.factor = [1.0] * len(inp.sites)
        self.draw_w = [0.0] * len(inp.sites)
        self.off_w = [0.0] * len(inp.sites)
        self.events = [
            {"site": inp.sites[e.site].name, "start_day": e.start_s / 86400.0,
             "hours": e.duration_s / 3600.0, "shed_mw": e.shed_w / 1e6,
             "policy": "preempt" if e.preempt else "cap", "baseline_mw": None, "needed_mwh": 0.0,
             "idle_off_mwh": 0.0, "capped_gpu_h": 0.0, "jobs_preempted": 0, "min_clock": 1.0}
            for e in inp.grid_events
        ]  # fmt: skip

    def active(self, s: int, t: float) -> list[int]:
        return [
            i for i, e in enumerate(self.sim.inp.grid_events)
            if e.site == s and e.start_s <= t < e.start_s + e.duration_s
        ]  # fmt: skip

    def cap_w(self, s: int, t: float) -> float:
        """The site's cap at ``t``: its provisioned cap, less what active events shed."""
        evs = self.sim.inp.grid_events
        cap = self.sim.inp.sites[s].cap_w
        for i in self.active(s, t):
            base = self.events[i]["baseline_mw"]
            if base is not None:
                cap = min(cap, base * 1e6 - evs[i].shed_w)
        return cap

    def hour(self, t: float) -> None:
        """Meet every site's cap for the hour starting at ``t``."""
        sim = self.sim
        prm = sim.inp.params
        for s, pools in enumerate(self.site_pools):
            self.off_w[s] = 0.0
            self.factor[s] = 1.0
            draw = sim.site_draw(s)
            evs = self.active(s, t)
            for i in evs:
                if self.events[i]["baseline_mw"] is None:
                    self.events[i]["baseline_mw"] = draw / 1e6
            cap = self.cap_w(s, t)
            excess = draw - cap
            self.draw_w[s] = draw
            if excess <= 0:
                continue
            for i in evs:
                self.events[i]["needed_mwh"] += excess / 1e6
            idle = sum(
                max(sim.free(p), 0) * sim.inp.pools[p].idle_w
                for p in pools if not sim.inp.pools[p].cloud
            )  # fmt: skip
            off = min(idle, excess)
            self.off_w[s] = off
            excess -= off
            for i in evs:
                self.events[i]["idle_off_mwh"] += off / 1e6
            if excess > 0 and any(sim.inp.grid_events[i].preempt for i in evs):
                excess = self._preempt(s, pools, excess, t, evs)
            if excess > 0:
                dyn = sim.site_dynamic_w(s)
                f = (1.0 - excess / dyn) ** (1.0 / prm.dvfs_exponent) if dyn > excess else 0.0
                f = max(f, prm.min_clock_fraction)
                excess -= dyn * (1.0 - f**prm.dvfs_exponent)
                self.factor[s] = f
                busy = sum(sim.busy_gpus(p) for p in pools)
                sim.metrics.add_lost("power", t, busy * (1.0 - f) * 3600.0)
                for i in evs:
                    self.events[i]["capped_gpu_h"] += busy * (1.0 - f)
                    self.events[i]["min_clock"] = min(self.events[i]["min_clock"], f)
                self._slow_jobs(pools, (1.0 - f) * 3600.0, t)
                if excess > 0:  # the minimum clock is not enough: stop research as well
                    excess = self._preempt(s, pools, excess, t, evs)
            self.draw_w[s] = cap + excess
            if evs:
                sim.metrics.add("shed_mwh", t, max(draw - self.draw_w[s], 0.0) / 1e6)

    def _preempt(self, s: int, pools: list[int], excess: float, t: float, evs: list[int]) -> float:
        sim = self.sim
        jobs = sorted(sim.research.on_site(set(pools)), key=lambda j: (j.prio, -j.started))
        for j in jobs:
            if excess <= 0:
                break
            p = j.pool
            saved = j.n * (sim.research_extra_w[p] + sim.inp.pools[p].idle_w)
            sim.research.preempt(j, t, cause="power")
            self.off_w[s] += j.n * sim.inp.pools[p].idle_w  # its nodes are powered off too
            excess -= saved
            for i in evs:
                self.events[i]["jobs_preempted"] += 1
        return excess

    def _slow_jobs(self, pools: list[int], pause_s: float, t: float) -> None:
        """Delay every running job at the site by ``pause_s`` (its hour at a lower clock)."""
        sim = self.sim
        jobs = sim.research.on_site(set(pools)) + [j for j in sim.frontier if j.pool in pools]
        for j in jobs:
            if j.status == RUNNING:
                j.epoch += 1
                j.t0 += pause_s
                sim.eng.schedule(j.run_from(j.t0), "end", (j, j.epoch))

    def pool_factor(self) -> list[float]:
        return [self.factor[p.site] for p in self.sim.inp.pools]
