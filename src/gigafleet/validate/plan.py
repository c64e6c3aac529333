"""Agreement with experts: where the published, hand-tuned strategy ranks in the planner.

For every row of the training ground truth that the model can express, the planner
evaluates its whole space for the same model, system, GPU count, sequence length, global
batch and precision (and the row's framework settings: offload, MoE overlap and
dispatcher), with the published strategy added to the space. Reported per row: the
published strategy's rank among the feasible strategies by predicted step time (as a
percentile: 0% is the best), and the predicted gap between the planner's best and it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.enums import DISPATCHERS, PRECISIONS, RECOMPUTE
from gigafleet.errors import GigafleetError
from gigafleet.perf.training import Reason
from gigafleet.plan.training import plan_training
from gigafleet.validate.report import ValidationRow, error_stats
from gigafleet.validate.training import default_data_path, predict_row, read_rows

TOP_FRACTION = 0.10


def plan_agreement_row(
    catalog: Catalog, row: dict[str, str], *, cache: dict | None = None
) -> dict[str, Any]:
    """Rank of the published strategy of one row in the planner's space.

    ``cache`` holds results by planning problem: releases that repeat a configuration share it.
    """
    p = predict_row(catalog, row)
    if p["reason_code"] not in (Reason.FEASIBLE, Reason.MEMORY):
        raise GigafleetError("the published strategy is not expressible", field="strategy")
    r = p["resolved"]
    published = {
        "num_gpus": [r["num_gpus"]],
        "tp": [r["tp"]],
        "pp": [r["pp"]],
        "vp": [r["vp"]],
        "cp": [r["cp"]],
        "ep": [r["ep"]],
        "micro_batch": [r["micro_batch"]],
        "zero": [r["zero"]],
        "recompute": [RECOMPUTE.index(r["recompute"])],
        "precision": [PRECISIONS.index(r["precision"])],
    }
    key = (
        r["model"].name, r["system"], r["num_gpus"], r["seq_len"], r["global_batch"], r["precision"],
        r["offload"], r["ep_overlap"], r["ep_dispatcher"], r["workload"], r["flash_attention"],
        tuple(v[0] for v in published.values()),
    )  # fmt: skip
    if cache is not None and key in cache:
        return cache[key]
    plan = plan_training(
        r["model"].name,
        r["system"],
        num_gpus=int(r["num_gpus"]),
        seq_len=int(r["seq_len"]),
        global_batch=int(r["global_batch"]),
        precisions=(r["precision"],),
        offload=r["offload"],
        ep_overlap=r["ep_overlap"],
        ep_dispatcher=r["ep_dispatcher"],
        workload=r["workload"],
        flash_attention=r["flash_attention"],
        catalog=catalog,
        extra=published,
    )
    pub = plan.num_considered - 1  # the published strategy was appended last
    step = plan.metrics["step_time_s"]
    best = int(plan.order[0]) if plan.order.size else pub
    feasible_pub = bool(plan.feasible[pub])
    faster = int(np.sum(step[plan.order] < step[pub])) if feasible_pub else plan.num_feasible
    result = {
        "model": plan.model,
        "system": plan.system,
        "num_considered": plan.num_considered,
        "num_feasible": plan.num_feasible,
        "published_feasible": feasible_pub,
        "rank": faster + 1,
        "rank_pct": 100.0 * faster / max(plan.num_feasible, 1),
        "gap_pct": 100.0 * (step[pub] - step[best]) / step[pub],
        "best": plan.row(best),
        "published_step_s": float(step[pub]),
    }
    if cache is not None:
        cache[key] = result
    return result


def validate_plan(
    data: str | os.PathLike[str] | None = None, *, catalog: Catalog | None = None
) -> tuple[list[ValidationRow], dict[str, Any]]:
    """Per row: the published strategy's rank percentile (``error_pct`` holds it) and the gap."""
    catalog = catalog or load_catalog()
    rows = read_rows(data or default_data_path())
    out: list[ValidationRow] = []
    cache: dict = {}
    for row in rows:
        vr = ValidationRow(row.get("row_id", ""), "published_rank_pct", None, None, None)
        out.append(vr)
        try:
            a = plan_agreement_row(catalog, row, cache=cache)
        except GigafleetError as exc:
            vr.skipped_reason = f"cannot express: {exc}"
            continue
        if not a["published_feasible"]:
            vr.skipped_reason = "the published strategy does not fit in memory in our model"
            continue
        vr.predicted = round(a["rank_pct"], 3)
        vr.error_pct = vr.predicted
        vr.group = (row.get("study") or "").split(" (")[0]
        best = a["best"]
        vr.details = {
            "model": a["model"],
            "system": a["system"],
            "rank": a["rank"],
            "num_feasible": a["num_feasible"],
            "num_considered": a["num_considered"],
            "gap_pct": round(a["gap_pct"], 2),
            "planner_best": {
                k: best[k]
                for k in ("tp", "pp", "vp", "cp", "ep", "dp", "micro_batch", "zero", "recompute")
            },
        }
    done = [r for r in out if r.error_pct is not None]
    in_top = [r for r in done if r.error_pct <= 100 * TOP_FRACTION]
    gaps = [r.details["gap_pct"] for r in done]
    summary = {
        "num_rows": len(out),
        "num_predicted": len(done),
        "in_top_10pct_fraction": round(len(in_top) / len(done), 4) if done else 0.0,
        "rank_pct": error_stats(r.error_pct for r in done),
        "gap_pct": error_stats(gaps),
        "best_slower_than_published": sum(1 for g in gaps if g < -1e-9),
        "median_abs_error_pct": error_stats(r.error_pct for r in done)["median_abs_error_pct"],
        "p90_abs_error_pct": error_stats(r.error_pct for r in done)["p90_abs_error_pct"],
    }
    return out, summary


__all__ = ["DISPATCHERS", "plan_agreement_row", "validate_plan"]
