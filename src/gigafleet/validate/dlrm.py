"""MLPerf Inference recommendation results (DLRM-v2, and DLRM-v3 when given): predicted
samples/s (Offline) and queries/s (Server) against the published ones.

Each row maps to a deployment the recommendation model (:mod:`gigafleet.perf.recsys`) runs:

* **Benchmark** (``validate/data/mlperf_recsys.yaml``): the catalog model, the unit of work
  and the Server p99 bound (DLRM-v2 60 ms, DLRM-v3 80 ms). One DLRM-v2 sample aggregates
  100 to 700 user-item pairs (the published distribution, mean 270:
  :func:`mean_units_per_sample`); one DLRM-v3 sample is one request of 2,048 candidates.
* **Precisions**: those of the harness every GPU submitter ran (NVIDIA's): INT8 tables and
  layers, the DCN interaction in FP16 for the 99.9% accuracy target.
* **Hardware**: the accelerator resolves to a catalog accelerator and a catalog system of
  it; every GPU holds a whole copy of the DLRM-v2 tables (the harness's
  ``embedding_weights_on_gpu_part = 1.0``), so the result is per GPU times the GPUs. CPU-only,
  open-division and power-capped (MaxQ) rows are skipped with their reason.
* **Offline** = the largest batch that fits; **Server** = the batch the latency bound allows
  (:func:`gigafleet.perf.recsys.capacity.latency_bounded_batch`), in samples (queries) per
  second: units per second over units per sample.
* **Calibration**: ``calibration.recsys`` (kernel efficiency, Hopper's sustained clock),
  fitted by :func:`fit_recsys` on the rows it names; a row of the same round, accelerator,
  benchmark and scenario as a fit row is ``fitted_deployment``, every other row held out.
"""

from __future__ import annotations

import csv
import functools
import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.recsys import unit_work
from gigafleet.perf.recsys.capacity import best_capacity, system_memory
from gigafleet.perf.recsys.device import device_for
from gigafleet.validate import mlperf as mp
from gigafleet.validate.groundtruth import PACKAGED, groundtruth_path, read_csv
from gigafleet.validate.mlperf_fit import group_of
from gigafleet.validate.report import ValidationRow, error_stats, one_per_measurement, stats_by
from gigafleet.validate.search import golden_section
from gigafleet.yamlio import read_yaml

BENCHMARKS = Path(__file__).parent / "data" / "mlperf_recsys.yaml"
#: The shared tables holding MLPerf recommendation rows (the packaged copy holds both).
DEFAULT_TABLES = ("mlperf_inference_v41_dlrm.csv", "mlperf_inference_v50.csv")
PACKAGED_ROWS = PACKAGED / "mlperf_dlrm.csv"
PAIRS_FILE = "dlrmv2_pairs_per_sample.csv"
#: Accuracy targets of the recommendation issue (predicted share, median and p90 |error|).
TARGETS = {"predicted_fraction": 0.80, "median_abs_error_pct": 15.0, "p90_abs_error_pct": 30.0}
GROUP = "recommendation"


@dataclass(frozen=True, slots=True)
class RecBenchmark:
    """One MLPerf recommendation benchmark."""

    name: str
    model: str
    unit: str  # "pair" or "request"
    server_p99_s: float
    units_per_sample: dict[int, float]  # value -> probability
    precisions: dict[str, dict[str, str]]

    @property
    def mean_units(self) -> float:
        return mean_units_per_sample(self.units_per_sample)

    def precision_of(self, benchmark: str) -> dict[str, str]:
        return self.precisions.get(benchmark, self.precisions.get("default", {}))


def mean_units_per_sample(pmf: dict[int, float]) -> float:
    """``sum_k k p_k``: user-item pairs per MLPerf sample (270 for DLRM-v2)."""
    return sum(k * p for k, p in pmf.items()) / sum(pmf.values())


