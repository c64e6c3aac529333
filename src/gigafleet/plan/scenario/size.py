"""Size: what one GPU of a system kind does for each workload (a ``Fit``), from the models.

- a training run takes the fastest strategy ``plan_training`` finds at a power-of-two GPU
  count; the count is the smallest that finishes ``tokens`` within the deadline, with the
  wall-clock time stretched by the effective-training-time ratio of the reliability model
  (``size_training``);
- an LLM service gets the best replica shape (TP; for MoE wide expert parallelism with
  data-parallel attention; aggregated or disaggregated) and the largest batch whose
  iteration time meets the TPOT target and whose prefill meets the TTFT target, within the
  KV cache (``plan/serving.py:serving_capacity`` on ``perf/inference.py``). Per-user
  adapters add their batching cost, TEE mode its tolls (``size_llm``); the request
  simulator then derates that capacity until the SLO holds (``derate_to_slo``);
- a recommendation service takes ``perf/recsys``'s items ranked per second under its latency
  budget, on the replica shape and embedding tiers that serve the most per GPU
  (``size_recsys``);
- an adapter refresh takes the tokens per GPU of its best LoRA job (``refresh.py``).

Sizing is per system kind (and fabric and cooling), not per pool: ``fit_for`` keeps every
fit in the scenario state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gigafleet.catalog import Catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf import adapters as ad
from gigafleet.perf.fabric.effective import fabric_summary
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.recsys.embeddings import read_trace
from gigafleet.perf.tee import tee_costs
from gigafleet.pipelines.recsys import service_capacity, service_model
from gigafleet.plan.scenario.models import Models
from gigafleet.plan.scenario.pools import Pool
from gigafleet.plan.scenario.refresh import size_adapter_refresh
from gigafleet.plan.scenario.workloads import service_kind
from gigafleet.plan.serving import deployment_fields, serving_capacity
from gigafleet.plan.training import plan_training
from gigafleet.sim.deployment import run_serving
from gigafleet.sim.serving import SloMissed
from gigafleet.spec.scenario import (
    AdapterRefresh,
    LlmService,
    PersonalizedService,
    PrivateService,
    RecommendationService,
    TrainingRun,
)
from gigafleet.spec.serving import Adapters, ServeJob, Traffic

if TYPE_CHECKING:
    from gigafleet.plan.scenario.state import ScenarioState

#: Replicas and requests (at least, per replica and running sequence) simulated to check a
#: service's replica shape against its SLOs; a disaggregated shape gets up to
#: ``SLO_SIM_MAX_REPLICAS`` so that its prefill share is split within ``SLO_SIM_SHARE_TOL``.
SLO_SIM_REPLICAS = 2
SLO_SIM_MAX_REPLICAS = 12
SLO_SIM_SHARE_TOL = 0.15
SLO_SIM_REQUESTS_PER_SLOT = 4
#: Share of requests that must meet both SLO targets at the sized capacity; below it the
#: capacity is derated by ``SLO_DERATE`` and simulated again (at most ``SLO_MAX_DERATES``).
SLO_TARGET = 0.99
SLO_DERATE = 0.8
SLO_MAX_DERATES = 6
#: A service placed within this share of its capacity (placements round GPUs to whole
#: replicas: the peak-hour load of a service sized at capacity is 99.8-99.99% in the
#: examples) reports the simulation its sizing ran at the capacity, a slightly higher load,
#: instead of simulating again (an estimate: a 0.5% change in load moves a p99 latency less
#: than the sampling noise of the few thousand requests simulated).
SLO_REUSE_LOAD_TOL = 0.005
#: Vendors whose GPUs have a confidential-computing mode the TEE model covers (NVIDIA
#: Hopper and later: H100 CC mode, Blackwell TEE-I/O).
TEE_GENERATIONS = ("hopper", "blackwell", "blackwell-ultra", "rubin")


@dataclass
class Fit:
    """What one GPU of a system kind does for one workload (0 capacity: cannot run it)."""

    capacity_per_gpu: float  # demand units per second per GPU
    power_w_per_gpu: float  # IT watts per busy GPU (GPU, host, NIC and switch shares)
    detail: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    # an LLM service's serving_capacity result (its shape, for simulating the deployment)
    capacity: dict[str, Any] | None = field(default=None, repr=False)
    # the SLO simulation at this capacity (derate_to_slo's last), load 1.0
    slo_at_capacity: dict[str, float] | None = field(default=None, repr=False)


def fit_for(
    state: ScenarioState, work: Any, pool: Pool, *, gpu_cap: int | None = None,
    deadline_days: float | None = None,
) -> Fit:  # fmt: skip
    """``work`` sized on ``pool``'s system kind, once per (workload, system, fabric, cooling)
    and, for a training run, per usable GPU count and deadline; kept in ``state.fit_cache``
    (training plans by GPU count in ``state.plans``, shared between pools)."""
    key: tuple[Any, ...] = (work.name, pool.system, pool.fabric, pool.cooling)
    if isinstance(work, TrainingRun):  # its size depends on the GPUs it may use
        usable = min(pool.num_gpus, work.max_gpus or pool.num_gpus, gpu_cap or pool.num_gpus)
        key += (usable, deadline_days)
    cache = state.fit_cache
    if key not in cache:
        state.say(f"sizing {work.name} on {pool.system}")
        catalog, models = state.catalog, state.models
        if isinstance(work, TrainingRun):
            cache[key] = size_training(
                work, pool, catalog, models, gpu_cap=gpu_cap, deadline_days=deadline_days,
                evaluations=state.plans,
            )  # fmt: skip
        elif isinstance(work, RecommendationService):
            cache[key] = size_recsys(work, pool, catalog, models)
        elif isinstance(work, AdapterRefresh):
            cache[key] = size_adapter_refresh(work, pool, catalog)
        else:
            cache[key] = size_llm(work, pool, catalog, models)
    return cache[key]


def _pow2_at_least(x: float) -> int:
    """The smallest power of two at least ``x`` (1 for ``x <= 1``)."""
    return 1 << max(0, math.ceil(math.log2(max(x, 1.0))))


def size_training(
    run: TrainingRun,
    pool: Pool,
    catalog: Catalog,
    models: Models,
    *,
    gpu_cap: int | None = None,
    deadline_days: float | None = None,
    evaluations: dict[tuple[Any, ...], Any] | None = None,
) -> Fit:
    """Smallest power-of-two GPU count that meets the deadline (failures included), and the
    fastest strategy there; past the GPUs it may use (the pool, ``run.max_gpus``,
    ``gpu_cap``), the best it can do. ``deadline_days`` replaces the run's deadline (e.g.
    the pool retires sooner)."""
    deadline = deadline_days if deadline_days is not None else run.deadline_days

    acc = catalog.accelerator(pool.accelerator)
    if acc.dense_flops(run.precision) is None:
        return Fit(0.0, 0.0, reason=f"memory/precision: {acc.name} has no {run.precision}")
    cap = min(pool.num_gpus, run.max_gpus or pool.num_gpus, gpu_cap or pool.num_gpus)
    if cap < 1:
        return Fit(0.0, 0.0, reason="GPUs: none free")
    top = 1 << int(math.log2(cap))  # the largest power of two the pool holds
    # the plans of one run on one system kind, by GPU count (shared between pools)
    shared = evaluations if evaluations is not None else {}
    tried: dict[int, dict[str, Any] | None] = {}

    def evaluate(n: int) -> dict[str, Any] | None:
        if n in tried:
            return tried[n]
        key = (run.name, pool.system, pool.fabric, n)
        if key in shared:
            tried[n] = shared[key]
            return tried[n]
        try:
            plan = plan_training(
                run.model, pool.system, num_gpus=n, seq_len=run.seq_len,
                global_batch=run.global_batch, precisions=(run.precision,),
                train_tokens=run.tokens, fabric=pool.fabric, pue=pool.pue, cooling=pool.cooling,
                catalog=catalog, top_k=1,
            )  # fmt: skip
        except GigafleetError:
            plan = None
        if plan is None or plan.order.size == 0:
            tried[n] = shared[key] = None
            return None
        i = int(plan.order[0])
        tps = float(plan.metrics["tokens_per_s"][i])
        rel = models.training_wall(
            model=run.model, num_gpus=n, ideal_s=run.tokens / tps, system=pool.system
        )
        step = float(plan.metrics["step_time_s"][i])
        # the energy model's facility energy per step, back to IT watts per GPU
        it_w = float(plan.metrics["energy_j_per_step"][i]) / step / n / pool.pue
        strategy = {k: float(v[i]) for k, v in plan.strategies.items()}
        hw = resolve_hardware(catalog, pool.system, fabric=pool.fabric, num_gpus=n)
        fabric = fabric_summary(
            hw, num_gpus=n, **{k: int(strategy[k]) for k in ("tp", "pp", "cp", "ep")},
            breakdown_s={k: float(v[i]) for k, v in plan.breakdown.items()}, step_time_s=step,
        )  # fmt: skip
        tried[n] = {
            "num_gpus": n,
            "tokens_per_s": tps,
            "step_time_s": step,
            "it_w_per_gpu": it_w,
            "mfu": float(plan.metrics["mfu"][i]),
            "strategy": strategy,
            "fabric": fabric,
            "ideal_days": run.tokens / tps / 86400,
            "days": rel["wall_s"] / 86400,
            **{k: v for k, v in rel.items() if k != "wall_s"},
        }
        shared[key] = tried[n]
        return tried[n]

    # Throughput per GPU changes slowly with the count: jump to the count the last
    # evaluation says is needed, then walk by factors of two to the smallest count that
    # meets the deadline (or the pool's largest power of two).
    def meets(r: dict[str, Any] | None) -> bool:
        return r is not None and r["days"] <= deadline

    n = min(1024, top)
    while evaluate(n) is None and n < top:
        n = min(2 * n, top)
    best = evaluate(n)
    if best is not None:
        n = min(top, max(1, _pow2_at_least(n * best["days"] / deadline)))
        while not meets(evaluate(n)) and n < top:
            n = min(2 * n, top)
        while n > 1 and meets(evaluate(n // 2)):
            n //= 2
        best = evaluate(n) or best
    if best is None:
        return Fit(
            0.0,
            0.0,
            reason=f"memory: no strategy fits {run.model} on {pool.system} at up to {cap} GPUs",
        )
    best["meets_deadline"] = best["days"] <= run.deadline_days
    return Fit(best["tokens_per_s"] / best["num_gpus"], best["it_w_per_gpu"], best)


def _serve_job(svc, pool: Pool, **fields: Any):
    """The ServeJob of ``svc`` on ``pool``'s system (shape fields and traffic in ``fields``)."""

    traffic = fields.pop("traffic", None) or Traffic(
        prompt_tokens=svc.prompt_tokens, output_tokens=svc.output_tokens
    )
    return ServeJob(
        model=svc.model, system=pool.system, precision=svc.precision, fabric=pool.fabric,
        tee=svc.tee if isinstance(svc, PrivateService) else "none",
        traffic=traffic, slo=svc.slo,
        adapters=Adapters(num_users=svc.num_users, rank=svc.adapter_rank, zipf_s=svc.zipf_s)
        if isinstance(svc, PersonalizedService) else None,
        **fields,
    )  # fmt: skip


