"""Jobs on a fabric: place them, route their flows, share the links max-min fairly, and say
how fast each job's collective runs against an ideal fabric.

Each GPU sends one unit (see :mod:`~gigafleet.perf.fabric.traffic`), so the ideal time is
``T0 = 1 / B_nic`` (its NIC line rate, all planes). The model's time is

* synchronous patterns (ring, p2p, permutation): ``T = max_f bytes_f / rate_f`` over the
  job's sub-flows (a ring runs at its slowest link; NCCL splits data evenly over channels,
  queue pairs and planes);
* all-to-all: ``T = max_l (job bytes on l) / (job rate on l)``, the link that takes
  longest to drain the job's traffic at the share max-min gives it (flows that finish early
  hand their share on, so the tightest link, not the slowest flow, sets the time);

and the job's **factor** is ``T0 / T`` (1 = every GPU at NIC line rate). ``throughput`` is
the delivered share of the offered rate, ``sum_f bytes_f / T_f`` over ``sum_f bytes_f /
T0``: NVIDIA's "effective data throughput" for the permutation pattern.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from gigafleet.perf.fabric.design import FabricSpec
from gigafleet.perf.fabric.maxmin import max_min_rates
from gigafleet.perf.fabric.routing import route
from gigafleet.perf.fabric.topology import Failures, Topology, build_topology
from gigafleet.perf.fabric.traffic import Job, flows, place

TIERS = ("nic", "leaf", "spine", "scale-across")


@dataclass(frozen=True)
class JobResult:
    """How one job's traffic fares: its factor against line rate, and where it is held up."""

    job: Job
    factor: float
    throughput: float
    num_flows: int
    bottleneck: str  # tier of the tightest link the job uses

    def to_dict(self) -> dict:
        return {
            "pattern": self.job.pattern,
            "num_domains": self.job.num_domains,
            "placement": self.job.placement,
            "factor": round(self.factor, 4),
            "throughput": round(self.throughput, 4),
            "num_flows": self.num_flows,
            "bottleneck": self.bottleneck,
        }


def _tier_of_links(topo: Topology, adaptive: bool) -> np.ndarray:
    """Tier index (into TIERS) of every link."""
    e, nl, npd = topo.num_gpus, topo.num_leaves, topo.num_pods
    P = topo.spec.num_planes
    if adaptive:
        per = np.concatenate([np.zeros(2 * e), np.ones(2 * nl), np.full(2 * npd, 2)]).astype(
            np.int8
        )
    else:
        n1, n2 = nl * topo.up, npd * topo.up * topo.spine_up
        per = np.concatenate([np.zeros(2 * e), np.ones(2 * n1), np.full(2 * n2, 2)]).astype(np.int8)
    return np.concatenate([np.tile(per, P), np.full(2 * topo.num_buildings, 3, np.int8)])


