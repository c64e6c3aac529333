"""A multi-plane Clos of one to three tiers, rail-optimised or top-of-rack, sized for a cluster.

Endpoints are GPUs (each with its share of the NICs, split over ``P`` planes); endpoint
``e`` sits in scale-up domain ``e // g`` at local index ``j = e % g``. In a rail-optimised
fabric NIC ``j`` of every domain belongs to rail ``j mod R`` and the leaves of a rail take
consecutive domains (NVIDIA DGX SuperPOD reference architectures); a top-of-rack fabric
puts consecutive GPUs on one leaf (Meta's RTSW, Gangidi et al. SIGCOMM 2024). Leaves of
``d`` endpoints have ``u`` uplinks, one to each spine of their pod; with three tiers each
spine has ``u2`` uplinks, one to each core of its group, and core ``(k, k2)`` reaches spine
``k`` of every pod (a folded Clos, Al-Fares et al. SIGCOMM 2008). Sizes follow from the
switch radix ``r`` and port speed ``p``, the endpoint rate per plane ``c``, the leaf
oversubscription ``o1`` (or uplink factor ``m``) and the spine oversubscription ``o2``::

    d = floor(r p / (c (1 + m / o1)))          unless leaf_down_ports is given
    u = ceil(d c m / (o1 p))                    uplinks per leaf = spines per pod
    leaves per pod <= r (2 tiers) or floor(r o2 / (1 + o2)) (3 tiers); u2 = ceil(leaves / o2)
    pods <= r (a core switch reaches one spine per pod)

so two tiers connect at most ``r d`` endpoints per plane and three ``r^2 d o2 / (1 + o2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gigafleet.errors import GigafleetError
from gigafleet.perf.fabric.design import FabricSpec


@dataclass(frozen=True)
class Topology:
    """Sizes, placement maps and link numbering of one fabric for ``num_gpus`` endpoints."""

    spec: FabricSpec
    num_gpus: int
    endpoint_gbits: float  # per plane
    down: int
    up: int
    num_leaves: int
    leaves_per_pod: int
    num_pods: int
    spine_up: int
    num_buildings: int
    domains_per_building: int
    leaf: np.ndarray = field(repr=False)  # leaf of each endpoint
    port: np.ndarray = field(repr=False)  # its port index on that leaf
    pod_of_leaf: np.ndarray = field(repr=False)

    # -- link numbering (port level, one block per plane, then the scale-across links) ---------
    @property
    def plane_links(self) -> int:
        e, nl, npd = self.num_gpus, self.num_leaves, self.num_pods
        return 2 * e + 2 * nl * self.up + 2 * npd * self.up * self.spine_up

    @property
    def num_links(self) -> int:
        return self.spec.num_planes * self.plane_links + 2 * self.num_buildings

    def nic_up(self, e, plane):
        return plane * self.plane_links + e

    def nic_down(self, e, plane):
        return plane * self.plane_links + self.num_gpus + e

    def leaf_up(self, leaf, k, plane):
        return plane * self.plane_links + 2 * self.num_gpus + leaf * self.up + k

    def leaf_down(self, leaf, k, plane):
        base = 2 * self.num_gpus + self.num_leaves * self.up
        return plane * self.plane_links + base + leaf * self.up + k

    def spine_up_link(self, pod, k, k2, plane):
        base = 2 * self.num_gpus + 2 * self.num_leaves * self.up
        return plane * self.plane_links + base + (pod * self.up + k) * self.spine_up + k2

    def spine_down_link(self, pod, k, k2, plane):
        base = 2 * self.num_gpus + 2 * self.num_leaves * self.up
        base += self.num_pods * self.up * self.spine_up
        return plane * self.plane_links + base + (pod * self.up + k) * self.spine_up + k2

    def dci_out(self, building):
        return self.spec.num_planes * self.plane_links + building

    def dci_in(self, building):
        return self.spec.num_planes * self.plane_links + self.num_buildings + building

    # -- trunk numbering (adaptive routing pools the uplinks of a switch) ----------------------
    @property
    def plane_trunks(self) -> int:
        return 2 * self.num_gpus + 2 * self.num_leaves + 2 * self.num_pods

    @property
    def num_trunks(self) -> int:
        return self.spec.num_planes * self.plane_trunks + 2 * self.num_buildings

    def building_of(self, e):
        return (np.asarray(e) // self.spec.gpus_per_domain) // self.domains_per_building

    def pod_of(self, e):
        return self.pod_of_leaf[self.leaf[e]]

    @property
    def num_domains(self) -> int:
        return self.num_gpus // self.spec.gpus_per_domain


def build_topology(spec: FabricSpec, num_gpus: int | None = None) -> Topology:
    """Size the fabric of ``spec`` for ``num_gpus`` GPUs (default: the design's ``max_gpus``),
    rounded up to whole scale-up domains.

    Raises :class:`GigafleetError` naming the field when the tiers cannot connect that many
    GPUs or the leaf has too few ports.
    """
    where = spec.where
    g = spec.gpus_per_domain
    n_req = spec.max_gpus if num_gpus is None else int(num_gpus)
    if n_req < 1:
        raise GigafleetError(f"must be at least 1, got {n_req}", field="num_gpus")
    domains = math.ceil(n_req / g)
    e_total = domains * g
    P = spec.num_planes
    c = spec.nic_gbits_per_gpu / P
    p, r = spec.port_gbits, spec.switch_radix
    o1, m, o2 = spec.leaf_oversubscription, spec.leaf_uplink_factor, spec.spine_oversubscription
    R = spec.num_rails
    slots_per_domain = math.ceil(g / R)
    slots = domains * slots_per_domain  # endpoints per rail
    if spec.tiers == 1:
        down, up = (spec.leaf_down_ports or r), 0
        if slots > down:
            raise GigafleetError(
                f"one tier of {r}-port switches connects at most {down * R:,} GPUs per plane; "
                f"{e_total:,} need more tiers",
                field=f"{where}.tiers",
            )
        down = slots
    else:
        down = spec.leaf_down_ports or int(r * p / (c * (1 + m / o1)))
        down = max(1, min(down, r))
        up = max(1, math.ceil(down * c * m / (o1 * p) - 1e-9))
        if down * min(c, p) / p + up > r + 1e-9:
            raise GigafleetError(
                f"a leaf of {r} ports at {p:g} Gb/s cannot take {down} downlinks of {c:g} Gb/s "
                f"and the {up} uplinks they need",
                field=f"{where}.leaf_down_ports",
            )
    groups = math.ceil(slots / down)  # leaf groups (one leaf per rail each)
    num_leaves = groups * R
    sr = spec.spine_radix
    if spec.tiers <= 2:
        max_leaves = sr if spec.tiers == 2 else R
        if num_leaves > max_leaves:
            raise GigafleetError(
                f"{spec.tiers} tiers of {sr}-port spines connect at most "
                f"{max_leaves * down:,} GPUs per plane; "
                f"{e_total:,} GPUs need {num_leaves} leaves (add a tier)",
                field=f"{where}.tiers",
            )
        leaves_per_pod, num_pods, spine_up = num_leaves, 1, 0
    else:
        cap_leaves = int(sr * o2 / (1 + o2))
        if spec.gpus_per_pod:
            leaves_per_pod = max(R, round(spec.gpus_per_pod / down))
            if leaves_per_pod > cap_leaves:
                raise GigafleetError(
                    f"{spec.gpus_per_pod:,} GPUs per pod need {leaves_per_pod} leaves; a "
                    f"{sr}-port spine serves at most {cap_leaves}",
                    field=f"{where}.gpus_per_pod",
                )
        else:
            leaves_per_pod = cap_leaves
        leaves_per_pod = max(R, leaves_per_pod - leaves_per_pod % R)
        groups_per_pod = leaves_per_pod // R
        num_pods = math.ceil(groups / groups_per_pod)
        leaves_per_pod = min(leaves_per_pod, num_leaves)
        spine_up = max(1, math.ceil(leaves_per_pod / o2 - 1e-9))
        if num_pods > sr:
            most = sr * groups_per_pod * R * down
            raise GigafleetError(
                f"3 tiers of {sr}-port switches connect at most {most:,.0f} GPUs; "
                f"{e_total:,} need {num_pods} pods",
                field=f"{where}.tiers",
            )
    # placement maps
    e = np.arange(e_total, dtype=np.int64)
    dom, j = e // g, e % g
    if spec.rail_optimized:
        rail = j % R
        slot = dom * slots_per_domain + j // R
        group = slot // down
        leaf = group * R + rail
        port = slot % down
        pod_of_leaf = (np.arange(num_leaves) // R) // max(1, leaves_per_pod // R)
    else:
        leaf = e // down
        port = e % down
        pod_of_leaf = np.arange(num_leaves) // max(1, leaves_per_pod)
    if spec.gpus_per_building:
        dpb = max(1, spec.gpus_per_building // g)
        buildings = math.ceil(domains / dpb)
    else:
        dpb, buildings = domains, 1
    return Topology(
        spec=spec,
        num_gpus=e_total,
        endpoint_gbits=c,
        down=down,
        up=up,
        num_leaves=num_leaves,
        leaves_per_pod=leaves_per_pod,
        num_pods=int(pod_of_leaf.max()) + 1 if num_leaves else 1,
        spine_up=spine_up,
        num_buildings=buildings,
        domains_per_building=dpb,
        leaf=leaf,
        port=port,
        pod_of_leaf=pod_of_leaf,
    )


@dataclass(frozen=True)
class Failures:
    """Failed cables, by global index: leaf cables ``(plane, leaf, k)`` and spine cables
    ``(plane, pod, k, k2)`` flattened as in :class:`Topology`'s numbering (both directions
    of a cable fail together)."""

    leaf_cables: tuple[int, ...] = ()
    spine_cables: tuple[int, ...] = ()

    @staticmethod
    def random(topo: Topology, fraction: float, *, seed: int = 0) -> Failures:
        """A random ``fraction`` of the switch-to-switch cables of every tier."""
        if not 0 <= fraction < 1:
            raise GigafleetError(f"must be in [0, 1), got {fraction}", field="failed_fraction")
        rng = np.random.default_rng(seed)
        n1 = topo.spec.num_planes * topo.num_leaves * topo.up
        n2 = topo.spec.num_planes * topo.num_pods * topo.up * topo.spine_up
        pick = lambda n: tuple(  # noqa: E731
            int(x) for x in rng.choice(n, size=round(fraction * n), replace=False)
        )
        return Failures(pick(n1) if n1 else (), pick(n2) if n2 else ())

    @staticmethod
    def spine(topo: Topology, *, plane: int, pod: int, k: int) -> Failures:
        """Every cable of spine switch ``k`` of ``pod`` in ``plane``."""
        leaves = np.flatnonzero(topo.pod_of_leaf == pod)
        leaf_cab = plane * topo.num_leaves * topo.up + leaves * topo.up + k
        base = plane * topo.num_pods * topo.up * topo.spine_up
        spine_cab = base + (pod * topo.up + k) * topo.spine_up + np.arange(topo.spine_up)
        return Failures(tuple(int(x) for x in leaf_cab), tuple(int(x) for x in spine_cab))

    def leaf_healthy(self, topo: Topology) -> np.ndarray:
        """Health of leaf cables, shaped (plane, leaf, k)."""
        ok = np.ones(topo.spec.num_planes * topo.num_leaves * topo.up, dtype=bool)
        ok[list(self.leaf_cables)] = False
        return ok.reshape(topo.spec.num_planes, topo.num_leaves, topo.up)

    def spine_healthy(self, topo: Topology) -> np.ndarray:
        """Health of spine cables, shaped (plane, pod, k, k2)."""
        n = topo.spec.num_planes * topo.num_pods * topo.up * topo.spine_up
        ok = np.ones(n, dtype=bool)
        ok[list(self.spine_cables)] = False
        return ok.reshape(topo.spec.num_planes, topo.num_pods, topo.up, max(topo.spine_up, 0))
