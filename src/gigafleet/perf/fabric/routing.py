"""Flows onto links: ECMP hashing, pinned paths, adaptive routing; congestion under incast.

A flow (one NCCL connection from one GPU's NIC to another's) is split evenly over the
``P`` planes, and under ECMP over its ``q`` queue pairs, into sub-flows that each take one
path:

* ``ecmp``: each sub-flow's path is drawn uniformly among the healthy equal-cost paths (a
  hash of the 5-tuple and, with enhanced ECMP, the queue pair is as good as random per
  flow; Gangidi et al. SIGCOMM 2024 Sec. 5). Flows that draw the same link share it: the
  balls-into-bins collisions that cost plain Ethernet its throughput.
* ``pinned``: the uplink is fixed by the destination's port index on its leaf (Meta's
  early path pinning, same paper): balanced when whole racks run one job, skewed when they
  do not or a link fails.
* ``adaptive``: per-packet adaptive routing or spraying (InfiniBand AR, Spectrum-X) uses
  every healthy path as one pool: each switch tier's uplinks become a single trunk of their
  summed capacity. Exact for a healthy symmetric Clos; under failures it assumes the
  routing finds the capacity that is left.

Congestion control keeps ``incast_efficiency`` of a link's capacity where flows of two or
more senders meet and together offer at least its capacity (each sub-flow offering its
share of its sender's NIC): at a receiver's NIC (incast) under any routing, and on a
switch port under ECMP or pinning (a collision). Adaptive routing keeps the fabric itself
free of standing congestion, so only the receivers pay there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigafleet.perf.fabric.maxmin import Paths
from gigafleet.perf.fabric.topology import Failures, Topology

ROUTINGS = ("ecmp", "adaptive", "pinned")


@dataclass(frozen=True)
class Routed:
    """Sub-flows with their paths, the capacity of every link, and who they belong to."""

    paths: Paths
    capacity: np.ndarray  # Gb/s per link, after congestion control
    owner: np.ndarray  # flow index of each sub-flow
    nbytes: np.ndarray  # bytes (any unit) each sub-flow carries
    src: np.ndarray  # source endpoint of each sub-flow


def _choose(rng, options: int, ok, size: int, *, tries: int = 64) -> np.ndarray:
    """Uniform draws in ``[0, options)`` with ``ok(idx, choice)`` true, by rejection; where
    no healthy choice turns up the last draw is kept (a dead path: rate 0)."""
    pick = rng.integers(0, options, size)
    bad = np.flatnonzero(~ok(np.arange(size), pick))
    for _ in range(tries):
        if bad.size == 0:
            break
        pick[bad] = rng.integers(0, options, bad.size)
        bad = bad[~ok(bad, pick[bad])]
    return pick


def route(
    topo: Topology,
    src: np.ndarray,
    dst: np.ndarray,
    nbytes: np.ndarray,
    *,
    failures: Failures | None = None,
    seed: int = 0,
) -> Routed:
    """Route flows ``src -> dst`` (endpoint ids; ``src != dst``) carrying ``nbytes`` each."""
    spec = topo.spec
    P = spec.num_planes
    adaptive = spec.routing == "adaptive"
    q = 1 if adaptive else spec.qps_per_connection
    rep = P * q
    f = np.arange(src.size, dtype=np.int64)
    owner = np.repeat(f, rep)
    s, d = np.repeat(src, rep), np.repeat(dst, rep)
    plane = np.tile(np.repeat(np.arange(P), q), src.size)
    nb = np.repeat(np.asarray(nbytes, dtype=float) / rep, rep)
    la, lb = topo.leaf[s], topo.leaf[d]
    pa, pb = topo.pod_of_leaf[la], topo.pod_of_leaf[lb]
    ba, bb = topo.building_of(s), topo.building_of(d)
    off_leaf, cross = la != lb, pa != pb
    dci = ba != bb
    none = np.full(s.size, -1, dtype=np.int64)
    failures = failures or Failures()
    leaf_ok = failures.leaf_healthy(topo)
    if adaptive:
        ntl, npd, e = topo.num_leaves, topo.num_pods, topo.num_gpus
        base = plane * topo.plane_trunks
        cols = [
            base + s,
            np.where(off_leaf, base + 2 * e + la, none),
            np.where(cross, base + 2 * e + 2 * ntl + pa, none),
            np.where(dci, P * topo.plane_trunks + ba, none),
            np.where(dci, P * topo.plane_trunks + topo.num_buildings + bb, none),
            np.where(cross, base + 2 * e + 2 * ntl + npd + pb, none),
            np.where(off_leaf, base + 2 * e + ntl + lb, none),
            base + e + d,
        ]
        cap = _trunk_capacity(topo, failures, leaf_ok)
        num_links = topo.num_trunks
        switch_links = np.zeros(num_links, dtype=bool)
    else:
        rng = np.random.default_rng(seed)
        up, up2 = topo.up, max(topo.spine_up, 1)
        k = np.zeros(s.size, dtype=np.int64)
        k2 = np.zeros(s.size, dtype=np.int64)
        spine_ok = failures.spine_healthy(topo) if topo.spine_up else None
        i1 = np.flatnonzero(off_leaf & ~cross)
        i2 = np.flatnonzero(cross)
        if spec.routing == "pinned":
            # by the destination's port on its leaf, skipping failed uplinks in order
            k[:] = topo.port[d] % up
            for _ in range(up):
                bad = off_leaf & ~(leaf_ok[plane, la, k] & leaf_ok[plane, lb, k])
                if not bad.any():
                    break
                k[bad] = (k[bad] + 1) % up
            if i2.size:
                k2[i2] = (topo.port[d[i2]] // up) % up2
        else:
            if i1.size:
                k[i1] = _choose(
                    rng, up,
                    lambda i, c: leaf_ok[plane[i1[i]], la[i1[i]], c] & leaf_ok[plane[i1[i]], lb[i1[i]], c],
                    i1.size,
                )  # fmt: skip
            if i2.size:
                pair = _choose(
                    rng, up * up2,
                    lambda i, c: _cross_ok(leaf_ok, spine_ok, plane[i2[i]], la[i2[i]], lb[i2[i]],
                                           pa[i2[i]], pb[i2[i]], c // up2, c % up2),
                    i2.size,
                )  # fmt: skip
                k[i2], k2[i2] = pair // up2, pair % up2
        cols = [
            topo.nic_up(s, plane),
            np.where(off_leaf, topo.leaf_up(la, k, plane), none),
            np.where(cross, topo.spine_up_link(pa, k, k2, plane), none),
            np.where(dci, topo.dci_out(ba), none),
            np.where(dci, topo.dci_in(bb), none),
            np.where(cross, topo.spine_down_link(pb, k, k2, plane), none),
            np.where(off_leaf, topo.leaf_down(lb, k, plane), none),
            topo.nic_down(d, plane),
        ]
        cap = _port_capacity(topo, failures, leaf_ok)
        num_links = topo.num_links
        switch_links = np.ones(num_links, dtype=bool)
        for p in range(P):
            switch_links[p * topo.plane_links : p * topo.plane_links + 2 * topo.num_gpus] = False
        switch_links[P * topo.plane_links :] = False
    paths = Paths.from_columns(cols, num_links)
    # Congestion control: receivers' NIC links everywhere, switch ports under hashing.
    receiver = np.zeros(num_links, dtype=bool)
    stride = topo.plane_trunks if adaptive else topo.plane_links
    for p in range(P):
        receiver[p * stride + topo.num_gpus : p * stride + 2 * topo.num_gpus] = True
    watched = receiver | switch_links
    lengths = np.diff(paths.ptr)
    entry_src = np.repeat(s, lengths)
    sel = watched[paths.links]
    if spec.incast_efficiency < 1 and sel.any():
        # Congested: two or more senders on a link (its lowest and highest sender differ)
        # that together offer at least its capacity, each sub-flow offering its share of
        # its sender's NIC (in proportion to the bytes it carries).
        per_src = np.bincount(s, weights=nb, minlength=topo.num_gpus)
        offer = topo.endpoint_gbits * P * nb / per_src[s]
        demand = np.bincount(paths.links, weights=np.repeat(offer, lengths), minlength=num_links)
        lo = np.full(num_links, np.iinfo(np.int64).max)
        hi = np.full(num_links, -1, dtype=np.int64)
        np.minimum.at(lo, paths.links[sel], entry_src[sel])
        np.maximum.at(hi, paths.links[sel], entry_src[sel])
        congested = watched & (hi > lo) & (demand >= cap * (1 - 1e-9))
        cap = np.where(congested, cap * spec.incast_efficiency, cap)
    return Routed(paths=paths, capacity=cap, owner=owner, nbytes=nb, src=s)


def _cross_ok(leaf_ok, spine_ok, plane, la, lb, pa, pb, k, k2):
    return (
        leaf_ok[plane, la, k]
        & leaf_ok[plane, lb, k]
        & spine_ok[plane, pa, k, k2]
        & spine_ok[plane, pb, k, k2]
    )


def _port_capacity(topo: Topology, failures: Failures, leaf_ok: np.ndarray) -> np.ndarray:
    spec = topo.spec
    cap = np.zeros(topo.num_links)
    e, nl, up = topo.num_gpus, topo.num_leaves, topo.up
    for p in range(spec.num_planes):
        b = p * topo.plane_links
        cap[b : b + 2 * e] = topo.endpoint_gbits
        ok = leaf_ok[p].reshape(-1).astype(float) * spec.port_gbits
        cap[b + 2 * e : b + 2 * e + nl * up] = ok
        cap[b + 2 * e + nl * up : b + 2 * e + 2 * nl * up] = ok
        if topo.spine_up:
            n2 = topo.num_pods * up * topo.spine_up
            ok2 = failures.spine_healthy(topo)[p].reshape(-1).astype(float) * spec.port_gbits
            s0 = b + 2 * e + 2 * nl * up
            cap[s0 : s0 + n2] = ok2
            cap[s0 + n2 : s0 + 2 * n2] = ok2
    cap[spec.num_planes * topo.plane_links :] = spec.scale_across_gbits or np.inf
    return cap


def _trunk_capacity(topo: Topology, failures: Failures, leaf_ok: np.ndarray) -> np.ndarray:
    spec = topo.spec
    cap = np.zeros(topo.num_trunks)
    e, nl, npd = topo.num_gpus, topo.num_leaves, topo.num_pods
    for p in range(spec.num_planes):
        b = p * topo.plane_trunks
        cap[b : b + 2 * e] = topo.endpoint_gbits
        leaf_cap = leaf_ok[p].sum(axis=1) * spec.port_gbits
        cap[b + 2 * e : b + 2 * e + nl] = leaf_cap
        cap[b + 2 * e + nl : b + 2 * e + 2 * nl] = leaf_cap
        if topo.spine_up:
            pod_cap = failures.spine_healthy(topo)[p].sum(axis=(1, 2)) * spec.port_gbits
        else:
            pod_cap = np.full(npd, np.inf)
        cap[b + 2 * e + 2 * nl : b + 2 * e + 2 * nl + npd] = pod_cap
        cap[b + 2 * e + 2 * nl + npd : b + 2 * e + 2 * nl + 2 * npd] = pod_cap
    cap[spec.num_planes * topo.plane_trunks :] = spec.scale_across_gbits or np.inf
    return cap
