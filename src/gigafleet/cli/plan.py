"""``gigafleet plan train`` and ``gigafleet plan serve``: search for the best strategy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gigafleet.cli.app import (
    CatalogOpt,
    JsonOpt,
    console,
    fmt_time,
    load_catalog,
    plan_app,
    print_json,
    validate_options,
)
from gigafleet.cli.options import spec_command, spec_options
from gigafleet.cli.serve import FLAGS, ServeConfigOpt, serve_job
from gigafleet.errors import GigafleetError
from gigafleet.spec.options import MAX_USD_PER_GPU_HOUR, EnergyOptions
from gigafleet.spec.serving import ServeJob
from gigafleet.spec.training import TrainingPlanRequest

PLAN = spec_options(
    TrainingPlanRequest,
    ["model", "system", "seq_len", "global_batch", "objective", "gpu_hour_usd", "train_tokens",
     "ep_dispatcher", "ep_overlap", "top", "site_power_mw", "lora_rank", "lora_targets",
     "adapters", "frozen_weights"],
    flags={"train_tokens": "--tokens"},
)  # fmt: skip
PLAN_ENERGY = spec_options(EnergyOptions, ["power_cap_w", "pue"])


def gpu_counts(text: str) -> list[int]:
    """``16384``, ``1024,2048,4096`` or ``1024-8192`` (powers of two in the range)."""
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            counts, n = [], 1
            while n <= hi:
                if n >= lo:
                    counts.append(n)
                n *= 2
        else:
            counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        counts = []
    if not counts or any(c <= 0 for c in counts):
        raise GigafleetError(
            f"got {text!r}; give a count (16384), a list (1024,2048) or a range (1024-8192)",
            field="--gpus",
        )
    return counts


@spec_command(plan_app, "train", request=PLAN, energy=PLAN_ENERGY)
def plan_train(
    gpus: Annotated[str, typer.Option(help="GPU count, list (1024,2048) or range (1024-8192).")],
    precision: Annotated[
        list[str] | None, typer.Option(help="Allowed precisions (repeat for several) [bf16].")
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
    *,
    request: dict[str, Any],
    energy: dict[str, Any],
) -> None:
    """Find the best training strategy: every valid one, ranked; why the best wins; Pareto front."""
    from gigafleet.plan.training import plan_training

    data = {**request, "num_gpus": gpu_counts(gpus)}
    if precision:
        data["precisions"] = precision
    req = validate_options(TrainingPlanRequest, data, PLAN)
    power = validate_options(EnergyOptions, energy, PLAN_ENERGY)
    plan = plan_training(
        req.model, req.system, num_gpus=req.num_gpus, seq_len=req.seq_len,
        global_batch=req.global_batch, precisions=tuple(req.precisions), objective=req.objective,
        gpu_hour_usd=req.gpu_hour_usd, train_tokens=req.train_tokens,
        ep_dispatcher=req.ep_dispatcher, ep_overlap=req.ep_overlap,
        catalog=load_catalog(catalog), power_cap_w=power.power_cap_w,
        site_power_mw=req.site_power_mw, pue=power.pue,
        workload="lora" if req.is_lora else "pretrain", lora_rank=req.lora_rank,
        lora_targets=req.lora_targets, adapters=req.adapters, frozen_weights=req.frozen_weights,
        top_k=req.top, median=True,  # what is shown: streamed, in bounded memory
    )  # fmt: skip
    result = {
        "model": plan.model,
        "system": plan.system,
        "objective": plan.objective,
        "num_considered": plan.num_considered,
        "num_feasible": plan.num_feasible,
        "num_over_site_power": plan.info["num_over_site_power"],
        "site_power_mw": req.site_power_mw,
        "why": plan.why() if plan.num_feasible else None,
        "top": [plan.row(int(i)) for i in plan.order[: req.top]],
        "pareto": [plan.row(int(i)) for i in plan.pareto],
    }
    if plan.info["cost_note"]:
        result["cost_note"] = plan.info["cost_note"]
    if as_json:
        print_json(result)
        return
    _print_plan(result)


def _print_plan(r: dict[str, Any]) -> None:
    from rich.table import Table

    con = console()
    con.print(
        f"[bold]{r['model']} on {r['system']}[/bold]: {r['num_considered']:,} strategies considered, "
        f"{r['num_feasible']:,} feasible; ranked by {r['objective']}"
    )
    if r.get("site_power_mw") is not None:
        con.print(
            f"{r['num_over_site_power']:,} strategies exceed the site power limit of "
            f"{r['site_power_mw']:,g} MW (peak facility power)"
        )
    if not r["top"]:
        con.print("[red]no strategy is feasible[/red]")
        return
    t = Table(
        "#", "strategy", "step", "tok/s/GPU", "MFU", "GiB", "kWh", "largest costs",
        title="Best strategies",
    )  # fmt: skip
    for i, s in enumerate(r["top"], 1):
        costs = sorted(s["breakdown_s"].items(), key=lambda kv: -kv[1])[:3]
        t.add_row(
            str(i), _strategy_text(s), fmt_time(s["step_time_s"]), f"{s['tokens_per_s_per_gpu']:,.0f}",
            f"{100 * s['mfu']:.1f}%", f"{s['memory_gib_per_gpu']:.0f}", f"{s['energy_j_per_step'] / 3.6e6:.2f}",
            ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {100 * v / s['step_time_s']:.0f}%" for k, v in costs),
        )  # fmt: skip
    con.print(t)
    con.print(f"[bold]Why #1 wins:[/bold] {r['why']}")
    p = Table("strategy", "step", "kWh/step", title="Pareto front: time against energy")
    for s in r["pareto"]:
        p.add_row(
            _strategy_text(s), fmt_time(s["step_time_s"]), f"{s['energy_j_per_step'] / 3.6e6:.3f}"
        )
    con.print(p)


def _strategy_text(s: dict[str, Any]) -> str:
    text = f"{s['num_gpus']} GPUs TP{s['tp']} PP{s['pp']}"
    text += f" VP{s['vp']}" if s["vp"] > 1 else ""
    text += f" CP{s['cp']}" if s["cp"] > 1 else ""
    text += f" EP{s['ep']}" if s["ep"] > 1 else ""
    return (
        text
        + f" DP{s['dp']} mb{s['micro_batch']} ZeRO-{s['zero']} {s['precision']} rc:{s['recompute']}"
    )


SERVE = spec_options(
    ServeJob,
    ["model", "system", "precision", "engine", "traffic.rate_per_s", "traffic.num_requests",
     "traffic.prompt_tokens", "traffic.output_tokens", "slo.ttft_s", "slo.tpot_s",
     "speculative_tokens", "acceptance_rate", "draft"],
    flags=FLAGS,
    helps={"traffic.num_requests": "Requests per trial simulation [2000]."},
)  # fmt: skip


@spec_command(plan_app, "serve", job=SERVE)
def plan_serve(
    config: ServeConfigOpt = None,
    attainment: Annotated[
        float, typer.Option(help="Fraction of requests that must meet the SLO.")
    ] = 0.99,
    gpu_hour_usd: Annotated[
        float | None, typer.Option(help="Price per GPU-hour, for cost [owned cost].")
    ] = None,
    objective: Annotated[
        str, typer.Option(help="Rank by gpus, energy (J/token) or cost ($/hour).")
    ] = "gpus",
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
    *,
    job: dict[str, Any],
) -> None:
    """Find the best deployment (replicas; TP, or wide EP with DP attention; batch limit;
    aggregated or disaggregated) that meets the SLOs at a given load: fewest GPUs, least
    energy or least cost."""
    from rich.table import Table

    from gigafleet.plan.serving import plan_serving

    if not 0 < attainment <= 1:
        raise GigafleetError(
            f"got {attainment}; allowed: a fraction in (0, 1]", field="--attainment"
        )
    if gpu_hour_usd is not None and not 0 < gpu_hour_usd <= MAX_USD_PER_GPU_HOUR:
        raise GigafleetError(
            f"got {gpu_hour_usd}; allowed: a price above 0 and at most {MAX_USD_PER_GPU_HOUR:g} USD",
            field="--gpu-hour-usd",
        )
    spec = serve_job(config, job, SERVE)
    r = plan_serving(
        spec, attainment=attainment, gpu_hour_usd=gpu_hour_usd, objective=objective,
        catalog=load_catalog(catalog),
    )  # fmt: skip
    if as_json:
        print_json(r)
        return
    t = Table("GPUs", "replicas", "shape", "max seqs/rank", "disaggregated", "SLO met", "TTFT p99", "TPOT p99", "J/token",
              title=f"Deployments of {r['model']} on {r['system']} meeting the SLO at {r['rate_per_s']} req/s")  # fmt: skip
    for d in r["candidates"][:10]:
        t.add_row(str(d["gpus"]), str(d["replicas"]), d["shape"], str(d["max_num_seqs"]),
                  f"yes ({d['prefill_replicas']} prefill)" if d["disaggregated"] else "no",
                  f"{100 * d['slo_attainment']:.1f}%", fmt_time(d["ttft_p99_s"]), fmt_time(d["tpot_p99_s"]),
                  f"{d['energy_j_per_output_token']:.2f}")  # fmt: skip
    con = console()
    con.print(t)
    b = r["best"]
    cost = f", ${b['cost_usd_per_hour']:,.2f}/hour" if b["cost_usd_per_hour"] else ""
    con.print(
        f"[bold]Best by {r['objective']}:[/bold] {b['replicas']} x {b['shape']} ({b['gpus']} GPUs, "
        f"{b['output_tokens_per_s_per_gpu']:,.0f} output tokens/s per GPU, "
        f"{b['energy_j_per_output_token']:.2f} J/token{cost})"
    )
