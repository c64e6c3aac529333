"""``gigafleet validate inference``: MLPerf Inference LLM throughput and confidential-computing
overheads, in one report.

The top-level summary is over the MLPerf rows (error = predicted / measured - 1, in %); the
confidential-computing rows (error in percentage points of overhead, a different unit) have
their own summary under ``summary.confidential_computing``. ``rows`` holds both (``group``
says which).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.validate import mlperf, tee
from gigafleet.validate.groundtruth import groundtruth_path
from gigafleet.validate.report import ValidationRow, error_stats, summarize


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


def validate_inference(
    data: str | os.PathLike[str] | None = None, *, catalog: Catalog | None = None
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """Rows and summary. ``data`` replaces whichever data set its columns match."""
    catalog = catalog or load_catalog()
    paths = {
        "mlperf": mlperf.default_data_path(),
        "confidential_computing": groundtruth_path("confidential_computing.csv"),
    }
    if data is not None:
        paths[data_kind(data)] = Path(data)
    ml_rows = mlperf.validate_mlperf(paths["mlperf"], catalog=catalog)
    cc_rows = tee.validate_tee(paths["confidential_computing"], catalog=catalog)

    def held(r: ValidationRow) -> str:
        return "fitted" if r.fitted else "held_out"

    def scenario(r: ValidationRow) -> str:
        return r.details.get("scenario", "").lower()

    summary = summarize(
        ml_rows,
        groups={
            "by_scenario": scenario,
            "by_calibration": held,
            "by_scenario_calibration": lambda r: f"{scenario(r)}/{held(r)}",
            "by_benchmark": lambda r: f"{r.details.get('model')}/{scenario(r)}",
            "by_accelerator": lambda r: f"{r.details.get('accelerator')}/{scenario(r)}",
            "by_engine": lambda r: f"{r.details.get('engine')}/{scenario(r)}",
        },
    )
    summary["error_unit"] = "% of measured tokens/s"
    cc = summarize(cc_rows, groups={"by_calibration": held})
    cc["error_unit"] = "percentage points of overhead"
    summary["confidential_computing"] = cc
    summary["data"] = {k: str(v) for k, v in paths.items()}
    return ml_rows + cc_rows, summary


def offline_held_out_stats(rows: list[ValidationRow]) -> dict[str, Any]:
    """Error statistics of the held-out MLPerf Offline rows (the headline accuracy figure)."""
    return error_stats(
        r.error_pct
        for r in rows
        if r.error_pct is not None and r.group == "mlperf offline" and not r.fitted
    )


__all__ = ["data_kind", "offline_held_out_stats", "validate_inference"]
