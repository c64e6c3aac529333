"""Collective communication time over a two-level hierarchy (scale-up domain, then fabric).

A group of ``N`` ranks with ``g`` of them in each scale-up domain spans ``n = N/g`` domains.
NCCL runs a hierarchical (or multi-ring, rail-aligned) algorithm, so a buffer of ``S``
bytes per rank costs (Thakur et al. 2005; NCCL's bus-bandwidth convention,
github.com/NVIDIA/nccl-tests doc/PERFORMANCE.md):

* reduce-scatter / all-gather: ``S [ (g-1)/g / B_up + (n-1)/(n g) / B_out ]``
* all-reduce: twice that; in-switch reduction (NVLS) replaces ``B_up`` by its NVLS bus
  bandwidth, in-network reduction (SHARP) halves the scale-out term;
* all-to-all: the larger of the on-domain share ``S (g-1)/N / B_up`` and the off-domain
  share ``S (N-g)/N / B_out``;

plus a latency ``alpha`` per tree level, ``ceil(log2 g) a_up + ceil(log2 n) a_out``.
``B_up`` is the per-GPU scale-up bandwidth per direction times the ring efficiency below;
``B_out`` is the GPU's share of its system's NICs times the fabric's efficiency. Where the
network carries a fabric profile (:mod:`gigafleet.perf.fabric`), ``B_out`` is further
scaled by the share of line rate the flow model gives that pattern over ``n`` domains
(ECMP collisions, oversubscription, congestion under incast, scale-across links):
``B_out s(pattern, n)``.

Every argument may be a numpy array; the functions broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: NVLink ring bus bandwidth as a fraction of line rate: 8x H100, ring algorithm, ~370 GB/s
#: of 450 GB/s ("450 GB/s line rate minus ~20% protocol overhead"): NCCL maintainer,
#: github.com/NVIDIA/nccl-tests/issues/212 (shared/groundtruth/collectives.csv).
NVLINK_RING_EFFICIENCY = 370.0 / 450.0

#: All-reduce bus bandwidth with NVLS in-switch reduction as a fraction of line rate: ~480 GB/s
#: on 8x H100 (same source; also 476 GB/s measured, nccl-tests issue 290).
NVLS_ALLREDUCE_EFFICIENCY = 480.0 / 450.0


class OutShare(Protocol):
    """The share of ``out_bw`` a pattern gets over ``n`` domains (see perf/fabric)."""

    def factor(self, kind: str, n) -> float | np.ndarray: ...

    def extra_latency_s(self, kind: str) -> float: ...


@dataclass(frozen=True, slots=True)
class Network:
    """Bandwidths (bytes/s per GPU per direction, after efficiency) and latencies (s).

    ``fabric``, when set, scales ``out_bw`` by pattern and scale (the flow model); without
    it the fabric delivers ``out_bw`` to every collective at every scale.
    """

    domain_size: int
    up_bw: float
    up_latency: float
    up_in_switch_reduction: bool
    out_bw: float
    out_latency: float
    out_in_network_reduction: bool
    fabric: OutShare | None = None

    def out_bw_for(self, kind: str, n):
        """``out_bw`` for a ``kind`` (``ring``, ``a2a``, ``p2p``) collective over ``n`` domains."""
        if self.fabric is None:
            return self.out_bw
        return self.out_bw * self.fabric.factor(kind, n)

    @property
    def up_allreduce_bw(self) -> float:
        if self.up_in_switch_reduction:
            return self.up_bw / NVLINK_RING_EFFICIENCY * NVLS_ALLREDUCE_EFFICIENCY
        return self.up_bw


def group_layout(num_ranks, stride, domain_size):
    """Ranks of a group per scale-up domain (``g``) and domains spanned (``n``).

    Megatron orders ranks TP, CP, EP, DP, PP from the fastest-varying; a group whose members
    are ``stride`` ranks apart puts ``domain/stride`` of them in one domain.
    """
    num_ranks = np.asarray(num_ranks, dtype=float)
    per_domain = np.maximum(1.0, np.floor(domain_size / np.maximum(stride, 1)))
    g = np.minimum(num_ranks, per_domain)
    n = np.ceil(num_ranks / g)
    return g, n


def _latency(g, n, net: Network):
    return (
        np.ceil(np.log2(np.maximum(g, 1))) * net.up_latency
        + np.ceil(np.log2(np.maximum(n, 1))) * net.out_latency
    )


def reduce_scatter_time(nbytes, g, n, net: Network):
    """Reduce-scatter (or all-gather) of a buffer of ``nbytes`` per rank."""
    t = nbytes * ((g - 1) / g / net.up_bw + (n - 1) / (n * g) / net.out_bw_for("ring", n))
    return np.where(g * n > 1, t + _latency(g, n, net), 0.0)


all_gather_time = reduce_scatter_time


def all_reduce_time(nbytes, g, n, net: Network):
    """All-reduce of ``nbytes`` per rank (two phases; NVLS and SHARP where the hardware has them)."""
    out_factor = 1.0 if net.out_in_network_reduction else 2.0
    t = nbytes * (
        2 * (g - 1) / g / net.up_allreduce_bw
        + out_factor * (n - 1) / (n * g) / net.out_bw_for("ring", n)
    )
    return np.where(g * n > 1, t + 2 * _latency(g, n, net), 0.0)


def all_to_all_time(nbytes, g, n, net: Network):
    """All-to-all where each rank sends ``nbytes`` spread evenly over the group."""
    total = g * n
    on = nbytes * (g - 1) / total / net.up_bw
    off = nbytes * (total - g) / total / net.out_bw_for("a2a", n)
    return np.where(total > 1, np.maximum(on, off) + _latency(g, n, net), 0.0)


def p2p_time(nbytes, same_domain, net: Network):
    """One point-to-point transfer, over the scale-up domain or the fabric."""
    if net.fabric is None:
        out = nbytes / net.out_bw + net.out_latency
    else:
        out = (
            nbytes / net.out_bw_for("p2p", 2) + net.out_latency + net.fabric.extra_latency_s("p2p")
        )
    return np.where(same_domain, nbytes / net.up_bw + net.up_latency, out)


def moe_dispatch_time(nbytes_per_copy, top_k, g, n, net: Network, *, dedup=False):
    """MoE token dispatch (or combine): each token goes to ``top_k`` experts spread evenly
    over an expert-parallel group of ``g`` ranks per domain in ``n`` domains.

    Plain all-to-all sends one copy per expert. Node-aware dispatchers (DeepEP, HybridEP)
    send a token once to each remote domain that hosts one of its experts and fan it out
    over the scale-up links there; with experts drawn evenly that is
    ``(n-1) (1 - (1 - 1/n)^k)`` remote domains per token instead of ``k (n-1)/n`` copies
    (DeepSeek-V3 report, arXiv:2412.19437, Sec. 3.2.2).
    """
    total = g * n
    on = nbytes_per_copy * top_k * (g - 1) / total / net.up_bw
    copies_off = top_k * (total - g) / total
    domains_off = (n - 1) * (1 - (1 - 1 / n) ** top_k)
    off = (
        nbytes_per_copy
        * np.where(dedup, np.minimum(domains_off, copies_off), copies_off)
        / net.out_bw_for("a2a", n)
    )
    return np.where(total > 1, np.maximum(on, off) + _latency(g, n, net), 0.0)
