"""Max-min fair rates of flows on capacitated links, vectorised.

Every flow crosses a fixed set of links (its path). The max-min fair allocation is the one
where no flow can get faster without slowing a flow that is already no faster (Bertsekas &
Gallager, *Data Networks*, 2nd ed., Sec. 6.5.2). Progressive filling computes it by raising
all rates together and freezing the flows of each link that fills. Done one level at a
time it needs as many passes as there are distinct rates; here each pass freezes every
link that is a *local* bottleneck at once:

    share_l = (c_l - sum of frozen rates on l) / (number of unfrozen flows on l)
    m_f     = min over the links l of flow f of share_l
    l is a bottleneck when share_l <= m_f for every unfrozen flow f on l

A link's share only grows as flows freeze (a flow freezes at a rate no larger than the
share of any link it crosses), so the flows of a bottleneck link are done: each gets
``share_l`` and no other link can cut it lower. The number of passes is the depth of the
bottleneck dependency chain (a handful for Clos fabrics), each pass a few ``bincount`` and
``reduceat`` sweeps over the still-unfrozen part of the incidence (numpy only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Relative slack when comparing shares: shares equal to this precision tie.
_TIE = 1e-9


@dataclass(frozen=True, slots=True)
class Paths:
    """Flows as rows of a CSR incidence: flow ``f`` crosses ``links[ptr[f]:ptr[f+1]]``."""

    ptr: np.ndarray  # int64, len num_flows + 1, ptr[0] == 0
    links: np.ndarray  # int64 link ids
    num_links: int

    @property
    def num_flows(self) -> int:
        return len(self.ptr) - 1

    @classmethod
    def from_lists(cls, paths: list[list[int]], num_links: int) -> Paths:
        lengths = np.array([len(p) for p in paths], dtype=np.int64)
        ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        links = np.array([x for p in paths for x in p], dtype=np.int64)
        return cls(ptr, links, num_links)

    @classmethod
    def from_columns(cls, columns: list[np.ndarray], num_links: int) -> Paths:
        """Paths given hop by hop: ``columns[h][f]`` is the ``h``-th link of flow ``f``, or
        -1 where the flow's path is shorter."""
        hops = np.stack(columns, axis=1).astype(np.int64)
        keep = hops >= 0
        ptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
        return cls(ptr, hops[keep], num_links)


def max_min_rates(paths: Paths, capacity: np.ndarray, *, max_passes: int = 10_000) -> np.ndarray:
    """The max-min fair rate of every flow (same unit as ``capacity``).

    Args:
        paths: the links each flow crosses; every flow must cross at least one link.
        capacity: capacity of each link (>= 0).
        max_passes: guard against a non-terminating loop (never reached: each pass freezes
            at least the flows of the globally tightest link).
    """
    num_flows = paths.num_flows
    lengths = np.diff(paths.ptr)
    assert np.all(lengths > 0), "every flow needs at least one link"
    cap = np.asarray(capacity, dtype=float).copy()
    rate = np.zeros(num_flows)
    # The working set: the (flow, link) entries of unfrozen flows, flow-major.
    ids = np.arange(num_flows, dtype=np.int64)
    links = paths.links.astype(np.int64, copy=True)
    for _ in range(max_passes):
        if ids.size == 0:
            return rate
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        count = np.bincount(links, minlength=paths.num_links)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(count > 0, np.maximum(cap, 0.0) / count, np.inf)
        m = np.minimum.reduceat(share[links], starts)
        m_entry = np.repeat(m, lengths)
        # The tightest flow rate on each link.
        link_min = np.full(paths.num_links, np.inf)
        np.minimum.at(link_min, links, m_entry)
        bottleneck = (count > 0) & (share <= link_min * (1 + _TIE))
        done = np.maximum.reduceat(bottleneck[links], starts).astype(bool)
        rate[ids[done]] = m[done]
        # Frozen flows leave the working set and take their rate off every link they cross.
        gone = np.repeat(done, lengths)
        cap -= np.bincount(links[gone], weights=m_entry[gone], minlength=paths.num_links)
        links = links[~gone]
        lengths = lengths[~done]
        ids = ids[~done]
    raise RuntimeError("max-min filling did not converge")  # pragma: no cover