def size_llm(
    svc: LlmService, pool: Pool, catalog: Catalog, models: Models, *, derate: float | None = None
) -> Fit:
    """Best requests/s per GPU over every replica shape (TP; wide EP with data-parallel
    attention for MoE; aggregated or disaggregated), at the largest batch meeting the SLO
    within the KV cache (:func:`gigafleet.plan.serving.serving_capacity`), then derated until
    the request simulator meets the SLO (:func:`derate_to_slo`), or by ``derate`` if given
    (a what-if reusing the derating its base run simulated)."""

    model = catalog.model(svc.model)
    acc = catalog.accelerator(pool.accelerator)
    if acc.dense_flops(svc.precision) is None:
        return Fit(0.0, 0.0, reason=f"memory/precision: {acc.name} has no {svc.precision}")
    kind = service_kind(svc)
    toll_iter = toll_req = 0.0
    if kind == "private":
        if acc.vendor != "NVIDIA" or acc.generation not in TEE_GENERATIONS:
            return Fit(0.0, 0.0, reason=f"policy: {acc.name} has no confidential-computing mode")
        tee = tee_costs(svc.tee, catalog)
        toll_iter = tee.iteration_toll(model.num_layers)
        toll_req = tee.request_toll(model.num_layers)
    extra = None
    if kind == "personalized":
        size = ad.adapter_bytes(model, svc.adapter_rank)

        def extra(batch: int, rep: Any) -> float:
            distinct = ad.distinct_in_batch(svc.num_users, svc.zipf_s, batch)
            return ad.batch_overhead_s(distinct, size, rep.num_gpus * acc.hbm_bw_bytes_per_s)

    try:
        cap = serving_capacity(
            _serve_job(svc, pool), catalog=catalog, iteration_toll_s=toll_iter,
            request_toll_s=toll_req, extra_iteration_s=extra,
        )  # fmt: skip
    except GigafleetError:
        return Fit(
            0.0, 0.0,
            reason=f"memory/SLO: no replica of {model.name} on {pool.system} fits and meets "
            f"TTFT {svc.slo.ttft_s} s / TPOT {svc.slo.tpot_s} s",
        )  # fmt: skip
    rep, batch = cap["replica"], cap["batch"]
    p_tok, o_tok = svc.prompt_tokens, svc.output_tokens
    power = models.serving_w_per_gpu(
        rep, prompt_tokens=p_tok, output_tokens=o_tok, batch=batch, cooling=pool.cooling
    )
    detail = {
        **deployment_fields(cap, 1),
        "pp": rep.pp,
        "batch": batch,
        "disaggregated": cap["disaggregated"],
        "gpus_per_replica": rep.num_gpus,
        "output_tokens_per_s_per_gpu": cap["output_tokens_per_s_per_gpu"],
    }
    fit = Fit(cap["requests_per_s_per_gpu"], power, detail, capacity=cap)
    if derate is not None:
        import dataclasses

        detail["slo_derate"] = derate
        return dataclasses.replace(fit, capacity_per_gpu=fit.capacity_per_gpu * derate)
    return derate_to_slo(svc, pool, fit, catalog)


