"""One recommendation service on one system, end to end: items ranked per GPU within the
latency budget (:mod:`gigafleet.perf.recsys`), the GPUs its peak hour needs, their power
(:mod:`gigafleet.energy`) and the cost per billion ranked items (:mod:`gigafleet.cost`).
What ``gigafleet recsys serve`` prints; the scenario sizes its feeds with the same model.

GPUs = ceil(peak items/s / items/s per GPU) rounded up to whole replicas; they are powered
and paid all day while demand follows the daily pattern (a raised cosine with the service's
peak over mean), so the cost per billion items is the day's GPU-hours at the owned (or
cloud) price over the items ranked that day.
"""

from __future__ import annotations

import math
from typing import Any

from gigafleet.errors import GigafleetError
from gigafleet.spec.options import CostOptions
from gigafleet.spec.recsys import RecsysJob


def service_model(job: Any, catalog: Any):
    """The ranking model of a service: the catalog's, with the service's HSTU changes."""
    from gigafleet.perf.recsys import with_hstu

    m = catalog.recsys_model(job.model)
    if job.hstu is not None:
        m = with_hstu(m, job.hstu.model_dump(exclude_none=True), field="hstu")
    return m


def service_capacity(job: Any, system: str, catalog: Any):
    """:func:`gigafleet.perf.recsys.recsys_capacity` with a service's fields."""
    from gigafleet.perf.recsys import recsys_capacity
    from gigafleet.perf.recsys.embeddings import read_trace

    trace = read_trace(job.access_trace) if job.access_trace else None
    return recsys_capacity(
        service_model(job, catalog), system, latency_budget_s=job.latency_budget_ms / 1e3,
        precision=job.precision, embedding_precision=job.embedding_precision,
        items_per_query=job.items_per_query, history=job.history_tokens,
        retrieval_candidates=job.retrieval_candidates, zipf_s=job.zipf_s, trace=trace,
        far=job.far_tier, far_tb_per_node=job.far_tb_per_node, catalog=catalog,
    )  # fmt: skip


def recsys_report(job: RecsysJob, *, cost: CostOptions | None = None, catalog: Any = None
                  ) -> dict[str, Any]:  # fmt: skip
    """Capacity per GPU, the deployment for the load (if given), power and cost."""
    import numpy as np

    from gigafleet.catalog import load_catalog
    from gigafleet.energy import accelerator_power_w, default_pue, system_power_w
    from gigafleet.pipelines.cost import NO_SERVER_PRICE, inputs_for

    catalog = catalog or load_catalog()
    cost = cost or CostOptions()
    cap = service_capacity(job, job.system, catalog)
    row = catalog.system(job.system)
    gpu_w = accelerator_power_w(row.accelerator, compute_frac=cap.compute_frac,
                                memory_frac=cap.memory_frac, comm_frac=0.0,
                                catalog=catalog)  # fmt: skip
    busy = cap.compute_frac + cap.memory_frac
    it_w = float(np.asarray(system_power_w(row, gpu_power_w=gpu_w, host_load=busy,
                                           catalog=catalog).per_gpu_w))  # fmt: skip
    idle_gpu = accelerator_power_w(row.accelerator, compute_frac=0.0, memory_frac=0.0,
                                   comm_frac=0.0, catalog=catalog)  # fmt: skip
    idle_w = float(np.asarray(system_power_w(row, gpu_power_w=idle_gpu, host_load=0.0,
                                             catalog=catalog).per_gpu_w))  # fmt: skip
    pue = float(default_pue(catalog.params.power.cooling_of(row.name), catalog=catalog))
    m = service_model(job, catalog)
    out: dict[str, Any] = {
        "model": m.name,
        "kind": m.kind,
        "system": row.name,
        "capacity": cap.to_dict(),
        "it_w_per_busy_gpu": it_w,
        "it_w_per_idle_gpu": idle_w,
        "pue": pue,
    }
    items_per_s = cap.items_per_s_per_gpu
    if job.has_load:
        mean = job.requests_per_day / 86400.0
        peak = mean * job.peak_to_mean
        gpus = math.ceil(peak / items_per_s / cap.gpus_per_replica) * cap.gpus_per_replica
        util = mean / (gpus * items_per_s)  # busy share over the day
        avg_w = idle_w + util * (it_w - idle_w)
        out["deployment"] = {
            "items_per_day": job.requests_per_day,
            "requests_per_day": job.queries_per_day,
            "peak_items_per_s": peak,
            "gpus": gpus,
            "replicas": gpus // cap.gpus_per_replica,
            "utilization_mean": util,
            "it_mw_peak": gpus * it_w / 1e6,
            "facility_mw_peak": gpus * it_w * pue / 1e6,
            "facility_mw_mean": gpus * avg_w * pue / 1e6,
            "energy_mwh_per_day": gpus * avg_w * pue * 24 / 1e6,
        }
        per_day = job.requests_per_day
        gpu_hours = gpus * 24.0
    else:
        per_day = items_per_s * 86400.0  # one GPU kept busy all day
        gpu_hours, avg_w = 24.0, it_w
    out["cost"] = _cost(job.system, cost, catalog, pue=pue, avg_w=avg_w,
                        gpu_hours=gpu_hours, items=per_day, no_price=NO_SERVER_PRICE,
                        inputs_for=inputs_for)  # fmt: skip
    return out


def _cost(system, options, catalog, *, pue, avg_w, gpu_hours, items, no_price, inputs_for):
    """Owned (when the server has a price) and cloud cost per billion ranked items."""
    from gigafleet.cost import load_prices, owned_cost_per_gpu_hour

    out: dict[str, Any] = {}
    cloud = options.price_usd_per_gpu_hour
    try:
        inputs = inputs_for(system, options, catalog=catalog, pue=pue)
    except GigafleetError as exc:
        if no_price not in str(exc):
            raise
        out["owned_skipped_reason"] = str(exc)
        if cloud is None:
            cloud = load_prices(options.prices, catalog=catalog).value("cloud_usd_per_gpu_hour")
    else:
        cloud = inputs.cloud_usd_per_gpu_hour
        owned = float(owned_cost_per_gpu_hour(avg_power_w_per_gpu=avg_w, inputs=inputs,
                                              utilization=1.0).total_usd_per_gpu_hour)  # fmt: skip
        out.update(owned_usd_per_gpu_hour=owned, notes=list(inputs.notes),
                   owned_usd_per_billion_items=owned * gpu_hours / items * 1e9)  # fmt: skip
    out["cloud_usd_per_gpu_hour"] = cloud
    out["cloud_usd_per_billion_items"] = cloud * gpu_hours / items * 1e9
    return out


__all__ = ["recsys_report", "service_capacity", "service_model"]
