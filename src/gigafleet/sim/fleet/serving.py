"""Services over the day: demand follows each service's daily profile (and its growth, and
a day-to-day noise), replicas are scaled every hour to the hour's demand plus headroom,
failures take replicas down until they restart, and what owned pools cannot give is rented
from cloud pools the service may use (bursting), or goes unserved.

Each hour, service ``w`` needs ``C = D (1 + headroom)`` of capacity (``D`` the hour's mean
demand). Its pools are filled in the order the driver gives (the static placement's pools
by their share of its capacity, then other eligible owned pools by cost, then eligible cloud
pools): first each placed pool up to its share of ``C``, then any pool with room, in whole
replicas of ``g`` GPUs of ``c`` requests/s each. Services come before research: a pool's
research jobs are preempted when a service needs their GPUs. Eligibility (TEE-only work on
TEE sites, residency, bursting allowed) is the driver's: an ineligible pool is never in the
order, so the rules hold at every hour, failures or not.

SLO attainment of an hour: ``min(1, capacity_up / D) x s``, with ``capacity_up`` the
replicas' capacity less what failures took during the hour and ``s`` the attainment the
request simulator gave at full capacity when the service was sized.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from gigafleet.sim.fleet.inputs import ServiceIn

if TYPE_CHECKING:
    from gigafleet.sim.fleet.loop import FleetSim

YEAR_S = 365.25 * 86400.0


class Services:
    """Replicas per service and pool, the hour's demand and capacity."""

    def __init__(self, sim: FleetSim, services: list[ServiceIn]):
        self.sim = sim
        self.svc = services
        num_p = len(sim.inp.pools)
        self.gpus = [[0] * num_p for _ in services]  # [w][p] GPUs held
        self.noise = [1.0] * len(services)
        self.demand = [0.0] * len(services)  # this hour's mean demand, per second
        self.capacity = [0.0] * len(services)  # this hour's capacity, per second
        self.lost = [0.0] * len(services)  # capacity-seconds lost to failures this hour
        self.reserve = [0] * num_p  # GPUs services will need at today's peak, per pool
        self.burst_gpus = 0.0

    def demand_at(self, w: int, t: float) -> float:
        s = self.svc[w]
        if t < s.start_s:
            return 0.0
        hour = int(t // 3600.0) % 24
        growth = (1.0 + s.growth_per_year) ** ((t - s.start_s) / YEAR_S)
        return s.requests_per_s * growth * float(s.profile[hour]) * self.noise[w]

    def weights(self, w: int, t: float) -> np.ndarray | None:
        ws = None
        for start, arr in self.svc[w].weights:
            if start <= t:
                ws = arr
        return ws

    def new_day(self, t: float) -> None:
        """Draw each service's demand level for the day and reserve, per pool, the GPUs its
        placed share will need at the day's peak hour (research may not take them)."""
        sim = self.sim
        sigma = sim.inp.params.daily_noise
        for w in range(len(self.svc)):
            self.noise[w] = (
                float(np.exp(sigma * sim.rng.standard_normal() - sigma**2 / 2)) if sigma else 1.0
            )
        num_p = len(sim.inp.pools)
        reserve = [0.0] * num_p
        head = 1.0 + sim.inp.params.headroom
        for w, s in enumerate(self.svc):
            ws = self.weights(w, t)
            if ws is None:
                continue
            peak = max(self.demand_at(w, t + h * 3600.0) for h in range(24)) * head
            for p in s.order:
                if ws[p] > 0 and s.cap_per_gpu[p] > 0:
                    g = s.gpus_per_replica[p]
                    reserve[p] += math.ceil(peak * ws[p] / (s.cap_per_gpu[p] * g) - 1e-9) * g
        self.reserve = [int(r) for r in reserve]

    def autoscale(self, t: float) -> None:
        """Set every service's replicas for the hour starting at ``t``."""
        sim = self.sim
        head = 1.0 + sim.inp.params.headroom
        for w, s in enumerate(self.svc):
            d = self.demand_at(w, t)
            self.demand[w] = d
            self.lost[w] = 0.0
            need = d * head
            ws = self.weights(w, t)
            target = {p: 0 for p in s.order}
            left = need
            if need > 0:
                for first in (True, False):
                    for p in s.order:
                        if left <= 1e-12:
                            break
                        if first and (ws is None or ws[p] <= 0):
                            continue
                        g = int(s.gpus_per_replica[p])
                        per = float(s.cap_per_gpu[p]) * g
                        want = min(need * ws[p], left) if first else left
                        reps = math.ceil(want / per - 1e-9)
                        room = (self.available(w, p) - target[p]) // g
                        add = max(min(reps, room), 0)
                        target[p] += add * g
                        left -= add * per
            cap = 0.0
            for p in s.order:
                self.set_gpus(w, p, target[p], t)
                cap += self.gpus[w][p] * float(s.cap_per_gpu[p])
            self.capacity[w] = cap
        self.update_power()

    def update_power(self) -> None:
        """Facility W of each pool's serving GPUs above their idle draw, at the hour's load."""
        sim = self.sim
        pools = sim.inp.pools
        extra = [0.0] * len(pools)
        for w, s in enumerate(self.svc):
            cap = self.capacity[w]
            util = min(self.demand[w] / cap, 1.0) if cap > 0 else 0.0
            for p in s.order:
                n = self.gpus[w][p]
                if n:
                    extra[p] += n * (float(s.busy_w[p]) - pools[p].idle_w) * util
        sim.serve_extra_w = extra

    def available(self, w: int, p: int) -> int:
        """GPUs service ``w`` could hold on pool ``p``: free, its own, research's (which it
        may preempt)."""
        sim = self.sim
        return int(sim.free(p) + self.gpus[w][p] + sim.research_gpus[p])

    def set_gpus(self, w: int, p: int, n: int, t: float) -> None:
        sim = self.sim
        delta = n - self.gpus[w][p]
        if delta == 0:
            return
        if delta > 0 and sim.free(p) < delta:
            sim.research.reclaim(p, delta, t)
            delta = min(delta, max(int(sim.free(p)), 0))
        self.gpus[w][p] += delta
        sim.serving_gpus[p] += delta

    def replica_failed(self, w: int, p: int, t: float, *, node_lost: int) -> None:
        """A failure hit a replica of service ``w`` on pool ``p``: its capacity is gone until
        the replica restarts (on a free node if its own died)."""
        sim, s = self.sim, self.svc[w]
        g = float(s.gpus_per_replica[p])
        per = float(s.cap_per_gpu[p]) * g
        down_s = sim.inp.params.replica_restart_s
        if node_lost:
            self.gpus[w][p] -= node_lost
            sim.serving_gpus[p] -= node_lost
            if sim.free(p) >= node_lost:
                self.gpus[w][p] += node_lost
                sim.serving_gpus[p] += node_lost
            else:  # no spare node: short until the next hour's autoscale
                down_s = max(down_s, sim.next_tick - t)
        down_s = min(down_s, max(sim.next_tick - t, 0.0) + sim.inp.params.replica_restart_s)
        self.lost[w] += per * down_s
        sim.metrics.add("interruptions_serving", t, 1.0)
        sim.metrics.add_lost("serving_failover", t, g * down_s)

    def close_hour(self, t: float, dt: float, factor_of_pool: list[float]) -> dict[str, float]:
        """Account the hour ``[t, t + dt)``: served demand, SLO, goodput, cloud rent."""
        sim = self.sim
        met = sim.metrics
        pools = sim.inp.pools
        cloud_gpus = 0.0
        for w, s in enumerate(self.svc):
            d = self.demand[w]
            cap = sum(
                self.gpus[w][p] * float(s.cap_per_gpu[p]) * factor_of_pool[p] for p in s.order
            )
            up = max(cap * dt - self.lost[w], 0.0)
            served = min(d * dt, up)
            util = min(d / cap, 1.0) if cap > 0 else 0.0
            ok = served * s.slo_at_capacity
            name = met.services[w]
            met.add(f"demand_requests_{name}", t, d * dt)
            met.add(f"served_ok_requests_{name}", t, ok)
            met.add("demand_requests", t, d * dt)
            met.add("served_ok_requests", t, ok)
            for p in s.order:
                n = self.gpus[w][p]
                if not n:
                    continue
                met.add("goodput_gpu_h_serving", t, n * util * dt / 3600.0)
                if pools[p].cloud:
                    cloud_gpus += n
                    met.add("cloud_usd", t, n * dt / 3600.0 * pools[p].price_usd_per_gpu_hour)
        met.add("cloud_gpu_h", t, cloud_gpus * dt / 3600.0)
        return {"gpus_cloud": cloud_gpus}
