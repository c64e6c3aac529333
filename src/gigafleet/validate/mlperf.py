"""MLPerf Inference LLM results: predicted tokens/s against the published ones.

Each row of an MLPerf results CSV (``shared/groundtruth/mlperf_inference.csv`` for v4.1,
``mlperf_inference_v50.csv`` for v5.0: submitter, system, benchmark, scenario, tokens/s) is
mapped to a deployment the serving model can run, and its throughput is predicted:

* **Benchmark.** Every LLM benchmark of ``validate/data/mlperf_datasets.yaml`` (Llama 2 70B
  and its interactive variant, Mixtral 8x7B, Llama 3.1 405B, GPT-J) with its request mix and
  latency limits, each number sourced there. Benchmarks listed under ``not_modelled`` are
  skipped with their reason.
* **Hardware.** The accelerator string resolves to a catalog accelerator (aliases; a
  "Virtualized" prefix is dropped and recorded), then to a catalog system built from it
  that holds a node's GPUs (or at least one replica's). CPU-only rows and PCIe cards without
  a sourced catalog entry are skipped with that reason.
* **Precision** (rule :func:`precision_for`). Closed-division LLM submissions quantise:
  NVIDIA's v4.1 configs set ``use_fp8 = True`` for every Hopper system although the results
  table prints ``fp16`` (github.com/mlcommons/inference_results_v4.1 closed/NVIDIA/configs/
  llama2-70b/Offline/__init__.py), AMD submitted FP8 weights and KV cache on MI300X, and
  NVIDIA's single-B200 result used FP4 (tomshardware.com, "Nvidia publishes first Blackwell
  B200 MLPerf results", Aug 2024). So: FP4 weights on Blackwell, FP8 elsewhere; FP8 KV cache.
  The v5.0 table prints the precisions, and they agree with the rule on every GPU row.
* **Parallelism** (rule :func:`tensor_parallel_for`). The smallest power-of-two TP (within a
  node) at which the weights take at most half of each GPU's memory, leaving the rest to the
  KV cache. It reproduces NVIDIA's v4.1 configs (TP2 on H100-SXM-80GB and H100-NVL-94GB, TP1
  on H200, GH200 and B200) and AMD's one model copy per MI300X. Experts are split over the
  TP ranks. Replicas = GPUs / TP; a multi-node row is more replicas.
* **Engine** (rule :func:`engine_of`): the software field names TensorRT or vLLM; a row that
  names neither runs the vendor's MLPerf stack (TensorRT-LLM on NVIDIA, vLLM on AMD: AMD's
  v5.1 blog names vLLM as its partners' engine) and says so. The engine's release is the
  round's (:mod:`gigafleet.perf.engine`).
* **Offline** = replicas x the best steady-state tokens/s of one replica over the batches
  that fit its KV cache (:func:`gigafleet.perf.inference.best_offline_throughput`); GPT-J
  decodes 4 beams per request and reports samples/s x 69 tokens.
* **Server / Interactive** = replicas x the highest Poisson arrival rate per replica that
  meets the scenario's latency limits in the request simulator
  (:mod:`gigafleet.validate.mlperf_latency`).
* **Calibration.** The engines' kernel efficiency per release (``serving.engines`` in
  catalog/data/calibration.yaml), fitted on the rows named there (:mod:`.mlperf_fit`).

Open-division rows are skipped (the model may be modified), and so are power-capped (MaxQ)
rows (the GPUs run below their default power limit). A row whose power was measured but not
capped is predicted.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.enums import PRECISIONS
from gigafleet.errors import GigafleetError
from gigafleet.perf.engine import engine_profile
from gigafleet.perf.inference import ServingReplica, best_offline_throughput, serving_replica
from gigafleet.perf.training import OPERAND_BYTES
from gigafleet.validate.groundtruth import groundtruth_path, read_csv
from gigafleet.validate.report import ValidationRow
from gigafleet.yamlio import read_yaml

DATASETS = Path(__file__).parent / "data" / "mlperf_datasets.yaml"

COLUMNS = (
    "mlperf_version", "division", "submitter", "system", "model", "scenario", "accelerator",
    "accelerators_per_node", "nodes", "total_accelerators", "weight_data_types", "software",
    "performance_result", "performance_units", "result_id",
)  # fmt: skip
SCENARIOS = ("Offline", "Server", "Interactive")

#: Share of a GPU's memory the weights may take when choosing TP (the rest holds the KV
#: cache); see :func:`tensor_parallel_for`.
WEIGHT_SHARE = 0.5
#: PCIe cards (and edge modules): no sourced catalog entry, no PCIe interconnect model.
PCIE_ONLY = ("pcie", "l40s", "rtx", "geforce", "jetson", "orin")


@dataclass(frozen=True, slots=True)
class Limits:
    """p99 latency limits of a scenario (None where the scenario has none)."""

    ttft_s: float | None = None
    tpot_s: float | None = None
    e2e_s: float | None = None


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One MLPerf LLM benchmark: its model, request mix and latency limits."""

    name: str
    model: str
    mean_input_tokens: float
    input_cv: float
    max_input_tokens: int
    mean_output_tokens: float
    output_cv: float
    max_output_tokens: int
    server: Limits
    interactive: Limits | None = None
    num_beams: int = 1

    @property
    def ttft_p99_s(self) -> float | None:
        return self.server.ttft_s

    @property
    def tpot_p99_s(self) -> float | None:
        return self.server.tpot_s

    def limits(self, scenario: str) -> Limits | None:
        return self.interactive if scenario == "Interactive" else self.server