def pairs_per_sample(path: str | os.PathLike[str] | None = None) -> dict[int, float]:
    """The published pairs-per-sample distribution (``pmf`` rows of
    ``dlrmv2_pairs_per_sample.csv``; the 20 equiprobable quantiles when it has no pmf)."""
    p = Path(path) if path else groundtruth_path(PAIRS_FILE)
    rows = read_csv(p, ("record_type", "user_item_pairs", "probability"),
                       kind="a pairs-per-sample CSV")  # fmt: skip
    pmf: dict[int, float] = {}
    for r in rows:
        if r["record_type"].strip() == "pmf":
            pmf[int(float(r["user_item_pairs"]))] = float(r["probability"])
    if not pmf:
        q = [int(float(r["user_item_pairs"])) for r in rows if r["record_type"] == "quantile"]
        for v in q:
            pmf[v] = pmf.get(v, 0.0) + 1.0 / len(q)
    if not pmf:
        raise GigafleetError("no pmf or quantile rows", file=str(p))
    return pmf


@functools.cache
def load_benchmarks() -> dict[str, RecBenchmark]:
    """Recommendation benchmarks by every name MLPerf gives them."""

    data, _ = read_yaml(BENCHMARKS)
    out: dict[str, RecBenchmark] = {}
    for key, d in data["benchmarks"].items():
        pmf = {int(k): float(v) for k, v in (d.get("pairs_per_sample") or {1: 1.0}).items()}
        b = RecBenchmark(key, d["model"], d["unit"], float(d["server_p99_s"]), pmf,
                         d.get("precisions") or {})  # fmt: skip
        for name in d["benchmark_names"]:
            out[name] = b
    return out


def is_recommendation(row: dict[str, str]) -> bool:
    return row["model"].strip().lower().startswith("dlrm")


def default_rows() -> list[dict[str, str]]:
    """The recommendation rows of the shared MLPerf tables (or the packaged copy)."""
    paths = [groundtruth_path(n) for n in DEFAULT_TABLES]
    if not all(p.exists() and p.parent != PACKAGED for p in paths):
        paths = [PACKAGED_ROWS]
    return [r for p in paths for r in mp.read_rows(p) if is_recommendation(r)]


@dataclass(frozen=True, slots=True)
class RecDeployment:
    system: str
    accelerator: str
    num_gpus: int
    benchmark: str
    precisions: dict[str, str]

    @property
    def per_gpu_key(self) -> str:
        p = "/".join(f"{k}={v}" for k, v in sorted(self.precisions.items()))
        return f"{self.accelerator}/{self.benchmark}/{p}"


def deployment_for(row: dict[str, str], bench: RecBenchmark, catalog: Catalog
                   ) -> RecDeployment | str:  # fmt: skip
    """The deployment a row is modelled as, or why it is skipped."""
    if row["division"].strip().lower() != "closed":
        return "open division: the model may be modified"
    if "maxq" in row["system"].lower():
        return ("power-capped (MaxQ) run: the GPUs run below their default power limit, "
                "which the MLPerf table does not give")  # fmt: skip
    acc_name = row["accelerator"].strip()
    if (
        acc_name.upper() in ("N/A", "")
        or not row["accelerators_per_node"].strip()
        or float(row["accelerators_per_node"]) <= 0
    ):
        return "CPU-only system: the recommendation model is for GPUs"
    try:
        acc = catalog.accelerator(acc_name)
    except GigafleetError:
        return f"accelerator {acc_name!r} is not in the catalog"
    per_node = int(float(row["accelerators_per_node"]))
    total = int(float(row["total_accelerators"] or per_node))
    systems = [s for s in catalog.tables["systems"] if s.accelerator == acc.name]
    system = next((s.name for s in systems if s.num_gpus >= per_node), None)
    system = system or (systems[0].name if systems else None)
    if system is None:
        return f"no catalog system holds {acc.name}"
    name = row["model"].strip()
    return RecDeployment(system, acc.name, total, name, bench.precision_of(name))


