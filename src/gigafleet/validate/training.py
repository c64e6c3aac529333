"""Predict every row of a training ground-truth CSV and compare with what was measured.

The CSV has the columns of ``shared/groundtruth/training_runs.csv``. Each row is resolved
against the catalog (model, system), its strategy is read (``1 (2)`` means the first value
was the one measured; ``n/a`` means not used), and the model predicts the row's metric:
tokens/s per GPU where the source gives it, else model TFLOP/s per GPU, else MFU, else step
time. TFLOP/s are converted with the source's own FLOP convention (Megatron-LM SC21 counts
the recomputed forward pass, Eq. 3 of Narayanan et al. 2021).

What a source leaves out is filled in per study, and each row lists what was assumed
(``details.assumed``): see :data:`STUDY_DEFAULTS`.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.params import TrainingCalibration
from gigafleet.enums import PRECISIONS, RECOMPUTE
from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.training import REASONS, Reason, efficiency_for, training_step
from gigafleet.validate.groundtruth import groundtruth_path, read_csv
from gigafleet.validate.report import ValidationRow, summarize
from gigafleet.validate.row_models import row_model

PACKAGED = Path(__file__).parent / "data" / "training_runs.csv"

REQUIRED_COLUMNS = (
    "row_id", "study", "model", "gpu_type", "system", "num_gpus", "tp", "pp", "cp", "ep", "vp",
    "fsdp", "micro_batch", "global_batch_seqs", "global_batch_tokens", "seq_len", "precision",
    "workload", "tflops_per_gpu", "mfu_pct", "tokens_per_s_per_gpu", "step_time_s",
)  # fmt: skip

METRICS = ("tokens_per_s_per_gpu", "tflops_per_gpu", "mfu_pct", "step_time_s")


@dataclass(frozen=True)
class StudyDefaults:
    """What a study's table leaves out, from its text."""

    zero: int
    recompute: str
    flops_convention: str  # "model" (ours: 6N + attention) or "sc21" (Eq. 3, with recompute)
    interleaved: bool  # vp not printed but the study used the interleaved schedule
    why: str
    flash_attention: bool = True


STUDY_DEFAULTS: dict[str, StudyDefaults] = {
    "Megatron-LM SC21": StudyDefaults(
        zero=0,
        recompute="full",
        flops_convention="sc21",
        interleaved=True,
        why="SC21 Sec. 5: plain data parallel, full activation recomputation, interleaved 1F1B; "
        "unfused attention (FlashAttention came in 2022)",
        flash_attention=False,
    ),
    "Llama 3": StudyDefaults(
        zero=2,
        recompute="none",
        flops_convention="model",
        interleaved=True,
        why="Llama 3 paper Sec. 3.3.2: FSDP sharding optimizer states and gradients, interleaved pipeline",
    ),
    "": StudyDefaults(
        zero=1,
        recompute="none",
        flops_convention="model",
        interleaved=False,
        why="NeMo / Megatron-Bridge recipes: distributed optimizer; FSDP where the fsdp column is set",
    ),
}


def default_data_path() -> Path:
    """``shared/groundtruth/training_runs.csv`` beside this checkout if present, else the packaged copy."""
    return groundtruth_path("training_runs.csv")


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Read and check a ground-truth CSV (names the file and the missing columns on error)."""
    return read_csv(path, REQUIRED_COLUMNS, kind="a training CSV")


_NUMBER = re.compile(r"\s*~?([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([KMG]?)(?:\s*\(.*\))?\s*$")


def _num(cell: str | None) -> float | None:
    """The number a cell holds: ``"1 (2)"`` -> 1 (the first value is the measured one),
    ``"16M"`` -> 16 * 2**20, ``"1e3"`` -> 1000; ``"n/a"`` or empty -> None. Anything else
    (``"8,192"``, ``"abc"``) raises :class:`GigafleetError`."""
    if cell is None or cell.strip().lower() in ("", "n/a", "na", "-"):
        return None
    m = _NUMBER.match(cell)
    if not m:
        raise GigafleetError(f"cannot read {cell!r} as a number", field="cell")
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]
    return float(m.group(1)) * scale


def _degree(row: dict[str, str], column: str, default: int = 1) -> float:
    """A parallel degree or count: a positive whole number, or the default when not printed."""
    v = _num(row.get(column))
    if v is None:
        return float(default)
    if v < 1 or v != int(v):
        raise GigafleetError(
            f"must be a positive whole number, got {row.get(column)!r}", field=column
        )
    return v


def _precision(cell: str | None) -> tuple[str, str | None]:
    text = (cell or "").upper()
    if "FP4" in text:
        return "fp4", None
    if "FP8" in text:
        return "fp8", None
    if "BF16" in text or "FP16" in text:
        return "bf16", None
    return "fp8", "precision not printed; source footnote describes FP8 recipes"


def _precision_label(cell: str | None) -> str:
    """The table's precision label, normalised to bf16, fp8-cs, mxfp8 or nvfp4."""
    text = (cell or "").upper().split(" (")[0]
    if "FP4" in text:
        return "nvfp4"
    if "MX" in text:
        return "mxfp8"
    if "BF16" in text or "FP16" in text:
        return "bf16"
    return "fp8-cs"


