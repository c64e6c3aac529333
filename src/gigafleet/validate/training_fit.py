"""Validate the training model on every row, refit its calibration on its named rows, and
without a group of rows.

:func:`validate_training` is ``gigafleet validate training``: every row predicted
(:mod:`gigafleet.validate.training`) and summarised, fitted rows apart from the others.
:func:`fit_calibration` is ``gigafleet calibrate training``: each constant is fitted on the
rows its rule names (``calibration.training.fit_rows*``). :func:`validate_holdout` is
``gigafleet validate training --holdout GROUP``: for each group of rows (a system, a
release, a study, a configuration) every constant is refitted without the group's rows and
the group is predicted with the refit.

A fit row that falls in the held-out group is replaced by the nearest *like* row outside it
(:func:`fit_rows_without`): the same kind of model (dense, MoE, hybrid) and, for a GEMM
efficiency, the same hardware generation and training precision; nearest means the same
configuration measured in another release first, then the same model and system, the same
system, the same model, the same study, and the closest release. So leaving out a release
refits on the same configurations measured in the releases beside it, and leaving out
GB200 refits the Blackwell efficiencies on DGX-B200 rows. A constant left with no rows is
not fitted: a GEMM efficiency then comes from the nearest fitted generation (as for a new
generation), a fixed time is zero.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.params import TrainingCalibration, write_overlay
from gigafleet.enums import PRECISIONS
from gigafleet.errors import GigafleetError
from gigafleet.perf.training import REASONS, Reason
from gigafleet.validate.report import ValidationRow, error_stats, summarize
from gigafleet.validate.search import golden_section
from gigafleet.validate.training import (
    _kind,
    _known_regression,
    _metric,
    default_data_path,
    predict_row,
    read_rows,
    resolve_row,
)

#: The constants :func:`fit_calibration` fits (what ``calibrate training`` prints and writes).
FITTED = ("gemm_efficiency", "mamba_fixed_s", "moe_expert_fixed_s")
DEFAULT_CALIBRATION_FILE = "gigafleet-calibration.yaml"
#: The groups ``--holdout`` leaves out in turn.
HOLDOUT_GROUPS = ("system", "release", "study", "config")
#: The fit-row lists of the calibration, and the kind of row each one takes.
FIT_LISTS = {"fit_rows": "dense", "fit_rows_moe": "moe", "fit_rows_mamba": "hybrid"}


def _study_name(row: dict[str, str]) -> str:
    return (row.get("study") or "").split(" (")[0] or "unknown"


def group_of(by: str) -> Callable[[dict[str, Any], dict[str, str]], str]:
    """The holdout group of a row, from its resolved inputs and the row."""
    if by not in HOLDOUT_GROUPS:
        raise GigafleetError(
            f"unknown holdout group {by!r}; allowed: {', '.join(HOLDOUT_GROUPS)}",
            field="--holdout",
            allowed=HOLDOUT_GROUPS,
        )
    return {
        "system": lambda r, row: r["system"],
        "release": lambda r, row: r["release"] or _study_name(row),
        "study": lambda r, row: _study_name(row),
        "config": lambda r, row: r["config"],
    }[by]


def _release_rank(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in release.split(".")) if release else ()


def _distance(a: str, b: str, order: list[str]) -> int:
    if not a or not b:
        return 0 if a == b else len(order) + 1
    return abs(order.index(a) - order.index(b))


def fit_rows_without(
    resolved: dict[str, tuple[dict[str, Any], dict[str, str]]],
    cal: TrainingCalibration,
    excluded: set[str],
    *,
    catalog: Catalog,
) -> dict[str, list[str]]:
    """The fit rows of each list with the ``excluded`` ones replaced by the nearest like rows
    outside them (see the module docstring). ``resolved`` maps a row id to its resolved
    inputs and the row (rows that cannot be resolved are left out of it)."""

    def generation(r: dict[str, Any]) -> str:
        return catalog.accelerator(catalog.system(r["system"]).accelerator).generation

    releases = sorted(
        {r["release"] for r, _ in resolved.values() if r["release"]}, key=_release_rank
    )
    taken = {rid for name in FIT_LISTS for rid in getattr(cal, name)}
    out: dict[str, list[str]] = {}
    for name, kind in FIT_LISTS.items():
        keep: list[str] = []
        for rid in getattr(cal, name):
            if rid not in excluded:
                keep.append(rid)
                continue
            if rid not in resolved:
                continue
            r, row = resolved[rid]
            best, best_score = None, None
            for cid, (c, crow) in resolved.items():
                if cid in excluded or cid in taken or _metric(crow)[0] is None:
                    continue
                if _kind(c["model"]) != kind:
                    continue
                if kind == "dense" and (
                    generation(c) != generation(r) or c["precision"] != r["precision"]
                ):
                    continue
                score = (
                    c["config"] == r["config"],
                    c["model"].name == r["model"].name and c["system"] == r["system"],
                    c["system"] == r["system"],
                    c["model"].name == r["model"].name,
                    c["precision"] == r["precision"],
                    _study_name(crow) == _study_name(row),
                    -_distance(c["release"], r["release"], releases),
                    cid,
                )
                if best_score is None or score > best_score:
                    best, best_score = cid, score
            if best is not None:
                keep.append(best)
                taken.add(best)
        out[name] = keep
    return out


def _resolve_all(catalog: Catalog, rows: list[dict[str, str]]):
    resolved: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    for i, row in enumerate(rows):
        rid = row.get("row_id") or f"row{i + 1}"
        try:
            resolved[rid] = (resolve_row(catalog, row), row)
        except GigafleetError:
            continue
    return resolved


def fit_calibration(
    data: str | os.PathLike[str] | None = None,
    *,
    catalog: Catalog | None = None,
    rows: list[dict[str, str]] | None = None,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> TrainingCalibration:
    """Refit the calibration constants on their named rows (``exclude``: row ids left out,
    each fit row among them replaced as :func:`fit_rows_without` says).

    Each GEMM efficiency (generation, precision) is fitted on the ``fit_rows`` of its group;
    the Mamba-2 fixed time per layer on ``fit_rows_mamba``; the MoE per-expert fixed time
    on ``fit_rows_moe``. Each constant moves its rows' predictions monotonically, so a
    golden-section search per constant on the median absolute log error suffices; three
    coordinate sweeps let coupled constants settle (BF16 efficiency also sets attention
    speed). The returned calibration names the rows it was fitted on.
    """
    catalog = catalog or load_catalog()
    cal = catalog.params.calibration.training
    rows = rows if rows is not None else read_rows(data or default_data_path())
    by_id = {r.get("row_id"): r for r in rows}
    missing = [
        rid for rid in (*cal.fit_rows, *cal.fit_rows_mamba, *cal.fit_rows_moe) if rid not in by_id
    ]
    if missing:
        raise GigafleetError(
            f"the calibration rows {', '.join(missing)} are not in the data", field="fit_rows"
        )
    if exclude:
        lists = fit_rows_without(_resolve_all(catalog, rows), cal, set(exclude), catalog=catalog)
        cal = cal.model_copy(update=lists)
    params: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for rid in cal.fit_rows:
        r = resolve_row(catalog, by_id[rid])
        gen = catalog.accelerator(catalog.system(r["system"]).accelerator).generation
        params.setdefault(("gemm_efficiency", gen, r["precision"]), []).append(by_id[rid])
    # A constant without rows is not fitted: GEMM efficiencies of generations or precisions
    # without rows fall back (perf/training/efficiency.py), fixed times are zero.
    cal = cal.model_copy(
        update={
            "gemm_efficiency": {
                g: {p: v for p, v in vals.items() if ("gemm_efficiency", g, p) in params}
                for g, vals in cal.gemm_efficiency.items()
                if any(k[:2] == ("gemm_efficiency", g) for k in params)
            },
            "moe_expert_fixed_s": cal.moe_expert_fixed_s if cal.fit_rows_moe else 0.0,
            "mamba_fixed_s": cal.mamba_fixed_s if cal.fit_rows_mamba else 0.0,
        }
    )
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

    order = sorted(
        params,
        key=lambda k: (k[0] != "gemm_efficiency", PRECISIONS.index(k[2]) if len(k) > 2 else 0),
    )
    for _ in range(3):
        for key in order:
            value = golden_section(
                lambda v, key=key, cal=cal: loss(setting(cal, key, v), params[key]),
                *bounds[key[0]], steps=40,
            )  # fmt: skip
            cal = setting(cal, key, float(f"{value:.4g}"))
    return cal


def fitted_constants(cal: TrainingCalibration) -> dict[str, Any]:
    """The fitted constants of ``cal`` as plain data (the ``calibration.training`` fields)."""
    return cal.model_dump(include=set(FITTED))


def validate_holdout(
    rows: list[dict[str, str]], by: str, *, catalog: Catalog
) -> tuple[dict[str, TrainingCalibration], dict[str, str]]:
    """The calibration refitted without each group that holds a fit row, and each row's
    group. A group that holds no fit row refits to the shipped constants (not returned)."""
    key = group_of(by)
    resolved = _resolve_all(catalog, rows)
    groups = {rid: key(r, row) for rid, (r, row) in resolved.items()}
    cal = catalog.params.calibration.training
    fit = {rid for name in FIT_LISTS for rid in getattr(cal, name)}
    refits: dict[str, TrainingCalibration] = {}
    for g in sorted({groups[rid] for rid in fit if rid in groups}):
        out = {rid for rid, gg in groups.items() if gg == g}
        refits[g] = fit_calibration(catalog=catalog, rows=rows, exclude=out)
    return refits, groups


def classify(
    rows: list[ValidationRow],
    fit_lists: dict[str, list[str]] | None = None,
    *,
    among: list[ValidationRow] | None = None,
) -> None:
    """Each predicted row's ``details.calibration_class`` (``held_out``: its configuration was
    not fitted; ``repeats_fitted_config``: another release of a fitted configuration;
    ``fitted``) and ``details.new_model_system_precision`` (that triple was never fitted).
    ``among``: the rows the fit rows are looked up in (default ``rows``)."""
    fit_ids = {rid for ids in (fit_lists or {}).values() for rid in ids}
    by_id = {r.row_id: r for r in (among if among is not None else rows)}
    fitted = [by_id[i] for i in fit_ids if i in by_id and by_id[i].details]
    configs = {r.details["config"] for r in fitted}
    triples = {_triple(r) for r in fitted}
    for r in rows:
        if not r.details:
            continue
        r.fitted = r.row_id in fit_ids
        r.details["calibration_class"] = (
            "fitted" if r.fitted
            else "repeats_fitted_config" if r.details["config"] in configs
            else "held_out"
        )  # fmt: skip
        r.details["new_model_system_precision"] = _triple(r) not in triples


def _triple(r: ValidationRow) -> tuple[str, str, str]:
    return (r.details.get("model"), r.details.get("system"), r.details.get("precision"))


def summary_of(rows: list[ValidationRow]) -> dict[str, Any]:
    done = [r for r in rows if r.error_pct is not None]

    def stats(pred):
        return error_stats(r.error_pct for r in done if pred(r))

    summary = summarize(
        rows,
        groups={
            "by_study": lambda r: r.group,
            "by_model_kind": lambda r: r.details.get("kind", "?"),
            "by_system": lambda r: r.details.get("system", "?"),
            "by_release_mapping": lambda r: (r.details.get("release_mapping") or "no recipe").split(
                ":"
            )[0],
        },
    )
    held = stats(lambda r: r.details["calibration_class"] == "held_out")
    classes = ("held_out", "repeats_fitted_config", "fitted")
    by_cal = {c: stats(lambda r, c=c: r.details["calibration_class"] == c) for c in classes}
    # the headline first: rows whose configuration was not fitted
    return {
        "held_out": held,
        "held_out_new_model_system_precision": stats(
            lambda r: (
                r.details["calibration_class"] == "held_out"
                and r.details["new_model_system_precision"]
            )
        ),
        **summary,
        "by_calibration": by_cal,
    }


def by_holdout(
    rows: list[ValidationRow],
    by: str,
    refits: dict[str, TrainingCalibration],
    groups: dict[str, str],
) -> dict[str, Any]:
    done = [r for r in rows if r.error_pct is not None and r.details]

    def stats(rs):
        return error_stats(r.error_pct for r in rs)

    unseen = [r for r in done if r.details["calibration_class"] == "held_out"]
    per_group: dict[str, Any] = {}
    for g in sorted({groups[r.row_id] for r in done if r.row_id in groups}):
        members = [r for r in done if groups.get(r.row_id) == g]
        per_group[g] = {
            **stats(members),
            "held_out": stats([r for r in members if r in unseen]),
            "refit": (
                {
                    **{n: getattr(refits[g], n) for n in FIT_LISTS},
                    "constants": refits[g].model_dump(include=set(FITTED)),
                }
                if g in refits
                else "no fit row in the group: the shipped constants"
            ),
        }
    return {
        "by": by,
        "note": "every constant refitted without the group, then the group predicted; "
        "held_out counts only rows whose configuration the refit did not see",
        "held_out": stats(unseen),
        "all": stats(done),
        "groups": per_group,
    }


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


__all__ = [
    "DEFAULT_CALIBRATION_FILE",
    "FITTED",
    "HOLDOUT_GROUPS",
    "fit_calibration",
    "fit_rows_without",
    "by_holdout",
    "classify",
    "fitted_constants",
    "group_of",
    "summary_of",
    "validate_holdout",
    "write_calibration",
]


def validate_training(
    data: str | os.PathLike[str] | None = None,
    *,
    catalog: Catalog | None = None,
    calibration: TrainingCalibration | None = None,
    holdout: str | None = None,
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """Predict every row; return the rows and the summary (held out by configuration first,
    then overall, per study, per kind, per system, per release mapping).

    ``holdout`` (system, release, study, config) refits every constant without each group
    and predicts the group with that refit (:func:`validate_holdout`); the
    rows and summary are then those predictions, and ``by_holdout`` reports each group.
    """
    catalog = catalog or load_catalog()
    cal = calibration or catalog.params.calibration.training
    rows = read_rows(data or default_data_path())
    refits: dict[str, TrainingCalibration] = {}
    groups: dict[str, str] = {}
    if holdout is not None:
        refits, groups = validate_holdout(rows, holdout, catalog=catalog)
    out: list[ValidationRow] = []
    for row in rows:
        rid = row.get("row_id") or f"row{len(out) + 1}"
        metric, measured = _metric(row)
        group = (row.get("study") or "").split(" (")[0] or "unknown"
        vr = ValidationRow(rid, metric, measured, None, None, group=group)
        out.append(vr)
        if metric is None:
            vr.skipped_reason = "no measured metric in the row"
            continue
        regression = _known_regression(row)
        if regression:
            vr.skipped_reason = f"the source marks it a known regression: {regression}"
            continue
        row_cal = refits.get(groups.get(rid, ""), calibration)
        try:
            p = predict_row(catalog, row, calibration=row_cal)
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
            "release": r["release"],
            "release_mapping": r["release_mapping"],
            "config": r["config"],
            "assumed": r["assumed"],
        }
        if holdout is not None:
            vr.details["holdout_group"] = groups.get(rid)
    if holdout is None:
        classify(out, {n: getattr(cal, n) for n in FIT_LISTS})
        summary = summary_of(out)
    else:
        # each group against the fit rows of its own refit (the shipped ones when unchanged)
        for g in sorted({v for v in groups.values()}):
            g_cal = refits.get(g, cal)
            members = [r for r in out if groups.get(r.row_id) == g]
            classify(members, {n: getattr(g_cal, n) for n in FIT_LISTS}, among=out)
            for r in members:
                r.fitted = False  # predicted by a refit that did not see its group
        summary = summary_of(out)
        summary["by_holdout"] = by_holdout(out, holdout, refits, groups)
    summary["fit_rule"] = cal.fit_rule
    return out, summary