def predict(dep: RecDeployment, bench: RecBenchmark, scenario: str, catalog: Catalog, *,
            kernel_efficiency: float | None = None, clock_fraction: float | None = None
            ) -> tuple[float, dict[str, Any]]:  # fmt: skip
    """Samples/s (Offline) or queries/s (Server) of the whole system, and what set it."""

    m = catalog.recsys_model(bench.model)
    p = dep.precisions
    work = unit_work(m, precision=p.get("mlp", "bf16"), embedding=p.get("embedding", "fp16"),
                     interaction=p.get("interaction"))  # fmt: skip
    hw = resolve_hardware(catalog, dep.system, flow=False)
    dev = device_for(hw.accelerator, catalog, kernel_efficiency=kernel_efficiency,
                     clock_fraction=clock_fraction)  # fmt: skip
    mem = system_memory(hw, catalog)
    mean = bench.mean_units
    budget = math.inf if scenario == "Offline" else bench.server_p99_s
    cap = best_capacity(m, work, hw, dev, mem, latency_budget_s=budget,
                        units_per_query=math.ceil(mean),
                        cal=catalog.params.calibration.recsys)  # fmt: skip
    per_gpu = cap.units_per_s_per_gpu / mean
    info = {
        "batch_units_per_gpu": cap.batch,
        "p99_latency_s": cap.p99_latency_s if scenario != "Offline" else None,
        "bound": cap.bound,
        "clock_fraction": round(dev.clock_fraction, 4),
        "units_per_sample": mean,
        "gpus_per_replica": cap.gpus_per_replica,
        "calibration": cap.calibration,
    }
    return per_gpu * dep.num_gpus, info


def fit_row_keys(catalog: Catalog) -> set[str]:
    return set(catalog.params.calibration.recsys.fit_rows)


def same_deployment_key(row: dict[str, str], dep: RecDeployment) -> str:
    return f"{row['mlperf_version'].strip()}/{dep.per_gpu_key}/{row['scenario'].strip()}"


def validate_dlrm(
    rows: list[dict[str, str]] | None = None,
    *,
    catalog: Catalog | None = None,
    kernel_efficiency: float | None = None,
    clock_fraction: float | None = None,
    only: set[int] | None = None,
) -> list[ValidationRow]:
    """Predicted against published results for every recommendation row (skipped rows say
    why). ``only``: predict only the rows at those indices."""
    catalog = catalog or load_catalog()
    rows = default_rows() if rows is None else rows
    benches = load_benchmarks()
    fitted = fit_row_keys(catalog)
    fit_deps = set()
    out: list[ValidationRow] = []
    cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
    for i, r in enumerate(rows):
        scenario = r["scenario"].strip()
        unit = "samples_per_s" if scenario == "Offline" else "queries_per_s"
        vr = ValidationRow(f"DL{i + 1:03d}/{r['mlperf_version'].strip()}/{r['submitter']}/"
                           f"{r['model']}/{scenario}", f"{scenario.lower()}_{unit}", None, None,
                           None, group=GROUP)  # fmt: skip
        out.append(vr)
        try:
            vr.measured = float(r["performance_result"])
        except ValueError:
            vr.skipped_reason = "no numeric result"
            continue
        name = r["model"].strip()
        bench = benches.get(name)
        if bench is None:
            vr.skipped_reason = f"benchmark {name!r} unknown; known: {', '.join(sorted(benches))}"
            continue
        if scenario not in ("Offline", "Server"):
            vr.skipped_reason = f"scenario {scenario!r}: recommendation has Offline and Server"
            continue
        dep = deployment_for(r, bench, catalog)
        if isinstance(dep, str):
            vr.skipped_reason = dep
            continue
        if mp.row_key(r) in fitted:
            fit_deps.add(same_deployment_key(r, dep))
        if only is not None and i not in only:
            vr.skipped_reason = "not in the held-out group"
            continue
        key = (dep.system, dep.num_gpus, dep.per_gpu_key, scenario, kernel_efficiency,
               clock_fraction)  # fmt: skip
        if key not in cache:
            try:
                cache[key] = predict(dep, bench, scenario, catalog,
                                     kernel_efficiency=kernel_efficiency,
                                     clock_fraction=clock_fraction)  # fmt: skip
            except GigafleetError as exc:
                cache[key] = (math.nan, {"error": str(exc)})
        value, info = cache[key]
        if not math.isfinite(value):
            vr.skipped_reason = f"cannot be deployed as modelled: {info['error']}"
            continue
        vr.predicted = round(value, 1)
        vr.error_pct = round(100.0 * (value / vr.measured - 1.0), 2)
        vr.fitted = mp.row_key(r) in fitted
        vr.details = {
            "round": r["mlperf_version"].strip(),
            "submitter": r["submitter"].strip(),
            "benchmark": name,
            "model": bench.model,
            "scenario": scenario,
            "system": r["system"],
            "accelerator": dep.accelerator,
            "catalog_system": dep.system,
            "num_gpus": dep.num_gpus,
            "precisions": dep.precisions,
            "per_gpu_deployment": dep.per_gpu_key,
            "same_deployment": same_deployment_key(r, dep),
            "row_key": mp.row_key(r),
            "measurement": mp.measurement_key(r),
            **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in info.items()},
        }
    for vr in out:
        if vr.details and not vr.fitted and vr.details["same_deployment"] in fit_deps:
            vr.details["fitted_deployment"] = True
    return out


