"""Recommendation ranking inference: queries per second per GPU under a latency budget.

A replica holds the embedding tables sharded over ``n`` GPUs of one scale-up domain (model
parallel) and runs the MLPs data parallel, as TorchRec and HugeCTR deploy DLRM. One batch
of ``B`` inferences costs

    t(B) = t0 + B L d b / (n bw e_g) + B T d b / (n bw_su) + B F / (n peak e_mm)

with ``L`` lookups and ``T`` tables per inference, embedding width ``d`` at ``b`` bytes,
``F`` dense FLOP per inference, HBM bandwidth ``bw`` with gather efficiency ``e_g``,
scale-up bandwidth ``bw_su`` (the pooled-embedding all-to-all; zero when ``n = 1``) and
the generation's GEMM efficiency ``e_mm``. A query that arrives while a batch runs waits
for it and then for its own batch, so the tail latency is about ``2 t(B)``: the largest
``B`` with ``2 t(B) <= budget`` sets the throughput ``B / t(B)``.

Not validated against measurements (MLPerf DLRM-v2 results are not in the shared ground
truth): the two constants below are estimates, and a pure roofline of this kind is likely
optimistic (embedding-bag kernels and batching pipelines rarely reach it). Results carry
``calibration = "extrapolated"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.enums import PRECISIONS
from gigafleet.errors import GigafleetError
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.training.constants import MEMORY_EFFICIENCY
from gigafleet.perf.training.efficiency import efficiency_for

#: Fixed cost of one batch: tens of kernel launches and the host-side batching, seconds.
#: Estimate (about 10 us per launch for ~20 kernels, doubled for the input pipeline).
BATCH_OVERHEAD_S = 4e-4
#: Share of HBM bandwidth that random row gathers of 128-256 B reach (a quarter to half of
#: streaming bandwidth for rows of a few DRAM bursts). Estimate.
GATHER_EFFICIENCY = 0.35
#: Share of HBM the tables may take (the rest: MLP weights, activations, allocator).
TABLE_HBM_SHARE = 0.8

_BYTES = {"bf16": 2.0, "fp8": 1.0}


@dataclass(frozen=True)
class RecsysCapacity:
    model: str
    system: str
    gpus_per_replica: int
    batch: int
    batch_time_s: float
    p99_latency_s: float
    inferences_per_s_per_gpu: float
    compute_frac: float  # share of the batch time in GEMMs (the rest: gathers, overhead)
    memory_frac: float  # share in embedding gathers, the all-to-all and weight reads
    calibration: str = "extrapolated (roofline estimate, not validated)"


def recsys_capacity(
    model: str,
    system: str,
    *,
    latency_budget_s: float,
    precision: str = "bf16",
    min_batch: int = 1,
    catalog: Catalog | None = None,
) -> RecsysCapacity:
    """Best throughput per GPU of one replica whose tail latency fits ``latency_budget_s``;
    ``min_batch``: the items one query ranks, which must be scored in one batch."""
    catalog = catalog or load_catalog()
    if precision not in _BYTES:
        raise GigafleetError(
            f"unknown precision {precision!r}; allowed: {', '.join(_BYTES)}", field="precision"
        )
    if latency_budget_s <= 0:
        raise GigafleetError("must be positive", field="latency_budget_ms")
    m = catalog.recsys_model(model)
    hw = resolve_hardware(catalog, system)
    b = _BYTES[precision]
    table_bytes = m.embedding_params * b
    n = max(1, math.ceil(table_bytes / (TABLE_HBM_SHARE * hw.hbm_bytes)))
    n = 1 << (n - 1).bit_length()  # power of two shards
    if n > hw.net.domain_size:
        raise GigafleetError(
            f"{m.name}'s {table_bytes / 1e9:.0f} GB of tables need {n} GPUs, more than the "
            f"{hw.net.domain_size}-GPU scale-up domain of {hw.system}",
            field="system",
        )
    d = m.embedding_dim
    gather = m.lookups_per_inference * d * b / (n * hw.hbm_bw * GATHER_EFFICIENCY)
    a2a = len(m.embedding_rows) * d * b / (n * hw.net.up_bw) if n > 1 else 0.0
    eff = efficiency_for(catalog, hw.generation)
    peak = hw.accelerator.dense_flops(precision)
    dense = m.dense_flops_per_inference() / (
        n * peak * float(eff.gemm[PRECISIONS.index(precision)])
    )
    weights = m.dense_params() * b / (hw.hbm_bw * MEMORY_EFFICIENCY)  # read once per batch
    per_item = gather + a2a + dense
    fixed = BATCH_OVERHEAD_S + weights
    # largest B with 2 (fixed + B per_item) <= budget
    batch = int((latency_budget_s / 2 - fixed) / per_item)
    if batch < 1:
        raise GigafleetError(
            f"a {latency_budget_s * 1e3:.1f} ms budget is below one batch of {m.name} on "
            f"{hw.system} ({2e3 * (fixed + per_item):.2f} ms)",
            field="latency_budget_ms",
        )
    batch = min(batch, max(1 << 16, min_batch))
    if batch < min_batch:
        raise GigafleetError(
            f"a query of {min_batch:,} items takes {2e3 * (fixed + min_batch * per_item):.1f} ms "
            f"on {hw.system}, over the {latency_budget_s * 1e3:.1f} ms budget",
            field="latency_budget_ms",
        )
    t = fixed + batch * per_item
    return RecsysCapacity(
        model=m.name,
        system=hw.system,
        gpus_per_replica=n,
        batch=batch,
        batch_time_s=t,
        p99_latency_s=2 * t,
        inferences_per_s_per_gpu=batch / t / n,
        compute_frac=batch * dense / t,
        memory_frac=(batch * (gather + a2a) + weights) / t,
    )


__all__ = ["RecsysCapacity", "recsys_capacity"]
