"""Failure counts and effective training time: predicted (reliability/) against published.

The CSV (default: ``validate/data/reliability.csv``) has one row per published figure:
the job (system, GPUs, period), the metric, the failure components it counts (``all`` or
``gpu+hbm+...``), the value, and ``bound`` (empty for a point value, ``>=`` when the source
gives a lower bound, ``<=`` an upper bound). ``fitted`` marks the rows the failure rates
were fitted on (``true``: the Llama 3 Table 5 counts, reproduced by construction),
``same-job`` a figure of the calibration job that no constant was fitted to (Llama 3's
effective training time), ``false`` a held-out row from another cluster.

Metrics:
  ``interruptions``                     expected count over the period, ``lambda * T``
  ``share_pct``                         the components' share of all interruptions
  ``interruptions_per_1000_node_days``  ``lambda / nodes * 86400 * 1000``
  ``interruptions_per_port_month_pct``  ``lambda / NIC ports * 30.44 days * 100``
  ``ett_pct``                           effective training time of a run of ``period_days``
                                        (:func:`gigafleet.reliability.effective_training_time`)

Error: ``100 * (predicted - measured) / measured``; for a bound row it is 0 when the
prediction satisfies the bound and the signed distance to the bound otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.reliability import (
    COMPONENTS,
    component_counts,
    effective_training_time,
    failure_rates_by_component_per_s,
    load_failure_rates,
)
from gigafleet.validate.groundtruth import read_csv
from gigafleet.validate.report import ValidationRow, summarize

PACKAGED = Path(__file__).parent / "data" / "reliability.csv"
COLUMNS = (
    "row_id", "study", "system", "num_gpus", "period_days", "metric", "components", "measured",
    "bound", "num_params", "planned_per_day", "fitted",
)  # fmt: skip
METRICS = (
    "interruptions",
    "share_pct",
    "interruptions_per_1000_node_days",
    "interruptions_per_port_month_pct",
    "ett_pct",
)
DAYS_PER_MONTH = 30.44


def default_data_path() -> Path:
    return PACKAGED


def _rows(path: Path) -> list[dict[str, str]]:
    return read_csv(path, COLUMNS)


def _components(text: str, where: str) -> tuple[str, ...]:
    if text.strip() in ("", "all"):
        return COMPONENTS
    names = tuple(c.strip() for c in text.split("+"))
    for c in names:
        if c not in COMPONENTS:
            from gigafleet.errors import unknown_name

            raise unknown_name("failure component", c, COMPONENTS, field=where)
    return names


def _error(predicted: float, measured: float, bound: str) -> float:
    err = 100.0 * (predicted - measured) / measured
    if bound == ">=" and predicted >= measured:
        return 0.0
    if bound == "<=" and predicted <= measured:
        return 0.0
    return err


def predict_row(r: dict[str, str], *, catalog: Catalog, rates=None) -> float:
    """The model's value of one row's metric."""
    rid = r["row_id"]
    metric = r["metric"].strip()
    if metric not in METRICS:
        raise GigafleetError(
            f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}", field=f"{rid}: metric"
        )
    system = r["system"].strip() or None
    n = float(r["num_gpus"])
    days = float(r["period_days"])
    comps = _components(r["components"], f"{rid}: components")
    by = failure_rates_by_component_per_s(n, system=system, rates=rates, catalog=catalog)
    lam = sum(float(by[c]) for c in comps)
    if metric == "interruptions":
        return lam * days * 86400.0
    if metric == "share_pct":
        return 100.0 * lam / sum(float(v) for v in by.values())
    counts = component_counts(n, system=system, catalog=catalog)
    if metric == "interruptions_per_1000_node_days":
        return lam / float(counts.node) * 86400.0 * 1000.0
    if metric == "interruptions_per_port_month_pct":
        return lam / float(counts.nic) * DAYS_PER_MONTH * 86400.0 * 100.0
    # ett_pct: a run whose wall time is the period; solve for the ideal time by one fixed
    # point step (ETT depends on the run length only through the last partial segment).
    params = float(r["num_params"])
    planned = float(r["planned_per_day"] or 0.0)
    wall = days * 86400.0
    est = effective_training_time(
        wall, n, num_params=params, system=system, rates=rates, planned_per_day=planned,
        catalog=catalog,
    )  # fmt: skip
    return 100.0 * float(est.ett)


def validate_reliability(
    path: str | Path | None = None, *, catalog: Catalog | None = None, rates=None
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """Predict every row; returns the rows and the summary (same shape as validate training)."""
    catalog = catalog or load_catalog()
    rates = rates or load_failure_rates(catalog=catalog)
    path = Path(path) if path else PACKAGED
    out: list[ValidationRow] = []
    for r in _rows(path):
        flag = r["fitted"].strip().lower()
        fitted = flag in ("true", "1", "yes")
        vr = ValidationRow(
            r["row_id"], r["metric"], None, None, None, group=r["study"], fitted=fitted,
            details={"study": r["study"], "system": r["system"], "num_gpus": r["num_gpus"],
                     "period_days": r["period_days"], "components": r["components"] or "all",
                     "bound": r["bound"], "set": "same_job_as_fit" if flag == "same-job" else "held_out",
                     "source": r.get("source", ""), "notes": r.get("notes", "")},
        )  # fmt: skip
        out.append(vr)
        try:
            vr.measured = float(r["measured"])
        except ValueError:
            vr.skipped_reason = f"not a number: {r['measured']!r}"
            continue
        if vr.measured == 0:
            vr.skipped_reason = "measured value is 0 (no relative error)"
            continue
        try:
            float(r["num_gpus"]), float(r["period_days"])
        except ValueError:
            vr.skipped_reason = "num_gpus and period_days must be numbers"
            continue
        if r["metric"].strip() == "ett_pct" and not r["num_params"].strip():
            vr.skipped_reason = "ett_pct needs num_params"
            continue
        if r["system"].strip() and r["system"].strip() not in catalog.systems:
            vr.skipped_reason = f"system {r['system']!r} not in the catalog"
            continue
        vr.predicted = predict_row(r, catalog=catalog, rates=rates)
        vr.error_pct = round(_error(vr.predicted, vr.measured, r["bound"].strip()), 2)
    summary = summarize(
        out,
        groups={
            "by_study": lambda r: r.group,
            "by_calibration": lambda r: "fitted" if r.fitted else r.details["set"],
        },
    )
    return out, summary