def size_recsys(svc: RecommendationService, pool: Pool, catalog: Catalog, models: Models) -> Fit:
    """Items ranked per second per GPU at the largest batch whose tail latency fits the
    budget, on the best replica shape (``perf/recsys``: tables sharded over the scale-up
    domain, a hot-row cache in HBM, cold rows in host memory), and the IT watts of a GPU
    doing it. A model that cannot meet the budget or hold its tables on this system gets
    no capacity here, with the reason."""

    service_model(svc, catalog)  # a bad HSTU change is the user's error, not a capacity limit
    if svc.access_trace:
        read_trace(svc.access_trace)
    try:
        cap = service_capacity(svc, pool.system, catalog)
    except GigafleetError as exc:
        return Fit(0.0, 0.0, reason=f"memory/latency: {exc.field}: {exc.message}")
    power = models.it_w_per_gpu(
        pool.system,
        compute_frac=cap.compute_frac,
        memory_frac=cap.memory_frac,
        cooling=pool.cooling,
    )
    tiers = cap.tiers
    return Fit(
        cap.inferences_per_s_per_gpu,
        power,
        {"batch": cap.batch, "p99_latency_s": cap.p99_latency_s,
         "gpus_per_replica": cap.gpus_per_replica, "calibration": cap.calibration,
         "bound": cap.bound, "queries_per_s_per_gpu": cap.queries_per_s_per_gpu,
         "flops_per_request": cap.flops_per_unit * (1 if cap.kind == "hstu" else svc.items_per_query),
         "embedding_tiers": {"hbm": tiers["hit_hbm"], "host": tiers["hit_host"],
                             "far": tiers["hit_far"], "host_link": tiers["host_link"],
                             "table_bytes": tiers["table_bytes"]},
         "clock_fraction": cap.clock_fraction, "unit_time_s": cap.unit_time_s},
    )  # fmt: skip


