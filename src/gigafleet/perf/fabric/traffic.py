"""Collective, pipeline and expert traffic as flows between GPUs' NICs.

Every pattern runs on a set of scale-up domains with all ``g`` GPUs of each taking part
(one group per local rank, as data, context or expert parallel groups do when tensor
parallelism fills the domain) and normalises each GPU to send one unit in all:

* ``ring``: NCCL's rings for reduce-scatter, all-gather and all-reduce cross each domain
  boundary once per ring; GPU ``j`` of domain ``i`` sends to GPU ``j`` of domain ``i+1``
  on ``channels`` connections (NCCL opens about two per NIC).
* ``a2a``: all-to-all through rail-matched NICs (NCCL's PXN forwards over NVLink to the
  GPU on the destination's rail first): GPU ``j`` of every domain sends to GPU ``j`` of
  every other domain. Past ``max_flows`` each GPU sends to the same random subset of
  domain offsets (every domain still receives from as many as it sends to).
* ``p2p``: a pipeline stage boundary: the first half of the domains sends to the second
  (GPU ``j`` of domain ``i`` to GPU ``j`` of domain ``i + n/2``).
* ``permutation``: every GPU sends to one other, at random: the classic test of what a
  fabric's routing delivers (Al-Fares et al. 2008; Hedera, NSDI 2010).

A job's domains are either ``packed`` (consecutive, as a topology-aware scheduler places
them) or ``fragmented`` (drawn at random from the cluster, in random ring order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigafleet.errors import GigafleetError

PATTERNS = ("ring", "a2a", "p2p", "permutation")
PLACEMENTS = ("packed", "fragmented")


@dataclass(frozen=True)
class Job:
    """One job's traffic: a pattern over ``num_domains`` domains placed in the cluster."""

    pattern: str
    num_domains: int
    placement: str = "packed"
    first_domain: int = 0  # where a packed job starts
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise GigafleetError(
                f"unknown pattern {self.pattern!r}; allowed: {', '.join(PATTERNS)}", field="pattern"
            )
        if self.placement not in PLACEMENTS:
            raise GigafleetError(
                f"unknown placement {self.placement!r}; allowed: {', '.join(PLACEMENTS)}",
                field="placement",
            )
        if self.num_domains < 1:
            raise GigafleetError(f"must be >= 1, got {self.num_domains}", field="num_domains")


def place(job: Job, num_cluster_domains: int, taken: np.ndarray | None = None) -> np.ndarray:
    """The domains a job gets, in its rank order."""
    if job.num_domains > num_cluster_domains:
        raise GigafleetError(
            f"{job.num_domains} domains do not fit a cluster of {num_cluster_domains}",
            field="num_domains",
        )
    if job.placement == "packed":
        doms = (job.first_domain + np.arange(job.num_domains)) % num_cluster_domains
        if taken is not None and np.isin(doms, taken).any():
            raise GigafleetError(
                "jobs overlap: a packed job starts on domains another job holds", field="jobs"
            )
        return doms
    rng = np.random.default_rng(job.seed + 7919)
    free = np.arange(num_cluster_domains)
    if taken is not None and taken.size:
        free = np.setdiff1d(free, taken)
    if free.size < job.num_domains:
        raise GigafleetError("jobs overlap: not enough free domains", field="jobs")
    return rng.choice(free, size=job.num_domains, replace=False)


def flows(
    job: Job, domains: np.ndarray, g: int, *, channels: int = 2, max_flows: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(src, dst, nbytes)`` endpoint arrays of a job on ``domains`` (``g`` GPUs each)."""
    n = domains.size
    j = np.arange(g, dtype=np.int64)
    dom = domains.astype(np.int64)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if n < 2:
        return empty
    if job.pattern == "ring":
        a = np.repeat(dom, g) * g + np.tile(j, n)
        b = np.repeat(np.roll(dom, -1), g) * g + np.tile(j, n)
        src, dst = np.repeat(a, channels), np.repeat(b, channels)
        return src, dst, np.full(src.size, 1.0 / channels)
    if job.pattern == "p2p":
        m = n // 2
        a = np.repeat(dom[:m], g) * g + np.tile(j, m)
        b = np.repeat(dom[m : 2 * m], g) * g + np.tile(j, m)
        src, dst = np.repeat(a, channels), np.repeat(b, channels)
        return src, dst, np.full(src.size, 1.0 / channels)
    if job.pattern == "permutation":
        rng = np.random.default_rng(job.seed + 104729)
        ends = (dom[:, None] * g + j[None, :]).reshape(-1)
        perm = rng.permutation(ends.size)
        # a derangement across domains: shift any GPU that drew its own domain
        dst = ends[perm]
        same = dst // g == ends // g
        dst[same] = np.roll(dst[same], 1) if same.sum() > 1 else dst[same]
        keep = dst // g != ends // g
        return ends[keep], dst[keep], np.ones(int(keep.sum()))
    # a2a: every domain pair, rail-matched
    per_src = n - 1
    if n * g * per_src > max_flows:
        # the same random offsets for every source: each domain still receives from
        # exactly per_src others, so no receiver is loaded more than the rest
        per_src = max(1, max_flows // (n * g))
        rng = np.random.default_rng(job.seed + 15485863)
        offs = 1 + rng.choice(n - 1, size=per_src, replace=False)
    else:
        offs = np.arange(1, n)
    pair_b = (np.arange(n)[:, None] + offs[None, :]) % n  # (n, per_src) domain positions
    a = np.repeat(np.repeat(dom, per_src), g) * g + np.tile(j, n * per_src)
    b = np.repeat(dom[pair_b.reshape(-1)], g) * g + np.tile(j, n * per_src)
    return a, b, np.full(a.size, 1.0 / per_src)