def _limits(d: dict[str, Any] | None) -> Limits | None:
    if not d:
        return None
    return Limits(d.get("ttft_p99_s"), d.get("tpot_p99_s"), d.get("e2e_p99_s"))


@functools.cache
def _datasets(path: str | None = None) -> dict[str, Any]:

    data, _ = read_yaml(Path(path) if path else DATASETS)
    return data


def load_benchmarks(path: str | None = None) -> dict[str, Benchmark]:
    """Benchmarks by every name MLPerf gives them (``llama2-70b-99`` and ``-99.9`` are one)."""
    out: dict[str, Benchmark] = {}
    for key, d in _datasets(path)["datasets"].items():
        b = Benchmark(
            name=key,
            model=d["model"],
            mean_input_tokens=float(d["mean_input_tokens"]),
            input_cv=float(d["input_tokens_cv"]),
            max_input_tokens=int(d["max_input_tokens"]),
            mean_output_tokens=float(d["mean_output_tokens"]),
            output_cv=float(d["output_tokens_cv"]),
            max_output_tokens=int(d["max_output_tokens"]),
            server=_limits(d["server"]),
            interactive=_limits(d.get("interactive")),
            num_beams=int(d.get("num_beams", 1)),
        )
        for name in d["benchmark_names"]:
            out[name] = b
    return out


def not_modelled_reason(benchmark: str, path: str | None = None) -> str | None:
    """Why a benchmark the dataset table lists under ``not_modelled`` is skipped."""
    for prefix, why in (_datasets(path).get("not_modelled") or {}).items():
        if benchmark.startswith(prefix):
            return why
    return None


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
    release: str = ""  # the engine release: the MLPerf round of the submission
    engine_named: bool = True
    virtualized: bool = False

    def describe(self) -> str:
        named = "" if self.engine_named else ", engine not named"
        return (
            f"{self.num_replicas} x TP{self.tp} {self.weight_precision} on {self.system} "
            f"({self.engine} {self.release}{named})"
        )

    @property
    def per_gpu_key(self) -> str:
        """The per-GPU deployment: what a fitted row shares with rows that are not held out."""
        return f"{self.accelerator}/{self.model}/TP{self.tp}/{self.weight_precision}/{self.engine}"


def engine_of(software: str, vendor: str = "NVIDIA") -> tuple[str, bool]:
    """The serving engine a row's software field names, and whether it names one (else the
    vendor's MLPerf stack: TensorRT-LLM on NVIDIA, vLLM on AMD)."""
    s = software.lower()
    if "vllm" in s:
        return "vllm", True
    if "tensorrt" in s:
        return "tensorrt-llm", True
    if "sglang" in s:
        return "sglang", True
    return ("vllm" if vendor == "AMD" else "tensorrt-llm"), False


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


def _system_of(catalog: Catalog, accelerator: str, per_node: int, tp: int) -> str | None:
    """The first catalog system of ``accelerator`` with a node's GPUs, else with one
    replica's (replicas need no link between them: a 2 x GH200 node is two superchips)."""
    rows = [r for r in catalog.tables["systems"] if r.accelerator == accelerator]
    for need in (per_node, tp):
        for row in rows:
            if row.num_gpus >= need:
                return row.name
    return None


