"""The installed hardware of every pool over time: cohorts arriving (the rollout) and
retiring, failures as superposed Poisson processes, detection, repair with spares, lemons.

Component populations are not simulated node by node. A pool's failures are a Poisson
process whose rate is the sum over components of (healthy GPUs) x (rate per GPU), times the
infant-mortality factor of its cohorts; software failures strike only busy GPUs. Each hour
the counts are drawn and spread uniformly over the hour (exact for a rate that is constant
within the hour), and each failure lands on a GPU drawn uniformly from the pool, so it hits
a job or a replica with the probability of the GPUs it holds (the thinning of a Poisson
process: a job of ``n`` GPUs sees failures at ``n`` times the per-GPU rate, as the
series-system model says).

Infant mortality (a decreasing hazard in the first weeks of service):

    m(age) = 1 + (m0 - 1) exp(-age / tau_infant)

multiplies the hardware rate of a cohort (``m0`` and ``tau_infant``: ``spec/simulation.py``;
estimates). Lemons are nodes whose rate is ``L`` times a normal node's; each new cohort
brings a share of them; a lemon that fails ``k`` times within a window is removed (its
repair returns a healthy node), so a young pool's excess failures fade as its lemons are
found. Deployments in service at the start are taken as burned in and lemon-free (the
reliability model's rates are those of a mature cluster, Llama 3's).

Repair: a failed node is detected after ``detect_s``; if the pool has a spare node it is
swapped in ``swap_s`` and the failed node repaired in ``repair_s`` back into the spare
stock, else the node is out for ``detect_s + repair_s``. With ample spares the GPUs down
follow Little's law, ``E[down] = lambda x gpus_per_node x (detect + swap)``.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from gigafleet.sim.fleet.inputs import COMPONENTS, HARDWARE, Params, PoolIn

HW_INDEX = [COMPONENTS.index(c) for c in HARDWARE]
SOFTWARE = COMPONENTS.index("software")


class Hardware:
    """Installed, down and spare GPUs per pool; cohorts, lemons, failure draws."""

    def __init__(self, pools: list[PoolIn], params: Params, rng: np.random.Generator):
        self.pools = pools
        self.prm = params
        self.rng = rng
        num = len(pools)
        self.installed = [0] * num
        self.down = [0] * num
        self.stock = [0] * num  # spare nodes
        self.stockouts = 0
        self.cohorts: list[list[tuple[float, int, float]]] = [
            [] for _ in pools
        ]  # (arrive, gpus, age0)
        self.lemons: list[list[deque]] = [[] for _ in pools]
        self.lemons_removed = 0
        self.burn_in_rejects = 0
        self.arrived_gpus = 0.0
        gpn = np.array([p.gpus_per_node for p in pools], dtype=float)
        rates = np.array([[p.rate_per_gpu_s.get(c, 0.0) for c in COMPONENTS] for p in pools])
        self.rates = rates.reshape(num, len(COMPONENTS))
        self.hw_rate = self.rates[:, HW_INDEX].sum(axis=1) if num else np.zeros(0)  # per GPU-s
        self.hw_probs = [
            (r[HW_INDEX] / r[HW_INDEX].sum()) if r[HW_INDEX].sum() > 0 else None for r in self.rates
        ]
        self.sw_rate = self.rates[:, SOFTWARE] if num else np.zeros(0)
        self.node_rate = self.hw_rate * gpn  # per node-s
        self.failures = np.zeros(len(COMPONENTS), dtype=np.int64)

    # ---- rollout ------------------------------------------------------------------------

    def arrive(self, p: int, t: float, num_gpus: int, age0: float) -> int:
        """A cohort enters service; returns the GPUs that go straight to repair (burn-in)."""
        pool, prm = self.pools[p], self.prm
        gpn = pool.gpus_per_node
        nodes = max(num_gpus // gpn, 1)
        young = age0 < 10 * prm.infant_s
        rejects = int(self.rng.binomial(nodes, prm.burn_in_reject_fraction)) if young else 0
        lemons = int(self.rng.binomial(nodes, prm.lemon_fraction)) if young else 0
        self.installed[p] += num_gpus
        self.down[p] += rejects * gpn
        self.burn_in_rejects += rejects
        self.stock[p] += int(round(prm.spares_fraction * nodes))
        self.cohorts[p].append((t, num_gpus, age0))
        self.lemons[p].extend(deque() for _ in range(lemons))
        if not pool.cloud:
            self.arrived_gpus += num_gpus
        return rejects * gpn

    def retire(self, p: int, t: float, num_gpus: int) -> None:
        self.installed[p] = max(self.installed[p] - num_gpus, 0)
        self.down[p] = min(self.down[p], self.installed[p])
        gpn = self.pools[p].gpus_per_node
        nodes_left = self.installed[p] // gpn
        self.stock[p] = min(self.stock[p], int(round(self.prm.spares_fraction * nodes_left)))
        # retire the oldest cohorts' share first; their lemons leave in proportion
        left = num_gpus
        kept = []
        for a, n, age0 in self.cohorts[p]:
            take = min(left, n)
            left -= take
            if n - take > 0:
                kept.append((a, n - take, age0))
        self.cohorts[p] = kept
        lem = self.lemons[p]
        drop = len(lem) - int(len(lem) * self.installed[p] / max(self.installed[p] + num_gpus, 1))
        del lem[:drop]

    def healthy(self, p: int) -> int:
        return self.installed[p] - self.down[p]

    def infant_factor(self, p: int, t: float) -> float:
        """GPU-weighted mean of ``m(age)`` over the pool's cohorts in service."""
        m0, tau = self.prm.infant_multiplier, self.prm.infant_s
        if m0 == 1.0:
            return 1.0
        num = den = 0.0
        for a, n, age0 in self.cohorts[p]:
            age = t - a + age0
            num += n * (1.0 + (m0 - 1.0) * math.exp(-age / tau))
            den += n
        return num / den if den else 1.0

    # ---- failures -----------------------------------------------------------------------

    def draw_hour(
        self, p: int, t: float, busy: float, dt: float = 3600.0
    ) -> list[tuple[float, int, int]]:
        """Failures of pool ``p`` in ``[t, t + dt)``: (time, component, lemon index or -1)."""
        pool = self.pools[p]
        if pool.cloud:
            return []  # the provider repairs its own machines; a rented GPU-hour is not ours
        rng = self.rng
        out: list[tuple[float, int, int]] = []
        healthy = self.healthy(p)
        lem = self.lemons[p]
        gpn = pool.gpus_per_node
        normal = max(healthy - len(lem) * gpn, 0)
        m = self.infant_factor(p, t)
        lam_hw = self.hw_rate[p] * normal * m * dt
        if lam_hw > 0:
            n = int(rng.poisson(lam_hw))
            if n:
                comps = rng.choice(len(HW_INDEX), size=n, p=self.hw_probs[p])
                times = t + rng.random(n) * dt
                out.extend(
                    (float(x), HW_INDEX[int(c)], -1) for x, c in zip(times, comps, strict=True)
                )
        if lem:
            lam_l = self.node_rate[p] * self.prm.lemon_multiplier * m * len(lem) * dt
            n = int(rng.poisson(lam_l))
            if n:
                comps = rng.choice(len(HW_INDEX), size=n, p=self.hw_probs[p])
                times = t + rng.random(n) * dt
                who = rng.integers(0, len(lem), size=n)
                out.extend(
                    (float(x), HW_INDEX[int(c)], int(w))
                    for x, c, w in zip(times, comps, who, strict=True)
                )
        lam_sw = self.sw_rate[p] * busy * dt
        if lam_sw > 0:
            n = int(rng.poisson(lam_sw))
            if n:
                out.extend((float(x), SOFTWARE, -1) for x in t + rng.random(n) * dt)
        return out

    def lemon_failed(self, p: int, idx: int, t: float) -> bool:
        """Record a lemon's failure; True when it crosses the threshold and is removed."""
        lem = self.lemons[p]
        if idx >= len(lem):
            return False  # the lemon left with a retired cohort
        q = lem[idx]
        q.append(t)
        window = self.prm.lemon_window_s
        while q and q[0] < t - window:
            q.popleft()
        if len(q) >= self.prm.lemon_remove_after:
            lem[idx] = lem[-1]
            lem.pop()
            self.lemons_removed += 1
            return True
        return False

    def node_down(self, p: int, t: float) -> tuple[float, float | None]:
        """A node of pool ``p`` fails at ``t``: it is down now. Returns when its GPUs are back
        in service and when a repaired node returns to the spare stock (None: no spare used)."""
        prm = self.prm
        self.down[p] += self.pools[p].gpus_per_node
        if self.stock[p] > 0:
            self.stock[p] -= 1
            return t + prm.detect_s + prm.swap_s, t + prm.detect_s + prm.repair_s
        self.stockouts += 1
        return t + prm.detect_s + prm.repair_s, None

    def node_back(self, p: int) -> int:
        """A node's GPUs are back; returns how many (0 if its cohort retired meanwhile)."""
        gpn = self.pools[p].gpus_per_node
        back = min(gpn, self.down[p])
        self.down[p] -= back
        return back

    def stock_back(self, p: int) -> None:
        """A repaired node joins the spare stock."""
        self.stock[p] += 1
