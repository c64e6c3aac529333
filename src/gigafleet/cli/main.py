"""The ``gigafleet`` command line. A face: it parses, calls the models, and prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gigafleet.cli import relcost as rc
from gigafleet.errors import GigafleetError

app = typer.Typer(
    name="gigafleet",
    help="Digital twin of AI fleets: predict training time, throughput, memory and power.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show defaults as "[bf16]": plain text, not markup
)
catalog_app = typer.Typer(
    help="List and show catalog entries (hardware and models).", no_args_is_help=True
)
validate_app = typer.Typer(
    help="Compare predictions with published measurements.", no_args_is_help=True
)
calibrate_app = typer.Typer(
    help="Refit the calibration constants on their named rows.", no_args_is_help=True
)
app.add_typer(catalog_app, name="catalog")
app.add_typer(validate_app, name="validate")
app.add_typer(calibrate_app, name="calibrate")
plan_app = typer.Typer(help="Search for the best strategy.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
results_app = typer.Typer(
    help="Query sweep results (DuckDB over the Parquet shards).", no_args_is_help=True
)
app.add_typer(results_app, name="results")

CatalogOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog", help="YAML overlay adding or overriding catalog entries (repeatable)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]


def _console():
    from rich.console import Console

    return Console()


def _catalog(paths: list[Path] | None):
    from gigafleet.catalog import load_catalog

    return load_catalog(paths or ())


def _fmt_time(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "-"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            return f"{seconds / size:.2f} {unit}"
    return f"{seconds * 1e3:.2f} ms"


@app.command()
def train(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML file with the fields below (options override it)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name from the catalog, e.g. llama3.1-405b.")
    ] = None,
    system: Annotated[
        str | None, typer.Option(help="System name from the catalog, e.g. dgx-h100, gb200-nvl72.")
    ] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs in the job.")] = None,
    seq_len: Annotated[int | None, typer.Option(help="Tokens per sequence [8192].")] = None,
    global_batch: Annotated[
        int | None, typer.Option(help="Sequences per optimizer step [1024].")
    ] = None,
    tp: Annotated[
        int | None, typer.Option(help="Tensor parallel degree, with sequence parallel [1].")
    ] = None,
    pp: Annotated[int | None, typer.Option(help="Pipeline parallel degree [1].")] = None,
    cp: Annotated[
        int | None, typer.Option(help="Context parallel degree, ring attention [1].")
    ] = None,
    ep: Annotated[int | None, typer.Option(help="Expert parallel degree, MoE [1].")] = None,
    vp: Annotated[
        int | None, typer.Option(help="Virtual pipeline stages per rank, interleaved 1F1B [1].")
    ] = None,
    micro_batch: Annotated[int | None, typer.Option(help="Sequences per micro-batch [1].")] = None,
    precision: Annotated[
        str | None, typer.Option(help="GEMM precision: bf16, fp8 or fp4 [bf16].")
    ] = None,
    zero: Annotated[
        int | None, typer.Option(help="0 plain DP, 1 distributed optimizer, 2 ZeRO-2, 3 FSDP [1].")
    ] = None,
    recompute: Annotated[
        str | None, typer.Option(help="Activation recomputation: none, selective, full [none].")
    ] = None,
    offload: Annotated[
        float | None,
        typer.Option(help="Fraction of layers whose activations go to host memory [0]."),
    ] = None,
    ep_overlap: Annotated[
        bool | None,
        typer.Option(
            "--ep-overlap/--no-ep-overlap",
            help="Hide MoE all-to-all behind deferred weight-gradient GEMMs.",
        ),
    ] = None,
    ep_dispatcher: Annotated[
        str | None,
        typer.Option(help="MoE dispatch: alltoall, or dedup (DeepEP/HybridEP) [alltoall]."),
    ] = None,
    cuda_graphs: Annotated[
        bool | None,
        typer.Option(
            "--cuda-graphs/--no-cuda-graphs",
            help="Whole iteration in CUDA graphs, MoE layers included [no].",
        ),
    ] = None,
    workload: Annotated[str | None, typer.Option(help="pretrain, sft or lora [pretrain].")] = None,
    fabric: Annotated[
        str | None, typer.Option(help="Scale-out fabric instead of the system's default.")
    ] = None,
    tokens: Annotated[
        float | None, typer.Option(help="Tokens to train on, for time to train.")
    ] = None,
    uneven_layers: Annotated[
        bool | None,
        typer.Option(
            "--uneven-layers/--no-uneven-layers",
            help="Allow pp x vp not dividing the layers (custom pipeline layout).",
        ),
    ] = None,
    power_cap_w: Annotated[
        float | None, typer.Option(help="GPU board power cap, W (DVFS slows the step).")
    ] = None,
    pue: Annotated[
        float | None, typer.Option(help="Facility PUE [by cooling: air 1.5, liquid 1.1].")
    ] = None,
    grid_gco2_per_kwh: Annotated[
        float | None, typer.Option(help="Grid carbon intensity, gCO2/kWh [390: U.S. 2022].")
    ] = None,
    storage_tbytes_per_s: rc.StorageOpt = None,
    node_storage_gbytes_per_s: rc.NodeStorageOpt = None,
    restart_overhead_s: rc.RestartOpt = None,
    checkpoint_interval_s: rc.IntervalOpt = None,
    planned_per_day: rc.PlannedOpt = None,
    failure_rates: rc.RatesOpt = None,
    price_usd_per_gpu_hour: rc.CloudPriceOpt = None,
    system_usd_per_gpu: rc.SystemPriceOpt = None,
    prices: rc.PricesOpt = None,
    avg_power_w: rc.PowerOpt = None,
    utilization: rc.UtilizationOpt = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Predict one training configuration: step time, throughput, MFU, memory, power, energy,
    failures and effective training time, cost."""
    from gigafleet.energy.summary import apply_training_energy
    from gigafleet.perf.training import estimate_training
    from gigafleet.spec.training import TrainingJob
    from gigafleet.yamlio import load_yaml_model, validate_model

    given = dict(
        model=model, system=system, num_gpus=gpus, seq_len=seq_len, global_batch=global_batch,
        tp=tp, pp=pp, cp=cp, ep=ep, vp=vp, micro_batch=micro_batch, precision=precision,
        zero=zero, recompute=recompute, offload=offload, ep_overlap=ep_overlap, ep_dispatcher=ep_dispatcher, workload=workload, fabric=fabric, train_tokens=tokens,
        uneven_layers=uneven_layers, cuda_graphs=cuda_graphs,
    )  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}
    base = load_yaml_model(config, TrainingJob).model_dump(exclude_unset=True) if config else {}
    # the file alone is valid (load_yaml_model checked it): what fails now came from the options
    job = validate_model({**base, **given}, TrainingJob, source="command line")
    cat = _catalog(catalog)
    est = estimate_training(
        job.model, job.system, num_gpus=job.num_gpus, seq_len=job.seq_len,
        global_batch=job.global_batch, tp=job.tp, pp=job.pp, cp=job.cp, ep=job.ep, vp=job.vp,
        micro_batch=job.micro_batch, precision=job.precision, zero=job.zero,
        recompute=job.recompute, offload=job.offload, ep_overlap=job.ep_overlap, ep_dispatcher=job.ep_dispatcher, workload=job.workload, fabric=job.fabric,
        train_tokens=job.train_tokens, catalog=cat, strict=True, uneven_layers=job.uneven_layers,
        cuda_graphs=job.cuda_graphs,
    )  # fmt: skip
    result = apply_training_energy(
        training_summary(est), est, train_tokens=job.train_tokens, power_cap_w=power_cap_w,
        pue=pue, grid_gco2_per_kwh=grid_gco2_per_kwh, catalog=cat,
    )  # fmt: skip
    result.update(rc.training_extras(
        est, catalog=cat, storage_tbytes_per_s=storage_tbytes_per_s,
        node_storage_gbytes_per_s=node_storage_gbytes_per_s, restart_overhead_s=restart_overhead_s,
        checkpoint_interval_s=checkpoint_interval_s, planned_per_day=planned_per_day,
        failure_rates=failure_rates, price_usd_per_gpu_hour=price_usd_per_gpu_hour,
        system_usd_per_gpu=system_usd_per_gpu, prices=prices, avg_power_w=avg_power_w,
        model_power_w=result["power"]["it_power_w"] / est.item("num_gpus"),
        pue=result["power"]["pue"],
        utilization=utilization,
    ))  # fmt: skip
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _print_training(result)
    rc.print_training_extras(result, _console(), _fmt_time)


