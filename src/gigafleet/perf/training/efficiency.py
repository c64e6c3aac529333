"""The calibrated GEMM efficiencies and fixed times of a hardware generation
(catalog/data/calibration.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigafleet.catalog import Catalog
from gigafleet.enums import PRECISIONS

#: NVIDIA generations in the order they shipped: a generation with no fitted values and no
#: declared ``fallback`` borrows from the nearest fitted one (the older on a tie).
GENERATION_ORDER = ("ampere", "hopper", "blackwell", "blackwell-ultra", "rubin")


@dataclass(frozen=True, slots=True)
class Efficiency:
    """Calibrated GEMM efficiency per precision for one hardware generation."""

    gemm: np.ndarray  # shape (3,): bf16, fp8, fp4
    status: str  # "fitted" or "extrapolated from <generation>"
    expert_fixed_s: float = 0.0  # fixed forward time per local expert per MoE layer and micro-batch
    mamba_fixed_s: float = 0.0  # fixed forward time per Mamba-2 layer and micro-batch


def efficiency_for(catalog: Catalog, generation: str) -> Efficiency:
    """The calibrated GEMM efficiencies of ``generation`` (see catalog/data/calibration.yaml).

    A generation that was not fitted uses its ``fallback`` generation (e.g. Rubin uses
    Blackwell), else the nearest fitted one in :data:`GENERATION_ORDER`, and says so; a
    precision without fitted rows uses the generation's FP8 value (else its BF16 value).
    """
    cal = catalog.params.calibration.training
    gens = cal.gemm_efficiency
    status = "fitted"
    gen = generation
    while gen not in gens and gen in cal.fallback:
        gen = cal.fallback[gen]
        status = f"extrapolated from {gen}"
    if gen not in gens and gen in GENERATION_ORDER:
        here = GENERATION_ORDER.index(gen)
        fitted = [g for g in GENERATION_ORDER if g in gens]
        if fitted:
            gen = min(
                fitted,
                key=lambda g: (abs(GENERATION_ORDER.index(g) - here), GENERATION_ORDER.index(g)),
            )
            status = f"extrapolated from {gen}"
    values = gens.get(gen, {})
    if not values:
        status = "uncalibrated (default efficiency)"
    fp8 = float(values.get("fp8", values.get("bf16", cal.default_efficiency)))
    vec = np.array([float(values.get(p, fp8)) for p in PRECISIONS])
    return Efficiency(
        gemm=vec,
        status=status,
        expert_fixed_s=cal.moe_expert_fixed_s,
        mamba_fixed_s=cal.mamba_fixed_s,
    )
