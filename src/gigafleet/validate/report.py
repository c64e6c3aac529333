"""The shape every ``gigafleet validate`` command shares: rows, and a summary of their errors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class ValidationRow:
    row_id: str
    metric: str | None
    measured: float | None
    predicted: float | None
    error_pct: float | None
    skipped_reason: str | None = None
    group: str = ""
    fitted: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_stats(errors: Iterable[float]) -> dict[str, float | int | None]:
    """Median and p90 of absolute % errors (None when there are none)."""
    e = np.abs(np.asarray(list(errors), dtype=float))
    if e.size == 0:
        return {"num": 0, "median_abs_error_pct": None, "p90_abs_error_pct": None}
    return {
        "num": int(e.size),
        "median_abs_error_pct": round(float(np.median(e)), 2),
        "p90_abs_error_pct": round(float(np.percentile(e, 90)), 2),
    }


def stats_by(rows: Iterable[ValidationRow], key: Callable[[ValidationRow], str]) -> dict[str, Any]:
    """:func:`error_stats` of predicted rows grouped by ``key``, groups in sorted order."""
    groups: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r.error_pct)  # type: ignore[arg-type]
    return {k: error_stats(v) for k, v in sorted(groups.items())}


def one_per_measurement(
    rows: Iterable[ValidationRow], *, keep: Callable[[ValidationRow], bool] = lambda r: True
) -> list[ValidationRow]:
    """Predicted rows that ``keep`` accepts, each independent measurement once (its first
    row: ``details["measurement"]`` names rows that publish the same run twice)."""
    seen, out = set(), []
    for r in rows:
        if r.error_pct is None or not keep(r):
            continue
        m = r.details.get("measurement", r.row_id)
        if m not in seen:
            seen.add(m)
            out.append(r)
    return out


def summarize(
    rows: list[ValidationRow], *, groups: dict[str, Callable[[ValidationRow], str]] | None = None
) -> dict[str, Any]:
    """Overall error statistics plus one table per grouping (e.g. by study, fitted vs held out)."""
    done = [r for r in rows if r.error_pct is not None]
    stats = error_stats(r.error_pct for r in done)
    summary: dict[str, Any] = {
        "num_rows": len(rows),
        "num_predicted": len(done),
        "num_skipped": len(rows) - len(done),
        "predicted_fraction": round(len(done) / len(rows), 4) if rows else 0.0,
        "median_abs_error_pct": stats["median_abs_error_pct"],
        "p90_abs_error_pct": stats["p90_abs_error_pct"],
    }
    for name, key in (groups or {}).items():
        by: dict[str, list[float]] = defaultdict(list)
        for r in done:
            by[key(r)].append(r.error_pct)  # type: ignore[arg-type]
        summary[name] = {k: error_stats(v) for k, v in sorted(by.items())}
    return summary