def training_summary(est) -> dict[str, Any]:
    """Scalars of a single-strategy estimate, for printing or JSON."""
    from gigafleet.spec.enums import DISPATCHERS, PRECISIONS, RECOMPUTE

    s = {
        k: int(v)
        for k, v in est.strategy.items()
        if k
        not in ("precision", "recompute", "offload", "ep_overlap", "ep_dispatcher", "cuda_graphs")
    }
    s["cuda_graphs"] = bool(est.strategy["cuda_graphs"])
    s["ep_dispatcher"] = DISPATCHERS[int(est.strategy["ep_dispatcher"])]
    s["offload"] = float(est.strategy["offload"])
    s["ep_overlap"] = bool(est.strategy["ep_overlap"])
    s["precision"] = PRECISIONS[int(est.strategy["precision"])]
    s["recompute"] = RECOMPUTE[int(est.strategy["recompute"])]
    step = est.item("step_time_s")
    out = {
        **est.info,
        "num_gpus": int(est.num_gpus),
        "strategy": s,
        "feasible": bool(est.feasible),
        "infeasible_reason": est.reason(),
        "calibration": est.calibration,
        "step_time_s": step,
        "tokens_per_s": est.item("tokens_per_s"),
        "tokens_per_s_per_gpu": est.item("tokens_per_s_per_gpu"),
        "model_tflops_per_gpu": est.item("model_tflops_per_gpu"),
        "mfu": est.item("mfu"),
        "memory_gib_per_gpu": est.item("memory_bytes_per_gpu") / 2**30,
        "hbm_gib": est.hbm_bytes / 2**30,
        "breakdown_s": {k: float(v) for k, v in est.breakdown_s.items()},
        "power_w_per_gpu": est.item("power_w_per_gpu"),
        "energy_j_per_step": est.item("energy_j_per_step"),
        "time_to_train_s": None if est.time_to_train_s is None else float(est.time_to_train_s),
    }
    out["num_micro_batches"] = float(out.pop("num_micro_batches"))
    return out


