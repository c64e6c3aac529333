"""A serving deployment end to end: the roofline iteration model of each replica
(perf/inference.py), confidential-computing tolls (perf/tee.py), per-user adapter tiers
(perf/adapters.py) and the request simulator (the sim/serving package)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.cost import load_prices
from gigafleet.energy.serving import serving_power
from gigafleet.errors import GigafleetError
from gigafleet.perf import adapters as ad
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.inference import ServingReplica, best_offline_throughput, serving_replica
from gigafleet.perf.tee import tee_costs
from gigafleet.pipelines.cost import serving_cost
from gigafleet.sim import serving as sv
from gigafleet.spec.options import CostOptions
from gigafleet.spec.serving import ServeJob

#: A speculative draft step costs this fraction of a target decode iteration (a draft model
#: about a tenth the size of the target). Assumption.
DRAFT_COST_FRACTION = 0.1
#: Share of free HBM given to the adapter cache (the rest holds KV). Assumption.
ADAPTER_HBM_SHARE = 0.1


def build_workload(job: ServeJob, rng: np.random.Generator) -> sv.Workload:
    t = job.traffic
    if t.arrival == "trace":
        return sv.trace_workload(t.trace)
    n = t.num_requests
    arrivals = {
        "poisson": lambda: sv.poisson_arrivals(t.rate_per_s, n, rng),
        "bursty": lambda: sv.bursty_arrivals(t.rate_per_s, n, t.burst_cv, rng),
        "diurnal": lambda: sv.diurnal_arrivals(t.rate_per_s, n, t.peak_to_trough, t.period_s, rng),
    }[t.arrival]()

    def lengths(mean: float) -> np.ndarray:
        if t.length_sigma == 0:
            return sv.fixed_lengths(int(round(mean)), n)
        return sv.lognormal_lengths(mean, t.length_sigma, n, rng, max_tokens=t.max_tokens)

    prompt, output = lengths(t.prompt_tokens), lengths(t.output_tokens)
    extra: dict[str, Any] = {}
    if t.prefix_tokens:
        extra["prefix_id"] = rng.integers(0, t.num_prefixes, n)
        extra["prefix_tokens"] = np.minimum(t.prefix_tokens, prompt)
    if job.adapters is not None:
        users = ad.sample_users(job.adapters.num_users, job.adapters.zipf_s, n, rng)
        extra["user_id"] = users
        extra["adapter_id"] = users
    return sv.Workload(arrival_s=arrivals, prompt_tokens=prompt, output_tokens=output, **extra)


def _adapter_plan(job: ServeJob, rep: ServingReplica, catalog: Catalog) -> ad.AdapterPlan:
    a = job.adapters
    model = catalog.model(job.model)
    size = ad.adapter_bytes(model, a.rank, mlp=a.mlp)
    hw = resolve_hardware(catalog, job.system, fabric=job.fabric)
    system = catalog.system(job.system)
    host = catalog.host_of(system)
    hbm_free = rep.kv_capacity_tokens * rep.kv_bytes_per_token
    hbm = a.hbm_adapters if a.hbm_adapters is not None else ADAPTER_HBM_SHARE * hbm_free / size
    host_mem = (host.memory_gb or 0) * 1e9 * system.num_hosts / system.num_gpus * rep.num_gpus
    host_n = a.host_adapters if a.host_adapters is not None else 0.5 * host_mem / size
    tiers = [
        ad.Tier("hbm", hbm, hw.hbm_bw, 0.0),
        ad.Tier("host", host_n, hw.host_link_bw * rep.num_gpus, 1e-5),
        ad.Tier("nvme", a.nvme_adapters, a.nvme_bw_bytes_per_s, 1e-4),
        ad.Tier("remote", float(a.num_users), a.remote_bw_bytes_per_s, a.remote_latency_s),
    ]
    return ad.plan_adapters(num_users=a.num_users, zipf_s=a.zipf_s, size_bytes=size, tiers=tiers)


def run_serving(
    job: ServeJob,
    *,
    catalog: Catalog | None = None,
    trace_path: str | os.PathLike[str] | None = None,
    give_up_below: float | None = None,
) -> dict[str, Any]:
    """Simulate the deployment; return the simulator's summary plus the model's figures.

    ``give_up_below`` stops the run once the SLO attainment cannot reach it (raising
    :class:`gigafleet.sim.serving.SloMissed`), for a search that only asks whether it does.
    """
    catalog = catalog or load_catalog()
    rep = serving_replica(
        job.model, job.system, tp=job.tp, pp=job.pp, ep=job.ep, dp=job.dp,
        weight_precision=job.precision, kv_precision=job.kv_precision,
        max_batched_tokens=job.max_batched_tokens, catalog=catalog, fabric=job.fabric,
        engine=job.engine, redundant_experts=job.redundant_experts,
        two_batch_overlap=job.two_batch_overlap,
    )  # fmt: skip
    model = catalog.model(job.model)
    t = job.traffic
    if t.arrival != "trace" and (why := model.context_error(t.prompt_tokens, t.output_tokens)):
        raise GigafleetError(why, field="traffic.output_tokens")
    rng = np.random.default_rng(job.seed)
    wl = build_workload(job, rng)
    if t.arrival == "trace" and len(wl.arrival_s):
        k = int(np.argmax(wl.prompt_tokens + wl.output_tokens))  # the longest request
        why = model.context_error(float(wl.prompt_tokens[k]), float(wl.output_tokens[k]))
        if why:
            raise GigafleetError(f"{t.trace}: request {k + 1}: {why}", field="traffic.trace")
    rep = dataclasses.replace(rep, prompt_tokens_hint=float(np.mean(wl.prompt_tokens)))
    n = len(wl.arrival_s)
    delay = np.zeros(n)
    info: dict[str, Any] = {}
    # a verification step runs k + 1 queries per sequence (compute-bound attention scales)
    verify = (
        dataclasses.replace(rep, decode_queries=float(job.speculative_tokens + 1))
        if job.speculative_tokens
        else rep
    )
    iteration = verify.iteration_time
    decode_times = verify.decode_times
    if job.tee != "none":
        tee = tee_costs(job.tee, catalog)
        it_toll = tee.iteration_toll(model.num_layers)
        delay += tee.request_toll(model.num_layers)
        base, base_decode = verify.iteration_time, verify.decode_times

        def iteration(p: int, d: int, c: int) -> float:
            return base(p, d, c) + it_toll

        def decode_times(d: int, c: np.ndarray) -> np.ndarray:
            return base_decode(d, c) + it_toll

        info["tee"] = {
            "iteration_toll_s": it_toll,
            "request_toll_s": tee.request_toll(model.num_layers),
        }
    extra_time = None
    if job.adapters is not None:
        plan = _adapter_plan(job, rep, catalog)
        delay += plan.sample_load_s(n, rng)
        hbm_bw = resolve_hardware(catalog, job.system).hbm_bw * rep.num_gpus

        def extra_time(k: int) -> float:
            return ad.batch_overhead_s(k, plan.adapter_bytes, hbm_bw)

        info["adapters"] = {
            "adapter_bytes": plan.adapter_bytes,
            "tier_hit_rate": {t.name: p for t, p in zip(plan.tiers, plan.probability, strict=True)},
            "tier_load_s": {t.name: s for t, s in zip(plan.tiers, plan.load_s, strict=True)},
            "added_ttft_p50_s": plan.latency_quantile(0.5),
            "added_ttft_p99_s": plan.latency_quantile(0.99),
            "added_ttft_mean_s": plan.mean_load_s,
        }
    admission = (lambda i, r, now: float(delay[i])) if np.any(delay) else None
    spec = None
    if job.speculative_tokens:
        # MTP drafts cost one MTP module each; verification runs k + 1 queries per sequence
        mtp = job.draft == "mtp"
        draft_cost = rep.mtp_draft_fraction if mtp else DRAFT_COST_FRACTION
        spec = sv.SpecDecode(job.speculative_tokens, job.acceptance_rate, draft_cost)
    # the adapter cache takes its share of the free HBM from the KV cache
    kv_capacity = (
        int(rep.kv_capacity_tokens * (1 - ADAPTER_HBM_SHARE))
        if job.adapters
        else rep.kv_capacity_tokens
    )
    # Busy and idle replica power from the energy model (the iteration's phase mix at the
    # workload's mean lengths); scale-out switches count once the deployment spans systems.
    gpus_per_system = catalog.system(job.system).num_gpus
    power = serving_power(
        rep,
        prompt_tokens=float(np.mean(wl.prompt_tokens)),
        output_tokens=float(np.mean(wl.output_tokens)),
        include_scaleout=job.replicas * rep.num_gpus > gpus_per_system,
        catalog=catalog,
    )
    replicas = []
    for i in range(job.replicas):
        role = "both"
        if job.prefill_replicas:
            role = "prefill" if i < job.prefill_replicas else "decode"
        replicas.append(
            sv.ReplicaConfig(
                iteration_time=iteration,
                kv_capacity_tokens=kv_capacity,
                max_num_seqs=job.max_num_seqs * rep.dp,  # per attention-DP rank
                max_batched_tokens=rep.max_batched_tokens,
                prefix_cache_tokens=job.prefix_cache_tokens,
                role=role,
                power_busy_w=power.busy_w,
                power_idle_w=power.idle_w,
                extra_iteration_time=extra_time,
                admission_delay=admission,
                speculative=spec,
                decode_times=decode_times,
            )
        )
    kv = None
    if job.prefill_replicas:
        hw = resolve_hardware(catalog, job.system, fabric=job.fabric)
        kv = sv.KvTransfer(rep.kv_bytes_per_token, hw.net.out_bw * rep.num_gpus, hw.net.out_latency)
    res = sv.simulate(
        wl, replicas, router=job.router, kv_transfer=kv, slo=job.slo,
        trace_path=trace_path, seed=job.seed, give_up_below=give_up_below,
    )  # fmt: skip
    # Busy power at the mean iteration the simulation ran (its batch sets the phase mix:
    # small decode batches are memory-bound and draw less), then the energy again.
    if res.num_iterations:
        n_it = res.num_iterations
        dec = res.num_decode_tokens / n_it
        ctx = dec * (float(np.mean(wl.prompt_tokens)) + float(np.mean(wl.output_tokens)) / 2)
        power = serving_power(
            rep, prompt_tokens=float(np.mean(wl.prompt_tokens)),
            output_tokens=float(np.mean(wl.output_tokens)),
            iteration=(float(np.sum(wl.prompt_tokens)) / n_it, dec, ctx),
            include_scaleout=job.replicas * rep.num_gpus > gpus_per_system, catalog=catalog,
        )  # fmt: skip
        idle_s = np.maximum(res.makespan_s - res.busy_s, 0.0)
        res.energy_j = float(np.sum(res.busy_s * power.busy_w + idle_s * power.idle_w))
    tps, batch = best_offline_throughput(
        rep,
        prompt_tokens=float(np.mean(wl.prompt_tokens)),
        output_tokens=float(np.mean(wl.output_tokens)),
    )
    return {
        "model": rep.model,
        "system": rep.system,
        "replicas": job.replicas,
        "gpus": job.replicas * rep.num_gpus,
        "replica": {
            "tp": rep.tp,
            "pp": rep.pp,
            "ep": rep.ep,
            "dp": rep.dp,
            "precision": rep.weight_precision,
            "kv_precision": rep.kv_precision,
            "kv_capacity_tokens": rep.kv_capacity_tokens,
            "weights_gib_per_gpu": rep.weight_bytes_per_gpu / 2**30,
            "offline_tokens_per_s": tps,
            "offline_batch": batch,
        },  # fmt: skip
        "calibration": rep.calibration,
        "power": {
            "replica_busy_w": power.busy_w,
            "replica_idle_w": power.idle_w,
            "gpu_busy_w": power.gpu_busy_w,
            "gpu_idle_w": power.gpu_idle_w,
            "average_it_w": res.energy_j / res.makespan_s if res.makespan_s > 0 else 0.0,
            "peak_it_w": power.busy_w * job.replicas,
            "cooling": power.cooling,
        },
        "metrics": res.summary(),
        **info,
        **_metric_notes(res),
    }


def _metric_notes(res) -> dict[str, list[str]]:
    """Why a figure is missing (printed as null in JSON and ``-`` in tables)."""
    notes = []
    if res.num_requests and np.isnan(res.tpot_s).all():
        notes.append("no TPOT: no request produced a second output token")
    return {"metric_notes": notes} if notes else {}


def check_job(job: ServeJob, catalog: Catalog) -> None:
    """Names resolve and the replica fits, before any simulation."""
    catalog.model(job.model)
    catalog.system(job.system)
    if job.fabric:
        catalog.fabric_or_design(job.fabric)
    if job.tee != "none":
        tee_costs(job.tee, catalog)
        acc = catalog.accelerator(catalog.system(job.system).accelerator)
        if acc.vendor != "NVIDIA" or acc.generation not in (
            "hopper",
            "blackwell",
            "blackwell-ultra",
            "rubin",
        ):
            raise GigafleetError(
                f"{acc.name} has no GPU confidential-computing mode here (NVIDIA Hopper and later)",
                field="tee",
            )
    if job.draft == "mtp" and not catalog.model(job.model).mtp_layers:
        raise GigafleetError(
            f"{job.model} has no MTP modules to draft with; allowed: draft 'model'", field="draft"
        )
    if job.traffic.arrival == "trace" and not os.path.exists(job.traffic.trace or ""):
        raise GigafleetError(f"no such trace file: {job.traffic.trace}", field="traffic.trace")


def serving_report(
    job: ServeJob,
    *,
    cost: CostOptions | None = None,
    catalog: Catalog,
    trace_path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Simulate ``job`` (:func:`run_serving`) and add its cost per million output tokens:
    the report of ``gigafleet serve``."""
    check_job(job, catalog)
    cost = cost or CostOptions()
    load_prices(cost.prices, catalog=catalog)  # a bad prices file fails before any trace is written
    result = run_serving(job, catalog=catalog, trace_path=trace_path)
    m = result["metrics"]
    result["cost"] = serving_cost(
        system=result["system"], num_gpus=int(result["gpus"]),
        output_tokens_per_s=float(m["output_tokens_per_s"]),
        energy_j_per_output_token=float(m["energy_j_per_output_token"]),
        options=cost, catalog=catalog,
    )  # fmt: skip
    return result
