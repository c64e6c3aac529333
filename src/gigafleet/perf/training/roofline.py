"""Operator times on their rooflines: GEMMs, attention cores and memory-bound kernels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.enums import PRECISIONS
from gigafleet.perf.hardware import Hardware
from gigafleet.perf.training.codes import Precision
from gigafleet.perf.training.constants import (
    ATTENTION_EFFICIENCY_RATIO,
    CAST_BYTES,
    GEMM_K_OVERHEAD,
    GEMM_TILE,
    MEMORY_EFFICIENCY,
    OPERAND_BYTES,
)
from gigafleet.perf.training.efficiency import Efficiency


def _shape(d):
    return d / (d + GEMM_TILE)


def shape_efficiency(m, n, k):
    """``s(M, N, K) = M/(M+128) * N/(N+128) * K/(K+445)``: partly filled output tiles in M
    and N, and the per-tile prologue and epilogue amortised over the K loop
    (:data:`~.constants.GEMM_K_OVERHEAD`, fitted on DeepGEMM's published per-shape rates)."""
    return _shape(m) * _shape(n) * k / (k + GEMM_K_OVERHEAD)


def _gemm(m, n, k, peak, eff, bw, operand_bytes):
    """Roofline time of an (m x k) @ (k x n) GEMM, see the package docstring."""
    flops = 2.0 * m * n * k
    t_compute = flops / (peak * eff * shape_efficiency(m, n, k))
    t_memory = ((m * k + k * n) * operand_bytes + 2.0 * m * n) / (bw * MEMORY_EFFICIENCY)
    return np.maximum(t_compute, t_memory)


@dataclass(frozen=True, slots=True)
class Roofline:
    """One GPU's rates for the strategies' precisions (arrays over strategies)."""

    peak: Any  # dense FLOP/s at the GEMM precision
    peak_bf16: float  # dense BF16 FLOP/s (attention and the Mamba scan)
    e_gemm: Any  # calibrated GEMM efficiency at the GEMM precision
    e_attn: float  # attention efficiency: BF16 GEMM efficiency x ATTENTION_EFFICIENCY_RATIO
    bw: float  # HBM bytes/s
    operand_bytes: Any  # bytes per GEMM operand element
    cast: Any  # HBM bytes per element to quantize a GEMM operand (CAST_BYTES)

    def gemm(self, m, n, k):
        """Time of an (m x k) @ (k x n) GEMM at the strategy's precision."""
        return _gemm(m, n, k, self.peak, self.e_gemm, self.bw, self.operand_bytes)

    def ew(self, nbytes):
        """Time of memory-bound kernels moving ``nbytes`` through HBM."""
        return nbytes / (self.bw * MEMORY_EFFICIENCY)

    def attention(self, flops):
        """Time of ``flops`` of attention-core (or scan) work in BF16."""
        return flops / (self.peak_bf16 * self.e_attn)


def roofline(hw: Hardware, *, eff: Efficiency, pidx: np.ndarray) -> Roofline:
    """The rates of ``hw`` at precision index ``pidx``; a precision the accelerator lacks
    takes its BF16 peak (the strategy is flagged infeasible anyway)."""
    acc = hw.accelerator
    peaks = np.array([acc.dense_flops(p) or acc.dense_flops("bf16") for p in PRECISIONS])
    return Roofline(
        peak=peaks[pidx],
        peak_bf16=peaks[Precision.BF16],
        e_gemm=eff.gemm[pidx],
        e_attn=eff.gemm[Precision.BF16] * ATTENTION_EFFICIENCY_RATIO,
        bw=hw.hbm_bw,
        operand_bytes=OPERAND_BYTES[pidx],
        cast=CAST_BYTES[pidx],
    )
