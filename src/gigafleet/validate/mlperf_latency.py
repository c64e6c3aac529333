"""MLPerf Server and Interactive scenarios: the highest Poisson arrival rate that meets the
latency limits, found with the request simulator.

Per replica, the simulator (:mod:`gigafleet.sim.serving`: continuous batching, chunked prefill,
paged KV) runs :data:`SERVER_DURATION_S` of Poisson arrivals with lognormal lengths of the
benchmark's means and spreads; the batch limit is the largest batch whose steady step meets
the TPOT limit (the ``max_num_seqs`` a submitter sets). The rate is bisected until the
99th-percentile TTFT and TPOT (GPT-J: end-to-end latency) of every request of the run meet
the benchmark's limits; throughput = rate x mean output tokens x replicas (what loadgen
reports for a valid run). GPT-J decodes 4 beams per request (every beam reads its context;
the prompt's KV blocks are shared).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf.inference import ServingReplica, best_offline_throughput
from gigafleet.sim import serving as sv
from gigafleet.validate.mlperf import Benchmark, Deployment, Limits, _replica

#: Server search: each step simulates SERVER_DURATION_S of Poisson arrivals, the shortest
#: valid Server run (github.com/mlcommons/inference loadgen/mlperf.conf
#: ``*.Server.min_duration = 600000`` ms; submitters may run longer, NVIDIA's v4.1 llama2-70b
#: configs set 2,400 s), and, like loadgen, takes the percentiles over every request of the
#: run. Bisection on the rate between SERVER_LOW and 1 times the Offline rate.
SERVER_DURATION_S = 600.0
SERVER_LOW = 0.6
SERVER_SEARCH_STEPS = 7


def _lengths(mean: float, cv: float, top: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Lognormal lengths of coefficient of variation ``cv`` in [1, top], rescaled so that
    their mean is ``mean`` after the clipping (clipping alone would shorten them)."""
    sigma = math.sqrt(math.log1p(cv * cv))
    x = rng.lognormal(-0.5 * sigma * sigma, sigma, size=n)  # mean 1
    scale = mean
    for _ in range(20):
        y = np.clip(np.rint(x * scale), 1, top)
        if abs(y.mean() - mean) < 0.5:
            break
        scale *= mean / y.mean()
    return y.astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Beams:
    """An iteration-time model decoding ``beams`` sequences per request (a picklable
    callable): every beam reads its whole context, the prompt's KV blocks are shared."""

    replica: ServingReplica
    beams: int

    def __call__(self, prefill: int, decode: int, context: int) -> float:
        b = self.beams
        return self.replica.iteration_time(prefill, decode * b, context * b)


def _meets_limits(
    rate: float, cfg: Any, limits: Limits, lengths: tuple[np.ndarray, np.ndarray]
) -> bool:
    """Whether one replica at ``rate`` requests/s for :data:`SERVER_DURATION_S` keeps the p99
    TTFT, TPOT and end-to-end latency of all its requests within ``limits``."""

    n = max(int(math.ceil(rate * SERVER_DURATION_S)), 2)
    prompts, outputs = lengths[0][:n], lengths[1][:n]
    gaps = np.random.default_rng(7).exponential(1.0 / rate, size=n)
    wl = sv.Workload(arrival_s=np.cumsum(gaps), prompt_tokens=prompts, output_tokens=outputs)
    res = sv.simulate(wl, [cfg])
    if limits.ttft_s is not None and np.percentile(res.ttft_s, 99) > limits.ttft_s:
        return False
    tpot = res.tpot_s[np.isfinite(res.tpot_s)]
    if limits.tpot_s is not None and tpot.size and np.percentile(tpot, 99) > limits.tpot_s:
        return False
    return not (limits.e2e_s is not None and np.percentile(res.e2e_s, 99) > limits.e2e_s)


