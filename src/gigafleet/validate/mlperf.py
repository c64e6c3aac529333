"""MLPerf Inference LLM results: predicted tokens/s against the published ones.

Each row of ``shared/groundtruth/mlperf_inference.csv`` (one published result: submitter,
system, benchmark, scenario, tokens/s) is mapped to a deployment the serving model can run,
and its throughput is predicted:

* **Benchmark.** ``llama2-70b-99`` / ``-99.9`` and ``mixtral-8x7b`` with the request mix and
  Server limits of ``validate/data/mlperf_datasets.yaml`` (sourced there; the mean input
  lengths are our estimates from per-sample lengths, the output means are published).
* **Hardware.** The accelerator string resolves to a catalog accelerator (aliases), then to
  the first catalog system built from it. A row whose accelerator is not in the catalog, or
  is only sold in PCIe boxes the catalog cannot describe, is skipped with that reason.
* **Precision** (rule :func:`precision_for`). Closed-division LLM submissions quantise: NVIDIA's
  v4.1 configs set ``use_fp8 = True`` for every Hopper system although the results table
  prints ``fp16`` (github.com/mlcommons/inference_results_v4.1 closed/NVIDIA/configs/
  llama2-70b/Offline/__init__.py), AMD submitted FP8 weights and KV cache on MI300X, and
  NVIDIA's single-B200 result used FP4 (tomshardware.com, "Nvidia publishes first Blackwell
  B200 MLPerf results", Aug 2024). So: FP4 weights on Blackwell, FP8 elsewhere; FP8 KV cache.
* **Parallelism** (rule :func:`tensor_parallel_for`). The smallest power-of-two TP (within a
  node) at which the weights take at most half of each GPU's memory, leaving the rest to the
  KV cache. It reproduces NVIDIA's v4.1 configs (TP2 on H100-SXM-80GB and H100-NVL-94GB, TP1
  on H200, GH200 and B200) and AMD's one model copy per MI300X. Experts are split over the
  TP ranks (EP = 1). Replicas = GPUs / TP; a multi-node row is more replicas.
* **Offline** = replicas x the best steady-state tokens/s of one replica over the batches
  that fit its KV cache (:func:`gigafleet.perf.inference.best_offline_throughput`).
* **Server** = replicas x the highest Poisson arrival rate per replica at which the
  request-level simulator (:mod:`gigafleet.sim.serving`: continuous batching, chunked prefill,
  paged KV) keeps the 99th-percentile TTFT and TPOT of a 600 s run (loadgen's shortest valid
  Server run) within the benchmark's limits, times the mean output length (what loadgen
  reports for a valid run). Each replica sees its share of
  the arrivals (independent replicas; loadgen's single queue can only do better).
* **Calibration.** One constant per serving engine, ``serving.engine_efficiency`` in
  catalog/data/calibration.yaml: the fraction of the roofline iteration speed that engine
  reaches, fitted on the rows named there (``fit_rows``); every other row is held out and
  reported separately (``summary.by_calibration``).

Open-division rows are skipped: that division allows a different model (pruned, sparsified,
re-quantised), so the benchmark model is not what ran.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.enums import ENGINES, PRECISIONS
from gigafleet.errors import GigafleetError
from gigafleet.perf.inference import (
    ServingReplica,
    best_offline_throughput,
    engine_efficiency,
    serving_replica,
)
from gigafleet.perf.training.constants import OPERAND_BYTES
from gigafleet.validate.groundtruth import groundtruth_path, read_csv
from gigafleet.validate.report import ValidationRow

DATASETS = Path(__file__).parent / "data" / "mlperf_datasets.yaml"

COLUMNS = (
    "mlperf_version", "division", "submitter", "system", "model", "scenario", "accelerator",
    "accelerators_per_node", "nodes", "total_accelerators", "weight_data_types", "software",
    "performance_result", "performance_units", "result_id",
)  # fmt: skip

#: Share of a GPU's memory the weights may take when choosing TP (the rest holds the KV
#: cache); see :func:`tensor_parallel_for`.
WEIGHT_SHARE = 0.5
#: PCIe cards (and edge modules): no sourced catalog entry, no PCIe interconnect model.
PCIE_ONLY = ("pcie", "l40s", "rtx", "geforce", "jetson", "orin")
#: Server search: each step simulates SERVER_DURATION_S of Poisson arrivals, the shortest
#: valid Server run (github.com/mlcommons/inference loadgen/mlperf.conf
#: ``*.Server.min_duration = 600000`` ms; submitters may run longer, NVIDIA's v4.1 llama2-70b
#: configs set 2,400 s), and, like loadgen, takes the percentiles over every request of the
#: run. Bisection on the rate between SERVER_LOW and 1 times the Offline rate.
SERVER_DURATION_S = 600.0
SERVER_LOW = 0.6
SERVER_SEARCH_STEPS = 7


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One MLPerf LLM benchmark: its model, request mix and Server limits."""

    name: str
    model: str
    mean_input_tokens: float
    input_cv: float
    max_input_tokens: int
    mean_output_tokens: float
    output_cv: float
    max_output_tokens: int
    ttft_p99_s: float
    tpot_p99_s: float


