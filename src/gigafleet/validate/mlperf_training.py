"""MLPerf Training LLM results: predicted time to train against the published one.

Each row of an MLPerf Training results CSV (``shared/groundtruth/mlperf_training.csv``:
round, benchmark, submitter, system, accelerator, GPUs per node and in all, global batch,
``time_to_train_min``) is predicted as

    time_to_train = S / B x t_step + n_eval x (E_s / B) x t_step x f_fwd

* **Samples to converge** ``S``: the reference convergence points of the round at the row's
  global batch ``B``, read as the MLPerf RCP checker reads them (:mod:`.rcp`: pruned points,
  linear interpolation between batch sizes). The published score is normalised to the RCP
  mean (the checker scales a faster-converging submission up to it), so the reference mean
  is what a score stands for.
* **Step time** ``t_step``: the training model at the parallel configuration the submission
  published with its results (its ``config_*.sh`` in mlcommons/training_results_v4.x:
  TP, PP, VP, CP, micro-batch, FP8; ``published`` in ``validate/data/mlperf_training.yaml``),
  else the planner's best strategy for that system, GPU count and batch over BF16 and FP8
  (and FP4 from round v5.1, when NVFP4 recipes appeared); each row says which.
  Activation recomputation: the cheapest level that fits. A LoRA base whose GEMMs run in
  FP8 is stored in FP8 (the published TP1 configurations on 8 H200 or B200 hold the whole
  70B base on each GPU, which fits only in FP8).
* **Evaluations**: the benchmark evaluates every ``E`` samples (``CEIL(E/B)`` steps when
  ``B`` does not divide it), skipping the first ``FLOOR(a B + b)`` where the rules say so,
  over ``E_s`` held-out sequences, forward only. ``n_eval = S / E' - skip``, and an
  evaluation costs the forward share ``f_fwd`` (forward FLOPs over the step's model FLOPs:
  1/3 for pre-training, about 1/2 for LoRA) of ``ceil(E_s / dp) dp / B`` steps (each data
  parallel rank runs whole sequences): an estimate that evaluation runs at training
  efficiency. The cadence and eval set come from
  ``mlperf_training_benchmarks.csv``, corrected where the rules or the submitters' logs say
  otherwise (``eval`` in the YAML).
* **Hardware**: the accelerator string resolves to a catalog accelerator (aliases; ``SXM5``
  and ``SXM4`` read as ``SXM``; a parenthesised model, ``NVIDIA Blackwell GPU
  (B200-SXM-180GB)``, is tried alone), then to the catalog system with that accelerator and
  as many GPUs per node (else the first one with it, and the row says so). Accelerators the
  catalog cannot source (TPU, Gaudi) are skipped with that reason.

Rows that repeat another row's measurement (one run published under several system names:
same round, benchmark, submitter, GPU count, batch and per-run minutes) count once; the
repeats are skipped and name the row they repeat.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import Accelerator, ModelArch
from gigafleet.enums import RECOMPUTE
from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs
from gigafleet.perf.training import Reason, estimate_training
from gigafleet.perf.training.estimate import lora_config
from gigafleet.perf.training.lora import adapter_flops_per_token
from gigafleet.plan.training import plan_training
from gigafleet.validate.groundtruth import groundtruth_path, read_csv
from gigafleet.validate.rcp import read_rcps, samples_to_converge
from gigafleet.validate.report import ValidationRow, summarize

SPEC = Path(__file__).parent / "data" / "mlperf_training.yaml"
COLUMNS = (
    "mlperf_version", "benchmark", "submitter", "system_id", "accelerator",
    "accelerators_per_node", "accelerator_count", "time_to_train_min", "global_batch_size",
)  # fmt: skip
BENCH_COLUMNS = ("benchmark", "seq_len", "eval_every_samples", "eval_samples")
METRIC = "time_to_train_min"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark as a round runs it."""

    name: str
    model: ModelArch
    workload: str
    seq_len: int
    eval_every: int | str | None  # samples, "per_step", or None (not published)
    eval_samples: int | None
    skip: tuple[float, float]  # skip FLOOR(a B + b) evaluations
    lora: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def default_data_path() -> Path:
    return groundtruth_path("mlperf_training.csv")


@functools.lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(SPEC.read_text())


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def _int_cell(row: dict[str, str], column: str, file: str) -> int | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise GigafleetError(
            f"{column} must be a number, got {text!r}", file=file, field=column
        ) from None
    return int(value) if value == int(value) else None


