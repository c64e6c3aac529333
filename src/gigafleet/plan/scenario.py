"""A whole scenario: size every workload on every kind of system, place the work on the
fleet period by period, and gather what the report shows.

Sizing (per workload and system kind, from the models):

- a training run takes the fastest strategy ``plan_training`` finds at a power-of-two GPU
  count; the count is the smallest that finishes ``tokens`` within the deadline, with the
  wall-clock time stretched by the effective-training-time ratio of the reliability model;
- an LLM service gets the replica shape (TP, and EP for MoE) and the largest batch whose
  iteration time meets the TPOT target and whose prefill meets the TTFT target, within the
  KV cache (``perf/inference.py``); its capacity is ``B / (t_iter x output_tokens)``
  requests/s per replica. Per-user adapters add their batching cost, TEE mode its tolls;
- a recommendation service takes ``perf/recsys.py``'s throughput under its latency budget.

Placement (per period): training runs are gang-scheduled first, each on one pool (a system
kind at a site) for every period it covers, within the pool's free GPUs, the site's power
room and the pool's retirement (sized again within whichever binds). Services then share
what is left through one integer program (HiGHS) in whole replicas: ``n[w,p]`` replicas of
``g[w,p]`` GPUs of pool ``p`` for service ``w``,

    minimise   sum c[w,p] g n[w,p]       (after minimising sum u[w] / D[w] first)
    subject to sum_p cap[w,p] g n[w,p] + u[w] >= D[w]          (peak demand, or unmet u)
               sum_w g n[w,p] <= GPUs of p in service            (inventory)
               sum_{w,p at s} P[w,p] g n[w,p] <= cap_s - idle_s - training_s   (site power)

where ``c`` is the hourly cost of a busy GPU (for owned GPUs the electricity above their
idle draw, for cloud ones the price) and ``P`` its facility power above idle (installed
GPUs draw their idle power whether used or not). Policies remove pairs (TEE work off
non-TEE sites, residency, cloud bursting). Unmet demand is reported with the constraint
that binds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.spec.scenario import (
    LlmService,
    PersonalizedService,
    PrivateService,
    RecommendationService,
    Scenario,
    TrainingRun,
    check_names,
    month_index,
    month_text,
)

#: Weight of unmet (normalised) demand in the placement program's first phase.
UNMET_PENALTY = 1e9
#: Replicas and requests (at least, per replica and running sequence) simulated to check a
#: service's replica shape against its SLOs.
SLO_SIM_REPLICAS = 2
SLO_SIM_REQUESTS_PER_SLOT = 4
#: Share of requests that must meet both SLO targets at the sized capacity; below it the
#: capacity is derated by ``SLO_DERATE`` and simulated again (at most ``SLO_MAX_DERATES``).
SLO_TARGET = 0.99
SLO_DERATE = 0.8
SLO_MAX_DERATES = 6
#: Unmet demand below this share of the demand is whole-replica rounding, not a shortfall.
UNMET_TOLERANCE = 1e-3
#: Vendors whose GPUs have a confidential-computing mode the TEE model covers (NVIDIA
#: Hopper and later: H100 CC mode, Blackwell TEE-I/O).
TEE_GENERATIONS = ("hopper", "blackwell", "blackwell-ultra", "rubin")

Progress = Callable[[str], None]


@dataclass
class Pool:
    """Systems of one kind at one site."""

    index: int
    where: tuple[Any, ...]  # its place in the scenario file: ("sites", i, "fleet", j)
    site: str
    site_kind: str
    region: str
    system: str
    accelerator: str
    generation: str
    vendor: str
    gpus_per_system: int
    num_gpus: int
    arrive: int
    retire: int | None
    fabric: str | None
    pue: float
    cooling: str
    tee: bool
    price_usd_per_gpu_hour: float | None
    usd_per_gpu: float | None
    electricity_usd_per_mwh: float
    grid_gco2_per_kwh: float

    def active(self, month: int) -> bool:
        return self.arrive <= month and (self.retire is None or month < self.retire)


@dataclass
class Fit:
    """What one GPU of a system kind does for one workload (0 capacity: cannot run it)."""

    capacity_per_gpu: float  # demand units per second per GPU
    power_w_per_gpu: float  # IT watts per busy GPU (GPU, host, NIC and switch shares)
    detail: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass
class ScenarioResult:
    scenario: str
    months: list[int]
    pools: list[Pool]
    sites: list[dict[str, Any]]
    periods: list[dict[str, Any]]
    training: list[dict[str, Any]]
    services: list[dict[str, Any]]
    generations: list[dict[str, Any]]
    costs: dict[str, Any]
    unplaced: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "periods": [month_text(m) for m in self.months],
            "sites": self.sites,
            "timeline": self.periods,
            "training": self.training,
            "services": self.services,
            "generations": self.generations,
            "costs": self.costs,
            "unplaced": self.unplaced,
            "warnings": self.warnings,
            "totals": self.totals(),
        }

    def totals(self) -> dict[str, float]:
        """Headline figures (what ``gigafleet compare`` sets side by side)."""
        mw = [sum(s["facility_mw"] for s in p["sites"]) for p in self.periods]
        gpus = [sum(s["gpus"] for s in p["sites"]) for p in self.periods]
        served = [s for s in self.services if s.get("gpus", 0) > 0]
        return {
            "gpus_peak": float(max(gpus, default=0)),
            "facility_mw_peak": float(max(mw, default=0.0)),
            "training_days_max": float(max((t["days"] for t in self.training), default=0.0)),
            "training_cost_usd": float(sum(t["cost_usd"] for t in self.training)),
            "training_energy_gwh": float(sum(t["energy_gwh"] for t in self.training)),
            "serving_cost_usd_per_year": float(sum(s["cost_usd_per_hour"] for s in served) * 8766),
            "slo_attainment_min": float(
                min((s["slo_attainment"] for s in self.services), default=1.0)
            ),
            "num_unplaced": float(len(self.unplaced)),
        }


# ---- resolution -----------------------------------------------------------------------------


def site_cooling(site: Any, catalog: Catalog | None = None) -> str:
    """The site's cooling: given, else that of its first system in the power catalog."""
    from gigafleet.energy.params import load_power_params

    return site.cooling or load_power_params(catalog).cooling_of(site.fleet[0].system)


