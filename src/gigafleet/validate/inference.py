"""``gigafleet validate inference``: MLPerf Inference LLM throughput, DeepSeek-V3 serving at
scale and confidential-computing overheads, in one report.

The top-level summary is over the MLPerf LLM rows (error = predicted / measured - 1, in %),
each independent measurement counted once (a -99 / -99.9 pair of one submission is one run
published twice) and held out by deployment first: a row whose per-GPU deployment
(accelerator, model, TP, precision, engine) is that of a fitted row of the same round is
not held out, whatever OEM server it ran on. Recommendation (DLRM) rows do not count there:
the recommendation model predicts them (:mod:`gigafleet.validate.dlrm`, the DLRM rows of
``--data`` or else the shared DLRM tables) in their own block, ``summary.recommendation``
(samples/s and queries/s; fitted, same-deployment and held-out rows). The DeepSeek comparison (``summary.deepseek``) and the
confidential-computing rows (error in percentage points of overhead, a different unit,
``summary.confidential_computing``) have their own summaries; ``rows`` holds all of them
(``group`` says which).

``holdout`` (round, system, submitter, deployment) refits the engine constants without each
group and predicts it (:func:`gigafleet.validate.mlperf_fit.validate_holdout`); the summary
then adds ``holdout``.
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.validate import mlperf, tee
from gigafleet.validate.groundtruth import groundtruth_path
from gigafleet.validate.report import ValidationRow, error_stats, summarize

NOT_LLM = "mlperf recommendation"


def data_kind(path: str | os.PathLike[str]) -> str:
    """``"mlperf"`` or ``"confidential_computing"`` from a CSV's header; else a user error."""
    p = Path(path)
    try:
        with p.open(newline="") as fh:
            header = next(csv.reader(fh), [])
    except OSError as exc:
        raise GigafleetError(f"cannot read: {exc.strerror}", file=str(p)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise GigafleetError(f"not a readable CSV file: {exc}", file=str(p)) from None
    cols = {c.strip() for c in header}
    if set(mlperf.COLUMNS) <= cols:
        return "mlperf"
    if set(tee.COLUMNS) <= cols:
        return "confidential_computing"
    missing = [c for c in mlperf.COLUMNS if c not in cols]
    raise GigafleetError(
        f"neither an MLPerf results CSV (missing {', '.join(missing)}) nor a confidential-"
        f"computing CSV (needs {', '.join(tee.COLUMNS)})",
        file=str(p),
    )


def _fitted_deployments(catalog: Catalog) -> set[str]:
    """``round/per-GPU deployment`` of every fit row (rows sharing one are not held out)."""
    from gigafleet.validate.mlperf_fit import fitted_row_keys, known_rows

    keys = fitted_row_keys(catalog)
    benches = mlperf.load_benchmarks()
    out = set()
    for r in known_rows():
        if mlperf.row_key(r) not in keys:
            continue
        d = mlperf.deployment_for(r, benches[r["model"].strip()], catalog)
        if isinstance(d, mlperf.Deployment):
            out.add(f"{r['mlperf_version'].strip()}/{d.per_gpu_key}")
    return out


def calibration_class(r: ValidationRow, fitted_deps: set[str]) -> str:
    """``fitted``, ``fitted_deployment`` (same round and per-GPU deployment as a fit row) or
    ``held_out``."""
    if r.fitted:
        return "fitted"
    d = r.details
    if f"{d.get('round')}/{d.get('per_gpu_deployment')}" in fitted_deps:
        return "fitted_deployment"
    return "held_out"


def _measurements(rows: Iterable[ValidationRow]) -> list[ValidationRow]:
    """Predicted LLM rows, each independent measurement once (its first row)."""
    seen, out = set(), []
    for r in rows:
        if r.error_pct is None or r.group == NOT_LLM:
            continue
        m = r.details.get("measurement", r.row_id)
        if m not in seen:
            seen.add(m)
            out.append(r)
    return out


def _by(rows: list[ValidationRow], key: Callable[[ValidationRow], str]) -> dict[str, Any]:
    groups: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r.error_pct)  # type: ignore[arg-type]
    return {k: error_stats(v) for k, v in sorted(groups.items())}


def mlperf_summary(rows: list[ValidationRow], fitted_deps: set[str]) -> dict[str, Any]:
    """The MLPerf figures: held out by deployment first, then every breakdown, over
    independent measurements of LLM rows."""
    llm = [r for r in rows if r.group != NOT_LLM]
    done = [r for r in llm if r.error_pct is not None]
    meas = _measurements(llm)

    def scen(r: ValidationRow) -> str:
        return r.details.get("scenario", "").lower()

    def cls(r: ValidationRow) -> str:
        return calibration_class(r, fitted_deps)

    held = [r for r in meas if cls(r) == "held_out"]
    stats = error_stats(r.error_pct for r in meas)
    return {
        "held_out_by_deployment": {"all": error_stats(r.error_pct for r in held), **_by(held, scen)},
        "num_rows": len(rows),
        "num_llm_rows": len(llm),
        "num_predicted": len(done),
        "num_skipped": len(llm) - len(done),
        "predicted_fraction": round(len(done) / len(llm), 4) if llm else 0.0,
        "num_measurements": len(meas),
        "median_abs_error_pct": stats["median_abs_error_pct"],
        "p90_abs_error_pct": stats["p90_abs_error_pct"],
        "by_scenario": _by(meas, scen),
        "by_calibration": _by(meas, cls),
        "by_scenario_calibration": _by(meas, lambda r: f"{scen(r)}/{cls(r)}"),
        "by_benchmark": _by(meas, lambda r: f"{r.details.get('model')}/{scen(r)}"),
        "by_accelerator": _by(meas, lambda r: f"{r.details.get('accelerator')}/{scen(r)}"),
        "by_engine": _by(meas, lambda r: f"{r.details.get('engine')}@{r.details.get('engine_release')}/{scen(r)}"),
        "by_round": _by(meas, lambda r: f"{r.details.get('round')}/{scen(r)}"),
        "skipped_reasons": dict(Counter(
            (r.skipped_reason or "").split(":")[0] for r in rows if r.error_pct is None
        ).most_common()),
    }  # fmt: skip