def calibration_class(r: ValidationRow) -> str:
    if r.fitted:
        return "fitted"
    return "fitted_deployment" if r.details.get("fitted_deployment") else "held_out"


def dlrm_summary(rows: list[ValidationRow]) -> dict[str, Any]:
    """The recommendation block of ``validate inference``: predicted share and errors over
    independent measurements, fitted against held-out rows, against the issue's targets."""
    done = [r for r in rows if r.error_pct is not None]
    meas = one_per_measurement(rows)
    held = [r for r in meas if calibration_class(r) == "held_out"]
    stats = error_stats(r.error_pct for r in meas)
    frac = round(len(done) / len(rows), 4) if rows else 0.0

    def scen(r: ValidationRow) -> str:
        return r.details.get("scenario", "").lower()

    summary = {
        "num_rows": len(rows),
        "num_predicted": len(done),
        "num_skipped": len(rows) - len(done),
        "predicted_fraction": frac,
        "num_measurements": len(meas),
        "median_abs_error_pct": stats["median_abs_error_pct"],
        "p90_abs_error_pct": stats["p90_abs_error_pct"],
        "held_out": {"all": error_stats(r.error_pct for r in held), **stats_by(held, scen)},
        "by_calibration": stats_by(meas, calibration_class),
        "by_scenario": stats_by(meas, scen),
        "by_benchmark": stats_by(meas, lambda r: f"{r.details.get('benchmark')}/{scen(r)}"),
        "by_accelerator": stats_by(meas, lambda r: f"{r.details.get('accelerator')}/{scen(r)}"),
        "by_round": stats_by(meas, lambda r: f"{r.details.get('round')}/{scen(r)}"),
        "skipped_reasons": dict(Counter(
            (r.skipped_reason or "").split(":")[0] for r in rows if r.error_pct is None
        ).most_common()),
        "error_unit": "% of measured samples/s (Offline) or queries/s (Server)",
    }  # fmt: skip
    summary["targets"] = {
        **TARGETS,
        "met": bool(
            frac >= TARGETS["predicted_fraction"]
            and (stats["median_abs_error_pct"] or 1e9) <= TARGETS["median_abs_error_pct"]
            and (stats["p90_abs_error_pct"] or 1e9) <= TARGETS["p90_abs_error_pct"]
        ),
    }
    return summary