def site_pue(site: Any, catalog: Catalog | None = None) -> float:
    """The site's PUE: given, else the default of its cooling (air 1.5, liquid 1.10)."""
    from gigafleet.energy import default_pue

    if site.pue is not None:
        return float(site.pue)
    return float(default_pue(site_cooling(site, catalog), catalog=catalog))


def resolve(scn: Scenario, catalog: Catalog) -> list[Pool]:
    """One pool per site deployment (names checked by ``check_names``)."""
    check_names(scn, catalog)
    pools = []
    for i, site in enumerate(scn.sites):
        for j, dep in enumerate(site.fleet):
            system = catalog.system(dep.system)
            acc = catalog.accelerator(system.accelerator)
            pools.append(
                Pool(
                    index=len(pools),
                    where=("sites", i, "fleet", j),
                    site=site.name,
                    site_kind=site.kind,
                    region=site.region,
                    system=system.name,
                    accelerator=acc.name,
                    generation=acc.generation,
                    vendor=getattr(acc, "vendor", "") or "",
                    gpus_per_system=system.num_gpus,
                    num_gpus=dep.count * system.num_gpus,
                    arrive=month_index(dep.arrive),
                    retire=month_index(dep.retire) if dep.retire else None,
                    fabric=dep.fabric,
                    pue=site_pue(site, catalog),
                    cooling=site_cooling(site, catalog),
                    tee=site.confidential_computing,
                    price_usd_per_gpu_hour=site.price_usd_per_gpu_hour,
                    usd_per_gpu=dep.usd_per_gpu,
                    electricity_usd_per_mwh=site.electricity_usd_per_mwh,
                    grid_gco2_per_kwh=site.grid_gco2_per_kwh,
                )  # fmt: skip
            )
    return pools


# ---- the models the scenario leans on (power, reliability, cost) --------------------------


class Models:
    """Power, reliability and cost of a pool, from the pure models of ``energy/``,
    ``reliability/`` and ``cost/``."""

    def __init__(self, catalog: Catalog, scn: Scenario):
        self.catalog = catalog
        self.scn = scn
        self.warnings: list[str] = []
        self._inputs: dict[int, Any] = {}

    def it_w_per_gpu(
        self, system: str, *, compute_frac: float, memory_frac: float, comm_frac: float = 0.0,
        cooling: str | None = None,
    ) -> float:  # fmt: skip
        """IT watts per GPU of ``system`` (GPU, host, NIC and switch shares) while each GPU
        spends these fractions of its time in each phase (the rest idle)."""
        from gigafleet.energy import accelerator_power_w, system_power_w

        row = self.catalog.system(system)
        gpu = accelerator_power_w(
            row.accelerator, compute_frac=compute_frac, memory_frac=memory_frac,
            comm_frac=comm_frac, catalog=self.catalog,
        )  # fmt: skip
        busy = compute_frac + memory_frac + comm_frac
        res = system_power_w(
            row, gpu_power_w=gpu, host_load=busy, cooling=cooling, catalog=self.catalog
        )
        return float(np.asarray(res.per_gpu_w))

    def idle_w_per_gpu(self, system: str, cooling: str | None = None) -> float:
        return self.it_w_per_gpu(system, compute_frac=0.0, memory_frac=0.0, cooling=cooling)

    def serving_w_per_gpu(self, replica: Any, *, prompt_tokens: float, output_tokens: float,
                          batch: int, cooling: str | None = None) -> float:  # fmt: skip
        from gigafleet.energy import serving_power

        sp = serving_power(
            replica, prompt_tokens=prompt_tokens, output_tokens=output_tokens, batch=batch,
            cooling=cooling, catalog=self.catalog,
        )  # fmt: skip
        return sp.busy_w / replica.num_gpus

    def training_wall(self, *, model: str, num_gpus: int, ideal_s: float, system: str) -> dict:
        """Failure-inclusive wall time: Daly's checkpoint interval at the job's failure rate."""
        from gigafleet.perf.arch import arch_costs
        from gigafleet.reliability import effective_training_time

        params = float(arch_costs(self.catalog.model(model)).params_total)
        rel = effective_training_time(
            ideal_s, num_gpus, num_params=params, system=system, catalog=self.catalog
        )
        return {
            "wall_s": float(rel.wall_time_s),
            "ett": float(rel.ett),
            "interruptions_per_day": float(rel.failures_per_day),
            "mtbf_h": float(rel.mtbf_s) / 3600,
            "checkpoint_interval_s": float(rel.checkpoint_interval_s),
            "expected_failures": float(rel.expected_failures),
        }

    def inputs(self, pool: Pool):
        """Prices of ``pool``: the scenario's (site electricity, PUE, amortisation, the
        fleet entry's system price, the cloud price) over the shipped defaults."""
        from gigafleet.cost import cost_inputs

        if pool.index not in self._inputs:
            # a rented GPU has no capital cost to us: only its price counts
            price = 0.0 if pool.site_kind == "cloud" else pool.usd_per_gpu
            try:
                self._inputs[pool.index] = cost_inputs(
                    pool.system, catalog=self.catalog, system_usd_per_gpu=price,
                    electricity_usd_per_mwh=pool.electricity_usd_per_mwh, pue=pool.pue,
                    hardware_amortization_years=self.scn.amortization_years,
                    cloud_usd_per_gpu_hour=pool.price_usd_per_gpu_hour,
                )  # fmt: skip
            except GigafleetError as exc:
                if exc.field != "system_usd_per_gpu":
                    raise
                err = GigafleetError(
                    f"no sourced server price for {pool.accelerator} ({pool.system} at "
                    f"{pool.site}); give usd_per_gpu in this fleet entry",
                    field=f"sites.{pool.where[1]}.fleet.{pool.where[3]}.usd_per_gpu",
                )
                err.loc = pool.where
                raise err from None
        return self._inputs[pool.index]

    def marginal_usd_per_gpu_hour(self, pool: Pool, it_w: float) -> float:
        """What one more busy GPU-hour costs: the rent in the cloud; on owned GPUs the
        electricity above their idle draw (their capital is spent, and they idle anyway)."""
        from gigafleet.cost import energy_usd_per_gpu_hour

        inp = self.inputs(pool)
        if pool.site_kind == "cloud":
            return inp.cloud_usd_per_gpu_hour
        above = max(it_w - self.idle_w_per_gpu(pool.system, pool.cooling), 0.0)
        return float(energy_usd_per_gpu_hour(above, inputs=inp))

    def full_usd_per_gpu_hour(self, pool: Pool, it_w: float, utilization: float = 1.0) -> float:
        """Cost of a used GPU-hour: the rent, or the owned cost (capital, facility,
        maintenance spread over the used hours, plus electricity)."""
        from gigafleet.cost import owned_cost_per_gpu_hour

        inp = self.inputs(pool)
        if pool.site_kind == "cloud":
            return inp.cloud_usd_per_gpu_hour
        owned = owned_cost_per_gpu_hour(
            avg_power_w_per_gpu=it_w, inputs=inp, utilization=utilization
        )
        return float(owned.total_usd_per_gpu_hour)

    def own_vs_rent(
        self, pool: Pool, it_w: float, utilization: float, cloud_usd_per_gpu_hour: float | None
    ) -> dict[str, float]:
        import dataclasses

        from gigafleet.cost import break_even_utilization

        inp = self.inputs(pool)
        if cloud_usd_per_gpu_hour:
            inp = dataclasses.replace(inp, cloud_usd_per_gpu_hour=cloud_usd_per_gpu_hour)
        return {
            "owned_usd_per_gpu_hour": self.full_usd_per_gpu_hour(pool, it_w, utilization),
            "owned_usd_per_gpu_hour_full_use": self.full_usd_per_gpu_hour(pool, it_w, 1.0),
            "cloud_usd_per_gpu_hour": inp.cloud_usd_per_gpu_hour,
            "break_even_utilization": float(
                break_even_utilization(avg_power_w_per_gpu=it_w, inputs=inp)
            ),
        }


