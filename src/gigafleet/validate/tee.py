"""Confidential-computing overheads: predicted (perf/tee.py) against Zhu et al. 2024."""

from __future__ import annotations

import csv
from pathlib import Path

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf.tee import metric_kind, predict_overhead, tee_costs, tee_kind
from gigafleet.validate.groundtruth import groundtruth_path
from gigafleet.validate.report import ValidationRow

COLUMNS = ("gpu", "cpu_tee", "model", "metric", "workload", "tee_on", "tee_off", "overhead_pct")


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise GigafleetError(f"missing columns {', '.join(missing)}", file=str(path))
            return list(reader)
    except OSError as exc:
        raise GigafleetError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise GigafleetError(f"not a readable CSV file: {exc}", file=str(path)) from None


def validate_tee(
    path: str | Path | None = None, *, catalog: Catalog | None = None
) -> list[ValidationRow]:
    """Predicted against measured overhead (percentage points) for every numeric row."""
    catalog = catalog or load_catalog()
    cal = catalog.calibration.get("tee", {})
    fit_model = cal.get("fit_model", "")
    rows = _rows(Path(path) if path else groundtruth_path("confidential_computing.csv"))
    tps_rows = [r for r in rows if r["metric"].lower().startswith("tps (tokens/s, batch size 1)")]
    out = []
    for i, r in enumerate(rows):
        rid = f"CC{i + 1:03d}/{r['gpu']}/{r['model']}/{r['metric'][:24]}/{r['workload'][:20]}"
        vr = ValidationRow(
            rid, "tee_overhead_pct", None, None, None, group="confidential computing"
        )
        out.append(vr)
        try:
            vr.measured = float(r["overhead_pct"])
        except ValueError:
            vr.skipped_reason = "a headline range, not a measurement"
            continue
        kind = tee_kind(r["cpu_tee"])
        if kind is None:
            vr.skipped_reason = "no CPU TEE named"
            continue
        if metric_kind(r["metric"]) is None:
            vr.skipped_reason = (
                "dynamic-batch throughput: the batch and iteration times are not published"
            )
            continue
        pred = predict_overhead(r, tee_costs(kind, catalog), tps_rows)
        if pred is None:
            vr.skipped_reason = "no batch-1 reference for this model and GPU"
            continue
        vr.predicted = round(pred, 2)
        # error in percentage points, as the target is stated (within 3 pp)
        vr.error_pct = round(pred - vr.measured, 2)
        vr.fitted = r["model"] == fit_model
        vr.details = {
            "model": r["model"],
            "system": r["gpu"],
            "cpu_tee": kind,
            "error_unit": "percentage points",
        }
    return out