def deployment_for(row: dict[str, str], bench: Benchmark, catalog: Catalog) -> Deployment | str:
    """The deployment a row is modelled as, or why it cannot be."""
    if row["division"].strip().lower() != "closed":
        return "open division: the model may be modified (pruned, sparsified, re-quantised)"
    if "maxq" in row["system"].lower():
        return (
            "power-capped (MaxQ) run: the GPUs run below their default power limit, which the "
            "MLPerf table does not give"
        )
    acc_name = row["accelerator"].strip()
    if acc_name.upper() in ("N/A", ""):
        return "CPU-only system: the serving model is for GPUs"
    virtual = acc_name.lower().startswith("virtualized ")
    if virtual:
        acc_name = acc_name[len("virtualized ") :]
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
    m = catalog.model(bench.model)
    wp = precision_for(acc.generation)
    if acc.dense_flops(wp) is None:
        wp = "fp8" if acc.dense_flops("fp8") else "bf16"
    weight_bytes = m.params_total * float(OPERAND_BYTES[PRECISIONS.index(wp)])
    tp = tensor_parallel_for(weight_bytes, acc.hbm_bytes, m.num_attention_heads, per_node)
    system = _system_of(catalog, acc.name, per_node, tp)
    if system is None:
        return f"no catalog system holds {per_node} x {acc.name}"
    engine, named = engine_of(row["software"], acc.vendor)
    return Deployment(
        system=system,
        accelerator=acc.name,
        model=m.name,
        tp=tp,
        num_replicas=max(total // tp, 1),
        weight_precision=wp,
        kv_precision="fp8",
        engine=engine,
        release=row["mlperf_version"].strip(),
        engine_named=named,
        virtualized=virtual,
    )


def _replica(dep: Deployment, bench: Benchmark, catalog: Catalog) -> ServingReplica:
    return serving_replica(
        dep.model,
        dep.system,
        tp=dep.tp,
        ep=1,
        weight_precision=dep.weight_precision,
        kv_precision=dep.kv_precision,
        prompt_tokens_hint=bench.mean_input_tokens,
        catalog=catalog,
        engine=dep.engine,
        engine_release=dep.release,
    )


def predict_offline(dep: Deployment, bench: Benchmark, catalog: Catalog) -> tuple[float, int]:
    """Tokens/s of the whole system with every request queued, and the batch per replica."""
    rep = _replica(dep, bench, catalog)
    tps, batch = best_offline_throughput(
        rep, prompt_tokens=bench.mean_input_tokens, output_tokens=bench.mean_output_tokens,
        beams=bench.num_beams,
    )  # fmt: skip
    return tps * dep.num_replicas, batch


def default_data_path() -> Path:
    """``shared/groundtruth/mlperf_inference.csv`` (or the packaged copy)."""
    return groundtruth_path("mlperf_inference.csv")


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of an MLPerf results CSV; a missing column or unreadable file is a user error."""
    return read_csv(path, COLUMNS, kind="an MLPerf results CSV")


def row_key(row: dict[str, str]) -> str:
    """A stable name for a row: its round and results location (result ids are not
    published for every round)."""
    loc = row.get("results_location", "").strip()
    if not loc:
        loc = f"{row['submitter']}/{row['system']}/{row['model']}/{row['scenario']}"
    return f"{row['mlperf_version'].strip()} {loc}"


def measurement_key(row: dict[str, str]) -> str:
    """One independent measurement: a -99 / -99.9 pair of one submission (same system,
    scenario and result) is one run published twice."""
    bench = row["model"].strip()
    for suffix in ("-99.9", "-99"):
        if bench.endswith(suffix):
            bench = bench[: -len(suffix)]
    if row["scenario"].strip() == "Offline":
        bench = bench.replace("-interactive", "")
    return "|".join((row["mlperf_version"].strip(), row["submitter"].strip(),
                     row["system"].strip(), bench, row["scenario"].strip(),
                     row["performance_result"].strip()))  # fmt: skip


def row_id(row: dict[str, str], index: int) -> str:
    rid = row["result_id"].strip()
    rid = rid if rid and "not available" not in rid else row["mlperf_version"].strip()
    return f"ML{index + 1:03d}/{rid}/{row['submitter']}/{row['model']}/{row['scenario']}"


def _skip_reason(r: dict[str, str], benches: dict[str, Benchmark]) -> str | None:
    units = r["performance_units"].strip().lower()
    if units != "tokens/s":
        return f"result in {r['performance_units']!r}, not tokens/s"
    if "as published in summary" in r.get("notes", "").lower():
        return "the source table printed this result in samples/s or queries/s"
    name = r["model"].strip()
    if name not in benches:
        why = not_modelled_reason(name)
        if why:
            return f"benchmark {name!r} is not modelled: {why}"
        return f"benchmark {name!r} has no dataset entry; known: {', '.join(sorted(benches))}"
    scenario = r["scenario"].strip()
    if scenario not in SCENARIOS:
        return f"scenario {scenario!r} is not an MLPerf LLM scenario ({', '.join(SCENARIOS)})"
    if benches[name].limits(scenario) is None and scenario != "Offline":
        return f"{name} has no {scenario} scenario"
    return None


def validate_mlperf(
    path: str | os.PathLike[str] | None = None,
    *,
    catalog: Catalog | None = None,
    rows: list[dict[str, str]] | None = None,
    only: set[int] | None = None,
) -> list[ValidationRow]:
    """Predicted against published tokens/s for every row (skipped rows say why).

    ``rows`` replaces reading ``path``; ``only`` predicts only the rows at those indices
    (the others come back unpredicted; holdout refits use it).
    """
    from gigafleet.validate.mlperf_fit import fitted_row_keys  # it imports this module

    catalog = catalog or load_catalog()
    rows = rows if rows is not None else read_rows(path or default_data_path())
    benches = load_benchmarks()
    fitted = fitted_row_keys(catalog)
    cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
    out: list[ValidationRow] = []
    for i, r in enumerate(rows):
        scenario = r["scenario"].strip()
        metric = f"{scenario.lower()}_tokens_per_s"
        vr = ValidationRow(
            row_id(r, i), metric, None, None, None, group=f"mlperf {scenario.lower()}"
        )
        out.append(vr)
        try:
            vr.measured = float(r["performance_result"])
        except ValueError:
            vr.skipped_reason = "no numeric result"
            continue
        vr.skipped_reason = _skip_reason(r, benches)
        if vr.skipped_reason:
            continue
        bench = benches[r["model"].strip()]
        dep = deployment_for(r, bench, catalog)
        if isinstance(dep, str):
            vr.skipped_reason = dep
            continue
        if only is not None and i not in only:
            vr.skipped_reason = "not in the held-out group"
            continue
        prof = engine_profile(catalog, dep.engine, dep.release)
        key = (dep.system, dep.accelerator, dep.model, dep.tp, dep.num_replicas,
               dep.weight_precision, dep.engine, prof.release, prof.kernel_efficiency,
               bench.name, scenario)  # fmt: skip
        if key not in cache:
            try:
                if scenario == "Offline":
                    tps, batch = predict_offline(dep, bench, catalog)
                    cache[key] = (tps, {"batch_per_replica": batch})
                else:
                    from gigafleet.validate.mlperf_latency import predict_latency_bound  # (cycle)

                    cache[key] = predict_latency_bound(dep, bench, catalog, scenario)
            except GigafleetError as exc:
                cache[key] = (math.nan, {"error": str(exc)})
        tps, info = cache[key]
        if not math.isfinite(tps):
            vr.skipped_reason = f"cannot be deployed as modelled: {info['error']}"
            continue
        vr.skipped_reason = None
        vr.predicted = round(tps, 1)
        vr.error_pct = round(100.0 * (tps / vr.measured - 1.0), 2)
        vr.fitted = row_key(r) in fitted
        vr.details = {
            "round": r["mlperf_version"].strip(),
            "submitter": r["submitter"].strip(),
            "model": bench.model,
            "benchmark": r["model"],
            "scenario": scenario,
            "system": r["system"],
            "accelerator": dep.accelerator,
            "catalog_system": dep.system,
            "deployment": dep.describe(),
            "per_gpu_deployment": dep.per_gpu_key,
            "engine": dep.engine,
            "engine_named": dep.engine_named,
            "engine_release": prof.release,
            "kernel_efficiency": prof.kernel_efficiency,
            "calibration": prof.status,
            "virtualized": dep.virtualized,
            "row_key": row_key(r),
            "measurement": measurement_key(r),
            **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in info.items()},
        }
    return out


__all__ = [
    "Benchmark",
    "Deployment",
    "Limits",
    "default_data_path",
    "deployment_for",
    "engine_of",
    "load_benchmarks",
    "measurement_key",
    "precision_for",
    "predict_offline",
    "read_rows",
    "row_key",
    "tensor_parallel_for",
    "validate_mlperf",
]