# ---- sizing ---------------------------------------------------------------------------------


def _pow2_at_least(x: float) -> int:
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
    from gigafleet.plan.training import plan_training

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
                train_tokens=run.tokens, fabric=pool.fabric, pue=pool.pue, catalog=catalog,
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
        tried[n] = {
            "num_gpus": n,
            "tokens_per_s": tps,
            "step_time_s": step,
            "it_w_per_gpu": it_w,
            "mfu": float(plan.metrics["mfu"][i]),
            "strategy": {k: float(v[i]) for k, v in plan.strategies.items()},
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


def _service_kind(svc: Any) -> str:
    if isinstance(svc, RecommendationService):
        return "recommendation"
    if isinstance(svc, PrivateService):
        return "private"
    if isinstance(svc, PersonalizedService):
        return "personalized"
    return "llm"


def size_llm(svc: LlmService, pool: Pool, catalog: Catalog, models: Models) -> Fit:
    """Best requests/s per GPU over replica shapes, at the largest batch meeting the SLO."""
    from gigafleet.perf import adapters as ad
    from gigafleet.perf.inference import serving_replica
    from gigafleet.perf.tee import tee_costs

    model = catalog.model(svc.model)
    acc = catalog.accelerator(pool.accelerator)
    if acc.dense_flops(svc.precision) is None:
        return Fit(0.0, 0.0, reason=f"memory/precision: {acc.name} has no {svc.precision}")
    kind = _service_kind(svc)
    toll_iter = toll_req = 0.0
    if kind == "private":
        if acc.vendor != "NVIDIA" or acc.generation not in TEE_GENERATIONS:
            return Fit(0.0, 0.0, reason=f"policy: {acc.name} has no confidential-computing mode")
        tee = tee_costs(svc.tee, catalog)
        toll_iter = tee.iteration_toll(model.num_layers)
        toll_req = tee.request_toll(model.num_layers)
    from gigafleet.perf.hardware import resolve_hardware

    domain = resolve_hardware(catalog, pool.system).net.domain_size
    p_tok, o_tok = svc.prompt_tokens, svc.output_tokens
    best: Fit | None = None
    tp = 1
    while tp <= min(domain, 64):
        for pp in (1, 2, 4):
            ep = tp if model.moe is not None and model.moe.num_experts % tp == 0 else 1
            try:
                rep = serving_replica(
                    svc.model, pool.system, tp=tp, pp=pp, ep=ep, weight_precision=svc.precision,
                    prompt_tokens_hint=p_tok, catalog=catalog, fabric=pool.fabric,
                )  # fmt: skip
            except GigafleetError:
                continue
            size = 0.0
            if kind == "personalized":
                size = ad.adapter_bytes(model, svc.adapter_rank)
            kv_fit = int(rep.kv_capacity_tokens // (p_tok + o_tok))
            b, found = 1, None
            while b <= min(kv_fit, 8192):
                t = rep.iteration_time(int(b * p_tok / o_tok), b, int(b * (p_tok + o_tok / 2)))
                t += toll_iter
                if size:
                    distinct = ad.distinct_in_batch(svc.num_users, svc.zipf_s, b)
                    t += ad.batch_overhead_s(distinct, size, rep.num_gpus * acc.hbm_bw_bytes_per_s)
                # a prompt is prefilled in chunks riding along decode iterations
                chunks = math.ceil(p_tok / max(rep.max_batched_tokens - b, 1))
                ttft = chunks * t + toll_req
                if t > svc.slo.tpot_s or ttft > svc.slo.ttft_s:
                    break
                found = (b, t, ttft)
                b = b * 2 if b < 64 else b + 64
            if found is None:
                continue
            b, t, ttft = found
            cap = b / t / o_tok / rep.num_gpus
            if best is None or cap > best.capacity_per_gpu:
                best = Fit(
                    cap,
                    models.serving_w_per_gpu(
                        rep, prompt_tokens=p_tok, output_tokens=o_tok, batch=b,
                        cooling=pool.cooling,
                    ),
                    {"tp": tp, "pp": pp, "ep": ep, "batch": b, "iteration_s": t,
                     "ttft_model_s": ttft, "gpus_per_replica": rep.num_gpus,
                     "output_tokens_per_s_per_gpu": b / t / rep.num_gpus},
                )  # fmt: skip
            break  # the smallest pp that fits is best for time
        tp *= 2
    if best is not None:
        best = _derate_to_slo(svc, pool, best, catalog)
    if best is None:
        return Fit(
            0.0, 0.0,
            reason=f"memory/SLO: no replica of {model.name} on {pool.system} fits and meets "
            f"TTFT {svc.slo.ttft_s} s / TPOT {svc.slo.tpot_s} s",
        )  # fmt: skip
    return best


def size_recsys(svc: RecommendationService, pool: Pool, catalog: Catalog, models: Models) -> Fit:
    from gigafleet.perf.recsys import recsys_capacity

    try:
        cap = recsys_capacity(
            svc.model, pool.system, latency_budget_s=svc.latency_budget_ms / 1e3,
            precision=svc.precision, min_batch=svc.items_per_query, catalog=catalog,
        )  # fmt: skip
    except GigafleetError as exc:
        return Fit(0.0, 0.0, reason=f"memory/latency: {str(exc).split(': ')[-1]}")
    power = models.it_w_per_gpu(
        pool.system,
        compute_frac=cap.compute_frac,
        memory_frac=cap.memory_frac,
        cooling=pool.cooling,
    )
    return Fit(
        cap.inferences_per_s_per_gpu,
        power,
        {"batch": cap.batch, "p99_latency_s": cap.p99_latency_s,
         "gpus_per_replica": cap.gpus_per_replica, "calibration": cap.calibration},
    )  # fmt: skip


# ---- placement ------------------------------------------------------------------------------


def _services(scn: Scenario) -> list[Any]:
    w = scn.workloads
    return [*w.llm_services, *w.personalized, *w.private, *w.recommendation]


def _demand_unit(svc: Any) -> str:
    return "inferences/s" if isinstance(svc, RecommendationService) else "requests/s"


def daily_profile(peak_to_mean: float, *, peak_hour: float = 14.0) -> np.ndarray:
    """Demand over the 24 hours of a day relative to the daily mean: a raised cosine
    ``1 + a cos(2 pi (h - peak_hour) / 24)`` with ``a = peak_to_mean - 1``, so its peak over
    its mean is ``peak_to_mean``; past 2 it is clipped at zero and rescaled to mean 1."""
    h = np.arange(24) + 0.5
    shape = np.maximum(1.0 + (peak_to_mean - 1.0) * np.cos(2 * np.pi * (h - peak_hour) / 24), 0.0)
    return shape / shape.mean()


def peak_demand(svc: Any, month: int) -> float:
    """Peak-hour demand in requests (or inferences) per second at ``month``."""
    start = month_index(svc.start)
    if month < start:
        return 0.0
    per_day = svc.requests_per_day  # inferences (items scored) for recommendation services
    growth = (1.0 + svc.growth_per_year) ** ((month - start) / 12.0)
    return per_day / 86400.0 * svc.peak_to_mean * growth


def _eligible(scn: Scenario, name: str, pool: Pool, *, private: bool, training: bool) -> str | None:
    """Why ``pool`` may not run workload ``name`` (None: it may)."""
    pol = scn.policies
    if private and not pool.tee:
        return "policy: confidential work needs a TEE-capable site"
    if name in pol.sites and pool.site not in pol.sites[name]:
        return "policy: site not allowed for this workload"
    if name in pol.residency and pool.region not in pol.residency[name]:
        return "policy: data residency"
    if pool.site_kind == "cloud":
        if training and not pol.training_in_cloud:
            return "policy: training stays on owned sites"
        if not training and not pol.cloud_bursting:
            return "policy: cloud bursting is off"
    return None


def _quiet_highs(highspy):
    """A HiGHS instance; its C++ banner (printed once per process on stdout) is kept off the
    terminal, where it would break ``--json`` output."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def _run_mip(h, highspy) -> None:
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return
    if status == highspy.HighsModelStatus.kTimeLimit and h.getInfo().primal_solution_status == 2:
        return  # a feasible placement; the caller is told it may not be the cheapest
    raise RuntimeError(f"placement program not solved: {h.modelStatusToString(status)}")


def _solve_lp(cost, cap, power, demand, inventory, site_of, site_budget, rep_gpus):
    """The placement program (module docstring) with HiGHS, in whole replicas: ``n[w, p]``
    integer replicas of ``rep_gpus[w, p]`` GPUs each (``x = g n``). Returns x[w, p] (GPUs)
    and u[w] (unmet demand)."""
    import highspy

    num_w, num_p = cap.shape
    pairs = [(w, p) for w in range(num_w) for p in range(num_p) if cap[w, p] > 0]
    col = {pair: i for i, pair in enumerate(pairs)}
    g = {pair: float(rep_gpus[pair]) for pair in pairs}
    h = _quiet_highs(highspy)
    h.setOptionValue("mip_rel_gap", 1e-4)
    h.setOptionValue("time_limit", 30.0)
    inf = highspy.kHighsInf
    for pair in pairs:  # replicas
        h.addVar(0.0, inf)
        h.changeColCost(col[pair], float(cost[pair]) * g[pair])
        h.changeColIntegrality(col[pair], highspy.HighsVarType.kInteger)
    u0 = len(pairs)
    for w in range(num_w):  # unmet demand, normalised so every service weighs alike
        h.addVar(0.0, inf)
        h.changeColCost(u0 + w, UNMET_PENALTY / max(demand[w], 1e-12))

    def row(lo: float, hi: float, idx: list[int], val: list[float]) -> None:
        if idx:
            h.addRow(lo, hi, len(idx), np.array(idx, dtype=np.int32), np.array(val, dtype=float))

    for w in range(num_w):  # capacity + unmet >= demand
        mine = [pr for pr in pairs if pr[0] == w]
        row(float(demand[w]), inf, [col[pr] for pr in mine] + [u0 + w],
            [float(cap[pr]) * g[pr] for pr in mine] + [1.0])  # fmt: skip
    for p in range(num_p):  # inventory
        mine = [pr for pr in pairs if pr[1] == p]
        row(-inf, float(inventory[p]), [col[pr] for pr in mine], [g[pr] for pr in mine])
    for s, budget in enumerate(site_budget):  # facility power above the idle draw
        mine = [pr for pr in pairs if site_of[pr[1]] == s]
        row(-inf, float(max(budget, 0.0)), [col[pr] for pr in mine],
            [float(power[pr]) * g[pr] for pr in mine])  # fmt: skip
    # Two phases, so the penalty's scale does not swamp the cost: least unmet demand first,
    # then the least cost that keeps it.
    costs = list(h.getLp().col_cost_)
    for i in range(u0):
        h.changeColCost(i, 0.0)
    _run_mip(h, highspy)
    unmet_share = float(h.getInfo().objective_function_value) / UNMET_PENALTY
    row(-inf, unmet_share * (1 + 1e-6) + 1e-9, list(range(u0, u0 + num_w)),
        [1.0 / max(demand[w], 1e-12) for w in range(num_w)])  # fmt: skip
    for i in range(h.getNumCol()):
        h.changeColCost(i, costs[i] if i < u0 else 0.0)
    _run_mip(h, highspy)
    sol = np.asarray(h.getSolution().col_value)
    x = np.zeros((num_w, num_p))
    for pair, i in col.items():
        x[pair] = round(sol[i]) * g[pair]
    return x, sol[u0 : u0 + num_w]


def run_scenario(
    scn: Scenario, *, catalog: Catalog | None = None, progress: Progress | None = None
) -> ScenarioResult:
    """Size, place and account for every workload of ``scn`` over its timeline."""
    catalog = catalog or load_catalog()
    say = progress or (lambda _msg: None)
    pools = resolve(scn, catalog)
    models = Models(catalog, scn)
    for pool in pools:
        models.inputs(pool)  # every owned system has a price before anything is sized
    months = scn.timeline.months()
    sites = {s.name: s for s in scn.sites}
    site_names = list(sites)
    site_of = [site_names.index(p.site) for p in pools]
    # facility watts of an installed GPU with nothing to do (it is not switched off); a
    # cloud GPU nobody rents is not ours to power
    idle_w = np.array(
        [0.0 if p.site_kind == "cloud" else models.idle_w_per_gpu(p.system, p.cooling) * p.pue
         for p in pools]
    )  # fmt: skip
    # sizing is per system kind (and fabric), not per pool
    fit_cache: dict[tuple[Any, ...], Fit] = {}
    plans: dict[tuple[Any, ...], Any] = {}  # training plans by run, system kind and GPU count

    def fit(work: Any, pool: Pool, *, gpu_cap: int | None = None,
            deadline_days: float | None = None) -> Fit:  # fmt: skip
        key: tuple[Any, ...] = (work.name, pool.system, pool.fabric, pool.cooling)
        if isinstance(work, TrainingRun):  # its size depends on the GPUs it may use
            usable = min(pool.num_gpus, work.max_gpus or pool.num_gpus, gpu_cap or pool.num_gpus)
            key += (usable, deadline_days)
        if key not in fit_cache:
            say(f"sizing {work.name} on {pool.system}")
            if isinstance(work, TrainingRun):
                fit_cache[key] = size_training(
                    work, pool, catalog, models, gpu_cap=gpu_cap, deadline_days=deadline_days,
                    evaluations=plans,
                )  # fmt: skip
            elif isinstance(work, RecommendationService):
                fit_cache[key] = size_recsys(work, pool, catalog, models)
            else:
                fit_cache[key] = size_llm(work, pool, catalog, models)
        return fit_cache[key]

    # idle draw of the installed (owned) GPUs per period and site: the floor of every budget
    step = scn.timeline.step_months
    idle_site = np.zeros((len(months), len(site_names)))
    for k, m in enumerate(months):
        for p, pool in enumerate(pools):
            if pool.active(m):
                idle_site[k, site_of[p]] += pool.num_gpus * idle_w[p]
    cap_w = np.array(
        [sites[n].power_mw * 1e6 * scn.policies.power_cap_fraction for n in site_names]
    )

    # ---- training: gang-schedule each run on one pool at its start -------------------------
    reserved = np.zeros((len(months), len(pools)))  # GPUs held by training, per period
    held = np.zeros((len(months), len(pools)))  # ... weighted by the share of the period held
    # facility W per site that training adds over the idle draw of its GPUs
    training_power = np.zeros((len(months), len(site_names)))
    training_out, unplaced = [], []

    def place_on(run: TrainingRun, pool: Pool, start: int) -> tuple[Fit | None, str | None]:
        """The run sized for what ``pool`` can give from ``start``: its GPUs free in every
        period the run covers, its site's power room, its retirement. Where one binds, the
        run is sized again within it (it may then miss its deadline)."""
        f = fit(run, pool)
        s_i = site_of[pool.index]
        for _ in range(4):
            if f.capacity_per_gpu <= 0:
                return None, f.reason or "memory"
            n = f.detail["num_gpus"]
            end = start + f.detail["days"] / 30.44
            covered = [k for k, m in enumerate(months) if start < m + step and end > m]
            free = min((pool.num_gpus - reserved[k, pool.index] for k in covered),
                       default=pool.num_gpus)  # fmt: skip
            per_gpu_w = f.power_w_per_gpu * pool.pue - idle_w[pool.index]
            room = min(
                (cap_w[s_i] - idle_site[k, s_i] - training_power[k, s_i] for k in covered),
                default=cap_w[s_i],
            )
            limit, deadline, reason = None, None, None
            if pool.retire is not None and pool.retire < end:
                deadline = (pool.retire - start) * 30.44
                reason = f"GPUs: {pool.system} at {pool.site} retires before the run ends"
            if n > free:
                limit = int(free)
                reason = f"GPUs: needs {n} of {pool.system} at {pool.site}, {int(free)} free"
            if n * per_gpu_w > room:
                limit = min(limit or n, int(max(room, 0.0) / max(per_gpu_w, 1e-9)))
                reason = (
                    f"power: {pool.site} has {max(room, 0) / 1e6:,.0f} MW left of its cap, "
                    f"the run needs {n * per_gpu_w / 1e6:,.0f} MW more"
                )
            if reason is None:
                return f, None
            if (limit is not None and limit < 1) or (deadline is not None and deadline <= 0):
                return None, reason
            smaller = fit(run, pool, gpu_cap=limit, deadline_days=deadline)
            if smaller.capacity_per_gpu <= 0 or (
                smaller.detail["num_gpus"] == n and deadline is None
            ):
                return None, reason
            f = smaller
        return None, reason

    for run in sorted(scn.workloads.training, key=lambda r: month_index(r.start)):
        start = month_index(run.start)
        options = []
        why = []
        for pool in pools:
            reason = _eligible(scn, run.name, pool, private=False, training=True)
            if reason is None and not pool.active(start):
                reason = "GPUs: the pool is not in service at the run's start"
            if reason:
                why.append(reason)
                continue
            f, reason = place_on(run, pool, start)
            if reason:
                why.append(reason)
                continue
            site = sites[pool.site]
            options.append((not f.detail["meets_deadline"], f.detail["days"], pool, f, site))
        if not options:
            unplaced.append({"workload": run.name, "kind": "training", "binding": _binding(why)})
            continue
        options.sort(key=lambda o: (o[0], o[1]))
        _, days, pool, f, site = options[0]
        n = f.detail["num_gpus"]
        end = start + days / 30.44
        it_w = n * f.power_w_per_gpu
        for k, m in enumerate(months):
            if start < m + step and end > m:  # the run overlaps the period [m, m + step)
                reserved[k, pool.index] += n
                overlap = min(end, m + step) - max(start, m)
                held[k, pool.index] += n * overlap / step
                training_power[k, site_of[pool.index]] += n * (
                    f.power_w_per_gpu * pool.pue - idle_w[pool.index]
                )
        hours = days * 24
        it_energy_j = it_w * days * 86400
        energy_j = it_energy_j * pool.pue
        gpu_hour = models.full_usd_per_gpu_hour(pool, f.power_w_per_gpu)
        training_out.append(
            {
                "workload": run.name,
                "model": f.detail.get("model", run.model),
                "site": pool.site,
                "system": pool.system,
                "generation": pool.generation,
                **{k: v for k, v in f.detail.items() if k != "strategy"},
                "strategy": f.detail["strategy"],
                "deadline_days": run.deadline_days,
                "start": run.start,
                "it_mw": it_w / 1e6,
                "facility_mw": it_w * pool.pue / 1e6,
                "energy_gwh": energy_j / 3.6e12,
                "carbon_t": energy_j / 3.6e6 * pool.grid_gco2_per_kwh / 1e6,
                "tokens_per_it_joule": run.tokens / it_energy_j,
                "cost_usd": gpu_hour * n * hours,
                "cost_usd_per_gpu_hour": gpu_hour,
            }
        )

    # ---- services: one LP per period ---------------------------------------------------------
    services = _services(scn)
    num_w, num_p = len(services), len(pools)
    cap = np.zeros((num_w, num_p))
    power = np.zeros((num_w, num_p))
    cost = np.zeros((num_w, num_p))
    full = np.zeros((num_w, num_p))  # cost of a used GPU-hour (capital included)
    rep_gpus = np.ones((num_w, num_p))  # GPUs per replica: placements come in whole replicas
    why_not: list[list[str]] = [[] for _ in services]
    for w, svc in enumerate(services):
        private = isinstance(svc, PrivateService)
        for p, pool in enumerate(pools):
            reason = _eligible(scn, svc.name, pool, private=private, training=False)
            if reason:
                why_not[w].append(reason)
                continue
            f = fit(svc, pool)
            if f.capacity_per_gpu <= 0:
                why_not[w].append(f.reason or "memory")
                continue
            cap[w, p] = f.capacity_per_gpu
            rep_gpus[w, p] = f.detail.get("gpus_per_replica", 1)
            power[w, p] = f.power_w_per_gpu * pool.pue - idle_w[p]  # over idle
            cost[w, p] = models.marginal_usd_per_gpu_hour(pool, f.power_w_per_gpu)
            full[w, p] = models.full_usd_per_gpu_hour(pool, f.power_w_per_gpu)
    periods = []
    warnings: list[str] = []
    over_cap: set[str] = set()
    placed = np.zeros((len(months), num_w, num_p))
    unmet = np.zeros((len(months), num_w))
    demand = np.zeros((len(months), num_w))
    for k, m in enumerate(months):
        say(f"placing {month_text(m)}")
        inv = np.array(
            [max(pool.num_gpus - reserved[k, pool.index], 0.0) if pool.active(m) else 0.0
             for pool in pools]
        )  # fmt: skip
        demand[k] = [peak_demand(s, m) for s in services]
        budget = cap_w - idle_site[k] - training_power[k]
        for i, n in enumerate(site_names):
            if budget[i] < 0 and n not in over_cap:
                over_cap.add(n)
                warnings.append(
                    f"power: site {n} draws {(idle_site[k, i] + training_power[k, i]) / 1e6:,.0f} MW "
                    f"from {month_text(m)} (idle fleet and training), over its "
                    f"{sites[n].power_mw * scn.policies.power_cap_fraction:,.0f} MW cap"
                )
        live = demand[k] > 0
        if num_w and live.any():
            whole, _ = _solve_lp(
                cost[live], cap[live] * (inv > 0), power[live], demand[k][live], inv,
                site_of, budget, rep_gpus[live],
            )  # fmt: skip
            placed[k][live] = whole
            served = np.sum(whole * cap[live], axis=1)
            unmet[k][live] = np.maximum(demand[k][live] - served, 0.0)
        periods.append(
            _period_row(
                m,
                pools,
                site_names,
                sites,
                reserved[k],
                placed[k],
                power,
                training_power[k] + idle_site[k],
                scn,
            )  # fmt: skip
        )

    # ---- services: figures at the busiest period ----------------------------------------------
    services_out = []
    for w, svc in enumerate(services):
        # the period of the worst shortfall; with none, the (latest) peak-demand period
        with np.errstate(divide="ignore", invalid="ignore"):
            short = np.where(demand[:, w] > 0, unmet[:, w] / demand[:, w], 0.0)
        if short.max(initial=0.0) > UNMET_TOLERANCE:
            k = int(np.argmax(short))
        else:
            k = len(months) - 1 - int(np.argmax(demand[::-1, w]))
        d = float(demand[k, w])
        got = float(np.sum(placed[k, w] * cap[w]))
        gpus = float(placed[k, w].sum())
        met = min(got / d, 1.0) if d > 0 else 1.0
        row = {
            "workload": svc.name,
            "kind": _service_kind(svc),
            "model": svc.model,
            "unit": _demand_unit(svc),
            "peak_demand": d,
            "capacity": got,
            "demand_met": met,
            "gpus": gpus,
            "period": month_text(months[k]),
            "placement": [
                {"site": pools[p].site, "system": pools[p].system, "gpus": float(placed[k, w, p])}
                for p in range(num_p)
                if placed[k, w, p] > 0.5
            ],  # fmt: skip
        }
        if gpus > 0:
            peak_w = float(np.sum(placed[k, w] * (power[w] + idle_w)))  # facility, at peak
            row["facility_mw"] = peak_w / 1e6
            row["cost_usd_per_hour"] = float(np.sum(placed[k, w] * full[w]))
            p_main = int(np.argmax(placed[k, w]))
            f = fit(svc, pools[p_main])
            row["replica"] = f.detail
            # over the day: GPUs sized for the peak hour, demand following the daily pattern
            demand_h = d * daily_profile(svc.peak_to_mean) / svc.peak_to_mean
            load_h = np.minimum(demand_h / got, 1.0)
            facility_h = np.array(
                [float(np.sum(placed[k, w] * (idle_w + power[w] * x))) for x in load_h]
            )
            served_per_day = float(np.sum(np.minimum(demand_h, got))) * 3600.0
            row["daily"] = {"utilization": load_h.round(4).tolist()}
            row["facility_mw_mean"] = float(facility_h.mean()) / 1e6
            row["energy_mwh_per_day"] = float(facility_h.sum()) * 3600.0 / 3.6e9
            if not isinstance(svc, RecommendationService):
                tok_s = got * svc.output_tokens
                tokens_per_day = served_per_day * svc.output_tokens
                row["output_tokens_per_s"] = tok_s
                # the placed GPUs are paid and powered all day; the tokens follow demand
                row["usd_per_million_tokens"] = (
                    row["cost_usd_per_hour"] * 24.0 / tokens_per_day * 1e6
                )
                row["facility_joules_per_token"] = float(facility_h.sum()) * 3600.0 / tokens_per_day
                row["facility_joules_per_token_at_peak"] = peak_w / tok_s
                say(f"simulating {svc.name}")
                row["slo"] = _slo_attainment(
                    svc, pools[p_main], f, load=min(d / max(got, 1e-9), 1.0), catalog=catalog
                )
                row["slo_attainment"] = row["slo"]["slo_attainment"] * met
            else:
                row["usd_per_billion_inferences"] = (
                    row["cost_usd_per_hour"] * 24.0 / served_per_day * 1e9
                )
                row["slo_attainment"] = met
        else:
            row["slo_attainment"] = (
                1.0 if d == 0 else 0.0
            )  # no demand in the timeline: nothing missed
        if unmet[k, w] > UNMET_TOLERANCE * d:
            row["binding"] = _binding_service(
                w, periods[k], pools, placed[k], cap, rep_gpus, why_not[w]
            )
            unplaced.append({"workload": svc.name, "kind": row["kind"], "binding": row["binding"],
                             "unmet_share": 1 - met})  # fmt: skip
        services_out.append(row)

    generations = _generations(scn, pools, services, fit)
    busy_w = {}
    if months:
        for p in range(num_p):
            n_p = placed[-1, :, p].sum()
            if n_p > 0:
                busy_w[p] = (
                    float(np.sum(placed[-1, :, p] * (power[:, p] + idle_w[p]))) / n_p / pools[p].pue
                )
    used = np.zeros((len(months), num_p))
    for k in range(len(months)):
        for p, pool in enumerate(pools):
            used[k, p] = (held[k, p] + placed[k, :, p].sum()) / pool.num_gpus
    costs = _own_vs_rent(pools, months, np.minimum(used, 1.0), models, busy_w)
    return ScenarioResult(
        scenario=scn.name,
        months=months,
        pools=pools,
        sites=[
            {
                "name": s.name,
                "kind": s.kind,
                "region": s.region,
                "power_mw": s.power_mw,
                "pue": site_pue(s, catalog),
                "cooling": site_cooling(s, catalog),
                "confidential_computing": s.confidential_computing,
            }
            for s in scn.sites
        ],  # fmt: skip
        periods=periods,
        training=training_out,
        services=services_out,
        generations=generations,
        costs=costs,
        unplaced=unplaced,
        warnings=warnings,
    )


# ---- what binds ------------------------------------------------------------------------------


def _binding(reasons: list[str]) -> str:
    """The most telling reason among the pools' (capacity limits first, then rules)."""
    if not reasons:
        return "GPUs: no pool in service"
    for key in ("GPUs", "power", "memory", "policy"):
        hits = [r for r in reasons if r.startswith(key)]
        if hits:
            return hits[0]
    return reasons[0]


def _binding_service(w, period, pools, placed, cap, rep_gpus, reasons) -> str:
    """Why service ``w`` is short: power at its sites' caps, else its pools full (less
    than a replica free), with the rules that kept it off the other pools."""
    usable = [p for p in range(len(pools)) if cap[w, p] > 0]
    if not usable:
        return _binding(reasons) if reasons else "GPUs: no pool in service"
    site_rows = {r["site"]: r for r in period["sites"]}
    capped = sorted(
        {pools[p].site for p in usable
         if site_rows[pools[p].site]["facility_mw"] >= 0.99 * site_rows[pools[p].site]["cap_mw"]}
    )  # fmt: skip
    full = [
        p for p in usable
        if site_rows[pools[p].site]["free_gpus"].get(pools[p].system, 0) < 2 * rep_gpus[w, p]
    ]  # fmt: skip
    also = sorted(set(reasons))
    also_txt = f" (elsewhere: {'; '.join(also)})" if also else ""
    if capped:
        return f"power: sites at their cap: {', '.join(capped)}{also_txt}"
    if len(full) == len(usable):
        n = sum(placed[:, p].sum() for p in usable)
        return f"GPUs: all {n:,.0f} eligible GPUs are in use{also_txt}"
    return _binding(reasons) if reasons else "GPUs: eligible pools are full or not in service"


# ---- per-period rows ---------------------------------------------------------------------------


def _period_row(month, pools, site_names, sites, reserved, placed, power, base_w, scn):
    """Per site: GPUs by generation, use, and facility power (``base_w``: idle draw of the
    installed GPUs plus what training adds)."""
    rows = []
    for i, name in enumerate(site_names):
        site = sites[name]
        mine = [p for p in pools if p.site == name and p.active(month)]
        by_gen: dict[str, int] = {}
        for p in mine:
            by_gen[p.generation] = by_gen.get(p.generation, 0) + p.num_gpus
        used = {p.system: 0.0 for p in mine}
        free = {p.system: 0.0 for p in mine}
        serving_w = 0.0
        for p in mine:
            n_used = reserved[p.index] + placed[:, p.index].sum()
            used[p.system] += n_used
            free[p.system] += max(p.num_gpus - n_used, 0.0)
            serving_w += float(np.sum(placed[:, p.index] * power[:, p.index]))
        facility = serving_w + base_w[i]
        rows.append(
            {
                "site": name,
                "gpus": int(sum(p.num_gpus for p in mine)),
                "gpus_by_generation": by_gen,
                "gpus_used": float(sum(used.values())),
                "free_gpus": free,
                "facility_mw": facility / 1e6,
                "it_mw": facility / next(p.pue for p in pools if p.site == name) / 1e6,
                "cap_mw": site.power_mw * scn.policies.power_cap_fraction,
            }
        )
    return {"period": month_text(month), "sites": rows}


# ---- SLO check, generations, own against rent ---------------------------------------------------


def _slo_attainment(svc, pool: Pool, f: Fit, *, load: float, catalog: Catalog) -> dict[str, float]:
    """Simulate a few replicas of the placed shape at the peak-hour load per replica."""
    from gigafleet.sim.deployment import run_serving
    from gigafleet.spec.serving import Adapters, ServeJob, Slo, Traffic

    d = f.detail
    replicas = SLO_SIM_REPLICAS
    rate = max(load, 0.05) * f.capacity_per_gpu * d["gpus_per_replica"] * replicas
    num_requests = max(2000, SLO_SIM_REQUESTS_PER_SLOT * replicas * d["batch"])
    job = ServeJob(
        model=svc.model, system=pool.system, replicas=replicas, tp=d["tp"], pp=d["pp"],
        ep=d["ep"], precision=svc.precision, max_num_seqs=max(d["batch"], 1),
        tee=getattr(svc, "tee", "none") if isinstance(svc, PrivateService) else "none",
        fabric=pool.fabric,
        traffic=Traffic(rate_per_s=rate, num_requests=num_requests,
                        prompt_tokens=svc.prompt_tokens, output_tokens=svc.output_tokens),
        slo=Slo(ttft_s=svc.slo.ttft_s, tpot_s=svc.slo.tpot_s),
        adapters=Adapters(num_users=svc.num_users, rank=svc.adapter_rank, zipf_s=svc.zipf_s)
        if isinstance(svc, PersonalizedService) else None,
    )  # fmt: skip
    out = run_serving(job, catalog=catalog)
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


def _derate_to_slo(svc, pool: Pool, f: Fit, catalog: Catalog) -> Fit:
    """The analytic capacity, lowered until the request simulator meets the SLO there
    (queueing, chunked prefill and preemption are what the analytic sizing leaves out)."""
    import dataclasses

    factor = 1.0
    res = _slo_attainment(svc, pool, f, load=1.0, catalog=catalog)
    for _ in range(SLO_MAX_DERATES):
        if res["slo_attainment"] >= SLO_TARGET:
            break
        factor *= SLO_DERATE
        f = dataclasses.replace(f, capacity_per_gpu=f.capacity_per_gpu * SLO_DERATE)
        res = _slo_attainment(svc, pool, f, load=1.0, catalog=catalog)
    f.detail["slo_derate"] = factor
    f.detail["slo_attainment_at_capacity"] = res["slo_attainment"]
    return f


def _generations(scn, pools, services, fit) -> list[dict[str, Any]]:
    """Performance per watt of each system kind in the fleet, on the scenario's own work."""
    llm = next((s for s in services if not isinstance(s, RecommendationService)), None)
    run = scn.workloads.training[0] if scn.workloads.training else None
    out, seen = [], set()
    for pool in pools:
        if pool.system in seen:
            continue
        seen.add(pool.system)
        row: dict[str, Any] = {"system": pool.system, "generation": pool.generation,
                               "accelerator": pool.accelerator}  # fmt: skip
        if llm is not None:
            f = fit(llm, pool)
            if f.capacity_per_gpu > 0:
                row["serving_workload"] = llm.name
                row["serving_tokens_per_it_joule"] = (
                    f.capacity_per_gpu * llm.output_tokens / f.power_w_per_gpu
                )
        if run is not None:
            f = fit(run, pool)
            if f.capacity_per_gpu > 0:
                row["training_workload"] = run.name
                row["training_tokens_per_it_joule"] = f.capacity_per_gpu / f.power_w_per_gpu
                row["training_mfu"] = f.detail["mfu"]
        out.append(row)
    return out


def _own_vs_rent(pools, months, used, models, busy_w) -> dict[str, Any]:
    """Each owned pool's cost per used GPU-hour at its utilization over the timeline (GPUs
    in use over GPUs in service, averaged over the periods it is in service) against
    renting the same system: the scenario's cheapest cloud site offering it, else the
    price catalog's default. ``busy_w``: average IT watts of a busy GPU of each pool (the
    work placed there; a GPU half compute-bound, half memory-bound where none is)."""
    cloud = {}
    for p in pools:
        if p.site_kind == "cloud" and p.price_usd_per_gpu_hour:
            cloud[p.system] = min(cloud.get(p.system, math.inf), p.price_usd_per_gpu_hour)
    out = []
    for pool in pools:
        if pool.site_kind != "owned":
            continue
        active = [k for k, m in enumerate(months) if pool.active(m)]
        util = float(np.mean([used[k, pool.index] for k in active])) if active else 0.0
        power = busy_w.get(pool.index) or models.it_w_per_gpu(
            pool.system, compute_frac=0.5, memory_frac=0.5
        )
        row: dict[str, Any] = {"site": pool.site, "system": pool.system, "utilization": util}
        row.update(models.own_vs_rent(pool, power, max(util, 1e-6), cloud.get(pool.system)))
        if util == 0:
            row["owned_usd_per_gpu_hour"] = None  # never used: no used hour to charge
        row["cloud_price_source"] = (
            "scenario cloud site" if pool.system in cloud else "price catalog default"
        )
        out.append(row)
    return {"owned": out}


def compare_results(da: dict[str, Any], db: dict[str, Any]) -> list[dict[str, Any]]:
    """Headline totals, then each training run and service present in both."""
    rows = []

    def add(name: str, x: float, y: float) -> None:
        rows.append({"figure": name, "a": x, "b": y, "ratio": y / x if x else None})

    for key, x in da["totals"].items():
        add(key, x, db["totals"].get(key, 0.0))
    tb = {r["workload"]: r for r in db["training"]}
    for r in da["training"]:
        if r["workload"] in tb:
            o = tb[r["workload"]]
            for key in ("days", "num_gpus", "mfu", "energy_gwh", "cost_usd", "tokens_per_it_joule"):
                add(f"{r['workload']}: {key}", r[key], o[key])
    sb = {r["workload"]: r for r in db["services"]}
    for r in da["services"]:
        o = sb.get(r["workload"])
        if o:
            for key in ("gpus", "slo_attainment", "facility_mw", "usd_per_million_tokens",
                        "facility_joules_per_token", "usd_per_billion_inferences"):  # fmt: skip
                if key in r and key in o:
                    add(f"{r['workload']}: {key}", r[key], o[key])
    return rows