def _print_training(r: dict[str, Any]) -> None:
    from rich.table import Table

    con = _console()
    s = r["strategy"]
    title = (
        f"{r['model']} on {r['num_gpus']:,} x {r['accelerator']} ({r['system']}, {r['fabric']}): "
        f"TP{s['tp']} PP{s['pp']} VP{s['vp']} CP{s['cp']} EP{s['ep']} DP{s['dp']} "
        f"mb{s['micro_batch']} {s['precision']} ZeRO-{s['zero']} recompute={s['recompute']}"
    )
    con.print(f"[bold]{title}[/bold]")
    if not r["feasible"]:
        con.print(f"[red]infeasible:[/red] {r['infeasible_reason']}")
    t = Table("metric", "value", show_header=False)
    t.add_row("step time", _fmt_time(r["step_time_s"]))
    t.add_row("tokens/s (total)", f"{r['tokens_per_s']:,.0f}")
    t.add_row("tokens/s per GPU", f"{r['tokens_per_s_per_gpu']:,.1f}")
    t.add_row("model TFLOP/s per GPU", f"{r['model_tflops_per_gpu']:,.1f}")
    t.add_row(f"MFU (vs {s['precision']} dense peak)", f"{100 * r['mfu']:.1f} %")
    t.add_row("memory per GPU", f"{r['memory_gib_per_gpu']:.1f} GiB of {r['hbm_gib']:.1f} GiB")
    t.add_row("micro-batches per step", f"{r['num_micro_batches']:.0f}")
    from gigafleet.energy.summary import training_energy_rows

    for label, value in training_energy_rows(r["power"]) if "power" in r else ():
        t.add_row(label, value)
    if r["time_to_train_s"] is not None:
        t.add_row("time to train", _fmt_time(r["time_to_train_s"]))
    t.add_row("calibration", r["calibration"])
    con.print(t)
    b = Table("step breakdown", "time", "share", title="Where the step goes")
    for k, v in r["breakdown_s"].items():
        b.add_row(
            k.removesuffix("_s").replace("_", " "),
            _fmt_time(v),
            f"{100 * v / r['step_time_s']:.1f} %",
        )
    con.print(b)


def _gpu_counts(text: str) -> list[int]:
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


@plan_app.command("train")
def plan_train(
    model: Annotated[str, typer.Option(help="Model name from the catalog.")],
    system: Annotated[str, typer.Option(help="System name from the catalog.")],
    gpus: Annotated[str, typer.Option(help="GPU count, list (1024,2048) or range (1024-8192).")],
    seq_len: Annotated[int, typer.Option(help="Tokens per sequence.")] = 8192,
    global_batch: Annotated[int, typer.Option(help="Sequences per optimizer step.")] = 1024,
    precision: Annotated[
        list[str] | None, typer.Option(help="Allowed precisions (repeat for several) [bf16].")
    ] = None,
    objective: Annotated[str, typer.Option(help="Rank by time, energy or cost.")] = "time",
    gpu_hour_usd: Annotated[
        float | None,
        typer.Option(
            help="Price per GPU-hour for the cost objective [owned cost, gigafleet.cost]."
        ),
    ] = None,
    tokens: Annotated[
        float | None, typer.Option(help="Tokens to train on, for time and energy to train.")
    ] = None,
    ep_dispatcher: Annotated[
        str, typer.Option(help="MoE dispatch: alltoall or dedup.")
    ] = "alltoall",
    ep_overlap: Annotated[
        bool, typer.Option("--ep-overlap", help="Frameworks overlap MoE all-to-all.")
    ] = False,
    top: Annotated[int, typer.Option(help="How many strategies to show.")] = 10,
    power_cap_w: Annotated[
        float | None, typer.Option(help="GPU board power cap, W (DVFS slows every strategy).")
    ] = None,
    site_power_mw: Annotated[
        float | None,
        typer.Option(help="Site power limit, MW: strategies above it (peak facility) are out."),
    ] = None,
    pue: Annotated[float | None, typer.Option(help="Facility PUE [by cooling].")] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find the best training strategy: every valid one, ranked; why the best wins; Pareto front."""
    from gigafleet.plan.training import plan_training

    if seq_len <= 0 or global_batch <= 0 or top <= 0:
        raise GigafleetError(
            "--seq-len, --global-batch and --top must be positive", field="options"
        )
    plan = plan_training(
        model, system, num_gpus=_gpu_counts(gpus), seq_len=seq_len, global_batch=global_batch,
        precisions=tuple(precision or ("bf16",)), objective=objective, gpu_hour_usd=gpu_hour_usd,
        train_tokens=tokens, ep_dispatcher=ep_dispatcher, ep_overlap=ep_overlap, catalog=_catalog(catalog),
        power_cap_w=power_cap_w, site_power_mw=site_power_mw, pue=pue,
    )  # fmt: skip
    result = {
        "model": plan.model,
        "system": plan.system,
        "objective": plan.objective,
        "num_considered": plan.num_considered,
        "num_feasible": plan.num_feasible,
        "num_over_site_power": plan.info["num_over_site_power"],
        "site_power_mw": site_power_mw,
        "why": plan.why() if plan.num_feasible else None,
        "top": [plan.row(int(i)) for i in plan.order[:top]],
        "pareto": [plan.row(int(i)) for i in plan.pareto],
    }
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _print_plan(result)


def _print_plan(r: dict[str, Any]) -> None:
    from rich.table import Table

    con = _console()
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
        "#",
        "strategy",
        "step",
        "tok/s/GPU",
        "MFU",
        "GiB",
        "kWh",
        "largest costs",
        title="Best strategies",
    )
    for i, s in enumerate(r["top"], 1):
        costs = sorted(s["breakdown_s"].items(), key=lambda kv: -kv[1])[:3]
        t.add_row(
            str(i), _strategy_text(s), _fmt_time(s["step_time_s"]), f"{s['tokens_per_s_per_gpu']:,.0f}",
            f"{100 * s['mfu']:.1f}%", f"{s['memory_gib_per_gpu']:.0f}", f"{s['energy_j_per_step'] / 3.6e6:.2f}",
            ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {100 * v / s['step_time_s']:.0f}%" for k, v in costs),
        )  # fmt: skip
    con.print(t)
    con.print(f"[bold]Why #1 wins:[/bold] {r['why']}")
    p = Table("strategy", "step", "kWh/step", title="Pareto front: time against energy")
    for s in r["pareto"]:
        p.add_row(
            _strategy_text(s), _fmt_time(s["step_time_s"]), f"{s['energy_j_per_step'] / 3.6e6:.3f}"
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


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep YAML: a grid of planning problems.")],
    output: Annotated[
        Path | None, typer.Option(help="Folder for the result shards [out/<name>].")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="local, dask or ray (overrides the file).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (overrides the file).")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Dask scheduler or Ray cluster address.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a grid (models x systems x GPU counts x ...) through the planner, into Parquet shards."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from gigafleet.sweep.run import run_sweep
    from gigafleet.sweep.spec import SweepSpec
    from gigafleet.yamlio import load_yaml_model, validate_model

    spec = load_yaml_model(file, SweepSpec)
    over = {
        k: v
        for k, v in dict(kind=executor, workers=workers, address=address).items()
        if v is not None
    }
    if over:
        spec = validate_model(
            {**spec.model_dump(), "executor": {**spec.executor.model_dump(), **over}},
            SweepSpec,
            source="command line",
        )
    out = output or Path("out") / spec.name
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        disable=as_json,
    )  # fmt: skip
    state = {"evals": 0, "t0": 0.0}

    def on_start(total: int, done: int) -> None:
        import time

        state["t0"] = time.perf_counter()
        state["task"] = progress.add_task(
            f"sweep {spec.name}", total=total, completed=done, rate=""
        )

    def on_task(result: dict[str, Any]) -> None:
        import time

        state["evals"] += result["evaluations"]
        rate = state["evals"] / max(time.perf_counter() - state["t0"], 1e-9)
        progress.update(state["task"], advance=1, rate=f"{rate:,.0f} strategies/s")

    with progress:
        summary = run_sweep(spec, out, on_start=on_start, on_task=on_task)
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    rate = summary["evaluations"] / max(summary["seconds"], 1e-9)
    _console().print(
        f"{summary['ran']} tasks run, {summary['skipped']} already done; {summary['evaluations']:,} strategies "
        f"evaluated in {summary['seconds']:.1f} s ({rate:,.0f}/s). Results: {summary['output']} "
        f'(gigafleet results query "SELECT ..." --dir {summary["output"]})'
    )


@results_app.command("query")
def results_query(
    sql: Annotated[str, typer.Argument(help="SQL over the table `results`.")],
    dir: Annotated[Path, typer.Option("--dir", help="A sweep's output folder.")] = Path("out"),
    as_json: JsonOpt = False,
) -> None:
    """Query a sweep's results with SQL (DuckDB); the table is `results`."""
    from rich.table import Table

    from gigafleet.sweep.run import query

    cols, rows = query(dir, sql)
    if as_json:
        print(json.dumps([dict(zip(cols, r, strict=True)) for r in rows], indent=2, default=str))
        return
    t = Table(*cols)
    for r in rows:
        t.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r))
    _console().print(t)


