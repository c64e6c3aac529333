"""Predict every row of a training ground-truth CSV and compare with what was measured.

The CSV has the columns of ``shared/groundtruth/training_runs.csv``. Each row is resolved
against the catalog (model, system), its strategy is read (``1 (2)`` means the first value
was the one measured; ``n/a`` means not used), and the model predicts the row's metric:
tokens/s per GPU where the source gives it, else model TFLOP/s per GPU, else MFU, else step
time. TFLOP/s are converted with the source's own FLOP convention (Megatron-LM SC21 counts
the recomputed forward pass, Eq. 3 of Narayanan et al. 2021).

What a source leaves out is filled in per study, and each row lists what was assumed
(``details.assumed``): see :data:`STUDY_DEFAULTS`. The whole table's validation, with its
summaries and leave-one-group-out refits, is
:func:`gigafleet.validate.training_fit.validate_training`, which builds on this module.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog
from gigafleet.catalog.params import TrainingCalibration
from gigafleet.enums import PRECISIONS, RECOMPUTE
from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.training import Reason, efficiency_for, training_step
from gigafleet.validate.groundtruth import groundtruth_path, read_csv
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

#: The recipe settings a row can take (megatron_bridge_recipes.yaml ``recipes``).
RECIPE_SETTINGS = (
    "recompute", "offload", "ep_overlap", "ep_dispatcher", "cuda_graphs", "capacity_factor",
    "rank_capacity",
)  # fmt: skip

_RELEASE = re.compile(r"\b(\d\d\.\d\d(?:\.\d\d)?)\b")


@functools.lru_cache(maxsize=1)
def _recipe_file() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(RECIPES.read_text())


def _recipes() -> tuple[dict[str, Any], ...]:
    return tuple(_recipe_file()["recipes"])


def release_of(row: dict[str, str]) -> str:
    """The framework release of a row (``"26.04.01"`` from ``"26.04.01 NeMo Container"``,
    ``"24.07"`` from ``"NeMo 24.07 container"``); empty when the row names none."""
    m = _RELEASE.search(row.get("framework_release") or "")
    return m.group(1) if m else ""


def recipe_settings(
    model: str, system: str, row: dict[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """Settings from the sourced benchmark recipes that match a row (later entries win);
    an entry with ``releases`` applies to those releases only (exact names)."""
    label = _precision_label(row.get("precision"))
    release = release_of(row)
    settings: dict[str, Any] = {}
    sources: list[str] = []
    for e in _recipes():
        if e["model"] not in (model, "any") or e["system"] not in (system, "any"):
            continue
        if e["precision"] not in (label, "any"):
            continue
        if "releases" in e and release not in e["releases"]:
            continue
        settings.update({k: e[k] for k in RECIPE_SETTINGS if k in e})
        sources.append(e["source"])
    return settings, sources


def layout_of(r: dict[str, Any]) -> str:
    """A resolved row's parallel layout: ``GPUs/TP/PP/CP/VP/EP/micro-batch/global batch``
    (VP ``-`` when not interleaved), the form of ``tag_layouts`` in the recipe file."""
    vp = int(r["vp"]) if r["vp"] and r["vp"] > 1 else "-"
    parts = (
        r["num_gpus"],
        r["tp"],
        r["pp"],
        r["cp"],
        vp,
        r["ep"],
        r["micro_batch"],
        r["global_batch"],
    )
    return "/".join(str(int(x)) if isinstance(x, float) else str(x) for x in parts)


def release_mapping(model: str, system: str, row: dict[str, str], layout: str) -> str:
    """Whether a benchmark row's settings can be cited to its release's tag: ``"cited: TAG"``
    when the tag defines the printed layout for its model, system and precision, else
    ``"assumed: why"`` (megatron_bridge_recipes.yaml, ``tag_layouts``)."""
    f = _recipe_file()
    release = release_of(row)
    if release not in f["releases"]:
        return f"assumed: release {release or '(none)'} maps to no Megatron-Bridge tag"
    tag = f["releases"][release]["tag"]
    label = (
        _precision_label(row.get("precision")) if (row.get("precision") or "").strip() else "any"
    )
    layouts = [
        lay
        for m, s, p, lays in f["tag_layouts"].get(release, [])
        if m == model and s == system and p in (label, "any")
        for lay in lays
    ]
    if not layouts:
        return f"assumed: {tag} defines no layout for {model} on {system} ({label})"
    if layout not in layouts:
        return f"assumed: printed layout {layout} is not one of {tag}'s ({', '.join(layouts)})"
    return f"cited: {tag}"


def config_key(r: dict[str, Any], row: dict[str, str]) -> str:
    """What makes two rows the same configuration: model (and MTP), system, precision label,
    token dropping, and the parallel layout. Releases of one configuration share it."""
    label = (
        _precision_label(row.get("precision"))
        if (row.get("precision") or "").strip()
        else "unprinted"
    )
    drop = f" cf{r['capacity_factor']:g}" if r["capacity_factor"] else ""
    mtp = f" mtp{r['model'].mtp_layers}" if r["model"].mtp_layers or "MTP" in row["model"] else ""
    return f"{r['model'].name}{mtp} | {r['system']} | {label}{drop} | {layout_of(r)} | s{int(r['seq_len'])}"


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
    benchmark = "Megatron-Bridge" in (row.get("study") or "")
    recipe, recipe_sources = recipe_settings(model.name, system, row) if benchmark else ({}, [])
    for k, v in recipe.items():
        if k != "rank_capacity":
            assumed.append(f"{k}={v} (benchmark recipe)")
    capacity = float(recipe.get("capacity_factor", 0.0))
    if not capacity and "tokendrop" in row["model"].replace(" ", "").lower():
        capacity = 1.0
        assumed.append("capacity_factor=1 (the row's model name says token dropping)")
    r = {
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
        "capacity_factor": capacity,
        "recipe_sources": recipe_sources,
        "workload": _workload(row.get("workload")),
        "uneven_layers": uneven,
        "flops_convention": study.flops_convention,
        "flash_attention": study.flash_attention,
        "assumed": assumed,
        "study_defaults": study.why,
        "release": release_of(row),
    }
    r["config"] = config_key(r, row)
    r["release_mapping"] = (
        release_mapping(model.name, system, row, layout_of(r)) if benchmark else None
    )
    return r


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
            capacity_factor=r["capacity_factor"],
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


def _known_regression(row: dict[str, str]) -> str | None:
    """The source's own note that a measurement is a regression it will fix (the recipe
    file's ``known_regressions``), if any."""
    for e in _recipe_file().get("known_regressions", ()):
        if release_of(row) == e["release"] and e["model"] in (row.get("model") or ""):
            return e["note"]
    return None