def load_benchmark(
    name: str, version: str, *, definitions: dict[str, dict[str, str]], catalog: Catalog,
    file: str,
) -> Benchmark | None:  # fmt: skip
    """``name`` as round ``version`` runs it; None when the twin does not model it."""
    spec = _spec()
    entry = spec["benchmarks"].get(name)
    if entry is None:
        return None
    if name not in definitions:
        raise GigafleetError(
            f"no definition of benchmark {name!r}; allowed: {', '.join(sorted(definitions))}",
            file=file, field="benchmark", allowed=sorted(definitions),
        )  # fmt: skip
    d = definitions[name]
    model = catalog.model(entry["model"])
    if entry.get("overrides"):
        model = model.model_copy(update=entry["overrides"])
    every: int | str | None = _int_cell(d, "eval_every_samples", file)
    samples = _int_cell(d, "eval_samples", file)
    skip = (0.0, 0.0)
    notes = [entry["source"], *([entry["note"]] if entry.get("note") else [])]
    for fix in spec["eval"].get(name, []):
        if "from_version" in fix and _version_key(version) < _version_key(fix["from_version"]):
            continue
        every = fix.get("eval_every_samples", every)
        samples = fix.get("eval_samples", samples)
        if "skip_evals" in fix:
            skip = (fix["skip_evals"]["per_global_batch"], fix["skip_evals"]["plus"])
        notes.append(f"eval: {fix['source']}")
    seq = _int_cell(d, "seq_len", file)
    if not seq:
        raise GigafleetError(f"benchmark {name!r} has no seq_len", file=file, field="seq_len")
    return Benchmark(name, model, entry["workload"], seq, every, samples, skip,
                     lora=entry.get("lora", {}), notes=tuple(notes))  # fmt: skip


def accelerator_for(catalog: Catalog, text: str) -> Accelerator | None:
    """The catalog accelerator an MLPerf accelerator string names (module docstring)."""
    inner = re.findall(r"\((.*?)\)", text)
    plain = re.sub(r"SXM[45]", "SXM", text)
    for cand in (text, plain, *inner):
        if cand and cand in catalog.accelerators:
            return catalog.accelerator(cand)
    return None


def system_for(catalog: Catalog, acc: Accelerator, per_node: int | None) -> tuple[str, str | None]:
    """The catalog system of ``acc`` with ``per_node`` GPUs (else its first; and a note)."""
    systems = [s for s in catalog.systems if s.accelerator == acc.name]
    same = [s for s in systems if per_node is None or s.num_gpus == per_node]
    if same:
        return same[0].name, None
    s = systems[0]
    return s.name, f"{per_node} GPUs per node modelled on {s.name} ({s.num_gpus} per node)"


def _forward_share(arch, seq: int, lora) -> float:
    """Forward FLOPs over the step's model FLOPs (see the module docstring)."""

    fwd = arch.forward_flops_per_token(seq)
    if lora is None:
        return 1.0 / 3.0
    ad = adapter_flops_per_token(arch, lora)
    return (fwd + ad) / (2.0 * fwd + 3.0 * ad)


def _precisions(acc: Accelerator, version: str) -> tuple[str, ...]:
    allowed = ["bf16", "fp8"] + (["fp4"] if _version_key(version) >= (5, 1) else [])
    return tuple(p for p in allowed if acc.dense_flops(p) is not None)


def _published(row: dict[str, str], bench: str) -> dict[str, Any] | None:
    for p in _spec()["published"]:
        if (p["version"], p["system_id"], p["benchmark"]) == (
            row["mlperf_version"].strip(),
            row["system_id"].strip(),
            bench,
        ):
            return p
    return None


def _run_published(bench: Benchmark, system: str, n: int, gbs: int, p: dict[str, Any], catalog):
    """The step at a published configuration: the cheapest recomputation that fits."""

    lora = bench.lora
    frozen = "fp8" if p["precision"] != "bf16" else "bf16"
    est = None
    for level in RECOMPUTE:
        est = estimate_training(
            bench.model, system, num_gpus=n, seq_len=bench.seq_len, global_batch=gbs,
            tp=p["tp"], pp=p["pp"], cp=p["cp"], vp=p["vp"], micro_batch=p["micro_batch"],
            precision=p["precision"], zero=1, recompute=level, workload=bench.workload,
            lora_rank=lora.get("rank"), lora_targets=lora.get("targets", "qkv,o"),
            frozen_weights=frozen if bench.workload == "lora" else "bf16",
            uneven_layers=True, catalog=catalog,
        )  # fmt: skip
        if int(est.reason_code) != Reason.MEMORY:
            break
    strategy = {k: p[k] for k in ("tp", "pp", "vp", "cp", "micro_batch", "precision")}
    strategy.update(dp=int(est.strategy["dp"]), zero=1, recompute=level)
    return est, strategy


