"""What a serving simulation measured: :class:`ServingResult`, per-request latencies and
per-replica busy time, with rates, SLO attainment and a flat :meth:`~ServingResult.summary`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.sim.serving.config import Slo


def _stats(x: np.ndarray, name: str, out: dict[str, float]) -> None:
    x = x[~np.isnan(x)]
    if len(x) == 0:
        for s in ("mean", "p50", "p90", "p99"):
            out[f"{name}_{s}_s"] = math.nan
        return
    out[f"{name}_mean_s"] = float(x.mean())
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    out[f"{name}_p50_s"], out[f"{name}_p90_s"], out[f"{name}_p99_s"] = (
        float(p50),
        float(p90),
        float(p99),
    )


@dataclass
class ServingResult:
    """What :func:`simulate` measured. Per-request arrays are in workload order; per-replica
    arrays in ``replicas`` order. Rates are over the makespan (first arrival to last finish).
    """

    ttft_s: np.ndarray
    tpot_s: np.ndarray  # NaN for one-token outputs
    e2e_s: np.ndarray
    queue_s: np.ndarray  # arrival to first admission (start of prefill) on a replica
    replica_index: np.ndarray  # replica that finished the request
    makespan_s: float
    num_output_tokens: int
    busy_s: np.ndarray
    utilization: np.ndarray
    energy_j: float
    num_preemptions: int
    prefix_lookups: int
    prefix_hits: int
    num_kv_transfers: int
    num_events: int
    num_iterations: int
    num_decode_tokens: float  # tokens emitted by decode iterations (E per step with drafts)
    mean_decode_batch: float  # decoding sequences per iteration
    slo: Slo | None = None
    slo_met: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_requests(self) -> int:
        return len(self.ttft_s)

    @property
    def prefix_hit_rate(self) -> float:
        return self.prefix_hits / self.prefix_lookups if self.prefix_lookups else 0.0

    def _rate(self, x: float) -> float:
        return x / self.makespan_s if self.makespan_s > 0 else math.nan

    @property
    def output_tokens_per_s(self) -> float:
        return self._rate(self.num_output_tokens)

    @property
    def requests_per_s(self) -> float:
        return self._rate(self.num_requests)

    @property
    def goodput_requests_per_s(self) -> float:
        """Requests per second that meet the SLO (all requests when there is no SLO)."""
        n = self.num_requests if self.slo_met is None else int(self.slo_met.sum())
        return self._rate(n)

    @property
    def slo_attainment(self) -> float:
        return 1.0 if self.slo_met is None else float(self.slo_met.mean())

    @property
    def energy_j_per_output_token(self) -> float:
        return self.energy_j / self.num_output_tokens

    def summary(self) -> dict[str, float]:
        """Plain numbers: means and percentiles, rates, utilization, energy, counters."""
        out: dict[str, float] = {"num_requests": float(self.num_requests)}
        for name in ("ttft", "tpot", "e2e", "queue"):
            _stats(getattr(self, f"{name}_s"), name, out)
        out |= {
            "makespan_s": self.makespan_s,
            "output_tokens_per_s": self.output_tokens_per_s,
            "requests_per_s": self.requests_per_s,
            "goodput_requests_per_s": self.goodput_requests_per_s,
            "slo_attainment": self.slo_attainment,
            "utilization_mean": float(self.utilization.mean()),
            "energy_j": self.energy_j,
            "energy_j_per_output_token": self.energy_j_per_output_token,
            "num_preemptions": float(self.num_preemptions),
            "prefix_hit_rate": self.prefix_hit_rate,
            "num_kv_transfers": float(self.num_kv_transfers),
            "num_events": float(self.num_events),
            "num_iterations": float(self.num_iterations),
            "mean_decode_batch": self.mean_decode_batch,
        }
        return out