@functools.cache
def load_benchmarks(path: str | None = None) -> dict[str, Benchmark]:
    """Benchmarks by every name MLPerf gives them (``llama2-70b-99`` and ``-99.9`` are one)."""
    from gigafleet.yamlio import read_yaml

    data, _ = read_yaml(Path(path) if path else DATASETS)
    out: dict[str, Benchmark] = {}
    for key, d in data["datasets"].items():
        b = Benchmark(
            name=key,
            model=d["model"],
            mean_input_tokens=float(d["mean_input_tokens"]),
            input_cv=float(d["input_tokens_cv"]),
            max_input_tokens=int(d["max_input_tokens"]),
            mean_output_tokens=float(d["mean_output_tokens"]),
            output_cv=float(d["output_tokens_cv"]),
            max_output_tokens=int(d["max_output_tokens"]),
            ttft_p99_s=float(d["server"]["ttft_p99_s"]),
            tpot_p99_s=float(d["server"]["tpot_p99_s"]),
        )
        for name in d["benchmark_names"]:
            out[name] = b
    return out


@dataclass(frozen=True, slots=True)
class Deployment:
    """How a published system is modelled: replicas of ``tp`` GPUs at a precision."""

    system: str
    accelerator: str
    model: str
    tp: int
    num_replicas: int
    weight_precision: str
    kv_precision: str
    engine: str

    def describe(self) -> str:
        return (
            f"{self.num_replicas} x TP{self.tp} {self.weight_precision} on {self.system} "
            f"({self.engine})"
        )


def engine_of(software: str) -> str:
    """The serving engine a row's software field names."""
    s = software.lower()
    if "vllm" in s:
        return "vllm"
    if "tensorrt" in s:
        return "tensorrt-llm"
    return "unknown"


def precision_for(generation: str) -> str:
    """Weight precision of a closed-division submission on ``generation`` (see module doc)."""
    return "fp4" if generation.startswith("blackwell") else "fp8"


def tensor_parallel_for(weight_bytes: float, hbm_bytes: float, num_heads: int, max_tp: int) -> int:
    """Smallest power-of-two TP <= ``max_tp`` dividing the heads at which the weights take at
    most ``WEIGHT_SHARE`` of each GPU (``max_tp`` if none does)."""
    tp = 1
    while tp < max_tp:
        if num_heads % tp == 0 and weight_bytes / tp <= WEIGHT_SHARE * hbm_bytes:
            return tp
        tp *= 2
    return max_tp


def _system_of(catalog: Catalog, accelerator: str, per_node: int) -> str | None:
    """The first catalog system of ``accelerator`` with at least ``per_node`` GPUs."""
    for row in catalog.tables["systems"]:
        if row.accelerator == accelerator and row.num_gpus >= per_node:
            return row.name
    return None


