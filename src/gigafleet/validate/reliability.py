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
  ``job_mttf_h``                        mean time to interruption of jobs of ``num_gpus``,
                                        *simulated* (``sim/fleet/cluster.py``: jobs side by
                                        side on a cluster until ~400 interruptions)
  ``sim_ettr_pct``                      effective training time ratio of the run, *simulated*
                                        (checkpoint size, Daly interval and restore from the
                                        reliability model; detection + restart = 10 min)

``fitted = level`` marks a row that sets its study's failure-rate level: clusters differ
several-fold in failure intensity (Meta's RSC-1 and RSC-2 by 2.8x), so a study's other rows
are predicted with the component rates scaled by ``closed-form MTTF / measured`` of its
level row, and test how failures scale with job size, not the level.

Error: ``100 * (predicted - measured) / measured``; for a bound row it is 0 when the
prediction satisfies the bound and the signed distance to the bound otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError, unknown_name
from gigafleet.reliability import (
    COMPONENTS,
    component_counts,
    daly_interval_s,
    effective_training_time,
    failure_rates_by_component_per_s,
    load_failure_rates,
)
from gigafleet.sim.fleet.cluster import job_mtti, run_ettr
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
    "job_mttf_h",
    "sim_ettr_pct",
)
#: Interruptions each simulated MTTF row runs to (relative noise about 1 / sqrt(400) = 5%).
SIM_INTERRUPTIONS = 400
#: Seeds of each simulated ETTR row.
SIM_SEEDS = 10
DAYS_PER_MONTH = 30.44
#: Largest study a row may describe: a century of days, a hundred million GPUs (the shipped
#: rows reach 330 days and 16,384 GPUs; beyond these a simulated row would take hours).
MAX_PERIOD_DAYS = 36_500.0
MAX_NUM_GPUS = 1e8


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
            raise unknown_name("failure component", c, COMPONENTS, field=where)
    return names


def _error(predicted: float, measured: float, bound: str) -> float:
    err = 100.0 * (predicted - measured) / measured
    if bound == ">=" and predicted >= measured:
        return 0.0
    if bound == "<=" and predicted <= measured:
        return 0.0
    return err


def _per_gpu_s(
    system: str | None, *, rates, catalog: Catalog, scale: float = 1.0
) -> dict[str, float]:
    """Failure rates per GPU-second of ``system``, by component, times ``scale``."""
    by = failure_rates_by_component_per_s(1.0, system=system, rates=rates, catalog=catalog)
    return {c: float(v) * scale for c, v in by.items()}


def _gpus_per_node(n: float, system: str | None, catalog: Catalog) -> int:
    return max(1, round(n / float(component_counts(n, system=system, catalog=catalog).node)))


def study_levels(rows: list[dict[str, str]], *, catalog: Catalog, rates) -> dict[str, float]:
    """Each study's rate scale from its ``level`` row: closed-form MTTF over measured."""
    out = {}
    for r in rows:
        if r["fitted"].strip().lower() != "level" or r["metric"].strip() != "job_mttf_h":
            continue
        system = r["system"].strip() or None
        lam = sum(_per_gpu_s(system, rates=rates, catalog=catalog).values()) * float(r["num_gpus"])
        out[r["study"]] = (1.0 / lam / 3600.0) / float(r["measured"])
    return out


def predict_sim(r: dict[str, str], *, catalog: Catalog, rates=None, scale: float = 1.0) -> float:
    """A simulated metric (``job_mttf_h``, ``sim_ettr_pct``) of one row; the seed is the
    row id's CRC, so a row always gives the same number."""
    import zlib

    rates = rates or load_failure_rates(catalog=catalog)
    system = r["system"].strip() or None
    n = float(r["num_gpus"])
    per_s = _per_gpu_s(system, rates=rates, catalog=catalog, scale=scale)
    gpn = _gpus_per_node(n, system, catalog)
    seed = zlib.crc32(r["row_id"].encode())
    if r["metric"].strip() == "job_mttf_h":
        return job_mtti(int(n), per_s, gpus_per_node=gpn, target_interruptions=SIM_INTERRUPTIONS,
                        seed=seed).mtti_h  # fmt: skip
    params = float(r["num_params"])
    work = float(r["period_days"]) * 86400.0
    rel = effective_training_time(
        work, n, num_params=params, system=system, rates=rates, catalog=catalog
    )
    res = run_ettr(
        int(n), per_s, work_s=work, interval_s=float(rel.checkpoint_interval_s),
        checkpoint_s=float(rel.checkpoint_write_s), restore_s=float(rel.restore_s),
        gpus_per_node=gpn, num_seeds=SIM_SEEDS, seed=seed,
    )  # fmt: skip
    return 100.0 * res.ettr_mean