def _run_planner(bench: Benchmark, system: str, n: int, gbs: int, precisions, catalog):
    """The planner's fastest strategy over ``precisions`` (a LoRA base frozen in FP8 when
    its GEMMs run in FP8 or FP4, as in NVIDIA's submissions; BF16 otherwise)."""

    lora = bench.lora
    best = None
    for prec in precisions:
        plan = plan_training(
            bench.model, system, num_gpus=n, seq_len=bench.seq_len, global_batch=gbs,
            precisions=(prec,), workload=bench.workload, lora_rank=lora.get("rank"),
            lora_targets=lora.get("targets", "qkv,o"),
            frozen_weights="bf16" if prec == "bf16" or bench.workload != "lora" else "fp8",
            catalog=catalog, top_k=1,
        )  # fmt: skip
        if plan.order.size:
            row = plan.row(int(plan.order[0]))
            if best is None or row["step_time_s"] < best["step_time_s"]:
                best = row
    if best is None:
        return None, None
    keep = ("tp", "pp", "vp", "cp", "ep", "dp", "micro_batch", "zero", "recompute", "precision")
    return best, {k: best[k] for k in keep}


def predict_row(
    row: dict[str, str], bench: Benchmark, *, rcps, catalog: Catalog, files: dict[str, str]
) -> dict[str, Any]:
    """Predicted minutes to train of one row, with what went into it."""

    acc = accelerator_for(catalog, row["accelerator"])
    per_node = _int_cell(row, "accelerators_per_node", files["data"])
    n = _int_cell(row, "accelerator_count", files["data"])
    gbs = _int_cell(row, "global_batch_size", files["data"])
    system, system_note = system_for(catalog, acc, per_node)
    assumed = [system_note] if system_note else []
    samples, how = samples_to_converge(
        rcps, benchmark=bench.name, version=row["mlperf_version"], batch=gbs,
        seq_len=bench.seq_len, file=files["rcps"],
    )  # fmt: skip
    published = _published(row, bench.name)
    if published is not None:
        est, strategy = _run_published(bench, system, n, gbs, published, catalog)
        if int(est.reason_code) in (Reason.FEASIBLE, Reason.MEMORY):
            step_s = float(est.step_time_s)
            source = f"the configuration published with the result ({published['source']})"
            if int(est.reason_code) == Reason.MEMORY:
                assumed.append("the published configuration does not fit our memory model")
        else:
            published = None
            assumed.append(f"published configuration not expressible: {est.reason()}")
    if published is None:
        best, strategy = _run_planner(
            bench, system, n, gbs, _precisions(acc, row["mlperf_version"]), catalog
        )
        if best is None:
            raise GigafleetError(
                f"no strategy fits {bench.model.name} on {n} x {acc.name} at batch {gbs}"
            )
        step_s = best["step_time_s"]
        source = "the planner's best strategy for this system, GPU count and batch (not published)"
    lora = lora_config(
        bench.workload, rank=bench.lora.get("rank"), targets=bench.lora.get("targets", "qkv,o")
    )
    share = _forward_share(arch_costs(bench.model), bench.seq_len, lora)
    train_s = samples / gbs * step_s
    every = gbs if bench.eval_every == "per_step" else bench.eval_every
    n_eval = eval_s = 0.0
    if every and bench.eval_samples:
        every_eff = math.ceil(every / gbs) * gbs
        skip = math.floor(bench.skip[0] * gbs + bench.skip[1])
        n_eval = max(0.0, samples / every_eff - skip)
        # each data-parallel rank runs whole sequences: the eval set in ceil(E_s / dp) passes
        dp = max(int(strategy["dp"]), 1)
        per_rank = math.ceil(bench.eval_samples / dp)
        eval_s = n_eval * per_rank * dp / gbs * step_s * share
    else:
        assumed.append("evaluation cadence or eval set not published: evaluations not costed")
    return {
        "minutes": (train_s + eval_s) / 60.0,
        "system": system,
        "accelerator": acc.name,
        "strategy": strategy,
        "strategy_source": source,
        "samples_to_converge": samples,
        "rcp": how,
        "steps": samples / gbs,
        "step_time_s": step_s,
        "train_min": train_s / 60.0,
        "eval_min": eval_s / 60.0,
        "num_evals": n_eval,
        "assumed": assumed,
    }


