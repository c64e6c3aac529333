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