def deployment_for(row: dict[str, str], bench: Benchmark, catalog: Catalog) -> Deployment | str:
    """The deployment a row is modelled as, or why it cannot be."""
    if row["division"].strip().lower() != "closed":
        return "open division: the model may be modified (pruned, sparsified, re-quantised)"
    if "maxq" in row["system"].lower() or row.get("has_power", "").strip().lower() == "true":
        return (
            "power-capped (MaxQ) run: the GPUs run below their default power limit, which the "
            "model does not represent"
        )
    acc_name = row["accelerator"]
    if any(k in acc_name.lower() for k in PCIE_ONLY):
        return (
            f"{acc_name}: a PCIe card; the catalog has no sourced entry for it (not in "
            "shared/groundtruth/hardware.csv) nor a PCIe interconnect to split a model over"
        )
    try:
        acc = catalog.accelerator(acc_name)
    except GigafleetError:
        return f"accelerator {acc_name!r} is not in the catalog"
    per_node = int(float(row["accelerators_per_node"]))
    total = int(float(row["total_accelerators"]))
    system = _system_of(catalog, acc.name, per_node)
    if system is None:
        return f"no catalog system holds {per_node} x {acc.name}"
    m = catalog.model(bench.model)
    wp = precision_for(acc.generation)
    if acc.dense_flops(wp) is None:
        wp = "fp8" if acc.dense_flops("fp8") else "bf16"
    weight_bytes = m.params_total * float(OPERAND_BYTES[PRECISIONS.index(wp)])
    tp = tensor_parallel_for(weight_bytes, acc.hbm_bytes, m.num_attention_heads, per_node)
    return Deployment(
        system=system,
        accelerator=acc.name,
        model=m.name,
        tp=tp,
        num_replicas=max(total // tp, 1),
        weight_precision=wp,
        kv_precision="fp8",
        engine=engine_of(row["software"]),
    )


@dataclass(frozen=True, slots=True)
class _Scaled:
    """An iteration-time model slowed by an engine efficiency (a picklable callable)."""

    replica: ServingReplica
    efficiency: float

    def __call__(self, prefill: int, decode: int, context: int) -> float:
        return self.replica.iteration_time(prefill, decode, context) / self.efficiency


def _replica(dep: Deployment, bench: Benchmark, catalog: Catalog) -> ServingReplica:
    return serving_replica(
        dep.model,
        dep.system,
        tp=dep.tp,
        weight_precision=dep.weight_precision,
        kv_precision=dep.kv_precision,
        prompt_tokens_hint=bench.mean_input_tokens,
        catalog=catalog,
        engine=None,  # the engine efficiency is applied (and fitted) here
    )


def predict_offline(
    dep: Deployment, bench: Benchmark, catalog: Catalog, efficiency: float = 1.0
) -> tuple[float, int]:
    """Tokens/s of the whole system with every request queued, and the batch per replica."""
    rep = _replica(dep, bench, catalog)
    tps, batch = best_offline_throughput(
        rep, prompt_tokens=bench.mean_input_tokens, output_tokens=bench.mean_output_tokens
    )
    return tps * efficiency * dep.num_replicas, batch


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


def _meets_server_limits(
    rate: float, cfg: Any, bench: Benchmark, lengths: tuple[np.ndarray, np.ndarray]
) -> bool:
    """Whether one replica at ``rate`` requests/s for :data:`SERVER_DURATION_S` keeps the p99
    TTFT and TPOT of all its requests within the benchmark's limits."""
    from gigafleet.sim import serving as sv

    n = max(int(math.ceil(rate * SERVER_DURATION_S)), 2)
    prompts, outputs = lengths[0][:n], lengths[1][:n]
    gaps = np.random.default_rng(7).exponential(1.0 / rate, size=n)
    wl = sv.Workload(arrival_s=np.cumsum(gaps), prompt_tokens=prompts, output_tokens=outputs)
    res = sv.simulate(wl, [cfg])
    tpot = res.tpot_s[np.isfinite(res.tpot_s)]
    return bool(
        np.percentile(res.ttft_s, 99) <= bench.ttft_p99_s
        and (tpot.size == 0 or np.percentile(tpot, 99) <= bench.tpot_p99_s)
    )


def predict_server(
    dep: Deployment, bench: Benchmark, catalog: Catalog, efficiency: float = 1.0
) -> tuple[float, dict[str, Any]]:
    """Tokens/s of the whole system at the highest arrival rate that meets the Server limits.

    Bisection on the Poisson arrival rate per replica between :data:`SERVER_LOW` and 1 times
    its Offline request rate (the Offline steady state is the most a replica can finish);
    each step simulates a :data:`SERVER_DURATION_S` run (lognormal lengths with the
    benchmark's means and spreads, fixed seeds: deterministic). The rate is that of a replica
    alone with its share of the arrivals.
    """
    from gigafleet.sim import serving as sv

    rep = _replica(dep, bench, catalog)
    tps, batch = best_offline_throughput(
        rep, prompt_tokens=bench.mean_input_tokens, output_tokens=bench.mean_output_tokens
    )
    tps *= efficiency
    cfg = sv.ReplicaConfig(
        iteration_time=_Scaled(rep, efficiency),
        kv_capacity_tokens=rep.kv_capacity_tokens,
        max_num_seqs=max(batch, 1),
        max_batched_tokens=rep.max_batched_tokens,
    )
    top = tps / bench.mean_output_tokens  # requests/s of one replica with everything queued
    n = int(math.ceil(top * SERVER_DURATION_S)) + 1
    rng = np.random.default_rng(11)
    lengths = (
        _lengths(bench.mean_input_tokens, bench.input_cv, bench.max_input_tokens, n, rng),
        _lengths(bench.mean_output_tokens, bench.output_cv, bench.max_output_tokens, n, rng),
    )
    lo, hi = SERVER_LOW * top, top
    if not _meets_server_limits(lo, cfg, bench, lengths):
        lo, hi = 0.0, lo
    for _ in range(SERVER_SEARCH_STEPS):
        mid = 0.5 * (lo + hi)
        if _meets_server_limits(mid, cfg, bench, lengths):
            lo = mid
        else:
            hi = mid
    info = {
        "batch_per_replica": batch,
        "offline_requests_per_s_per_replica": top,
        "server_requests_per_s_per_replica": lo,
        "server_to_offline": lo / top,
    }
    return lo * bench.mean_output_tokens * dep.num_replicas, info


def default_data_path() -> Path:
    """``shared/groundtruth/mlperf_inference.csv`` (or the packaged copy)."""
    return groundtruth_path("mlperf_inference.csv")


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of an MLPerf results CSV; a missing column or unreadable file is a user error."""
    return read_csv(path, COLUMNS, kind="an MLPerf results CSV")


def row_id(row: dict[str, str], index: int) -> str:
    return (
        f"ML{index + 1:03d}/{row['result_id']}/{row['submitter']}/{row['model']}/{row['scenario']}"
    )


def validate_mlperf(
    path: str | os.PathLike[str] | None = None, *, catalog: Catalog | None = None
) -> list[ValidationRow]:
    """Predicted against published tokens/s for every row (skipped rows say why)."""
    catalog = catalog or load_catalog()
    rows = read_rows(path or default_data_path())
    benches = load_benchmarks()
    fit_rows = set(catalog.params.calibration.serving.fit_rows)
    cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
    out: list[ValidationRow] = []
    for i, r in enumerate(rows):
        rid = row_id(r, i)
        scenario = r["scenario"].strip()
        metric = f"{scenario.lower()}_tokens_per_s"
        vr = ValidationRow(rid, metric, None, None, None, group=f"mlperf {scenario.lower()}")
        out.append(vr)
        try:
            vr.measured = float(r["performance_result"])
        except ValueError:
            vr.skipped_reason = "no numeric result"
            continue
        if r["performance_units"].strip().lower() != "tokens/s":
            vr.skipped_reason = f"result in {r['performance_units']!r}, not tokens/s"
            continue
        if "as published in summary" in r.get("notes", "").lower():
            vr.skipped_reason = "the source table printed this result in samples/s or queries/s"
            continue
        bench = benches.get(r["model"].strip())
        if bench is None:
            vr.skipped_reason = f"benchmark {r['model']!r} has no dataset entry; known: {', '.join(sorted(benches))}"
            continue
        if scenario not in ("Offline", "Server"):
            vr.skipped_reason = f"scenario {scenario!r} is not modelled (Offline, Server)"
            continue
        dep = deployment_for(r, bench, catalog)
        if isinstance(dep, str):
            vr.skipped_reason = dep
            continue
        eff, status = (
            engine_efficiency(catalog, dep.engine)
            if dep.engine in ENGINES
            else (1.0, "uncalibrated")
        )
        key = (dep, bench.name, scenario, eff)
        if key not in cache:
            try:
                if scenario == "Offline":
                    tps, batch = predict_offline(dep, bench, catalog, eff)
                    cache[key] = (tps, {"batch_per_replica": batch})
                else:
                    tps, info = predict_server(dep, bench, catalog, eff)
                    cache[key] = (tps, info)
            except GigafleetError as exc:
                cache[key] = (math.nan, {"error": str(exc)})
        tps, info = cache[key]
        if not math.isfinite(tps):
            vr.skipped_reason = f"cannot be deployed as modelled: {info['error']}"
            continue
        vr.predicted = round(tps, 1)
        vr.error_pct = round(100.0 * (tps / vr.measured - 1.0), 2)
        vr.fitted = f"{r['result_id']}/{scenario}" in fit_rows
        vr.details = {
            "submitter": r["submitter"],
            "model": bench.model,
            "benchmark": r["model"],
            "scenario": scenario,
            "system": r["system"],
            "accelerator": dep.accelerator,
            "deployment": dep.describe(),
            "engine": dep.engine,
            "engine_efficiency": eff,
            "calibration": status,
            **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in info.items()},
        }
    return out


def fit_engine_efficiency(
    path: str | os.PathLike[str] | None = None,
    *,
    fit_rows: list[str],
    engines: tuple[str, ...] = ENGINES,
    catalog: Catalog | None = None,
) -> dict[str, float]:
    """Fit ``serving.engine_efficiency`` per engine on the Offline ``fit_rows``.

    Offline tokens/s scale as ``efficiency`` exactly (the iteration time is divided by it), so
    the fit is closed-form: the geometric mean of measured / predicted-at-1 over the engine's
    fit rows (minimises the mean squared log error). ``fit_rows`` name ``result_id/Offline``.
    """
    catalog = catalog or load_catalog()
    rows = read_rows(path or default_data_path())
    benches = load_benchmarks()
    wanted = set(fit_rows)
    logs: dict[str, list[float]] = {e: [] for e in engines}
    for r in rows:
        if f"{r['result_id']}/{r['scenario']}" not in wanted or r["scenario"] != "Offline":
            continue
        bench = benches.get(r["model"].strip())
        dep = deployment_for(r, bench, catalog) if bench else "unknown benchmark"
        if isinstance(dep, str) or dep.engine not in logs:
            raise GigafleetError(
                f"fit row {r['result_id']} cannot be predicted: {dep}", field="fit_rows"
            )
        pred, _ = predict_offline(dep, bench, catalog, 1.0)
        logs[dep.engine].append(math.log(float(r["performance_result"]) / pred))
    return {e: round(math.exp(sum(v) / len(v)), 4) for e, v in logs.items() if v}


def with_efficiency(catalog: Catalog, efficiency: dict[str, float]) -> Catalog:
    """A catalog whose serving calibration uses ``efficiency`` (for fits and tests)."""
    cal = catalog.params.calibration
    serving = cal.serving.model_copy(update={"engine_efficiency": dict(efficiency)})
    return catalog.with_params(calibration=cal.model_copy(update={"serving": serving}))


__all__ = [
    "Benchmark",
    "Deployment",
    "default_data_path",
    "deployment_for",
    "fit_engine_efficiency",
    "load_benchmarks",
    "precision_for",
    "predict_offline",
    "predict_server",
    "read_rows",
    "tensor_parallel_for",
    "validate_mlperf",
]