def closed_form_checks(*, catalog: Catalog, rates=None) -> dict[str, list[dict[str, float]]]:
    """The simulation against the closed forms where they hold (model against model, not
    accuracy): job MTTI against ``1 / (n lambda)`` from 8 to 16,384 GPUs on the calibration
    system, and a 16,384-GPU run's ETTR against Daly's expected wall time at a quarter, one
    and four times Daly's optimal checkpoint interval."""

    rates = rates or load_failure_rates(catalog=catalog)
    system = catalog.params.failure_rates.calibration.system
    per_s = _per_gpu_s(system, rates=rates, catalog=catalog)
    gpn = _gpus_per_node(8.0, system, catalog)
    mtti = []
    for n in (8, 64, 1024, 4096, 16384):
        m = job_mtti(n, per_s, gpus_per_node=gpn, target_interruptions=SIM_INTERRUPTIONS, seed=n)
        mtti.append({"num_gpus": n, "simulated_h": m.mtti_h, "closed_form_h": m.closed_form_h,
                     "interruptions": m.interruptions,
                     "error_pct": round(100.0 * (m.mtti_h / m.closed_form_h - 1.0), 2)})  # fmt: skip
    n, delta, work = 16384, 300.0, 20 * 86400.0
    mtbf = 1.0 / (n * sum(per_s.values()))
    opt = float(daly_interval_s(delta, mtbf))
    ettr = []
    for f in (0.25, 1.0, 4.0):
        e = run_ettr(n, per_s, work_s=work, interval_s=f * opt, checkpoint_s=delta,
                     restore_s=delta, gpus_per_node=gpn, num_seeds=SIM_SEEDS, seed=int(f * 100))  # fmt: skip
        ettr.append({"num_gpus": n, "interval_s": f * opt, "interval_over_daly": f,
                     "simulated": e.ettr_mean, "stderr": e.ettr_stderr,
                     "closed_form": e.ettr_closed_form,
                     "error_pct": round(100.0 * (e.ettr_mean / e.ettr_closed_form - 1.0), 2)})  # fmt: skip
    return {"job_mtti_against_series_system": mtti, "ettr_against_daly": ettr}


def predict_row(r: dict[str, str], *, catalog: Catalog, rates=None) -> float:
    """The model's value of one row's metric."""
    rid = r["row_id"]
    metric = r["metric"].strip()
    if metric not in METRICS:
        raise GigafleetError(
            f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}", field=f"{rid}: metric"
        )
    if metric in ("job_mttf_h", "sim_ettr_pct"):
        return predict_sim(r, catalog=catalog, rates=rates)
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
    path: str | Path | None = None, *, catalog: Catalog | None = None, rates=None,
    closed_form: bool = True,
) -> tuple[list[ValidationRow], dict[str, Any]]:  # fmt: skip
    """Predict every row; returns the rows and the summary (same shape as validate training,
    plus ``study_levels`` and, with ``closed_form``, the simulation against the closed
    forms)."""
    catalog = catalog or load_catalog()
    rates = rates or load_failure_rates(catalog=catalog)
    path = Path(path) if path else PACKAGED
    out: list[ValidationRow] = []
    rows = _rows(path)
    try:
        levels = study_levels(rows, catalog=catalog, rates=rates)
    except (ValueError, ZeroDivisionError):
        levels = {}
    for r in rows:
        flag = r["fitted"].strip().lower()
        fitted = flag in ("true", "1", "yes", "level")
        vr = ValidationRow(
            r["row_id"], r["metric"], None, None, None, group=r["study"], fitted=fitted,
            details={"study": r["study"], "system": r["system"], "num_gpus": r["num_gpus"],
                     "period_days": r["period_days"], "components": r["components"] or "all",
                     "bound": r["bound"],
                     "set": {"same-job": "same_job_as_fit", "level": "study_level"}.get(flag, "held_out"),
                     "rate_scale": levels.get(r["study"], 1.0),
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
            gpus, days = float(r["num_gpus"]), float(r["period_days"])
        except ValueError:
            vr.skipped_reason = "num_gpus and period_days must be numbers"
            continue
        if not (1.0 <= gpus <= MAX_NUM_GPUS and 0.0 < days <= MAX_PERIOD_DAYS):
            vr.skipped_reason = (
                f"num_gpus must be in [1, {MAX_NUM_GPUS:.0e}] and period_days in "
                f"(0, {MAX_PERIOD_DAYS:,.0f}]"
            )
            continue
        if r["metric"].strip() == "ett_pct" and not r["num_params"].strip():
            vr.skipped_reason = "ett_pct needs num_params"
            continue
        if r["system"].strip() and r["system"].strip() not in catalog.systems:
            vr.skipped_reason = f"system {r['system']!r} not in the catalog"
            continue
        if r["metric"].strip() in ("job_mttf_h", "sim_ettr_pct"):
            if r["metric"].strip() == "sim_ettr_pct" and not r["num_params"].strip():
                vr.skipped_reason = "sim_ettr_pct needs num_params"
                continue
            vr.predicted = predict_sim(
                r, catalog=catalog, rates=rates, scale=levels.get(r["study"], 1.0)
            )
        else:
            vr.predicted = predict_row(r, catalog=catalog, rates=rates)
        vr.error_pct = round(_error(vr.predicted, vr.measured, r["bound"].strip()), 2)
    summary = summarize(
        out,
        groups={
            "by_study": lambda r: r.group,
            "by_calibration": lambda r: "fitted" if r.fitted else r.details["set"],
            "by_metric": lambda r: f"{r.metric} ({'fitted' if r.fitted else r.details['set']})",
        },
    )
    summary["study_levels"] = levels
    if closed_form:
        summary["simulation_vs_closed_form"] = closed_form_checks(catalog=catalog, rates=rates)
    return out, summary