# ---- calibration ---------------------------------------------------------------------------


def _fit_candidates(rows: list[dict[str, str]], catalog: Catalog) -> list[tuple[dict, Any]]:
    """(row, deployment) of every predictable row."""
    benches = load_benchmarks()
    out = []
    for r in rows:
        b = benches.get(r["model"].strip())
        d = deployment_for(r, b, catalog) if b else "unknown"
        if not isinstance(d, str) and r["scenario"].strip() in ("Offline", "Server"):
            out.append((r, d))
    return out


def _stand_ins(named: list, keep: list, catalog: Catalog, *, prefer: list[str]) -> list:
    """The fit rows, completed where a holdout removed some: while fewer than two rows or
    one power limit are left, one Offline -99 row of another Hopper part stands in (the
    fitted parts first, then NVIDIA's own rows)."""
    out = list(named)

    def tdp(d: RecDeployment) -> float:
        return catalog.accelerator(d.accelerator).tdp_w

    pool = [(r, d) for r, d in keep if r["scenario"].strip() == "Offline"
            and d.benchmark.endswith("-99")
            and catalog.accelerator(d.accelerator).generation == "hopper"]  # fmt: skip
    pool.sort(key=lambda x: (x[1].accelerator not in prefer, x[0]["submitter"].strip() != "NVIDIA",
                             x[1].accelerator, mp.row_key(x[0])))  # fmt: skip
    for r, d in pool:
        limits = {tdp(x) for _, x in out}
        if len(out) >= 2 and len(limits) > 1:
            break
        if d.accelerator not in {x.accelerator for _, x in out} and (
            len(out) < 2 or tdp(d) not in limits
        ):
            out.append((r, d))
    return out


def fit_recsys(
    catalog: Catalog | None = None,
    *,
    rows: list[dict[str, str]] | None = None,
    exclude: Callable[[dict[str, str], RecDeployment], bool] | None = None,
) -> dict[str, Any]:
    """Kernel efficiency and the Hopper reference's sustained clock: least squares of
    ``ln predicted - ln measured`` over the named fit rows (those not excluded). Where an
    exclusion leaves fewer than two, or one power limit, other Hopper parts' Offline rows
    stand in (:func:`_stand_ins`); with a single power limit only the efficiency is fitted."""
    catalog = catalog or load_catalog()
    cal = catalog.params.calibration.recsys
    cands = _fit_candidates(default_rows() if rows is None else rows, catalog)
    keep = [(r, d) for r, d in cands if exclude is None or not exclude(r, d)]
    named = [(r, d) for r, d in keep if mp.row_key(r) in set(cal.fit_rows)]
    prefer = [d.accelerator for r, d in cands if mp.row_key(r) in set(cal.fit_rows)]
    named = _stand_ins(named, keep, catalog, prefer=prefer)
    benches = load_benchmarks()
    ref = cal.sustained_clock["hopper"]
    if not named:
        return {"kernel_efficiency": cal.kernel_efficiency, "clock_fraction": ref.clock_fraction,
                "rows": [], "note": "no fit row left: the shipped values"}  # fmt: skip
    free_clock = len({catalog.accelerator(d.accelerator).tdp_w for _, d in named}) > 1

    def residuals(x):
        e, f = math.exp(x[0]), math.exp(x[1]) if free_clock else ref.clock_fraction
        scaled = ref.model_copy(update={"clock_fraction": min(f, 1.0)})
        cat = catalog.with_params(calibration=catalog.params.calibration.model_copy(update={
            "recsys": cal.model_copy(update={"sustained_clock": {**cal.sustained_clock,
                                                                 "hopper": scaled}})}))  # fmt: skip
        out = []
        for r, d in named:
            b = benches[d.benchmark]
            v, _ = predict(d, b, r["scenario"].strip(), cat, kernel_efficiency=e)
            out.append(math.log(v / float(r["performance_result"])))
        return out

    # least squares by coordinate sweeps of golden-section searches: two smooth constants,
    # each moving every fit row's prediction monotonically
    x = [math.log(cal.kernel_efficiency), math.log(ref.clock_fraction) if free_clock else 0.0]
    bounds = ((math.log(0.05), 0.0), (math.log(0.2), 0.0))
    for _ in range(4 if free_clock else 1):
        for i in range(2 if free_clock else 1):

            def sq(v: float, i: int = i) -> float:
                return sum(r * r for r in residuals([v, x[1]] if i == 0 else [x[0], v]))

            x[i] = golden_section(sq, *bounds[i], steps=30)
    return {
        "kernel_efficiency": round(math.exp(x[0]), 4),
        "clock_fraction": round(math.exp(x[1]), 4) if free_clock else ref.clock_fraction,
        "rows": [mp.row_key(r) for r, _ in named],
        "residuals_pct": [round(100 * (math.exp(v) - 1), 2) for v in residuals(x)],
    }


