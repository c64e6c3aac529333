"""Find the cheapest serving deployment that meets the SLOs at a given load.

Candidates: every tensor-parallel degree that fits the model (``ep = tp`` for MoE), a few
batch limits, aggregated or disaggregated (a quarter of the replicas prefilling). For each
the number of replicas starts from the steady-state estimate (load over one replica's
capacity under the TPOT limit) and grows until a simulation of the load meets the SLO for
``attainment`` of the requests. Candidates are ranked by ``objective``: ``gpus`` (fewest),
``energy`` (IT joules per output token, from the simulation's busy/idle power) or ``cost``
(dollars per hour: GPUs x the given price per GPU-hour, else the owned cost of
``gigafleet.cost`` at the deployment's average IT power per GPU).
"""

from __future__ import annotations

import math
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf.inference import serving_replica
from gigafleet.sim.deployment import run_serving
from gigafleet.spec.serving import ServeJob

BATCH_LIMITS = (32, 128, 256)
OBJECTIVES = ("gpus", "energy", "cost")


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
        from gigafleet.cost import cost_inputs

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
    t = base.traffic
    tried: list[dict[str, Any]] = []
    for tp in (1, 2, 4, 8, 16):
        if tp * base.pp > system.num_gpus or model.num_attention_heads % tp:
            continue
        ep = tp if model.moe and model.moe.num_experts % tp == 0 else 1
        try:
            rep = serving_replica(model, system, tp=tp, ep=ep, weight_precision=base.precision,
                                  kv_precision=base.kv_precision, pp=base.pp, fabric=base.fabric,
                                  max_batched_tokens=base.max_batched_tokens, catalog=catalog,
                                  prompt_tokens_hint=t.prompt_tokens, engine=base.engine)  # fmt: skip
        except GigafleetError:
            continue
        ctx = t.prompt_tokens + t.output_tokens / 2
        # a replica that cannot meet the SLO for a lone request never will with more load
        if (
            rep.iteration_time(0, 1, int(ctx)) > base.slo.tpot_s
            or rep.iteration_time(int(t.prompt_tokens), 0, 0) > base.slo.ttft_s
        ):
            continue
        for seqs in BATCH_LIMITS:
            for disagg in (False, True):
                b = seqs
                while (
                    b > 1
                    and rep.iteration_time(
                        int(b * t.prompt_tokens / t.output_tokens), b, int(b * ctx)
                    )
                    > base.slo.tpot_s
                ):
                    b //= 2
                cap = (
                    rep.decode_throughput(b, ctx, t.prompt_tokens, t.output_tokens)
                    / t.output_tokens
                )
                n = max(2 if disagg else 1, math.ceil(t.rate_per_s / cap))
                limit = min(max_replicas, 8 * n)  # past 8x the steady-state estimate: give up
                while n <= limit:
                    job = base.model_copy(update=dict(
                        tp=tp, ep=ep, replicas=n, max_num_seqs=seqs,
                        prefill_replicas=max(1, n // 4) if disagg else 0,
                    ))  # fmt: skip
                    m = run_serving(job, catalog=catalog)["metrics"]
                    if m["slo_attainment"] >= attainment:
                        gpus = n * rep.num_gpus
                        price = gpu_hour_usd
                        if inputs is not None:  # owned: at the simulated average IT power
                            from gigafleet.cost import owned_cost_per_gpu_hour

                            avg_w = m["energy_j"] / max(m["makespan_s"], 1e-9) / gpus
                            price = float(owned_cost_per_gpu_hour(
                                avg_power_w_per_gpu=avg_w, inputs=inputs
                            ).total_usd_per_gpu_hour)  # fmt: skip
                        tried.append({
                            "tp": tp, "ep": ep, "replicas": n, "max_num_seqs": seqs,
                            "disaggregated": disagg, "prefill_replicas": job.prefill_replicas,
                            "gpus": gpus, "cost_usd_per_hour": gpus * price if price else None,
                            "slo_attainment": m["slo_attainment"], "ttft_p99_s": m["ttft_p99_s"],
                            "tpot_p99_s": m["tpot_p99_s"], "energy_j_per_output_token": m["energy_j_per_output_token"],
                        })  # fmt: skip
                        break
                    n = max(n + 1, int(n * 1.25))
    if not tried:
        raise GigafleetError(
            f"no deployment of {base.model} on {base.system} meets the SLO at {t.rate_per_s} requests/s "
            f"(tried up to {max_replicas} replicas, or 8x the steady-state estimate)", field="slo",
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
        "rate_per_s": t.rate_per_s,
        "best": tried[0],
        "candidates": tried,
    }