# ---- SLO check ---------------------------------------------------------------------------------


def sim_replicas(capacity: dict[str, Any]) -> int:
    """Replicas to simulate: two, or for a disaggregated shape the fewest (up to
    ``SLO_SIM_MAX_REPLICAS``) whose whole prefill replicas come within ``SLO_SIM_SHARE_TOL``
    of its prefill share (a 1:1 split of a 20% prefill share would starve decode)."""
    share = capacity.get("prefill_share", 0.0) if capacity.get("disaggregated") else 0.0
    if share <= 0:
        return SLO_SIM_REPLICAS
    for n in range(SLO_SIM_REPLICAS, SLO_SIM_MAX_REPLICAS + 1):
        n_p = min(max(1, round(n * share)), n - 1)
        if abs(n_p / n - share) <= SLO_SIM_SHARE_TOL * min(share, 1 - share):
            return n
    return SLO_SIM_MAX_REPLICAS


def slo_attainment(
    svc, pool: Pool, f: Fit, *, load: float, catalog: Catalog, give_up_below: float | None = None
) -> dict[str, float]:
    """Simulate a few replicas of the placed shape at the peak-hour load per replica
    (``give_up_below``: see :func:`gigafleet.sim.deployment.run_serving`)."""

    d = f.detail
    replicas = sim_replicas(f.capacity)
    rate = max(load, 0.05) * f.capacity_per_gpu * d["gpus_per_replica"] * replicas
    num_requests = max(2000, SLO_SIM_REQUESTS_PER_SLOT * replicas * d["batch"])
    traffic = Traffic(rate_per_s=rate, num_requests=num_requests,
                      prompt_tokens=svc.prompt_tokens, output_tokens=svc.output_tokens)  # fmt: skip
    shape = deployment_fields(f.capacity, replicas)
    job = _serve_job(svc, pool, pp=d["pp"], traffic=traffic, **shape)
    out = run_serving(job, catalog=catalog, give_up_below=give_up_below)
    m = out["metrics"]
    res = {
        "load": load,
        "slo_attainment": m["slo_attainment"],
        "ttft_p99_s": m["ttft_p99_s"],
        "tpot_p99_s": m["tpot_p99_s"],
    }
    if "adapters" in out:
        res["adapter_hit_rate"] = out["adapters"]["tier_hit_rate"]
        res["adapter_added_ttft_p99_s"] = out["adapters"]["added_ttft_p99_s"]
    return res