def solve(
    spec: FabricSpec,
    jobs: list[Job],
    *,
    num_gpus: int | None = None,
    failures: Failures | None = None,
    failed_fraction: float = 0.0,
    seed: int = 0,
    max_flows: int = 4_000_000,
) -> list[JobResult]:
    """Run ``jobs`` together on the fabric of ``spec`` sized for ``num_gpus`` GPUs (default:
    the design's cluster, or the jobs' total if larger)."""
    g = spec.gpus_per_domain
    need = sum(j.num_domains for j in jobs) * g
    topo = build_topology(spec, max(num_gpus or spec.max_gpus, need))
    if failed_fraction:
        failures = Failures.random(topo, failed_fraction, seed=seed)
    taken = np.zeros(0, dtype=np.int64)
    parts = []
    for i, job in enumerate(jobs):
        doms = place(job, topo.num_domains, taken)
        taken = np.union1d(taken, doms)
        # the budget counts sub-flows: planes and (under hashing) queue pairs multiply flows
        split = spec.num_planes * (1 if spec.routing == "adaptive" else spec.qps_per_connection)
        budget = max(1, max_flows // (split * len(jobs)))
        s, d, nb = flows(job, doms, g, channels=spec.channels_per_nic, max_flows=budget)
        parts.append((s, d, nb, np.full(s.size, i)))
    src = np.concatenate([p[0] for p in parts])
    dst = np.concatenate([p[1] for p in parts])
    nbytes = np.concatenate([p[2] for p in parts])
    job_of = np.concatenate([p[3] for p in parts]).astype(np.int64)
    t0 = 1.0 / spec.nic_gbits_per_gpu
    if src.size == 0:
        return [JobResult(j, 1.0, 1.0, 0, "nic") for j in jobs]
    r = route(topo, src, dst, nbytes, failures=failures, seed=seed)
    if all(j.pattern == "a2a" for j in jobs) and len(jobs) == 1:
        # one all-to-all alone: its time is the most loaded link's (no rates needed)
        load = np.bincount(r.paths.links, weights=np.repeat(r.nbytes, np.diff(r.paths.ptr)),
                           minlength=r.capacity.size)  # fmt: skip
        with np.errstate(divide="ignore", invalid="ignore"):
            drain = np.where(load > 0, load / r.capacity, 0.0)
        tight = int(np.argmax(drain))
        t = float(drain[tight])
        f = min(1.0, t0 / t) if t > 0 else 1.0
        tier = TIERS[int(_tier_of_links(topo, spec.routing == "adaptive")[tight])]
        return [JobResult(jobs[0], f, f, int(src.size), tier)]
    rate = max_min_rates(r.paths, r.capacity)
    sub_job = job_of[r.owner]
    with np.errstate(divide="ignore"):
        t_sub = np.where(rate > 0, r.nbytes / rate, np.inf)
    t_flow = np.zeros(src.size)
    np.maximum.at(t_flow, r.owner, t_sub)
    lengths = np.diff(r.paths.ptr)
    entry_sub = np.repeat(np.arange(r.owner.size), lengths)
    tiers = _tier_of_links(topo, spec.routing == "adaptive")
    out = []
    for i, job in enumerate(jobs):
        mine = job_of == i
        if not mine.any():
            out.append(JobResult(job, 1.0, 1.0, 0, "nic"))
            continue
        sel = sub_job[entry_sub] == i
        links = r.paths.links[sel]
        load = np.bincount(links, weights=r.nbytes[entry_sub[sel]], minlength=r.capacity.size)
        got = np.bincount(links, weights=rate[entry_sub[sel]], minlength=r.capacity.size)
        used = load > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            drain = np.where(used, load / got, 0.0)
        tight = int(np.argmax(drain))
        t = float(drain[tight]) if job.pattern == "a2a" else float(t_flow[mine].max())
        # per-source totals: a GPU's flows each carry their share of its one unit
        with np.errstate(divide="ignore", invalid="ignore"):
            delivered = float(np.sum(nbytes[mine] / t_flow[mine]))
        offered = float(np.sum(nbytes[mine]) / t0)
        out.append(
            JobResult(
                job=job,
                factor=min(1.0, t0 / t) if t > 0 else 1.0,
                throughput=min(1.0, delivered / offered) if offered > 0 else 1.0,
                num_flows=int(mine.sum()),
                bottleneck=TIERS[int(tiers[tight])],
            )
        )
    return out


def nonblocking_adaptive(spec: FabricSpec) -> bool:
    """True when every flow gets its NIC's share whatever the traffic: adaptive routing on a
    fabric with no oversubscription at any tier and no scale-across link."""
    return (
        spec.routing == "adaptive"
        and spec.leaf_oversubscription == 1
        and spec.spine_oversubscription == 1
        and spec.gpus_per_building is None
    )


@functools.lru_cache(maxsize=4096)
def pattern_factor(
    spec: FabricSpec,
    pattern: str,
    num_domains: int,
    *,
    placement: str = "packed",
    num_gpus: int | None = None,
    failed_fraction: float = 0.0,
    seed: int = 0,
) -> JobResult:
    """One job's result (cached): ``pattern`` over ``num_domains`` domains of ``spec``.

    On a non-blocking fabric with adaptive routing and no failures the answer is known
    without a solve: each GPU gets its NIC's line rate, less the congestion-control share
    where two or more senders meet at a receiver (all-to-all over three or more domains).
    The tests check this shortcut against the solve.
    """
    job = Job(pattern, num_domains, placement=placement, seed=seed)
    if not failed_fraction and nonblocking_adaptive(spec):
        n, g, ch = num_domains, spec.gpus_per_domain, spec.channels_per_nic
        count = {"ring": n * g * ch, "p2p": (n // 2) * g * ch, "a2a": n * (n - 1) * g}
        num = count.get(pattern, n * g) if n > 1 else 0
        f = spec.incast_efficiency if pattern == "a2a" and num_domains > 2 else 1.0
        return JobResult(job, f, f, num, "nic")
    return solve(spec, [job], num_gpus=num_gpus, failed_fraction=failed_fraction, seed=seed)[0]


@functools.lru_cache(maxsize=1024)
def busy_cluster_factor(
    spec: FabricSpec, pattern: str, num_domains: int, *, num_gpus: int, seed: int = 0
) -> JobResult:
    """A fragmented job in a busy cluster (cached): groups of ``num_domains`` domains tile a
    cluster of ``num_gpus`` GPUs in random order, all running ``pattern`` at once (the
    neighbours' traffic stands in for the other jobs), and the slowest group sets the
    factor, as the slowest group holds up a collective."""
    g = spec.gpus_per_domain
    cluster = max(num_domains, num_gpus // g)
    k = max(1, cluster // num_domains)
    jobs = [Job(pattern, num_domains, placement="fragmented", seed=seed + i) for i in range(k)]
    res = solve(spec, jobs, num_gpus=cluster * g, seed=seed)
    worst = min(res, key=lambda r: r.factor)
    return JobResult(
        Job(pattern, num_domains, placement="fragmented", seed=seed),
        worst.factor,
        float(np.mean([r.throughput for r in res])),
        sum(r.num_flows for r in res),
        worst.bottleneck,
    )