def with_fit(catalog: Catalog, fit: dict[str, Any]) -> Catalog:
    """``catalog`` with the fitted recommendation constants."""
    cal = catalog.params.calibration.recsys
    ref = cal.sustained_clock["hopper"].model_copy(update={"clock_fraction": fit["clock_fraction"]})
    new = cal.model_copy(update={"kernel_efficiency": fit["kernel_efficiency"],
                                 "sustained_clock": {**cal.sustained_clock, "hopper": ref}})  # fmt: skip
    return catalog.with_params(
        calibration=catalog.params.calibration.model_copy(update={"recsys": new})
    )


def holdout_group(by: str) -> Callable[[dict[str, str], RecDeployment], str]:
    """The holdout group of a DLRM row: the same groups as the LLM rows (a bad name fails
    there, with the allowed names)."""
    return group_of(by)


def validate_dlrm_holdout(rows: list[dict[str, str]], by: str, *, catalog: Catalog
                          ) -> tuple[list[ValidationRow], dict[str, Any]]:  # fmt: skip
    """Every group predicted by constants refitted without it."""
    key = holdout_group(by)
    groups: dict[str, list[int]] = defaultdict(list)
    benches = load_benchmarks()
    for i, r in enumerate(rows):
        b = benches.get(r["model"].strip())
        d = deployment_for(r, b, catalog) if b else None
        if isinstance(d, RecDeployment):
            groups[key(r, d)].append(i)
    out = [replace(v, fitted=False) for v in validate_dlrm(rows, catalog=catalog)]
    refits: dict[str, Any] = {}
    for g, idx in sorted(groups.items()):
        fit = fit_recsys(catalog, rows=rows, exclude=lambda r, d, g=g: key(r, d) == g)
        refits[g] = fit
        again = validate_dlrm(rows, catalog=with_fit(catalog, fit), only=set(idx))
        for i in idx:
            out[i] = replace(again[i], fitted=False)
            if out[i].details:
                out[i].details["holdout_group"] = g
    return out, refits


def read_rows_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The recommendation rows of an MLPerf results CSV."""
    return [r for r in mp.read_rows(path) if is_recommendation(r)]


def write_csv(rows: list[dict[str, str]], path: str | os.PathLike[str]) -> None:
    """Rows in the MLPerf column layout (tests and users building their own tables)."""
    with Path(path).open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


__all__ = [
    "TARGETS",
    "RecBenchmark",
    "RecDeployment",
    "default_rows",
    "deployment_for",
    "dlrm_summary",
    "fit_recsys",
    "is_recommendation",
    "load_benchmarks",
    "mean_units_per_sample",
    "pairs_per_sample",
    "predict",
    "validate_dlrm",
    "validate_dlrm_holdout",
    "with_fit",
]
