"""One GPU running recommendation kernels: the clock it sustains under its power limit, the
roofline of each layer, and embedding rows gathered at their size.

**Sustained clock.** Datasheet peaks assume the boost clock; under dense GEMMs a GPU holds
its power limit by lowering the clock (DVFS). Dynamic power above idle scales as ``f^a``
(``catalog/data/power.yaml``: ``dvfs.exponent``, fitted on MLPerf MaxQ/MaxP pairs), and the
power a part would need at its datasheet clock scales with its peak, so a part of a
generation sustains

    f = f_ref ((TDP - P_idle) / (TDP_ref - P_idle,ref) x peak_ref / peak)^(1/a)   (at most 1)

of its clock, where ``f_ref`` is the fitted clock of the generation's reference part
(``calibration.recsys.sustained_clock``: H100 SXM for Hopper). This is what separates a
900 W GH200 from a 700 W H100 SXM of the same silicon, and a 350 W H100 PCIe below both. A
generation without a reference borrows the fallback's ``f_ref`` for its own parts.

**Layers.** A layer of ``F`` FLOP moving ``M`` bytes of HBM takes

    t = max(F / (peak(p) f e_k), M / (B_hbm e_m))

(``e_k``: ``calibration.recsys.kernel_efficiency``, fitted; ``e_m``: the memory efficiency
of fused kernels, ``perf.training.constants.MEMORY_EFFICIENCY``).

**Gathers.** A random row read moves whole access granules: a row of ``r`` bytes costs
``ceil(r / g) g`` bytes of bandwidth (``g = ACCESS_GRANULE_BYTES``), so a table's row size
sets its gather efficiency (an INT8 row of 128 B wastes nothing; a 40 B row wastes 38%).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gigafleet.catalog import Catalog
from gigafleet.catalog.schema import Accelerator
from gigafleet.errors import GigafleetError
from gigafleet.perf.training.constants import MEMORY_EFFICIENCY

#: Bytes a random DRAM access moves: HBM3 and DDR5 bursts of 64 B (two 32 B sectors of the
#: GPU's L2). Estimate from the burst length; GDDR6 (32 B) is treated alike.
ACCESS_GRANULE_BYTES = 64
#: Bytes per element of each precision a recommendation model stores or computes in.
PRECISION_BYTES = {"int8": 1.0, "fp8": 1.0, "fp16": 2.0, "bf16": 2.0, "fp32": 4.0, "fp4": 0.5}
#: The catalog peak column each compute precision runs at. INT8 tensor rates equal FP8 on
#: Hopper and Ada (H100: 3,958 TOPS and TFLOPS with sparsity; L40S: 733 dense, datasheets in
#: accelerators.csv); FP16 runs at the BF16 rate.
PEAK_COLUMN = {"int8": "fp8", "fp8": "fp8", "fp16": "bf16", "bf16": "bf16", "fp4": "fp4"}
COMPUTE_PRECISIONS = tuple(PEAK_COLUMN)


@dataclass(frozen=True, slots=True)
class Device:
    """What one GPU offers recommendation kernels."""

    accelerator: str
    generation: str
    peak: dict[str, float]  # FLOP/s reached by the kernels, by compute precision
    hbm_bw: float  # bytes/s reached by fused kernels and gathers
    hbm_bytes: float
    clock_fraction: float
    status: str  # "fitted", or "extrapolated from <generation>"

    def flops_rate(self, precision: str) -> float:
        try:
            rate = self.peak[precision]
        except KeyError:
            allowed = ", ".join(p for p in COMPUTE_PRECISIONS if p in self.peak)
            raise GigafleetError(
                f"{self.accelerator} has no {precision} tensor rate; allowed: {allowed}",
                field="precision",
            ) from None
        return rate

    def layer_time(self, flops: float, nbytes: float, precision: str) -> float:
        """``max(F / rate, M / bandwidth)``: the roofline of one layer."""
        return max(flops / self.flops_rate(precision), nbytes / self.hbm_bw)


def granule_bytes(row_bytes: float) -> float:
    """Bandwidth one random row read costs: whole access granules."""
    return math.ceil(row_bytes / ACCESS_GRANULE_BYTES) * ACCESS_GRANULE_BYTES


def sustained_clock(acc: Accelerator, catalog: Catalog) -> tuple[float, str]:
    """Clock fraction ``acc`` sustains under dense GEMMs at its TDP (module docstring), and
    whether its generation's reference was fitted or borrowed."""
    cal = catalog.params.calibration.recsys
    gen, status = acc.generation, "fitted"
    seen = {gen}
    while gen not in cal.sustained_clock and gen in cal.fallback:
        gen = cal.fallback[gen]
        if gen in seen:  # pragma: no cover - params validation keeps fallbacks acyclic
            break
        seen.add(gen)
        status = f"extrapolated from {gen}"
    ref = cal.sustained_clock.get(gen)
    if ref is None:
        return 1.0, "uncalibrated (datasheet clock)"
    if gen != acc.generation:  # a borrowed fraction applies to the part itself
        return ref.clock_fraction, status
    r = catalog.accelerator(ref.reference)
    power = catalog.params.power
    exponent = power.dvfs.exponent
    headroom = (acc.tdp_w - power.idle_w(acc.name, acc.tdp_w)) / (
        r.tdp_w - power.idle_w(r.name, r.tdp_w)
    )
    peak_ratio = float(r.dense_flops("fp8") or r.dense_flops("bf16")) / float(
        acc.dense_flops("fp8") or acc.dense_flops("bf16")
    )
    f = ref.clock_fraction * (headroom * peak_ratio) ** (1.0 / exponent)
    return min(1.0, f), status


def device_for(acc: Accelerator, catalog: Catalog, *, kernel_efficiency: float | None = None,
               clock_fraction: float | None = None) -> Device:  # fmt: skip
    """``acc`` as recommendation kernels see it; ``kernel_efficiency`` and
    ``clock_fraction`` replace the calibrated values (fits use them)."""
    cal = catalog.params.calibration.recsys
    f, status = sustained_clock(acc, catalog)
    if clock_fraction is not None:
        f = clock_fraction
    e = cal.kernel_efficiency if kernel_efficiency is None else kernel_efficiency
    peak = {}
    for prec, column in PEAK_COLUMN.items():
        rate = acc.dense_flops(column)
        if rate is not None:
            peak[prec] = rate * f * e
    return Device(
        accelerator=acc.name,
        generation=acc.generation,
        peak=peak,
        hbm_bw=acc.hbm_bw_bytes_per_s * MEMORY_EFFICIENCY,
        hbm_bytes=acc.hbm_bytes,
        clock_fraction=f,
        status=status,
    )


__all__ = [
    "ACCESS_GRANULE_BYTES",
    "COMPUTE_PRECISIONS",
    "PRECISION_BYTES",
    "Device",
    "device_for",
    "granule_bytes",
    "sustained_clock",
]