def derate_to_slo(svc, pool: Pool, f: Fit, catalog: Catalog) -> Fit:
    """The analytic capacity, lowered until the request simulator meets the SLO there
    (queueing, chunked prefill and preemption are what the analytic sizing leaves out).

    Every simulation but the last allowed one gives up as soon as the SLO is out of reach
    (its only use is the verdict); the one whose attainment is reported runs to the end."""
    import dataclasses

    factor = 1.0
    for derates in range(SLO_MAX_DERATES + 1):
        final = derates == SLO_MAX_DERATES
        try:
            res = slo_attainment(
                svc, pool, f, load=1.0, catalog=catalog,
                give_up_below=None if final else SLO_TARGET,
            )  # fmt: skip
        except SloMissed:
            res = None
        if final or (res is not None and res["slo_attainment"] >= SLO_TARGET):
            break
        factor *= SLO_DERATE
        f = dataclasses.replace(f, capacity_per_gpu=f.capacity_per_gpu * SLO_DERATE)
    assert res is not None  # the final simulation runs to the end
    f.detail["slo_derate"] = factor
    f.detail["slo_attainment_at_capacity"] = res["slo_attainment"]
    return dataclasses.replace(f, slo_at_capacity=res)


def slo_at_load(svc, pool: Pool, f: Fit, *, load: float, catalog: Catalog) -> dict[str, float]:
    """:func:`slo_attainment` at ``load``, or the sizing's simulation at the capacity when
    ``load`` is within ``SLO_REUSE_LOAD_TOL`` of it."""
    if f.slo_at_capacity is not None and load >= 1.0 - SLO_REUSE_LOAD_TOL:
        return dict(f.slo_at_capacity)
    return slo_attainment(svc, pool, f, load=load, catalog=catalog)
