"""Which fabric design a system runs on, and the numbers of that design the flow model needs.

A name given for a fabric may be a design (``meta-roce-24k``) or a technology
(``spectrum-x``); a system without one runs on its default. Defaults are looked up in the
designs' ``default_for`` lists: ``system+technology`` first, then the system, then the
technology. The result, :class:`FabricSpec`, is a small hashable record (the flow model
caches on it) with every per-design option a what-if may change (routing, queue pairs,
NIC speed, oversubscription) in SI-free plain units (Gb/s, counts).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from gigafleet.catalog import Catalog
from gigafleet.catalog.schema import Fabric, FabricDesign, System
from gigafleet.errors import GigafleetError, unknown_name


@dataclass(frozen=True, slots=True)
class FabricSpec:
    """One fabric design attached to one system: what the topology and routing need.

    Bandwidths are Gb/s per direction. ``nic_gbits_per_gpu`` is each GPU's share of its
    system's NICs (or the design's NIC); ``nic_port_gbits`` the speed of one NIC port.
    """

    name: str
    technology: str
    gpus_per_domain: int
    nic_gbits_per_gpu: float
    nic_port_gbits: float
    tiers: int
    rail_optimized: bool
    num_rails: int
    num_planes: int
    switch_radix: int
    spine_radix: int
    port_gbits: float
    leaf_down_ports: int | None
    leaf_oversubscription: float
    spine_oversubscription: float
    leaf_uplink_factor: float
    routing: str
    qps_per_connection: int
    channels_per_nic: int
    incast_efficiency: float
    max_gpus: int
    gpus_per_pod: int | None
    gpus_per_building: int | None
    scale_across_gbits: float | None
    scale_across_km: float | None

    def replace(self, **changes) -> FabricSpec:
        """A what-if copy (routing, queue pairs, NIC speed, oversubscription, ...)."""
        return dataclasses.replace(self, **changes)

    @property
    def where(self) -> str:
        return f"fabric_designs[{self.name}]"


def _lookup(catalog: Catalog, key: str) -> FabricDesign | None:
    for d in catalog.fabric_designs:
        if key in d.default_for:
            return d
    return None


def find_design(catalog: Catalog, system: System, name: str | None = None) -> FabricDesign:
    """The design ``name`` names (a design, or a technology whose default design is taken),
    else the system's default design."""
    designs = catalog.fabric_designs
    if name is not None and name in designs:
        return designs.get(name)
    tech = name if name is not None else system.default_fabric
    if tech not in catalog.fabrics:
        allowed = [*catalog.fabrics.rows, *designs.rows]
        raise unknown_name("fabric or fabric design", tech, allowed, field="fabric")
    tech_row: Fabric = catalog.fabric(tech)
    keys = [
        f"{system.name}+{tech_row.name}",
        *([system.name] if name is None else []),
        tech_row.name,
    ]
    for key in keys:
        hit = _lookup(catalog, key)
        if hit is not None:
            return hit
    raise GigafleetError(
        f"no fabric design is the default for system {system.name!r} on {tech_row.name!r}; "
        "name a design or add one whose default_for lists it",
        field="fabric",
        allowed=list(designs.rows),
    )


def fabric_spec(catalog: Catalog, system: System, name: str | None = None) -> FabricSpec:
    """Resolve the design for ``system`` (see :func:`find_design`) into a :class:`FabricSpec`.

    Raises :class:`GigafleetError` naming the field when the design's technology is unknown
    or its NIC is faster than a switch port of one plane.
    """
    d = find_design(catalog, system, name)
    where = f"fabric_designs[{d.name}]"
    if d.fabric not in catalog.fabrics:
        raise unknown_name("fabric", d.fabric, catalog.fabrics.rows, field=f"{where}.fabric")
    scaleup = catalog.scaleup_of(system)
    nic = catalog.nic_of(system)
    port = d.nic_gbits_per_s or nic.port_gbits_per_s
    per_gpu = (
        d.nic_gbits_per_s
        if d.nic_gbits_per_s is not None
        else nic.port_gbits_per_s * system.num_nics / system.num_gpus
    )
    if port / d.num_planes > d.port_gbits_per_s * (1 + 1e-9):
        raise GigafleetError(
            f"a {port:g} Gb/s NIC over {d.num_planes} plane(s) needs {port / d.num_planes:g} "
            f"Gb/s switch ports; the design's ports run at {d.port_gbits_per_s:g} Gb/s "
            "(use more planes or faster ports)",
            field=f"{where}.port_gbits_per_s",
        )
    g = max(1, min(scaleup.num_gpus, system.num_gpus))
    rails = d.num_rails if d.num_rails is not None else min(g, 8)
    spec = FabricSpec(
        name=d.name,
        technology=d.fabric,
        gpus_per_domain=g,
        nic_gbits_per_gpu=per_gpu,
        nic_port_gbits=port,
        tiers=d.tiers,
        rail_optimized=d.rail_optimized,
        num_rails=max(1, min(rails, g)) if d.rail_optimized else 1,
        num_planes=d.num_planes,
        switch_radix=d.switch_radix,
        spine_radix=d.spine_radix or d.switch_radix,
        port_gbits=d.port_gbits_per_s,
        leaf_down_ports=d.leaf_down_ports,
        leaf_oversubscription=d.leaf_oversubscription,
        spine_oversubscription=d.spine_oversubscription,
        leaf_uplink_factor=d.leaf_uplink_factor,
        routing=d.routing,
        qps_per_connection=d.qps_per_connection,
        channels_per_nic=d.channels_per_nic,
        incast_efficiency=d.incast_efficiency,
        max_gpus=d.max_gpus,
        gpus_per_pod=d.gpus_per_pod,
        gpus_per_building=d.gpus_per_building,
        scale_across_gbits=(
            None if d.scale_across_tbits_per_s is None else d.scale_across_tbits_per_s * 1e3
        ),
        scale_across_km=d.scale_across_km,
    )
    _check_sizes(spec)
    return spec


@functools.lru_cache(maxsize=256)
def _check_sizes(spec: FabricSpec) -> None:
    """Build the design's cluster once: tiers that cannot connect its GPUs, or leaves with
    too few ports, fail here with the field named, not in the middle of a solve."""
    from gigafleet.perf.fabric.topology import build_topology  # topology imports this module

    build_topology(spec)