def _repeat_key(row: dict[str, str]) -> tuple[str, ...]:
    cols = ("mlperf_version", "benchmark", "submitter", "accelerator_count", "global_batch_size",
            "time_to_train_min", "per_run_minutes_sorted")  # fmt: skip
    return tuple((row.get(c) or "").strip() for c in cols)


def validate_mlperf_training(
    data: str | os.PathLike[str] | None = None,
    *,
    rcps: str | os.PathLike[str] | None = None,
    benchmarks: str | os.PathLike[str] | None = None,
    catalog: Catalog | None = None,
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """Predict every row; the rows and a summary (by benchmark, round, accelerator, and
    whether the strategy was published or planned)."""
    catalog = catalog or load_catalog()
    data = data or default_data_path()
    rcps = rcps or groundtruth_path("mlperf_training_rcps.csv")
    benchmarks = benchmarks or groundtruth_path("mlperf_training_benchmarks.csv")
    files = {"data": str(data), "rcps": str(rcps), "benchmarks": str(benchmarks)}
    rows = read_csv(data, COLUMNS, kind="an MLPerf Training results CSV")
    points = read_rcps(rcps)
    definitions = {
        d["benchmark"]: d
        for d in read_csv(benchmarks, BENCH_COLUMNS, kind="an MLPerf Training benchmarks CSV")
    }
    out: list[ValidationRow] = []
    first: dict[tuple[str, ...], str] = {}
    bench_cache: dict[tuple[str, str], Benchmark | None] = {}
    for i, row in enumerate(rows, start=1):
        rid = (row.get("row_id") or "").strip() or f"MT{i:03d}"
        name, version = row["benchmark"].strip(), row["mlperf_version"].strip()
        measured = _float(row.get(METRIC))
        vr = ValidationRow(rid, METRIC, measured, None, None, group=name)
        vr.details = {"benchmark": name, "version": version, "submitter": row["submitter"],
                      "system_id": row["system_id"], "num_gpus": row["accelerator_count"],
                      "global_batch": row["global_batch_size"]}  # fmt: skip
        out.append(vr)
        key = _repeat_key(row)
        if measured is None:
            vr.skipped_reason = "no measured time to train"
            continue
        if key in first:
            vr.skipped_reason = (
                f"repeats the measurement of {first[key]} (same run under another system name)"
            )
            continue
        first[key] = rid
        acc = accelerator_for(catalog, row["accelerator"])
        if acc is None:
            vr.skipped_reason = (
                f"hardware the catalog cannot source: {row['accelerator'].strip()!r} has no "
                "sourced catalog entry"
            )
            continue
        if (
            _int_cell(row, "global_batch_size", files["data"]) is None
            or _int_cell(row, "accelerator_count", files["data"]) is None
        ):
            vr.skipped_reason = "no global batch size or accelerator count"
            continue
        if (name, version) not in bench_cache:
            bench_cache[(name, version)] = load_benchmark(
                name, version, definitions=definitions, catalog=catalog, file=files["benchmarks"]
            )
        bench = bench_cache[(name, version)]
        if bench is None:
            vr.skipped_reason = f"benchmark {name!r} is not modelled (not in mlperf_training.yaml)"
            continue
        try:
            p = predict_row(row, bench, rcps=points, catalog=catalog, files=files)
        except GigafleetError as exc:
            if exc.file == files["rcps"]:
                raise  # the RCP file lacks the row's benchmark, round or batch
            vr.skipped_reason = f"cannot express: {exc}"
            continue
        vr.predicted = round(p["minutes"], 3)
        vr.error_pct = round(100 * (p["minutes"] - measured) / measured, 2)
        vr.details.update({k: v for k, v in p.items() if k != "minutes"})
        vr.details["model"] = bench.model.name
        vr.details["published"] = p["strategy_source"].startswith("the configuration")
    summary = summarize(
        out,
        groups={
            "by_benchmark": lambda r: r.group,
            "by_version": lambda r: r.details.get("version", "?"),
            "by_accelerator": lambda r: r.details.get("accelerator", "?"),
            "by_strategy": lambda r: "published" if r.details.get("published") else "planner",
        },
    )
    summary["metric"] = METRIC
    summary["rcps"], summary["benchmarks"] = files["rcps"], files["benchmarks"]
    return out, summary


def _float(cell: str | None) -> float | None:
    try:
        v = float((cell or "").strip())
    except ValueError:
        return None
    return v if v > 0 else None
