"""Resolve a catalog system (plus an optional fabric or fabric design) into the numbers the
models use."""

from __future__ import annotations

from dataclasses import dataclass

from gigafleet.catalog import Catalog
from gigafleet.catalog.schema import Accelerator, System
from gigafleet.errors import GigafleetError
from gigafleet.perf.collectives import NVLINK_RING_EFFICIENCY, Network
from gigafleet.perf.fabric.design import fabric_spec, find_design
from gigafleet.perf.fabric.effective import FabricProfile


@dataclass(frozen=True, slots=True)
class Hardware:
    """One GPU's compute and memory, and the network it sits in."""

    system: str
    accelerator: Accelerator
    gpus_per_system: int
    net: Network
    fabric: str
    host_link_bw: float  # bytes/s per GPU per direction between host memory and HBM
    fabric_design: str = ""  # the design the flow model runs (empty: none, flat bandwidth)

    @property
    def generation(self) -> str:
        return self.accelerator.generation

    @property
    def hbm_bytes(self) -> float:
        return self.accelerator.hbm_bytes

    @property
    def hbm_bw(self) -> float:
        return self.accelerator.hbm_bw_bytes_per_s


def resolve_hardware(
    catalog: Catalog,
    system: str | System,
    *,
    fabric: str | None = None,
    num_gpus: int | None = None,
    placement: str = "packed",
    pp: int | None = None,
    flow: bool = True,
) -> Hardware:
    """The accelerator, scale-up domain and scale-out share per GPU of ``system``.

    Scale-out bandwidth per GPU is the system's NIC bandwidth divided by its GPUs (or the
    fabric design's NIC), times the fabric technology's efficiency (the fraction of line
    rate one uncongested flow reaches). ``fabric`` names a technology (``spectrum-x``) or a
    fabric design (``meta-roce-24k``); without it the system's default design runs. With
    ``flow`` (default) the network carries the design's flow-model profile: collectives
    get the share of that bandwidth their pattern and scale get on the design's topology
    (see :mod:`gigafleet.perf.fabric`); ``num_gpus``, ``placement`` and ``pp`` describe
    the job where known (pipeline traffic across buildings, fragmented placement).
    """

    sysrow = system if isinstance(system, System) else catalog.system(system)
    acc = catalog.accelerator(sysrow.accelerator)
    up = catalog.scaleup_of(sysrow)
    nic = catalog.nic_of(sysrow)
    try:
        design = find_design(catalog, sysrow, fabric)
        spec = fabric_spec(catalog, sysrow, design.name)
    except GigafleetError:
        # A technology named as a what-if whose designs do not fit this system (none is its
        # default, or its default's ports are slower than the NIC): flat bandwidth, as
        # before fabric designs. A named design, or the system's own default, must fit.
        if fabric is None or fabric not in catalog.fabrics:
            raise
        spec = None
        fab = catalog.fabric(fabric)
        nic_bw = nic.bw_bytes_per_s * sysrow.num_nics / sysrow.num_gpus
    else:
        fab = catalog.fabric(spec.technology)
        nic_bw = spec.nic_gbits_per_gpu * 1e9 / 8
    out_bw = nic_bw * fab.bw_efficiency
    # The scale-up bandwidth per GPU is the lower of what the GPU and the domain offer.
    up_bw = min(acc.scaleup_bw_bytes_per_s, up.bw_bytes_per_s) * NVLINK_RING_EFFICIENCY
    host = catalog.host_of(sysrow)
    # PCIe gives each GPU its own link; NVLink-C2C is one link per CPU, shared by its GPUs.
    host_bw = host.gpu_link_gbytes_per_s_per_dir * 1e9
    if host.gpu_link == "nvlink-c2c":
        host_bw *= sysrow.num_hosts / sysrow.num_gpus
    profile = (
        FabricProfile(spec, placement=placement, job_gpus=num_gpus, pp=pp)
        if flow and spec is not None
        else None
    )
    net = Network(
        domain_size=up.num_gpus,
        up_bw=up_bw,
        up_latency=up.latency_us * 1e-6,
        up_in_switch_reduction=up.in_switch_reduction,
        out_bw=out_bw,
        out_latency=fab.latency_us * 1e-6,
        out_in_network_reduction=fab.in_network_reduction,
        fabric=profile,
    )
    return Hardware(
        system=sysrow.name,
        accelerator=acc,
        gpus_per_system=sysrow.num_gpus,
        net=net,
        fabric=fab.name,
        host_link_bw=host_bw,
        fabric_design=spec.name if spec is not None else "",
    )