def validate_inference(
    data: str | os.PathLike[str] | None = None,
    *,
    catalog: Catalog | None = None,
    holdout: str | None = None,
    deepseek: bool = True,
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """Rows and summary. ``data`` replaces whichever data set its columns match."""
    from gigafleet.validate import mlperf_fit

    catalog = catalog or load_catalog()
    if holdout is not None:
        mlperf_fit.group_of(holdout)  # a bad group name fails before any work
    paths = {
        "mlperf": mlperf.default_data_path(),
        "confidential_computing": groundtruth_path("confidential_computing.csv"),
    }
    extra = None
    if data is not None:
        kind = data_kind(data)
        paths[kind] = Path(data)
        extra = Path(data) if kind == "mlperf" else None
    raw = mlperf.read_rows(paths["mlperf"])
    ml_rows = mlperf.validate_mlperf(rows=raw, catalog=catalog)
    for r, row in zip(ml_rows, raw, strict=True):
        if row["model"].strip().startswith("dlrm"):
            r.group = NOT_LLM
    fitted_deps = _fitted_deployments(catalog)
    summary = mlperf_summary(ml_rows, fitted_deps)
    if holdout is not None:
        held, refits = mlperf_fit.validate_holdout(
            raw, holdout, catalog=catalog, baseline=ml_rows, extra=extra
        )
        meas = _measurements(held)
        summary["holdout"] = {
            "by": holdout,
            "note": "every constant refitted without the group, then the group predicted",
            "all": error_stats(r.error_pct for r in meas),
            "by_scenario": _by(meas, lambda r: r.details.get("scenario", "").lower()),
            "by_group": _by(meas, lambda r: f"{r.details.get('holdout_group')}"),
            "refits": refits,
        }
        ml_rows = held
    summary["error_unit"] = "% of measured tokens/s"
    cc_rows = tee.validate_tee(paths["confidential_computing"], catalog=catalog)
    cc = summarize(
        cc_rows, groups={"by_calibration": lambda r: "fitted" if r.fitted else "held_out"}
    )
    cc["error_unit"] = "percentage points of overhead"
    summary["confidential_computing"] = cc
    ds_rows: list[ValidationRow] = []
    if deepseek:
        from gigafleet.validate.deepseek import deepseek_summary, validate_deepseek

        ds_rows = validate_deepseek(catalog=catalog)
        summary["deepseek"] = deepseek_summary(ds_rows)
    ml_rows = _route_recommendation(ml_rows, raw, extra, summary, catalog=catalog, holdout=holdout)
    summary["data"] = {k: str(v) for k, v in paths.items()}
    return ml_rows + ds_rows + cc_rows, summary


def _route_recommendation(ml_rows, raw, extra, summary, *, catalog, holdout):
    """DLRM rows go to the recommendation model (:mod:`gigafleet.validate.dlrm`): those of
    ``--data`` when it holds any, else the shared DLRM tables. They replace the LLM path's
    skipped DLRM rows (the LLM summary above is computed before, and does not change) and
    get their own block, ``summary.recommendation``."""
    from gigafleet.validate import dlrm

    rec_raw = [r for r in raw if dlrm.is_recommendation(r)] if extra is not None else []
    if not rec_raw:
        rec_raw = dlrm.default_rows()
    if holdout is not None:
        rec, refits = dlrm.validate_dlrm_holdout(rec_raw, holdout, catalog=catalog)
    else:
        rec, refits = dlrm.validate_dlrm(rec_raw, catalog=catalog), None
    block = dlrm.dlrm_summary(rec)
    if refits is not None:
        block["holdout"] = {"by": holdout, "refits": refits}
    summary["recommendation"] = block
    kept = [r for r, row in zip(ml_rows, raw, strict=False) if not dlrm.is_recommendation(row)]
    return kept + rec


def offline_held_out_stats(
    rows: list[ValidationRow], *, catalog: Catalog | None = None
) -> dict[str, Any]:
    """Error statistics of the held-out MLPerf Offline measurements (not fitted, not sharing a
    fitted per-GPU deployment): the headline accuracy figure."""
    deps = _fitted_deployments(catalog or load_catalog())
    return error_stats(
        r.error_pct
        for r in _measurements(rows)
        if r.group == "mlperf offline" and calibration_class(r, deps) == "held_out"
    )


__all__ = [
    "calibration_class",
    "data_kind",
    "mlperf_summary",
    "offline_held_out_stats",
    "validate_inference",
]
