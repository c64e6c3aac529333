"""Collective bandwidth and fabric behaviour: predicted (perf/collectives + perf/fabric)
against published measurements.

The CSV (default: ``validate/data/fabric_collectives.csv``, which transcribes every row of
``shared/groundtruth/collectives.csv`` and adds at-scale figures with their sources) has one
row per published figure. ``set`` says what the row is to the model: ``fitted`` (a
constant was taken from it: the NVLink ring and NVLS efficiencies, the per-NIC efficiency
of NDR and HDR InfiniBand, Spectrum-X's 95%), ``same_config`` (a repeat of a fitted
configuration: not held out), ``held_out``, or ``skip`` (with ``skip_reason``).

Metrics:
  ``busbw_GBps``           nccl-tests bus bandwidth of ``collective`` over ``num_gpus`` GPUs
                           (``gpus_per_node`` of them per node where fewer than the
                           scale-up domain) with ``message_bytes`` per rank: ``S f / t``, ``t`` from the
                           collective model and ``f`` nccl-tests' bus factor (``2(N-1)/N``
                           all-reduce, ``(N-1)/N`` all-gather, reduce-scatter, all-to-all,
                           1 send/recv). ``algorithm`` ``ring`` turns off in-switch reduction.
  ``nic_GBps``             inter-node bandwidth per NIC: the network's ``out_bw`` per NIC
                           times the flow model's ring share between two domains.
  ``throughput_fraction``  share of line rate a job delivers on a fabric design at scale:
                           the technology's per-flow efficiency times the flow model's
                           ``statistic`` (``throughput`` or ``factor``, see perf/fabric/solve).
  ``speedup``              that quantity on ``fabric`` over ``baseline_fabric`` (with the
                           ``routing``/``qps``/``failed_fraction`` overrides of each side).
  ``retained_fraction``    the same with ``failed_fraction`` over ``baseline_failed_fraction``.

Error: ``100 (predicted - measured) / measured``; a ``>=`` bound row scores 0 when met.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf import collectives as coll
from gigafleet.perf.fabric.design import fabric_spec
from gigafleet.perf.fabric.solve import pattern_factor
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.validate.groundtruth import read_csv
from gigafleet.validate.report import ValidationRow, error_stats, summarize

PACKAGED = Path(__file__).parent / "data" / "fabric_collectives.csv"
COLUMNS = (
    "row_id", "study", "metric", "measured", "bound", "set", "system", "fabric", "num_gpus",
    "gpus_per_node", "collective", "algorithm", "message_bytes", "pattern", "placement", "statistic",
    "cluster_gpus", "failed_fraction", "routing", "qps", "leaf_uplink_factor",
    "baseline_fabric", "baseline_routing", "baseline_qps", "baseline_failed_fraction",
    "skip_reason",
)  # fmt: skip
METRICS = ("busbw_GBps", "nic_GBps", "throughput_fraction", "speedup", "retained_fraction")
SETS = ("fitted", "same_config", "held_out", "skip")
COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "sendrecv")


def default_data_path() -> Path:
    return PACKAGED


def _float(r: dict[str, str], col: str, *, default: float | None = None) -> float | None:
    v = (r.get(col) or "").strip()
    if not v:
        return default
    try:
        return float(v)
    except ValueError:
        raise GigafleetError(f"not a number: {v!r}", field=f"{r['row_id']}: {col}") from None


def _int(r: dict[str, str], col: str, *, default: int | None = None) -> int | None:
    v = _float(r, col)
    return default if v is None else int(v)


def _busbw(r: dict[str, str], catalog: Catalog) -> float:
    import dataclasses

    rid = r["row_id"]
    n_gpus = _int(r, "num_gpus")
    size = _float(r, "message_bytes")
    kind = r["collective"].strip()
    if kind not in COLLECTIVES:
        raise GigafleetError(
            f"unknown collective {kind!r}; allowed: {', '.join(COLLECTIVES)}",
            field=f"{rid}: collective",
        )
    if not n_gpus or not size:
        raise GigafleetError("busbw rows need num_gpus and message_bytes", field=rid)
    hw = resolve_hardware(
        catalog, r["system"].strip(), fabric=r["fabric"].strip() or None, num_gpus=n_gpus
    )
    net = hw.net
    if r["algorithm"].strip() == "ring":
        net = dataclasses.replace(net, up_in_switch_reduction=False)
    # GPUs of the group per scale-up domain: all of them up to the domain's size, unless the
    # row says the run used fewer per node (one GPU per node over one rail, say)
    g = float(min(n_gpus, net.domain_size, _int(r, "gpus_per_node") or n_gpus))
    n = float(math.ceil(n_gpus / g))
    if kind == "sendrecv":
        t = float(coll.p2p_time(size, n <= 1, net))
        return size / t / 1e9
    fn = {
        "all_reduce": coll.all_reduce_time,
        "all_gather": coll.all_gather_time,
        "reduce_scatter": coll.reduce_scatter_time,
        "all_to_all": coll.all_to_all_time,
    }[kind]
    t = float(fn(size, g, n, net))
    bus = 2 * (n_gpus - 1) / n_gpus if kind == "all_reduce" else (n_gpus - 1) / n_gpus
    return size * bus / t / 1e9


def _nic(r: dict[str, str], catalog: Catalog) -> float:

    system = catalog.system(r["system"].strip())
    hw = resolve_hardware(catalog, system, fabric=r["fabric"].strip() or None)
    share = 1.0 if hw.net.fabric is None else float(hw.net.fabric.factor("ring", 2))
    return hw.net.out_bw * system.num_gpus / system.num_nics * share / 1e9


def _fabric_value(r: dict[str, str], catalog: Catalog, side: str) -> float:
    """Per-flow efficiency x the flow model's statistic for one side of a row."""

    rid = r["row_id"]
    pre = "baseline_" if side == "baseline" else ""
    name = (r.get(f"{pre}fabric") or "").strip() or r["fabric"].strip()
    system = catalog.system(r["system"].strip())
    spec = fabric_spec(catalog, system, name)
    routing = (r.get(f"{pre}routing") or "").strip()
    changes: dict[str, Any] = {}
    if routing:
        changes["routing"] = routing
    qps = _int(r, f"{pre}qps")
    if qps:
        changes["qps_per_connection"] = qps
    up = _float(r, "leaf_uplink_factor")
    if up:
        changes["leaf_uplink_factor"] = up
    cluster = _int(r, "cluster_gpus")
    if cluster:
        changes["max_gpus"] = cluster
    spec = spec.replace(**changes) if changes else spec
    n_gpus = _int(r, "num_gpus") or spec.max_gpus
    pattern = r["pattern"].strip()
    stat = r["statistic"].strip() or "factor"
    if stat not in ("factor", "throughput"):
        raise GigafleetError(
            f"unknown statistic {stat!r}; allowed: factor, throughput", field=f"{rid}: statistic"
        )
    failed = _float(r, f"{pre}failed_fraction", default=0.0) or 0.0
    res = pattern_factor(
        spec,
        pattern,
        max(1, math.ceil(n_gpus / spec.gpus_per_domain)),
        placement=r["placement"].strip() or "packed",
        failed_fraction=failed,
    )
    eff = catalog.fabric(spec.technology).bw_efficiency
    return eff * (res.throughput if stat == "throughput" else res.factor)