def _serve_job(config: Path | None, given: dict[str, Any]):
    """A ServeJob from a YAML file and/or options (options win; their errors name the command line)."""
    from gigafleet.spec.serving import ServeJob
    from gigafleet.yamlio import load_yaml_model, validate_model

    base = load_yaml_model(config, ServeJob).model_dump(exclude_unset=True) if config else {}
    trace = base.get("traffic", {}).get("trace")
    if config and trace and not Path(trace).is_absolute():  # relative to the file that names it
        base["traffic"]["trace"] = str(Path(config).parent / trace)
    traffic = {**base.get("traffic", {}), **given.pop("traffic")}
    slo = {**base.get("slo", {}), **given.pop("slo")}
    merged = {**base, **{k: v for k, v in given.items() if v is not None}}
    merged["traffic"], merged["slo"] = traffic, slo
    return validate_model(merged, ServeJob, source="command line")


def _serve_options(**kw: Any) -> dict[str, Any]:
    traffic_keys = (
        "rate_per_s",
        "num_requests",
        "arrival",
        "prompt_tokens",
        "output_tokens",
        "length_sigma",
        "trace",
    )
    traffic = {k: kw.pop(k) for k in traffic_keys if kw.get(k) is not None}
    for k in traffic_keys:
        kw.pop(k, None)
    slo = {k: kw.pop(k) for k in ("ttft_s", "tpot_s") if kw.get(k) is not None}
    kw.pop("ttft_s", None)
    kw.pop("tpot_s", None)
    users = kw.pop("adapter_users")
    rank = kw.pop("adapter_rank")
    if rank is not None and users is None:
        raise GigafleetError("--adapter-rank needs --adapter-users", field="--adapter-rank")
    if users is not None:
        kw["adapters"] = {"num_users": users, "rank": 16 if rank is None else rank}
    return {**kw, "traffic": traffic, "slo": slo}


