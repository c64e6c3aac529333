"""Recommendation serving: units of work per second per GPU within a latency budget.

Each GPU of a replica of ``n`` GPUs (one scale-up domain) runs the dense part of its own
units (data parallel) and serves its shard of the lookups. Per unit (a DLRM pair, an HSTU
request; :mod:`.work`) each resource is busy for

    GPU        sum_layers max(F / rate, M / B_hbm) + L h_hbm g(r) / B_hbm + P / B_hbm
    scale-up   (n - 1) / n x P / B_up                 (pooled rows of remote shards)
    host link  (I + L h_host g(r)) / B_link           (inputs; cold rows over C2C or PCIe)
    host DRAM  L h_host g(r) / B_dram
    far tier   L h_far max(r, 4 KiB) / B_far          (NVMe pages or remote memory)

(``L`` lookups, ``h_*`` the share each tier serves (:mod:`.embeddings`), ``g(r)`` a row's
bytes in access granules, ``P`` the embedding stage's output, ``I`` the inputs). The
resources work as a pipeline over batches, so a batch of ``B`` units per GPU repeats every

    t_period(B) = t_0 + W / B_hbm + B max(resources)

and takes ``t_lat(B) = t_0 + W / B_hbm + B sum(resources)`` from start to end (``t_0``:
``calibration.recsys.batch_overhead_s``; ``W``: the dense weights, read once per batch). A
query that arrives while a batch runs waits for it and then for its own batch, so its tail
latency is ``t_period + t_lat``: the largest ``B`` within the budget (and within the HBM
left for activations) sets the throughput ``B / t_period``. The replica size ``n`` (a power
of two within the scale-up domain) is the one with the most units per second per GPU.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema_recsys import RecsysModel
from gigafleet.errors import GigafleetError
from gigafleet.perf.hardware import Hardware, resolve_hardware
from gigafleet.perf.recsys.device import Device, device_for, granule_bytes
from gigafleet.perf.recsys.embeddings import DEFAULT_ZIPF_S, Tiers, place_tables
from gigafleet.perf.recsys.work import Layer, UnitWork
from gigafleet.perf.training.constants import MEMORY_EFFICIENCY

#: Share of each GPU's HBM the tables may take; the rest holds dense weights, a batch's
#: activations and the allocator's reserve. Estimate.
TABLE_HBM_SHARE = 0.8
#: Share of host memory the cold rows may take (the rest: OS, input pipeline). Estimate.
HOST_TABLE_SHARE = 0.8
#: Bytes a far-tier read moves for one row: a 4 KiB NVMe page (remote memory reads rows).
FAR_PAGE_BYTES = 4096.0
#: Far-tier read bandwidth per node: eight PCIe Gen5 NVMe drives at ~6 GB/s of 4 KiB random
#: reads each (~1.5 M IOPS per drive, vendor class figures). Estimate.
SSD_READ_BYTES_PER_S_PER_NODE = 8 * 6e9
#: Largest batch (units per GPU) searched.
MAX_BATCH = 1 << 22


@dataclass(frozen=True)
class RecsysCapacity:
    """One replica shape at its latency-bounded batch."""

    model: str
    system: str
    kind: str
    gpus_per_replica: int
    batch: int  # units per GPU per batch
    batch_time_s: float  # period between batches (throughput)
    batch_latency_s: float
    p99_latency_s: float
    units_per_s_per_gpu: float
    items_per_s_per_gpu: float  # items ranked (DLRM pairs; HSTU candidates)
    queries_per_s_per_gpu: float
    compute_frac: float  # share of the period the GPU is compute-bound
    memory_frac: float  # share it streams HBM (gathers, memory-bound layers, weights)
    bound: str  # the busiest resource
    unit_time_s: dict[str, float] = field(default_factory=dict)
    tiers: dict[str, Any] = field(default_factory=dict)
    flops_per_unit: float = 0.0
    clock_fraction: float = 1.0
    calibration: str = ""

    @property
    def inferences_per_s_per_gpu(self) -> float:
        """Items ranked per second per GPU (the scenario's demand unit)."""
        return self.items_per_s_per_gpu

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class Memory:
    """What each GPU of a system offers the tables beside its HBM."""

    host_bytes: float  # host memory per GPU for cold rows
    host_dram_bw: float  # host memory bandwidth per GPU
    host_link_bw: float  # GPU <-> host, per GPU per direction
    far_bytes: float
    far_bw: float
    up_bw: float
    domain: int
    host_link: str


def system_memory(hw: Hardware, catalog: Catalog, *, far: str = "none",
                  far_tb_per_node: float = 0.0) -> Memory:  # fmt: skip
    """Host memory, links and the far tier per GPU of ``hw``'s system."""
    sysrow = catalog.system(hw.system)
    host = catalog.host_of(sysrow)
    per = sysrow.num_hosts / sysrow.num_gpus
    host_bytes = (host.memory_gb or 0.0) * 1e9 * per * HOST_TABLE_SHARE
    dram = (host.memory_bw_gbytes_per_s or 0.0) * 1e9 * per * MEMORY_EFFICIENCY
    if far == "ssd":
        far_bw = SSD_READ_BYTES_PER_S_PER_NODE / sysrow.num_gpus
    elif far == "remote":
        far_bw = hw.net.out_bw
    else:
        far_bw, far_tb_per_node = 0.0, 0.0
    return Memory(
        host_bytes=host_bytes,
        host_dram_bw=dram,
        host_link_bw=hw.host_link_bw * MEMORY_EFFICIENCY,
        far_bytes=far_tb_per_node * 1e12 / sysrow.num_gpus,
        far_bw=far_bw,
        up_bw=hw.net.up_bw,
        domain=hw.net.domain_size,
        host_link=host.gpu_link,
    )


def unit_times(work: UnitWork, dev: Device, mem: Memory, tiers: Tiers, *,
               attention_efficiency: float) -> tuple[dict[str, float], float]:  # fmt: skip
    """Seconds each resource is busy per unit (module docstring), and the compute-bound
    part of the GPU time."""
    compute = gpu = 0.0
    for layer in work.layers:
        rate = dev.flops_rate(layer.precision)
        if layer.attention:
            rate *= attention_efficiency
        c, m = layer.flops / rate, layer.nbytes / dev.hbm_bw
        gpu += max(c, m)
        compute += c if c >= m else 0.0
    g = granule_bytes(work.row_bytes)
    lookups = work.lookups
    gpu += (lookups * tiers.hit_hbm * g + work.pooled_bytes) / dev.hbm_bw
    n = tiers.gpus
    times = {"gpu": gpu}
    if n > 1:
        times["scale-up"] = (n - 1) / n * work.pooled_bytes / mem.up_bw
    cold = lookups * tiers.hit_host * g
    times["host link"] = (work.input_bytes + cold) / mem.host_link_bw
    if cold > 0:
        if mem.host_dram_bw <= 0:
            raise GigafleetError("the host has no memory bandwidth in the catalog", field="system")
        times["host memory"] = cold / mem.host_dram_bw
    if tiers.hit_far > 0:
        far = lookups * tiers.hit_far * max(work.row_bytes, FAR_PAGE_BYTES)
        times["far tier"] = far / mem.far_bw
    return times, compute


def latency_bounded_batch(
    times: dict[str, float], fixed_s: float, budget_s: float, *, min_batch: int,
    max_batch: int,
) -> tuple[int, float, float]:  # fmt: skip
    """Largest batch ``B`` (units per GPU, at least ``min_batch``, at most ``max_batch``)
    with ``t_period(B) + t_lat(B) <= budget``; returns ``(B, t_period, t_lat)``; an error
    (field ``latency_budget_ms``) when not even ``min_batch`` fits."""
    slow, total = max(times.values()), sum(times.values())
    per_unit = slow + total
    if math.isinf(budget_s) or per_unit <= 0:
        b = max_batch
    else:
        b = min(math.floor((budget_s - 2 * fixed_s) / per_unit), max_batch)
    if b < min_batch:
        need = 2 * fixed_s + min_batch * per_unit
        what = "one batch" if min_batch == 1 else f"a batch of one query ({min_batch:,} units)"
        raise GigafleetError(
            f"a {budget_s * 1e3:.3g} ms budget is below {what}: it takes {need * 1e3:.3g} ms "
            "at the tail (waiting for the batch in flight, then its own)",
            field="latency_budget_ms",
        )
    return b, fixed_s + b * slow, fixed_s + b * total


def recsys_capacity(
    model: str | RecsysModel,
    system: str,
    *,
    latency_budget_s: float,
    precision: str = "bf16",
    embedding_precision: str = "fp16",
    items_per_query: int | None = None,
    history: float | None = None,
    retrieval_candidates: int = 0,
    zipf_s: float = DEFAULT_ZIPF_S,
    trace: np.ndarray | None = None,
    far: str = "none",
    far_tb_per_node: float = 0.0,
    max_gpus_per_replica: int | None = None,
    catalog: Catalog | None = None,
    min_batch: int | None = None,
) -> RecsysCapacity:
    """Best items per second per GPU of ``model`` (a catalog name or a model) on ``system``
    within ``latency_budget_s`` at the tail (module docstring).

    ``items_per_query``: candidates one request ranks (a DLRM scores them as pairs in one
    batch; an HSTU model in one pass); ``history``: mean history tokens (HSTU);
    ``retrieval_candidates``: items the retrieval stage scores per request, by dot products
    with the user's embedding over their gathered rows (first order: the ANN index search
    itself is not modelled). ``min_batch`` is the old name of ``items_per_query``."""
    from gigafleet.perf.recsys import unit_work

    catalog = catalog or load_catalog()
    if latency_budget_s <= 0:
        raise GigafleetError("must be positive", field="latency_budget_ms")
    items = items_per_query if items_per_query is not None else min_batch
    if items is not None and items < 1:
        raise GigafleetError(f"must be at least 1, got {items}", field="items_per_query")
    m = model if isinstance(model, RecsysModel) else catalog.recsys_model(model)
    work = unit_work(m, precision=precision, embedding=embedding_precision,
                     candidates=items if m.kind == "hstu" else None, history=history)  # fmt: skip
    units_per_query = items if (m.kind == "dlrm" and items) else 1
    if retrieval_candidates:
        per_unit = retrieval_candidates / units_per_query
        retrieval = Layer("retrieval", 2.0 * m.embedding_dim * per_unit,
                          per_unit * granule_bytes(work.row_bytes), precision)  # fmt: skip
        work = dataclasses.replace(work, layers=(*work.layers, retrieval))
    hw = resolve_hardware(catalog, system, flow=False)
    dev = device_for(hw.accelerator, catalog)
    mem = system_memory(hw, catalog, far=far, far_tb_per_node=far_tb_per_node)
    return best_capacity(m, work, hw, dev, mem, latency_budget_s=latency_budget_s,
                         units_per_query=units_per_query, zipf_s=zipf_s, trace=trace,
                         cal=catalog.params.calibration.recsys,
                         max_gpus_per_replica=max_gpus_per_replica)  # fmt: skip


def best_capacity(m, work: UnitWork, hw: Hardware, dev: Device, mem: Memory, *,
                  latency_budget_s: float, units_per_query: int, cal,
                  zipf_s: float = DEFAULT_ZIPF_S, trace: np.ndarray | None = None,
                  max_gpus_per_replica: int | None = None) -> RecsysCapacity:  # fmt: skip
    """The replica size (a power of two within the scale-up domain) with the most units per
    second per GPU at its latency-bounded batch; ``latency_budget_s = inf``: the largest
    batch that fits (Offline)."""
    domain = min(mem.domain, max_gpus_per_replica or mem.domain)
    sizes = [1 << k for k in range(int(math.log2(max(domain, 1))) + 1)]
    best: RecsysCapacity | None = None
    errors: list[GigafleetError] = []
    for n in sizes:
        try:
            cap = _shape(m, work, hw, dev, mem, n, latency_budget_s, units_per_query,
                         zipf_s=zipf_s, trace=trace, cal=cal)  # fmt: skip
        except GigafleetError as exc:
            errors.append(exc)
            continue
        if best is None or cap.units_per_s_per_gpu > best.units_per_s_per_gpu * (1 + 1e-9):
            best = cap
    if best is None:
        # the error of the largest replica says the most (it has the most memory)
        raise errors[-1]
    return best


def _shape(m, work: UnitWork, hw: Hardware, dev: Device, mem: Memory, n: int, budget: float,
           units_per_query: int, *, zipf_s, trace, cal) -> RecsysCapacity:  # fmt: skip
    hbm_tables = dev.hbm_bytes * TABLE_HBM_SHARE - work.weight_bytes
    tiers = place_tables(work, gpus=n, hbm_per_gpu=hbm_tables, host_per_gpu=mem.host_bytes,
                         far_per_gpu=mem.far_bytes, zipf_s=zipf_s, trace=trace,
                         what=m.name)  # fmt: skip
    times, compute = unit_times(work, dev, mem, tiers,
                                attention_efficiency=cal.hstu_attention_efficiency)  # fmt: skip
    fixed = cal.batch_overhead_s + work.weight_bytes / dev.hbm_bw
    free = dev.hbm_bytes - tiers.hbm_bytes / n - work.weight_bytes
    max_batch = int(min(MAX_BATCH, max(free, 0.0) / max(work.activation_bytes, 1.0)))
    min_b = max(1, math.ceil(units_per_query / n))
    if max_batch < min_b:
        raise GigafleetError(
            f"one query's activations ({min_b * work.activation_bytes / 1e9:.1f} GB) do not "
            f"fit the HBM {m.name}'s tables leave on {hw.accelerator.name}",
            field="model",
        )
    b, period, lat = latency_bounded_batch(times, fixed, budget, min_batch=min_b,
                                           max_batch=max_batch)  # fmt: skip
    units = b / period
    bound = max(times, key=times.get)
    return RecsysCapacity(
        model=m.name,
        system=hw.system,
        kind=m.kind,
        gpus_per_replica=n,
        batch=b,
        batch_time_s=period,
        batch_latency_s=lat,
        p99_latency_s=period + lat,
        units_per_s_per_gpu=units,
        items_per_s_per_gpu=units * work.items,
        queries_per_s_per_gpu=units / units_per_query,
        compute_frac=min(1.0, b * compute / period),
        memory_frac=max(
            0.0,
            min(
                1.0 - min(1.0, b * compute / period),
                (b * (times["gpu"] - compute) + fixed) / period,
            ),
        ),
        bound=bound,
        unit_time_s=times,
        tiers={**tiers.to_dict(), "host_link": mem.host_link},
        flops_per_unit=work.flops,
        clock_fraction=dev.clock_fraction,
        calibration=_status(dev, m.kind),
    )


def _status(dev: Device, kind: str) -> str:
    what = f"{dev.status}: kernel efficiency and clock fitted on MLPerf DLRM-v2"
    if kind == "hstu":
        what += "; HSTU attention efficiency estimated (no HSTU measurement)"
    return what


__all__ = [
    "HOST_TABLE_SHARE",
    "TABLE_HBM_SHARE",
    "Memory",
    "best_capacity",
    "RecsysCapacity",
    "latency_bounded_batch",
    "recsys_capacity",
    "system_memory",
    "unit_times",
]