def latency_batch_limit(rep: ServingReplica, bench: Benchmark, limits: Limits, top: int) -> int:
    """The largest batch (<= ``top``) whose steady-state step meets the TPOT limit: the
    ``max_num_seqs`` a submitter sets so that a full batch still meets it."""
    if limits.tpot_s is None:
        return top
    ctx = bench.mean_input_tokens + bench.mean_output_tokens / 2
    b = top
    while b > 1:
        t, _ = rep.step(b, ctx, bench.mean_input_tokens, bench.mean_output_tokens,
                        beams=bench.num_beams)  # fmt: skip
        if t <= limits.tpot_s:
            break
        b = max(1, int(b * 0.85))
    return b


def predict_latency_bound(
    dep: Deployment, bench: Benchmark, catalog: Catalog, scenario: str = "Server"
) -> tuple[float, dict[str, Any]]:
    """Tokens/s of the whole system at the highest arrival rate that meets the scenario's
    latency limits (Server or Interactive).

    Bisection on the Poisson arrival rate per replica between :data:`SERVER_LOW` and 1 times
    its Offline request rate (the Offline steady state is the most a replica can finish);
    each step simulates a :data:`SERVER_DURATION_S` run (lognormal lengths with the
    benchmark's means and spreads, fixed seeds: deterministic). The rate is that of a replica
    alone with its share of the arrivals.
    """

    limits = bench.limits(scenario)
    if limits is None:
        raise GigafleetError(f"{bench.name} has no {scenario} scenario", field="scenario")
    rep = _replica(dep, bench, catalog)
    tps, batch = best_offline_throughput(
        rep, prompt_tokens=bench.mean_input_tokens, output_tokens=bench.mean_output_tokens,
        beams=bench.num_beams,
    )  # fmt: skip
    seqs = latency_batch_limit(rep, bench, limits, max(batch, 1))
    beams = bench.num_beams
    per_request = bench.mean_input_tokens + bench.mean_output_tokens
    kv = int(rep.kv_capacity_tokens * per_request
             / (bench.mean_input_tokens + beams * bench.mean_output_tokens))  # fmt: skip
    cfg = sv.ReplicaConfig(
        iteration_time=_Beams(rep, beams) if beams > 1 else rep.iteration_time,
        kv_capacity_tokens=kv,
        max_num_seqs=seqs,
        max_batched_tokens=rep.max_batched_tokens,
        decode_times=None if beams > 1 else rep.decode_times,
    )
    top = tps / bench.mean_output_tokens  # requests/s of one replica with everything queued
    n = int(math.ceil(top * SERVER_DURATION_S)) + 1
    rng = np.random.default_rng(11)
    lengths = (
        _lengths(bench.mean_input_tokens, bench.input_cv, bench.max_input_tokens, n, rng),
        _lengths(bench.mean_output_tokens, bench.output_cv, bench.max_output_tokens, n, rng),
    )
    lo, hi = SERVER_LOW * top, top
    if not _meets_limits(lo, cfg, limits, lengths):
        lo, hi = 0.0, lo
    for _ in range(SERVER_SEARCH_STEPS):
        mid = 0.5 * (lo + hi)
        if _meets_limits(mid, cfg, limits, lengths):
            lo = mid
        else:
            hi = mid
    info = {
        "batch_per_replica": batch,
        "max_num_seqs": seqs,
        "offline_requests_per_s_per_replica": top,
        "server_requests_per_s_per_replica": lo,
        "server_to_offline": lo / top,
    }
    return lo * bench.mean_output_tokens * dep.num_replicas, info


def predict_server(
    dep: Deployment, bench: Benchmark, catalog: Catalog
) -> tuple[float, dict[str, Any]]:
    """:func:`predict_latency_bound` under the Server limits."""
    return predict_latency_bound(dep, bench, catalog, "Server")


__all__ = [
    "SERVER_DURATION_S",
    "latency_batch_limit",
    "predict_latency_bound",
    "predict_server",
]