@app.command()
def serve(
    config: Annotated[
        Path | None, typer.Option("--config", help="Serving YAML (options override it).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name from the catalog.")] = None,
    system: Annotated[str | None, typer.Option(help="System name from the catalog.")] = None,
    replicas: Annotated[int | None, typer.Option(help="Model copies [1].")] = None,
    tp: Annotated[int | None, typer.Option(help="Tensor parallel degree per replica [1].")] = None,
    ep: Annotated[int | None, typer.Option(help="Expert parallel degree per replica [1].")] = None,
    precision: Annotated[
        str | None, typer.Option(help="Weight precision: bf16, fp8, fp4 [bf16].")
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="Serving engine: tensorrt-llm, vllm [tensorrt-llm].")
    ] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Requests per second [10].")] = None,
    requests: Annotated[
        int | None, typer.Option("--requests", help="Requests to simulate [20000].")
    ] = None,
    arrival: Annotated[str | None, typer.Option(help="poisson, bursty, diurnal or trace.")] = None,
    trace_file: Annotated[
        str | None, typer.Option("--trace-file", help="Arrival trace CSV (arrival trace).")
    ] = None,
    prompt_tokens: Annotated[float | None, typer.Option(help="Mean prompt tokens [1024].")] = None,
    output_tokens: Annotated[float | None, typer.Option(help="Mean output tokens [256].")] = None,
    length_sigma: Annotated[
        float | None, typer.Option(help="Lognormal sigma of lengths [0: fixed].")
    ] = None,
    ttft: Annotated[float | None, typer.Option("--ttft", help="TTFT SLO, seconds [2].")] = None,
    tpot: Annotated[float | None, typer.Option("--tpot", help="TPOT SLO, seconds [0.2].")] = None,
    prefill_replicas: Annotated[
        int | None, typer.Option(help="Disaggregated prefill replicas [0].")
    ] = None,
    speculative_tokens: Annotated[
        int | None, typer.Option(help="Draft tokens per step [0: off].")
    ] = None,
    adapter_users: Annotated[
        int | None, typer.Option(help="Users with a LoRA adapter each.")
    ] = None,
    adapter_rank: Annotated[int | None, typer.Option(help="LoRA rank [16].")] = None,
    tee: Annotated[
        str | None, typer.Option(help="Confidential computing: none, sev-snp, tdx, any.")
    ] = None,
    trace: Annotated[
        Path | None, typer.Option("--trace", help="Write a Chrome/Perfetto trace here.")
    ] = None,
    price_usd_per_gpu_hour: rc.CloudPriceOpt = None,
    system_usd_per_gpu: rc.SystemPriceOpt = None,
    prices: rc.PricesOpt = None,
    avg_power_w: rc.PowerOpt = None,
    utilization: rc.UtilizationOpt = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a serving deployment: TTFT, TPOT, latency percentiles, goodput, energy, cost."""
    from gigafleet.sim.deployment import check_job, run_serving

    job = _serve_job(config, _serve_options(
        model=model, system=system, replicas=replicas, tp=tp, ep=ep, precision=precision,
        engine=engine,
        rate_per_s=rate, num_requests=requests, arrival=arrival, trace=trace_file,
        prompt_tokens=prompt_tokens, output_tokens=output_tokens, length_sigma=length_sigma,
        ttft_s=ttft, tpot_s=tpot, prefill_replicas=prefill_replicas,
        speculative_tokens=speculative_tokens, adapter_users=adapter_users, adapter_rank=adapter_rank,
        tee=tee,
    ))  # fmt: skip
    cat = _catalog(catalog)
    check_job(job, cat)
    result = run_serving(job, catalog=cat, trace_path=trace)
    result["cost"] = rc.serving_cost(
        result, catalog=cat, price_usd_per_gpu_hour=price_usd_per_gpu_hour,
        system_usd_per_gpu=system_usd_per_gpu, prices=prices, avg_power_w=avg_power_w,
        utilization=utilization,
    )  # fmt: skip
    if as_json:
        print(json.dumps(result, indent=2, default=float))
        return
    _print_serving(result)
    rc.print_serving_cost(result["cost"], _console())


def _print_serving(r: dict[str, Any]) -> None:
    from rich.table import Table

    con = _console()
    rep = r["replica"]
    con.print(
        f"[bold]{r['model']} on {r['system']}[/bold]: {r['replicas']} replicas x TP{rep['tp']} EP{rep['ep']} "
        f"({r['gpus']} GPUs), {rep['precision']} weights, KV cache {rep['kv_capacity_tokens']:,} tokens per replica"
    )
    m = r["metrics"]
    t = Table("metric", "p50", "p90", "p99", "mean", title="Latency")
    for name in ("ttft", "tpot", "e2e", "queue"):
        t.add_row(
            name.upper(), *(_fmt_time(m[f"{name}_{q}_s"]) for q in ("p50", "p90", "p99", "mean"))
        )
    con.print(t)
    s = Table("metric", "value", show_header=False)
    s.add_row("requests", f"{m['num_requests']:,.0f}")
    s.add_row("output tokens/s", f"{m['output_tokens_per_s']:,.0f}")
    s.add_row(
        "goodput (req/s within SLO)",
        f"{m['goodput_requests_per_s']:,.2f} ({100 * m['slo_attainment']:.1f}% of requests)",
    )
    s.add_row("utilization", f"{100 * m['utilization_mean']:.1f}%")
    from gigafleet.energy.summary import serving_energy_rows

    for label, value in serving_energy_rows(r):
        s.add_row(label, value)
    s.add_row("preemptions", f"{m['num_preemptions']:,.0f}")
    s.add_row("prefix-cache hit rate", f"{100 * m['prefix_hit_rate']:.1f}%")
    s.add_row(
        "offline capacity per replica",
        f"{rep['offline_tokens_per_s']:,.0f} tokens/s (batch {rep['offline_batch']})",
    )
    con.print(s)
    if "adapters" in r:
        a = r["adapters"]
        at = Table(
            "tier",
            "hit rate",
            "load time",
            title=f"LoRA adapters ({a['adapter_bytes'] / 1e6:.0f} MB each)",
        )
        for tier, p in a["tier_hit_rate"].items():
            at.add_row(tier, f"{100 * p:.1f}%", _fmt_time(a["tier_load_s"][tier]))
        con.print(at)
        con.print(
            f"cold adapters add {_fmt_time(a['added_ttft_p99_s'])} to TTFT at p99 ({_fmt_time(a['added_ttft_mean_s'])} mean)"
        )
    if "tee" in r:
        con.print(
            f"TEE mode: +{_fmt_time(r['tee']['iteration_toll_s'])} per iteration, +{_fmt_time(r['tee']['request_toll_s'])} per request"
        )


@plan_app.command("serve")
def plan_serve(
    config: Annotated[
        Path | None, typer.Option("--config", help="Serving YAML (options override it).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name from the catalog.")] = None,
    system: Annotated[str | None, typer.Option(help="System name from the catalog.")] = None,
    precision: Annotated[str | None, typer.Option(help="Weight precision [bf16].")] = None,
    engine: Annotated[
        str | None, typer.Option(help="Serving engine: tensorrt-llm, vllm [tensorrt-llm].")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="Requests per second to serve.")
    ] = None,
    requests: Annotated[
        int | None, typer.Option("--requests", help="Requests per trial simulation [2000].")
    ] = None,
    prompt_tokens: Annotated[float | None, typer.Option(help="Mean prompt tokens.")] = None,
    output_tokens: Annotated[float | None, typer.Option(help="Mean output tokens.")] = None,
    ttft: Annotated[float | None, typer.Option("--ttft", help="TTFT SLO, seconds.")] = None,
    tpot: Annotated[float | None, typer.Option("--tpot", help="TPOT SLO, seconds.")] = None,
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
) -> None:
    """Find the best deployment (replicas, TP/EP, batch limit, aggregated or disaggregated)
    that meets the SLOs at a given load: fewest GPUs, least energy or least cost."""
    from rich.table import Table

    from gigafleet.plan.serving import plan_serving

    if not 0 < attainment <= 1:
        raise GigafleetError(
            f"got {attainment}; allowed: a fraction in (0, 1]", field="--attainment"
        )
    job = _serve_job(config, _serve_options(
        model=model, system=system, precision=precision, engine=engine, rate_per_s=rate,
        num_requests=requests,
        prompt_tokens=prompt_tokens, output_tokens=output_tokens, ttft_s=ttft, tpot_s=tpot,
        adapter_users=None, adapter_rank=None,
    ))  # fmt: skip
    r = plan_serving(
        job, attainment=attainment, gpu_hour_usd=gpu_hour_usd, objective=objective,
        catalog=_catalog(catalog),
    )  # fmt: skip
    if as_json:
        print(json.dumps(r, indent=2, default=float))
        return
    t = Table("GPUs", "replicas", "TP", "EP", "max seqs", "disaggregated", "SLO met", "TTFT p99", "TPOT p99", "J/token",
              title=f"Deployments of {r['model']} on {r['system']} meeting the SLO at {r['rate_per_s']} req/s")  # fmt: skip
    for d in r["candidates"][:10]:
        t.add_row(str(d["gpus"]), str(d["replicas"]), str(d["tp"]), str(d["ep"]), str(d["max_num_seqs"]),
                  f"yes ({d['prefill_replicas']} prefill)" if d["disaggregated"] else "no",
                  f"{100 * d['slo_attainment']:.1f}%", _fmt_time(d["ttft_p99_s"]), _fmt_time(d["tpot_p99_s"]),
                  f"{d['energy_j_per_output_token']:.2f}")  # fmt: skip
    _console().print(t)
    b = r["best"]
    cost = f", ${b['cost_usd_per_hour']:,.2f}/hour" if b["cost_usd_per_hour"] else ""
    _console().print(
        f"[bold]Best by {r['objective']}:[/bold] {b['replicas']} x TP{b['tp']} ({b['gpus']} GPUs, "
        f"{b['energy_j_per_output_token']:.2f} J/token{cost})"
    )


@catalog_app.command("list")
def catalog_list(
    table: Annotated[
        str | None,
        typer.Argument(help="accelerators, hosts, nics, fabrics, scaleup, systems or models"),
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List catalog entries (all tables, or one)."""
    from rich.table import Table

    from gigafleet.catalog.schema import TABLES
    from gigafleet.errors import unknown_name

    cat = _catalog(catalog)
    names = [table] if table else list(TABLES)
    for n in names:
        if n not in TABLES:
            raise unknown_name("catalog table", n, TABLES, field="table")
    if as_json:
        print(json.dumps({n: [r.name for r in cat.tables[n]] for n in names}, indent=2))
        return
    con = _console()
    for n in names:
        t = Table("name", "summary", "source", title=n)
        for row in cat.tables[n]:
            t.add_row(
                row.name,
                _row_summary(row),
                row.source[:60] + ("..." if len(row.source) > 60 else ""),
            )
        con.print(t)


