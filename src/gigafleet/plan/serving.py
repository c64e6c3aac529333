"""Find the cheapest serving deployment that meets the SLOs at a given load.

Replica shapes (:func:`replica_shapes`): every tensor-parallel degree that fits the model
(experts split over the TP ranks, ``ep = tp``), and for MoE models wide expert parallelism
with attention data parallelism (``tp = 1``, ``dp = ep`` from 8 GPUs to four scale-up
domains; redundant expert slots for the balancer when the experts do not divide evenly or
the group is wide; two-micro-batch overlap tried on and off). Each shape is sized in closed
form first (:func:`shape_capacity`, from the iteration model at steady state):

* aggregated: the largest batch whose step (decoding it and prefilling the prompts of the
  requests that finish) meets the TPOT limit and fits the KV cache gives requests/s per
  replica; a prompt's chunks must meet the TTFT limit;
* disaggregated (DistServe, Splitwise; DeepSeek's prefill and decode units): decode
  replicas run the largest pure-decode batch meeting the TPOT limit, prefill replicas a
  full token budget per iteration within half the TTFT limit; each pool is sized to its load.

Speculative drafts (``speculative_tokens``, from a draft model or the model's MTP modules)
enter every step. The candidates with the fewest GPUs are then simulated
(:func:`gigafleet.sim.deployment.run_serving`) and their replica counts moved until the
smallest count that meets the SLO for ``attainment`` of the requests is found. Verified
candidates are ranked by ``objective``: ``gpus`` (fewest), ``energy`` (IT joules per output
token from the simulation) or ``cost`` (GPU-hours at the given price, else the owned cost of
``gigafleet.cost`` at the deployment's average IT power per GPU).

:func:`serving_capacity` is the closed-form half alone: the best shape's requests/s per GPU
for a service, what a fleet sizer (the scenario engine) needs without a simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import ModelArch
from gigafleet.cost import cost_inputs, owned_cost_per_gpu_hour
from gigafleet.errors import GigafleetError
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.inference import ServingReplica, serving_replica
from gigafleet.sim.deployment import run_serving
from gigafleet.spec.serving import ServeJob

OBJECTIVES = ("gpus", "energy", "cost")
#: Candidates verified by simulation (the fewest-GPU closed-form shapes).
NUM_VERIFIED = 4
#: Wide expert-parallel groups reach at most this many scale-up domains.
MAX_EP_DOMAINS = 4


@dataclass(frozen=True, slots=True)
class Shape:
    """How one replica is laid out."""

    tp: int
    ep: int
    dp: int = 1
    redundant_experts: int = 0
    two_batch_overlap: bool = False

    def describe(self) -> str:
        text = f"TP{self.tp}" if self.dp == 1 else f"DP{self.dp} attention"
        if self.ep > 1:
            text += f" EP{self.ep}"
        if self.redundant_experts:
            text += f" +{self.redundant_experts} redundant experts"
        return text + (" TBO" if self.two_batch_overlap else "")


def _redundant(num_experts: int, ep: int) -> int | None:
    """Redundant slots for an EP group: none below 16 GPUs when the experts divide evenly,
    else the fewest (at least one per 8 GPUs, as DeepSeek's 32 over EP32-EP320) that make
    the slots divide; None when that takes more than a quarter of the experts."""
    if ep < 16 and num_experts % ep == 0:
        return 0
    r = max(ep // 8, 1)
    while (num_experts + r) % ep:
        r += 1
    return r if r <= num_experts // 4 else None


def replica_shapes(model: ModelArch, domain: int, system_gpus: int, pp: int = 1) -> list[Shape]:
    """Candidate replica shapes for ``model`` on a system of ``domain``-GPU scale-up domains."""
    out = []
    tp = 1
    while tp <= max(domain, 1) and tp * pp <= max(system_gpus, domain):
        if model.num_attention_heads % tp == 0:
            moe = model.moe is not None and model.moe.num_experts % tp == 0
            out.append(Shape(tp, tp if moe else 1))
        tp *= 2
    if model.moe is not None and pp == 1:
        sizes = {8, 16, 32, 64, domain, 2 * domain, MAX_EP_DOMAINS * domain}
        for ep in sorted(s for s in sizes if 8 <= s <= MAX_EP_DOMAINS * max(domain, 8)):
            r = _redundant(model.moe.num_experts, ep)
            if r is None:
                continue
            for tbo in (False, True):
                out.append(Shape(1, ep, ep, r, tbo))
    return out


def _build(base: ServeJob, shape: Shape, catalog: Catalog) -> ServingReplica:
    t = base.traffic
    return serving_replica(
        base.model, base.system, tp=shape.tp, pp=base.pp, ep=shape.ep, dp=shape.dp,
        weight_precision=base.precision, kv_precision=base.kv_precision, fabric=base.fabric,
        max_batched_tokens=base.max_batched_tokens, catalog=catalog,
        prompt_tokens_hint=t.prompt_tokens, engine=base.engine,
        redundant_experts=shape.redundant_experts, two_batch_overlap=shape.two_batch_overlap,
    )  # fmt: skip


def shape_capacity(
    rep: ServingReplica,
    base: ServeJob,
    *,
    iteration_toll_s: float = 0.0,
    request_toll_s: float = 0.0,
    extra_iteration_s: Callable[[int, ServingReplica], float] | None = None,
) -> dict[str, Any] | None:
    """Closed-form capacity of one replica at the SLO (see the module docstring), or None
    when not even one request meets it. ``iteration_toll_s`` (confidential computing) and
    ``extra_iteration_s(batch, replica)`` (per-user adapters) lengthen every step;
    ``request_toll_s`` adds to every time to first token."""
    t, slo = base.traffic, base.slo
    p, o = float(t.prompt_tokens), float(t.output_tokens)
    ctx = p + o / 2
    k = base.speculative_tokens
    spec = dict(draft_tokens=k, acceptance_rate=base.acceptance_rate if k else 0.0,
                draft_fraction=(rep.mtp_draft_fraction if base.draft == "mtp" else 0.1) if k else 0.0)  # fmt: skip
    fit = int(rep.kv_capacity_tokens // (p + o))
    if fit < 1:
        return None

    def largest(prompt: float) -> tuple[int, float, float]:
        """The largest batch (requests) whose step per emitted token meets the TPOT limit."""

        def per_token(b: int) -> tuple[float, float]:
            s, n = rep.step(b, ctx, prompt, o, **spec)
            s += iteration_toll_s + (extra_iteration_s(b, rep) if extra_iteration_s else 0.0)
            return s * b / n, n / s  # seconds per token of one request, tokens/s

        lo, hi = 0, min(fit, 8192 * rep.dp)
        if per_token(1)[0] > slo.tpot_s:
            return 0, 0.0, 0.0
        lo = 1
        if per_token(hi)[0] <= slo.tpot_s:
            lo = hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if per_token(mid)[0] <= slo.tpot_s else (lo, mid)
        step, tps = per_token(lo)
        return lo, step, tps

    b, step, tps = largest(p)
    b_dec, step_dec, tps_dec = largest(0.0)
    budget = rep.max_batched_tokens
    chunks = math.ceil(p / max(budget / rep.dp - b / rep.dp, 1.0))
    ttft_agg = chunks * step + request_toll_s if b else math.inf
    # prefill replica: a full token budget per iteration; a prompt's chunks within half the
    # TTFT limit (the other half for queueing and the KV transfer)
    t_pre = rep.iteration_time(int(budget), 0, 0) + iteration_toll_s
    chunks_pre = math.ceil(p / max(budget / rep.dp, 1.0))
    ok = chunks_pre * t_pre + request_toll_s <= slo.ttft_s / 2
    prefill_tps = budget / t_pre if ok else 0.0
    return {
        "batch": b,
        "aggregated_requests_per_s": tps / o if ttft_agg <= slo.ttft_s else 0.0,
        "decode_batch": b_dec,
        "decode_requests_per_s": tps_dec / o,
        "prefill_requests_per_s": prefill_tps / p,
        "ttft_model_s": ttft_agg,
        "tpot_model_s": step,
        "gpus": rep.num_gpus,
    }


def _estimates(shape: Shape, cap: dict[str, Any], rate: float) -> list[dict[str, Any]]:
    """Replica counts that carry ``rate`` requests/s, aggregated and disaggregated."""
    out = []
    if cap["aggregated_requests_per_s"] > 0:
        n = math.ceil(rate / cap["aggregated_requests_per_s"])
        out.append(dict(shape=shape, replicas=n, prefill_replicas=0, seqs=cap["batch"]))
    if cap["decode_requests_per_s"] > 0 and cap["prefill_requests_per_s"] > 0:
        n_p = math.ceil(rate / cap["prefill_requests_per_s"])
        n_d = math.ceil(rate / cap["decode_requests_per_s"])
        out.append(dict(shape=shape, replicas=n_p + n_d, prefill_replicas=n_p,
                        seqs=cap["decode_batch"]))  # fmt: skip
    for e in out:
        e["gpus"] = e["replicas"] * cap["gpus"]
    return out


def serving_capacity(
    base: ServeJob,
    *,
    catalog: Catalog | None = None,
    iteration_toll_s: float = 0.0,
    request_toll_s: float = 0.0,
    extra_iteration_s: Callable[[int, ServingReplica], float] | None = None,
) -> dict[str, Any]:
    """The best closed-form requests/s per GPU of ``base``'s model on its system at its SLO,
    over every replica shape, aggregated or disaggregated; raises when no shape meets it.

    This is what a fleet sizer should call per service and pool (see the module docstring);
    it runs no simulation. The tolls are those of :func:`shape_capacity`. The result holds
    the ``shape``, the ``replica`` model and its ``batch`` (for the power model).
    """
    catalog = catalog or load_catalog()
    best: dict[str, Any] | None = None
    tolls = dict(iteration_toll_s=iteration_toll_s, request_toll_s=request_toll_s,
                 extra_iteration_s=extra_iteration_s)  # fmt: skip
    for shape, rep, cap in _capacities(base, catalog, **tolls):
        agg = cap["aggregated_requests_per_s"] / rep.num_gpus
        d, pf = cap["decode_requests_per_s"], cap["prefill_requests_per_s"]
        dis = 1.0 / (1.0 / d + 1.0 / pf) / rep.num_gpus if d > 0 and pf > 0 else 0.0
        share = 1.0 / pf / (1.0 / d + 1.0 / pf) if d > 0 and pf > 0 else 0.0
        for per_gpu, disagg in ((agg, False), (dis, True)):
            if per_gpu > 0 and (best is None or per_gpu > best["requests_per_s_per_gpu"]):
                best = {
                    **cap,
                    "requests_per_s_per_gpu": per_gpu,
                    "output_tokens_per_s_per_gpu": per_gpu * base.traffic.output_tokens,
                    "shape": shape,
                    "disaggregated": disagg,
                    "replica": rep,
                    "prefill_share": share if disagg else 0.0,
                    "batch": cap["decode_batch" if disagg else "batch"],
                }
    if best is None:
        raise GigafleetError(
            f"no replica of {base.model} on {base.system} meets TTFT {base.slo.ttft_s} s / "
            f"TPOT {base.slo.tpot_s} s", field="slo",
        )  # fmt: skip
    return best


def deployment_fields(cap: dict[str, Any], replicas: int) -> dict[str, Any]:
    """The ServeJob fields that deploy ``replicas`` replicas of a :func:`serving_capacity`
    result (shape, batch limit per attention-DP rank, the prefill share when disaggregated)."""
    s: Shape = cap["shape"]
    n_p = 0
    if cap.get("disaggregated") and replicas > 1:
        n_p = min(max(1, round(replicas * cap["prefill_share"])), replicas - 1)
    return dict(
        tp=s.tp, ep=s.ep, dp=s.dp, redundant_experts=s.redundant_experts,
        two_batch_overlap=s.two_batch_overlap, replicas=replicas, prefill_replicas=n_p,
        max_num_seqs=max(1, math.ceil(cap["batch"] / s.dp)),
    )  # fmt: skip


def _capacities(base: ServeJob, catalog: Catalog, **tolls: Any):
    model = catalog.model(base.model)
    system = catalog.system(base.system)
    domain = resolve_hardware(catalog, system, fabric=base.fabric).net.domain_size
    for shape in replica_shapes(model, domain, system.num_gpus, base.pp):
        try:
            rep = _build(base, shape, catalog)
        except GigafleetError:
            continue
        cap = shape_capacity(rep, base, **tolls)
        if cap is not None:
            yield shape, rep, cap


def plan_serving(
    base: ServeJob,
    *,
    attainment: float = 0.99,
    gpu_hour_usd: float | None = None,
    objective: str = "gpus",
    max_replicas: int = 4096,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """The best deployment by ``objective`` meeting ``base.slo`` for ``attainment`` of the
    requests."""

    catalog = catalog or load_catalog()
    if objective not in OBJECTIVES:
        raise GigafleetError(
            f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}", field="objective"
        )
    inputs = None
    if objective == "cost" and not gpu_hour_usd:
        try:
            inputs = cost_inputs(base.system, catalog=catalog)
        except GigafleetError as exc:
            if exc.field != "system_usd_per_gpu":
                raise
            acc = catalog.system(base.system).accelerator
            raise GigafleetError(
                f"no sourced server price for {acc} to cost an owned deployment; give a price "
                "per GPU-hour (--gpu-hour-usd)",
                field="gpu_hour_usd",
            ) from None
    model = catalog.model(base.model)
    system = catalog.system(base.system)
    if "num_requests" not in base.traffic.model_fields_set:  # trial simulations stay short
        base = base.model_copy(
            update={"traffic": base.traffic.model_copy(update={"num_requests": 2000})}
        )
    rate = base.traffic.rate_per_s
    estimates = []
    num_shapes = 0
    for shape, _rep, cap in _capacities(base, catalog):
        num_shapes += 1
        estimates += [e for e in _estimates(shape, cap, rate) if e["replicas"] <= max_replicas]
    estimates.sort(key=lambda e: (e["gpus"], e["prefill_replicas"] > 0, -e["shape"].dp))
    tried: list[dict[str, Any]] = []

    def simulate(e: dict[str, Any], n: int) -> dict[str, Any]:
        s = e["shape"]
        n_p = 0
        if e["prefill_replicas"]:  # the prefill share of the estimate, at least one each
            n_p = min(max(1, round(n * e["prefill_replicas"] / e["replicas"])), n - 1)
        job = base.model_copy(update=dict(
            tp=s.tp, ep=s.ep, dp=s.dp, redundant_experts=s.redundant_experts,
            two_batch_overlap=s.two_batch_overlap, replicas=n, prefill_replicas=n_p,
            max_num_seqs=max(1, math.ceil(e["seqs"] / s.dp)),
        ))  # fmt: skip
        return {"n": n, "n_p": n_p, "job": job, "m": run_serving(job, catalog=catalog)["metrics"]}

    for e in estimates:
        if len(tried) >= NUM_VERIFIED:
            break
        minimum = 2 if e["prefill_replicas"] else 1
        n = max(e["replicas"], minimum)
        limit = min(max_replicas, 8 * n)  # past 8x the closed-form estimate: give up
        ok = None
        run = simulate(e, n)
        if run["m"]["slo_attainment"] >= attainment:
            ok = run  # the estimate may be generous: bisect down to the fewest that meet it
            lo = minimum - 1
            while n - lo > 1:
                mid = (lo + n) // 2
                down = simulate(e, mid)
                if down["m"]["slo_attainment"] >= attainment:
                    ok, n = down, mid
                else:
                    lo = mid
        else:
            while n < limit and ok is None:
                n = min(limit, max(n + 1, int(n * 1.25)))
                run = simulate(e, n)
                if run["m"]["slo_attainment"] >= attainment:
                    ok = run
        if ok is None:
            continue
        m, s = ok["m"], e["shape"]
        gpus = ok["n"] * ok["job"].tp * ok["job"].pp * s.dp
        price = gpu_hour_usd
        if inputs is not None:  # owned: at the simulated average IT power
            avg_w = m["energy_j"] / max(m["makespan_s"], 1e-9) / gpus
            price = float(owned_cost_per_gpu_hour(
                avg_power_w_per_gpu=avg_w, inputs=inputs
            ).total_usd_per_gpu_hour)  # fmt: skip
        tried.append({
            "tp": s.tp, "ep": s.ep, "dp": s.dp, "redundant_experts": s.redundant_experts,
            "two_batch_overlap": s.two_batch_overlap, "shape": s.describe(),
            "replicas": ok["n"], "max_num_seqs": ok["job"].max_num_seqs,
            "disaggregated": ok["n_p"] > 0, "prefill_replicas": ok["n_p"],
            "gpus": gpus, "cost_usd_per_hour": gpus * price if price else None,
            "slo_attainment": m["slo_attainment"], "ttft_p99_s": m["ttft_p99_s"],
            "tpot_p99_s": m["tpot_p99_s"], "energy_j_per_output_token": m["energy_j_per_output_token"],
            "output_tokens_per_s_per_gpu": rate * base.traffic.output_tokens / gpus,
            "closed_form_gpus": e["gpus"],
        })  # fmt: skip
    if not tried:
        raise GigafleetError(
            f"no deployment of {base.model} on {base.system} meets the SLO at {rate} requests/s "
            f"(tried up to {max_replicas} replicas, or 8x the closed-form estimate)", field="slo",
        )  # fmt: skip
    key = {
        "gpus": lambda d: (d["gpus"], d["energy_j_per_output_token"]),
        "energy": lambda d: (d["energy_j_per_output_token"], d["gpus"]),
        "cost": lambda d: (d["cost_usd_per_hour"], d["gpus"]),
    }[objective]
    tried.sort(key=key)
    return {
        "objective": objective,
        "model": model.name,
        "system": system.name,
        "rate_per_s": rate,
        "num_shapes": num_shapes,
        "num_closed_form": len(estimates),
        "best": tried[0],
        "candidates": tried,
    }


__all__ = [
    "OBJECTIVES",
    "Shape",
    "deployment_fields",
    "plan_serving",
    "replica_shapes",
    "serving_capacity",
    "shape_capacity",
]