def predict_row(r: dict[str, str], *, catalog: Catalog) -> float:
    """The model's value of one row's metric."""
    metric = r["metric"].strip()
    if metric not in METRICS:
        raise GigafleetError(
            f"unknown metric {metric!r}; allowed: {', '.join(METRICS)}",
            field=f"{r['row_id']}: metric",
        )
    if metric == "busbw_GBps":
        return _busbw(r, catalog)
    if metric == "nic_GBps":
        return _nic(r, catalog)
    if metric == "throughput_fraction":
        return _fabric_value(r, catalog, "main")
    if metric == "retained_fraction":
        base = dict(r, failed_fraction=r.get("baseline_failed_fraction") or "0")
        return _fabric_value(r, catalog, "main") / _fabric_value(base, catalog, "main")
    return _fabric_value(r, catalog, "main") / _fabric_value(r, catalog, "baseline")


def _error(predicted: float, measured: float, bound: str) -> float:
    if bound == ">=" and predicted >= measured:
        return 0.0
    if bound == "<=" and predicted <= measured:
        return 0.0
    return 100.0 * (predicted - measured) / measured


def validate_collectives(
    path: str | Path | None = None, *, catalog: Catalog | None = None
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """Predict every row; returns the rows and the summary (same shape as validate training)."""
    catalog = catalog or load_catalog()
    path = Path(path) if path else PACKAGED
    out: list[ValidationRow] = []
    for r in read_csv(path, COLUMNS, kind="a collectives CSV"):
        rid = r["row_id"]
        kind = r["set"].strip() or "held_out"
        if kind not in SETS:
            raise GigafleetError(
                f"unknown set {kind!r}; allowed: {', '.join(SETS)}", field=f"{rid}: set"
            )
        vr = ValidationRow(
            rid, r["metric"].strip(), None, None, None, group=r["study"], fitted=kind == "fitted",
            details={"study": r["study"], "set": kind, "system": r["system"], "fabric": r["fabric"],
                     "num_gpus": r["num_gpus"], "collective": r["collective"] or r["pattern"],
                     "bound": r["bound"], "source": r.get("source", ""), "notes": r.get("notes", "")},
        )  # fmt: skip
        out.append(vr)
        vr.measured = _float(r, "measured")
        if kind == "skip":
            vr.skipped_reason = r["skip_reason"].strip() or "marked skip"
            continue
        if vr.measured is None or vr.measured == 0:
            vr.skipped_reason = "no measured value"
            continue
        if not r["system"].strip() or r["system"].strip() not in catalog.systems:
            vr.skipped_reason = f"system {r['system']!r} not in the catalog"
            continue
        vr.predicted = round(predict_row(r, catalog=catalog), 4)
        vr.error_pct = round(_error(vr.predicted, vr.measured, r["bound"].strip()), 2)
    summary = summarize(
        out,
        groups={
            "by_set": lambda r: r.details["set"],
            "by_metric": lambda r: r.metric or "?",
            "by_study": lambda r: r.group,
        },
    )
    held = [r.error_pct for r in out if r.error_pct is not None and r.details["set"] == "held_out"]
    summary["held_out"] = error_stats(held)
    summary["fitted_rows"] = [r.row_id for r in out if r.details["set"] == "fitted"]
    summary["routing_comparisons"] = [
        {
            "row_id": r.row_id,
            "measured": r.measured,
            "predicted": r.predicted,
            "same_direction": (r.predicted - 1) * (r.measured - 1) > 0,
            "error_pct": r.error_pct,
        }
        for r in out
        if r.metric == "speedup" and r.error_pct is not None
    ]
    return out, summary