RECIPES = Path(__file__).parent / "data" / "megatron_bridge_recipes.yaml"


@functools.lru_cache(maxsize=1)
def _recipes() -> tuple[dict[str, Any], ...]:
    import yaml

    return tuple(yaml.safe_load(RECIPES.read_text()))


def recipe_settings(
    model: str, system: str, row: dict[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """Settings from the sourced benchmark recipes that match a row (later entries win)."""
    label = _precision_label(row.get("precision"))
    release = row.get("framework_release") or ""
    settings: dict[str, Any] = {}
    sources: list[str] = []
    for e in _recipes():
        if e["model"] not in (model, "any") or e["system"] not in (system, "any"):
            continue
        if e["precision"] not in (label, "any"):
            continue
        if "releases" in e and not any(release.startswith(r) for r in e["releases"]):
            continue
        settings.update(
            {
                k: e[k]
                for k in ("recompute", "offload", "ep_overlap", "ep_dispatcher", "cuda_graphs")
                if k in e
            }
        )
        sources.append(e["source"])
    return settings, sources


def _workload(cell: str | None) -> str:
    text = (cell or "").lower()
    if "lora" in text:
        return "lora"
    if "sft" in text or "fine" in text:
        return "sft"
    return "pretrain"


def _study(row: dict[str, str]) -> StudyDefaults:
    for key, value in STUDY_DEFAULTS.items():
        if key and key in (row.get("study") or ""):
            return value
    return STUDY_DEFAULTS[""]


def _system_for(catalog: Catalog, row: dict[str, str]) -> str:
    if row.get("system") and row["system"] in catalog.systems:
        return catalog.system(row["system"]).name
    acc = catalog.accelerator(row.get("gpu_type") or "")
    for s in catalog.systems:
        if s.accelerator == acc.name:
            return s.name
    raise GigafleetError(f"no system with accelerator {acc.name}", field="system")


def resolve_row(catalog: Catalog, row: dict[str, str]) -> dict[str, Any]:
    """The model inputs of one row, plus what had to be assumed. Raises GigafleetError if it cannot."""
    assumed: list[str] = []
    model, built_from_row = row_model(catalog, row)
    if built_from_row:
        assumed.append(built_from_row)
    if model.mtp_layers and re.search(r"w/o\s*MTP", row["model"], re.IGNORECASE):
        model = model.model_copy(update={"mtp_layers": 0})
        assumed.append("mtp_layers=0 (the row's model name says without MTP)")
    system = _system_for(catalog, row)
    study = _study(row)
    if _num(row.get("seq_len")) is None or _num(row.get("num_gpus")) is None:
        raise GigafleetError("row has no seq_len or num_gpus", field="seq_len")
    seq, n = _degree(row, "seq_len"), _degree(row, "num_gpus")
    tp, pp, cp, ep = (_degree(row, c) for c in ("tp", "pp", "cp", "ep"))
    mb = _degree(row, "micro_batch")
    if _num(row.get("micro_batch")) is None:
        assumed.append("micro_batch=1 (not printed)")
    gbs = _num(row.get("global_batch_seqs"))
    if gbs is None:
        tokens = _num(row.get("global_batch_tokens"))
        if tokens is None:
            raise GigafleetError("row has no global batch", field="global_batch_seqs")
        gbs = round(tokens / seq)
    vp = _degree(row, "vp") if _num(row.get("vp")) is not None else None
    layers = model.num_layers
    uneven = layers % int(pp * (vp or 1)) != 0
    if vp is None:
        vp = 1
        if pp > 1 and study.interleaved:
            vp = max(layers // int(pp), 1)
            assumed.append(
                f"vp={vp} (interleaved schedule, degree not printed: one layer per virtual stage)"
            )
    fsdp = _num(row.get("fsdp"))
    zero = 3 if fsdp and fsdp > 0 else study.zero
    precision, why = _precision(row.get("precision"))
    if why:
        assumed.append(f"precision={precision} ({why})")
    recipe, recipe_sources = (
        recipe_settings(model.name, system, row)
        if "Megatron-Bridge" in (row.get("study") or "")
        else ({}, [])
    )
    for k, v in recipe.items():
        assumed.append(f"{k}={v} (benchmark recipe)")
    return {
        "model": model,
        "system": system,
        "num_gpus": n,
        "tp": tp,
        "pp": pp,
        "cp": cp,
        "ep": ep,
        "vp": vp,
        "micro_batch": mb,
        "global_batch": gbs,
        "seq_len": seq,
        "precision": precision,
        "zero": zero,
        "recompute": recipe.get("recompute", study.recompute),
        "offload": recipe.get("offload", 0.0),
        "ep_overlap": bool(recipe.get("ep_overlap", False)),
        "ep_dispatcher": recipe.get("ep_dispatcher", "alltoall"),
        "cuda_graphs": bool(recipe.get("cuda_graphs", False)),
        "recipe_sources": recipe_sources,
        "workload": _workload(row.get("workload")),
        "uneven_layers": uneven,
        "flops_convention": study.flops_convention,
        "flash_attention": study.flash_attention,
        "assumed": assumed,
        "study_defaults": study.why,
    }


def sc21_flops_per_token(model, seq: float) -> float:
    """Narayanan et al. SC21 Eq. 3 per token: ``96 l h^2 (1 + s/(6h) + V/(16 l h))``."""
    h, l_, v = model.hidden_size, model.num_layers, model.vocab_size
    return 96.0 * l_ * h * h * (1 + seq / (6 * h) + v / (16 * l_ * h))


def predict_row(
    catalog: Catalog, row: dict[str, str], *, calibration: TrainingCalibration | None = None
) -> dict[str, Any]:
    """Predicted tokens/s per GPU, TFLOP/s per GPU, MFU and step time of one row
    (``calibration``: training constants that replace the catalog's, e.g. during a fit)."""
    r = resolve_row(catalog, row)
    hw = resolve_hardware(catalog, r["system"])
    if calibration is not None:
        cal = catalog.params.calibration.model_copy(update={"training": calibration})
        catalog = catalog.with_params(calibration=cal)
    eff = efficiency_for(catalog, hw.generation)
    arch = arch_costs(r["model"])

    # A published run fitted in memory. When ours says it does not without recomputation,
    # the source must have recomputed: take the cheapest level that fits (and say so).
    def run(level: int) -> dict[str, Any]:
        return training_step(
            arch,
            hw,
            eff,
            num_gpus=r["num_gpus"],
            tp=r["tp"],
            pp=r["pp"],
            cp=r["cp"],
            ep=r["ep"],
            vp=r["vp"],
            micro_batch=r["micro_batch"],
            global_batch=r["global_batch"],
            seq_len=r["seq_len"],
            precision=PRECISIONS.index(r["precision"]),
            zero=r["zero"],
            recompute=level,
            offload=r["offload"],
            ep_overlap=float(r["ep_overlap"]),
            ep_dedup=float(r["ep_dispatcher"] == "dedup"),
            cuda_graphs=float(r["cuda_graphs"]),
            lora=r["workload"] == "lora",
            uneven_layers=r["uneven_layers"],
            flash_attention=r["flash_attention"],
        )

    for level in range(RECOMPUTE.index(r["recompute"]), len(RECOMPUTE)):
        out = run(level)
        if int(out["reason_code"]) != Reason.MEMORY:
            break
    else:  # fits at no level: our memory model is off for this row; keep the study's level
        level = RECOMPUTE.index(r["recompute"])
        out = run(level)
    step_s = float(out["step_time_s"])
    if RECOMPUTE[level] == "full" and r["recompute"] != "full":
        # Full recomputation need not cover every layer (Megatron-Core recompute_method
        # "block", recompute_num_layers): take the cheapest fraction of layers that fits,
        # with memory and time linear in it between the level below and full.
        below = run(level - 1)
        mem_below, mem_full = (
            float(below["memory_bytes_per_gpu"]),
            float(out["memory_bytes_per_gpu"]),
        )
        frac = min(1.0, max(0.0, (mem_below - hw.hbm_bytes) / (mem_below - mem_full)))
        step_s = float(below["step_time_s"]) + frac * (step_s - float(below["step_time_s"]))
        r["assumed"].append(
            f"recompute={RECOMPUTE[level - 1]}, full on {frac:.0%} of the layers "
            "(needed to fit in memory)"
        )
        r["recompute"] = RECOMPUTE[level]
    elif RECOMPUTE[level] != r["recompute"]:
        r["assumed"].append(f"recompute={RECOMPUTE[level]} (needed to fit in memory)")
        r["recompute"] = RECOMPUTE[level]
    code = int(out["reason_code"])
    tps_gpu = float(out["tokens_per_s_per_gpu"]) * float(out["step_time_s"]) / step_s
    if r["flops_convention"] == "sc21":
        flops_tok = sc21_flops_per_token(r["model"], r["seq_len"])
    else:
        flops_tok = float(out["model_flops_per_token"])
    tflops = tps_gpu * flops_tok / 1e12
    peak = hw.accelerator.dense_flops(r["precision"]) or hw.accelerator.dense_flops("bf16")
    return {
        "resolved": r,
        "reason_code": code,
        "generation": hw.generation,
        "precision": r["precision"],
        "calibration": eff.status,
        "tokens_per_s_per_gpu": tps_gpu,
        "tflops_per_gpu": tflops,
        "mfu_pct": 100 * tflops * 1e12 / peak,
        "step_time_s": step_s,
        "memory_gib": float(out["memory_bytes_per_gpu"]) / 2**30,
    }


def _metric(row: dict[str, str]) -> tuple[str | None, float | None]:
    for m in METRICS:
        try:
            v = _num(row.get(m))
        except GigafleetError:
            continue
        if v:
            return m, v
    return None, None


def _kind(model) -> str:
    if model.layer_pattern:
        return "hybrid"
    return "moe" if model.moe else "dense"


def validate_training(
    data: str | os.PathLike[str] | None = None,
    *,
    catalog: Catalog | None = None,
    calibration: TrainingCalibration | None = None,
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """Predict every row; return the rows and the summary (overall, per study, fit vs held out)."""
    catalog = catalog or load_catalog()
    cal = calibration or catalog.params.calibration.training
    fit_rows = set(cal.fit_rows) | set(cal.fit_rows_mamba) | set(cal.fit_rows_moe)
    rows = read_rows(data or default_data_path())
    out: list[ValidationRow] = []
    for row in rows:
        rid = row.get("row_id") or f"row{len(out) + 1}"
        metric, measured = _metric(row)
        group = (row.get("study") or "").split(" (")[0] or "unknown"
        vr = ValidationRow(rid, metric, measured, None, None, group=group, fitted=rid in fit_rows)
        out.append(vr)
        if metric is None:
            vr.skipped_reason = "no measured metric in the row"
            continue
        try:
            p = predict_row(catalog, row, calibration=calibration)
        except GigafleetError as exc:
            vr.skipped_reason = f"cannot express: {exc}"
            continue
        if p["reason_code"] not in (Reason.FEASIBLE, Reason.MEMORY):
            vr.skipped_reason = f"strategy not expressible: {REASONS[p['reason_code']]}"
            continue
        vr.predicted = round(p[metric], 4)
        vr.error_pct = round(100 * (p[metric] - measured) / measured, 2)
        r = p["resolved"]
        vr.details = {
            "model": r["model"].name,
            "kind": _kind(r["model"]),
            "system": r["system"],
            "generation": p["generation"],
            "precision": p["precision"],
            "calibration": p["calibration"],
            "memory_gib": round(p["memory_gib"], 1),
            "fits_memory": p["reason_code"] == Reason.FEASIBLE,
            "assumed": r["assumed"],
        }
    summary = summarize(
        out,
        groups={
            "by_study": lambda r: r.group,
            "by_calibration": lambda r: "fitted" if r.fitted else "held_out",
            "by_model_kind": lambda r: r.details.get("kind", "?"),
            "by_system": lambda r: r.details.get("system", "?"),
        },
    )
    summary["fit_rule"] = cal.fit_rule
    return out, summary


def fit_calibration(
    data: str | os.PathLike[str] | None = None, *, catalog: Catalog | None = None
) -> TrainingCalibration:
    """Refit the calibration constants on their named rows.

    Each GEMM efficiency (generation, precision) is fitted on the ``fit_rows`` of its group;
    the Mamba-2 fixed time per layer on ``fit_rows_mamba``; the MoE per-expert fixed time
    on ``fit_rows_moe``.
    Each constant moves its rows'
    predictions monotonically, so a golden-section search per constant on the median
    absolute log error suffices; three coordinate sweeps let coupled constants settle (BF16
    efficiency also sets attention speed).
    """
    catalog = catalog or load_catalog()
    cal = catalog.params.calibration.training
    by_id = {r.get("row_id"): r for r in read_rows(data or default_data_path())}
    missing = [
        rid for rid in (*cal.fit_rows, *cal.fit_rows_mamba, *cal.fit_rows_moe) if rid not in by_id
    ]
    if missing:
        raise GigafleetError(
            f"the calibration rows {', '.join(missing)} are not in the data", field="fit_rows"
        )
    params: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for rid in cal.fit_rows:
        r = resolve_row(catalog, by_id[rid])
        gen = catalog.accelerator(catalog.system(r["system"]).accelerator).generation
        params.setdefault(("gemm_efficiency", gen, r["precision"]), []).append(by_id[rid])
    if cal.fit_rows_mamba:
        params[("mamba_fixed_s",)] = [by_id[rid] for rid in cal.fit_rows_mamba]
    if cal.fit_rows_moe:
        params[("moe_expert_fixed_s",)] = [by_id[rid] for rid in cal.fit_rows_moe]
    bounds = {
        "gemm_efficiency": (0.05, 1.0),
        "moe_expert_fixed_s": (0.0, 1e-3),
        "mamba_fixed_s": (0.0, 5e-3),
    }

    def setting(c: TrainingCalibration, key: tuple[str, ...], value: float) -> TrainingCalibration:
        if key[0] != "gemm_efficiency":
            return c.model_copy(update={key[0]: value})
        gemm = {g: dict(v) for g, v in c.gemm_efficiency.items()}
        gemm.setdefault(key[1], {})[key[2]] = value
        return c.model_copy(update={"gemm_efficiency": gemm})

    def loss(c: TrainingCalibration, rows: list[dict[str, str]]) -> float:
        errs = []
        for row in rows:
            metric, measured = _metric(row)
            errs.append(abs(math.log(predict_row(catalog, row, calibration=c)[metric] / measured)))
        return float(np.median(errs))

    phi = (math.sqrt(5) - 1) / 2
    order = sorted(
        params,
        key=lambda k: (k[0] != "gemm_efficiency", PRECISIONS.index(k[2]) if len(k) > 2 else 0),
    )
    for _ in range(3):
        for key in order:
            lo, hi = bounds[key[0]]
            for _ in range(40):
                a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
                if loss(setting(cal, key, a), params[key]) < loss(
                    setting(cal, key, b), params[key]
                ):
                    hi = b
                else:
                    lo = a
            value = (lo + hi) / 2
            cal = setting(cal, key, float(f"{value:.4g}"))
    return cal


#: The constants :func:`fit_calibration` fits (what ``calibrate training`` prints and writes).
FITTED = ("gemm_efficiency", "mamba_fixed_s", "moe_expert_fixed_s")
DEFAULT_CALIBRATION_FILE = "gigafleet-calibration.yaml"


def fitted_constants(cal: TrainingCalibration) -> dict[str, Any]:
    """The fitted constants of ``cal`` as plain data (the ``calibration.training`` fields)."""
    return cal.model_dump(include=set(FITTED))


def write_calibration(
    fitted: dict[str, Any],
    path: str | os.PathLike[str] = DEFAULT_CALIBRATION_FILE,
    *,
    catalog: Catalog | None = None,
    fitted_on: str = "",
) -> Path:
    """Write ``fitted`` (from :func:`fitted_constants`) as a user catalog overlay at ``path``
    (atomically, never inside the package: :func:`gigafleet.catalog.params.write_overlay`);
    use it with ``--catalog FILE`` or list it in ``$GIGAFLEET_CATALOG``."""
    from gigafleet.catalog.params import write_overlay

    if any(v is None for v in fitted.values()) or not fitted.get("gemm_efficiency"):
        raise GigafleetError("refusing to write incomplete constants", field="calibration")
    about = [
        "Refitted constants of the training model by `gigafleet calibrate training --write`",
        "(the rows they are fitted on are named in calibration.training.fit_rows*).",
    ]
    if fitted_on:
        about.append(f"Fitted on: {fitted_on}")
    return write_overlay(
        path, {"calibration": {"training": fitted}}, about=about, catalog=catalog or load_catalog()
    )