def _row_summary(row) -> str:
    from gigafleet.catalog.schema import Accelerator, ModelArch, System

    if isinstance(row, Accelerator):
        return f"{row.bf16_dense_tflops:g} TFLOP/s BF16, {row.hbm_gib:g} GiB, {row.hbm_bw_tbytes_per_s:g} TB/s, {row.tdp_w:g} W"
    if isinstance(row, System):
        return f"{row.num_gpus} x {row.accelerator}, {row.scaleup}, {row.num_nics} x {row.nic}, {row.default_fabric}"
    if isinstance(row, ModelArch):
        moe = f", MoE {row.moe.num_experts}x top-{row.moe.top_k}" if row.moe else ""
        return f"{row.num_layers} layers, hidden {row.hidden_size}{moe}"
    return ", ".join(
        f"{k}={v}"
        for k, v in row.model_dump().items()
        if k not in ("name", "aliases", "source", "estimated")
    )


@catalog_app.command("show")
def catalog_show(
    name: Annotated[str, typer.Argument(help="Entry name or alias.")],
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every field of one entry, with its source."""
    from gigafleet.errors import unknown_name

    cat = _catalog(catalog)
    for table in cat.tables.values():
        if name in table:
            row = table.get(name)
            data = {"table": table.kind, **row.model_dump(mode="json")}
            if as_json:
                print(json.dumps(data, indent=2))
            else:
                from rich.table import Table

                t = Table("field", "value", title=f"{table.kind}: {row.name}")
                for k, v in data.items():
                    t.add_row(k, str(v))
                _console().print(t)
            return
    every = [r.name for tb in cat.tables.values() for r in tb]
    raise unknown_name("catalog entry", name, every, field="name")


DataOpt = Annotated[
    Path | None, typer.Option("--data", help="CSV with the columns of training_runs.csv.")
]


def _validation(fn, data: Path | None, catalog: list[Path] | None, as_json: bool):
    """Run a validation over ``data`` (default: the shared ground truth); print JSON if asked.

    Returns the rows and summary for the table, or None when JSON was printed.
    """
    from gigafleet.validate.training import default_data_path

    path = data or default_data_path()
    rows, summary = fn(path, catalog=_catalog(catalog))
    summary["data"] = str(path)
    if as_json:
        print(json.dumps({"summary": summary, "rows": [r.to_dict() for r in rows]}, indent=2))
        return None
    return rows, summary


@validate_app.command("training")
def validate_training_cmd(
    data: DataOpt = None, catalog: CatalogOpt = None, as_json: JsonOpt = False
) -> None:
    """Predict every row of the training ground truth and report the errors."""
    from gigafleet.validate.training import validate_training

    result = _validation(validate_training, data, catalog, as_json)
    if result:
        _print_validation(*result)


def _print_validation(rows, summary) -> None:
    from rich.table import Table

    con = _console()
    t = Table(
        "row",
        "model",
        "system",
        "metric",
        "measured",
        "predicted",
        "error %",
        "set",
        title="Training validation",
    )
    for r in rows:
        if r.error_pct is None:
            continue
        t.add_row(
            r.row_id, r.details.get("model", ""), r.details.get("system", ""), r.metric,
            f"{r.measured:,.1f}", f"{r.predicted:,.1f}", f"{r.error_pct:+.1f}",
            "fit" if r.fitted else "held out",
        )  # fmt: skip
    con.print(t)
    skipped = [r for r in rows if r.error_pct is None]
    if skipped:
        s = Table("row", "why skipped", title="Skipped rows")
        for r in skipped:
            s.add_row(r.row_id, r.skipped_reason or "")
        con.print(s)
    for key in ("by_study", "by_calibration", "by_model_kind", "by_system"):
        g = Table(
            key.removeprefix("by_"),
            "rows",
            "median |err| %",
            "p90 |err| %",
            title=key.replace("_", " "),
        )
        for name, st in summary[key].items():
            g.add_row(
                name, str(st["num"]), str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"])
            )
        con.print(g)
    con.print(
        f"[bold]{summary['num_predicted']}/{summary['num_rows']} rows predicted "
        f"({100 * summary['predicted_fraction']:.0f}%), median |error| {summary['median_abs_error_pct']}%, "
        f"p90 {summary['p90_abs_error_pct']}%[/bold]  (data: {summary['data']})"
    )


@validate_app.command("plan")
def validate_plan_cmd(
    data: DataOpt = None, catalog: CatalogOpt = None, as_json: JsonOpt = False
) -> None:
    """Rank each published (hand-tuned) strategy among all the planner considers."""
    from rich.table import Table

    from gigafleet.validate.plan import validate_plan

    result = _validation(validate_plan, data, catalog, as_json)
    if not result:
        return
    rows, summary = result
    con = _console()
    t = Table(
        "row",
        "model",
        "system",
        "feasible",
        "published rank",
        "top %",
        "best is faster by",
        "planner best",
        title="Published strategies in the planner",
    )
    for r in rows:
        if r.error_pct is None:
            continue
        d = r.details
        b = d["planner_best"]
        best = f"TP{b['tp']} PP{b['pp']} VP{b['vp']} CP{b['cp']} EP{b['ep']} DP{b['dp']} mb{b['micro_batch']} Z{b['zero']} {b['recompute']}"
        t.add_row(
            r.row_id,
            d["model"],
            d["system"],
            f"{d['num_feasible']:,}",
            f"{d['rank']:,}",
            f"{r.error_pct:.1f}",
            f"{d['gap_pct']:.1f}%",
            best,
        )
    con.print(t)
    for r in rows:
        if r.error_pct is None:
            con.print(f"skipped {r.row_id}: {r.skipped_reason}")
    con.print(
        f"[bold]published strategy in the planner's top 10%: {100 * summary['in_top_10pct_fraction']:.0f}% of "
        f"{summary['num_predicted']} rows (target 80%); median rank {summary['rank_pct']['median_abs_error_pct']}%; "
        f"planner best slower than published: {summary['best_slower_than_published']} rows; median predicted "
        f"gain of the planner's best {summary['gap_pct']['median_abs_error_pct']}%[/bold]"
    )


InferenceDataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="CSV with the columns of mlperf_inference.csv or of confidential_computing.csv; "
        "it replaces that data set.",
    ),
]


@validate_app.command("inference")
def validate_inference_cmd(
    data: InferenceDataOpt = None, catalog: CatalogOpt = None, as_json: JsonOpt = False
) -> None:
    """MLPerf Inference LLM results (Offline and Server tokens/s) and confidential-computing
    overheads (Zhu et al. 2024, error in percentage points)."""
    from rich.table import Table

    from gigafleet.validate.inference import validate_inference

    rows, summary = validate_inference(data, catalog=_catalog(catalog))
    if as_json:
        print(json.dumps({"summary": summary, "rows": [r.to_dict() for r in rows]}, indent=2))
        return
    con = _console()
    t = Table(
        "row", "deployment", "measured tok/s", "predicted tok/s", "error %", "set",
        title="MLPerf Inference",
    )  # fmt: skip
    for r in rows:
        if r.error_pct is None or not r.group.startswith("mlperf"):
            continue
        t.add_row(
            r.row_id, r.details.get("deployment", ""), f"{r.measured:,.0f}", f"{r.predicted:,.0f}",
            f"{r.error_pct:+.1f}", "fit" if r.fitted else "held out",
        )  # fmt: skip
    con.print(t)
    skipped = [r for r in rows if r.error_pct is None and r.group.startswith("mlperf")]
    if skipped:
        s = Table("row", "why skipped", title="Skipped MLPerf rows")
        for r in skipped:
            s.add_row(r.row_id, r.skipped_reason or "")
        con.print(s)
    g = Table("group", "rows", "median |err| %", "p90 |err| %", title="MLPerf errors")
    for key in ("by_scenario_calibration", "by_accelerator"):
        for name, st in summary[key].items():
            g.add_row(
                name, str(st["num"]), str(st["median_abs_error_pct"]), str(st["p90_abs_error_pct"])
            )
    con.print(g)
    c = Table("row", "measured %", "predicted %", "error pp", "set", title="Confidential computing")
    for r in rows:
        if r.error_pct is not None and r.group == "confidential computing":
            c.add_row(
                r.row_id, f"{r.measured:.2f}", f"{r.predicted:.2f}", f"{r.error_pct:+.2f}",
                "fit" if r.fitted else "held out",
            )  # fmt: skip
    con.print(c)
    cc = summary["confidential_computing"]
    sc = summary["by_scenario_calibration"]
    con.print(
        f"[bold]MLPerf: {summary['num_predicted']}/{summary['num_rows']} rows predicted "
        f"({100 * summary['predicted_fraction']:.0f}%); held-out Offline median |error| "
        f"{sc.get('offline/held_out', {}).get('median_abs_error_pct')}%, Server "
        f"{sc.get('server/held_out', {}).get('median_abs_error_pct')}%. Confidential computing: "
        f"{cc['num_predicted']}/{cc['num_rows']} rows, median |error| "
        f"{cc['median_abs_error_pct']} pp[/bold]"
    )


@validate_app.command("energy")
def validate_energy_cmd(
    data: Annotated[
        Path | None, typer.Option("--data", help="CSV with the columns of power_energy.csv.")
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Power and energy against MLPerf Power, MLPerf MaxQ/MaxP pairs and Llama 3.1 emissions."""
    from rich.table import Table

    from gigafleet.validate.energy import run_validation
    from gigafleet.validate.groundtruth import groundtruth_path

    result = _validation(
        run_validation, data or groundtruth_path("power_energy.csv"), catalog, as_json
    )
    if not result:
        return
    rows, summary = result
    t = Table("row", "metric", "measured", "predicted", "error %", "set", title="Power and energy")
    for r in rows:
        if r.error_pct is not None:
            t.add_row(r.row_id, r.metric, f"{r.measured:,.4g}", f"{r.predicted:,.4g}",
                      f"{r.error_pct:+.1f}", "fit" if r.fitted else "held out")  # fmt: skip
    con = _console()
    con.print(t)
    for r in rows:
        if r.error_pct is None:
            con.print(f"skipped {r.row_id}: {r.skipped_reason}")
    con.print(
        f"[bold]{summary['num_predicted']}/{summary['num_rows']} rows predicted; median |error| "
        f"{summary['median_abs_error_pct']}%, p90 {summary['p90_abs_error_pct']}%; held out: "
        f"{summary['by_calibration'].get('held_out')}[/bold]  (data: {summary['data']})"
    )


@validate_app.command("reliability")
def validate_reliability_cmd(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="CSV with the columns of validate/data/reliability.csv."),
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Failure counts and effective training time against Llama 3 (fitted) and other clusters (held out)."""
    from gigafleet.validate.reliability import default_data_path, validate_reliability

    result = _validation(validate_reliability, data or default_data_path(), catalog, as_json)
    if result:
        rc.print_reliability_validation(*result, _console())


@calibrate_app.command("training")
def calibrate_training_cmd(
    data: Annotated[
        Path | None, typer.Option("--data", help="CSV with the columns of training_runs.csv.")
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Replace the shipped constants (shipped data only).")
    ] = False,
    catalog: CatalogOpt = None,
) -> None:
    """Refit the calibration constants on their named rows; print them (and --write them)."""
    from gigafleet.validate.training import default_data_path, fit_calibration, write_calibration

    if write and (data or catalog):
        raise GigafleetError(
            "the shipped constants are fitted on the shipped data and catalog only", field="--write"
        )
    cal = fit_calibration(data or default_data_path(), catalog=_catalog(catalog))
    fitted = {
        k: cal[k] for k in ("gemm_efficiency", "mamba_fixed_s", "moe_expert_fixed_s") if k in cal
    }
    print(json.dumps(fitted, indent=2, sort_keys=True))
    if write:
        print(f"wrote {write_calibration(fitted)}")


from gigafleet.cli import fabric as _fabric_commands  # noqa: E402,F401  (registers them)
from gigafleet.cli import scenario as _scenario_commands  # noqa: E402,F401  (registers them)


def run() -> None:
    """Entry point: user errors print one line and exit 2, never a traceback."""
    try:
        app()
    except (GigafleetError, OSError) as exc:
        # OSError: a path the user gave cannot be read or written (permissions, no such folder)
        from rich.console import Console
        from rich.markup import escape

        message = str(exc) if isinstance(exc, GigafleetError) else f"{exc.strerror}: {exc.filename}"
        # soft_wrap: the message stays one line however narrow the terminal
        Console(stderr=True).print(
            f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True
        )
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    run()
