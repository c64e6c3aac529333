"""What a serving simulation measured: :class:`ServingResult`, per-request latencies and
per-replica busy time, with rates, SLO attainment and a flat :meth:`~ServingResult.summary`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.sim.serving.config import Slo


class SloMissed(Exception):  # noqa: N818  (an outcome, not an error)
    """``simulate(..., give_up_below=x)`` stopped: enough requests have already missed the
    SLO that the attainment cannot reach ``x`` whatever the rest of the run does.

    Attributes:
        attainment_bound: The most the attainment could still have been.
        at_s: Simulated time of the stop, seconds.
    """

    def __init__(self, attainment_bound: float, at_s: float) -> None:
        super().__init__(f"SLO attainment at most {attainment_bound:.4f} (known at t={at_s:g} s)")
        self.attainment_bound = attainment_bound
        self.at_s = at_s


def slo_missed(
    slo: Slo,
    arrival_s: np.ndarray,
    first_token_s: np.ndarray,
    finish_s: np.ndarray,
    output_tokens: np.ndarray,
    now_s: float,
) -> np.ndarray:
    """Requests that miss ``slo`` whatever happens after ``now_s`` (-1 marks a first token or
    finish still to come; once every request finished, exactly those that missed it).

    A token still to come comes at ``now_s`` or later, so ``now_s`` in its place gives a
    lower bound of TTFT and TPOT (float subtraction and division are monotone): a request
    marked here misses in the finished run too.
    """
    ttft = np.where(first_token_s >= 0, first_token_s, now_s) - arrival_s
    end = np.where(finish_s >= 0, finish_s, now_s)
    has_tpot = (output_tokens > 1) & (first_token_s >= 0)
    tpot = (end - first_token_s) / np.maximum(output_tokens - 1, 1)
    return (ttft > slo.ttft_s) | (has_tpot & (tpot > slo.tpot_s))


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
