"""Power and energy: predicted (energy/) against shared/groundtruth/power_energy.csv.

Predicted rows:

* MLPerf Inference Power v4.1 wall power of the 8 x H200 MaxQ system. MaxQ runs the GPUs
  under a board power limit that NVIDIA's submission code sets (``power_limit`` of the
  ``H200_SXM_141GBx8_MaxQ`` configs, see :data:`MLPERF`); Offline and Server keep the GPUs
  busy, so we predict the busy power of the node at that cap, without scale-out switches
  (one node). The energy-per-token rows divide the predicted power by the published
  throughput (predicting power at the measured load isolates the power model); the
  serving model's own throughput gives the end-to-end figure in ``details``.
* The MaxQ / MaxP throughput ratio of the same system and workload
  (shared/groundtruth/mlperf_inference.csv): a check of the DVFS perf-versus-power curve.
  One pair fits the DVFS exponent (:func:`fit_dvfs_exponent`); the others are held out.
* Llama 3.1 training emissions: Meta's 39.3M GPU-hours at 700 W through
  :func:`gigafleet.energy.carbon_kg` with Meta's reported PUE (1.09, power_energy.csv) and
  the U.S. 2022 grid average (390 g/kWh, EIA). A check of the carbon chain and of those
  two assumptions (Meta computes with TDP, not measured power), not of the power model.

* ML.ENERGY's GPU energy per output token of Llama 3.1 8B on one H100 at batch 64: the
  serving iteration's phase mix gives the board power, its throughput the tokens (the
  newer software's figure is the comparison: the roofline assumes good kernels).

Qualitative rows (ML.ENERGY relative reductions, PUE figures of other fleets, power
swings, prices) are listed as skipped, with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.energy.params import load_power_params
from gigafleet.energy.power import carbon_kg, phase_levels, system_power_w
from gigafleet.energy.serving import serving_power
from gigafleet.errors import GigafleetError
from gigafleet.perf.inference import serving_replica
from gigafleet.validate.groundtruth import groundtruth_path, read_csv
from gigafleet.validate.report import ValidationRow, summarize

COLUMNS = (
    "category",
    "system",
    "accelerator",
    "model",
    "scenario",
    "metric",
    "value",
    "unit",
    "notes",
)

#: MLPerf Inference v4.1 settings of NVIDIA's 8 x H200 MaxQ submission, per benchmark.
#: ``power_limit_w``: the GPU power limit in NVIDIA's submission code,
#: github.com/mlcommons/inference_results_v4.1 closed/NVIDIA/configs/gptj/{Offline,Server}/__init__.py
#: (350) and llama2-70b/{Offline,Server}/__init__.py (500); mixtral-8x7b: the v4.1 per-scenario
#: config is not in the stored copy, and NVIDIA's later mixtral configs set 500 (assumed the
#: same). Mean lengths: llama2-70b output 294 tokens is the centre of the MLPerf accuracy
#: window on tokens per sample (265.005-323.895, inference_results_v4.1 open/NeuralMagic
#: README); every other length is an ESTIMATE (dataset means not in the ground truth):
#: CNN/DailyMail articles of about 800 tokens summarised in up to 128; OpenOrca prompts of
#: about 300; Mixtral's mixed OpenOrca / GSM8K / MBXP set about 150 in and 150 out.
MLPERF = {
    "gptj": dict(model="gpt-j-6b", power_limit_w=350.0, prompt_tokens=800.0, output_tokens=100.0),
    "llama2-70b": dict(model="llama2-70b", power_limit_w=500.0, prompt_tokens=300.0, output_tokens=294.0),
    "mixtral-8x7b": dict(model="mixtral-8x7b", power_limit_w=500.0, prompt_tokens=150.0, output_tokens=150.0),
}  # fmt: skip
#: NVIDIA's H200 LLM submissions quantize weights and KV cache to FP8 (use_fp8 in the configs
#: above) and run one GPU per replica (tensor_parallelism = 1 for gptj and llama2-70b on H200).
MLPERF_PRECISION = "fp8"
MLPERF_SYSTEM = "hgx-h200"
#: The MaxQ / MaxP pair the DVFS exponent is fitted on; the other pairs are held out.
DVFS_FIT_ROW = ("llama2-70b-99", "Offline")
#: Llama 3.1 training: Meta's reported PUE at its most advanced facilities (power_energy.csv).
META_PUE = 1.09


def _benchmark(name: str) -> str | None:
    for key in MLPERF:
        if name.lower().startswith(key):
            return key
    return None


def _read(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    return read_csv(path, columns)


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def predict_mlperf_power(benchmark: str, *, catalog: Catalog | None = None, params=None) -> dict:
    """Predicted wall power of the 8 x H200 MaxQ node on ``benchmark`` (busy, at the cap),
    and the serving model's own throughput under the cap."""

    cat = catalog or load_catalog()
    s = MLPERF[benchmark]
    rep = serving_replica(s["model"], MLPERF_SYSTEM, weight_precision=MLPERF_PRECISION, catalog=cat)
    node = cat.system(MLPERF_SYSTEM).num_gpus / rep.num_gpus
    sp = serving_power(
        rep, prompt_tokens=s["prompt_tokens"], output_tokens=s["output_tokens"],
        power_cap_w=s["power_limit_w"], include_scaleout=False, params=params, catalog=cat,
    )  # fmt: skip
    return {
        "system_power_w": sp.busy_w * node,
        "gpu_power_w": sp.gpu_busy_w,
        "model_tokens_per_s": sp.offline_tokens_per_s * node,
        "batch": sp.batch,
        "power_limit_w": s["power_limit_w"],
        "phase_fractions": {k: round(v, 3) for k, v in sp.phase_fractions.items()},
    }


def predict_dvfs_ratio(benchmark: str, *, catalog: Catalog | None = None, params=None) -> float:
    """Predicted MaxQ / MaxP throughput: the serving iteration's speed under the cap."""

    cat = catalog or load_catalog()
    s = MLPERF[benchmark]
    rep = serving_replica(s["model"], MLPERF_SYSTEM, weight_precision=MLPERF_PRECISION, catalog=cat)
    sp = serving_power(
        rep, prompt_tokens=s["prompt_tokens"], output_tokens=s["output_tokens"],
        power_cap_w=s["power_limit_w"], include_scaleout=False, params=params, catalog=cat,
    )  # fmt: skip
    return sp.speed


#: ML.ENERGY leaderboard chat workload. Output: the v3.0 Text Conversation mean (717 tokens,
#: power_energy.csv, B200 runs); prompt: an ESTIMATE (chat prompts of about 500 tokens).
#: Weights in BF16 on one H100 (the leaderboard's default for Llama 3.1 8B).
MLENERGY = dict(system="dgx-h100", precision="bf16", prompt_tokens=500.0, output_tokens=717.0)


def _batch(text: str) -> int | None:
    m = re.search(r"batch size (\d+)", text)
    return int(m.group(1)) if m else None


def predict_mlenergy_gpu_j_per_token(
    model: str, *, batch: int | None, catalog: Catalog | None = None
):
    """GPU energy per output token of one H100 decoding ``batch`` sequences (ML.ENERGY's
    measure: GPU board energy only, no host)."""

    cat = catalog or load_catalog()
    if batch is None:
        return None
    try:
        name = cat.model(model).name
    except GigafleetError:
        return None
    s = MLENERGY
    rep = serving_replica(name, s["system"], weight_precision=s["precision"], catalog=cat)
    sp = serving_power(rep, prompt_tokens=s["prompt_tokens"], output_tokens=s["output_tokens"],
                       batch=batch, catalog=cat)  # fmt: skip
    tps = rep.decode_throughput(
        batch, s["prompt_tokens"] + s["output_tokens"] / 2, s["prompt_tokens"], s["output_tokens"]
    )
    return {"model": name, "system": s["system"], "batch": batch, "gpu_power_w": sp.gpu_busy_w,
            "tokens_per_s": tps, "gpu_j_per_token": sp.gpu_busy_w * rep.num_gpus / tps,
            "phase_fractions": {k: round(v, 3) for k, v in sp.phase_fractions.items()}}  # fmt: skip


def _maxq_pairs(path: Path) -> list[dict]:
    """MaxQ and MaxP throughput of the same 8 x H200 workload and scenario (one row each)."""
    rows = _read(path, ("system", "model", "scenario", "performance_result"))
    maxp: dict[tuple[str, str], float] = {}
    maxq: dict[tuple[str, str], float] = {}
    for r in rows:
        if r.get("platform") == "H200-SXM-141GBx8_TRT":
            maxp[(r["model"], r["scenario"])] = float(r["performance_result"])
        elif r.get("platform") == "H200-SXM-141GBx8_TRT_MaxQ":
            maxq[(r["model"], r["scenario"])] = float(r["performance_result"])
    out = []
    for key in sorted(set(maxp) & set(maxq)):
        if key[0].endswith("99.9"):
            continue  # same run as the 99 row (the published numbers are identical)
        out.append({"model": key[0], "scenario": key[1], "ratio": maxq[key] / maxp[key],
                    "maxq": maxq[key], "maxp": maxp[key]})  # fmt: skip
    return out


def fit_dvfs_exponent(
    mlperf_path: str | Path | None = None, *, catalog: Catalog | None = None
) -> float:
    """The DVFS exponent that reproduces the MaxQ / MaxP ratio of :data:`DVFS_FIT_ROW`
    (bisection: a larger exponent means a smaller slowdown under the cap)."""

    path = Path(mlperf_path) if mlperf_path else groundtruth_path("mlperf_inference.csv")
    pair = next(p for p in _maxq_pairs(path) if (p["model"], p["scenario"]) == DVFS_FIT_ROW)
    base = load_power_params(catalog)
    lo, hi = 0.5, 6.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        params = base.model_copy(update={"dvfs": base.dvfs.model_copy(update={"exponent": mid})})
        if (
            predict_dvfs_ratio(_benchmark(pair["model"]), catalog=catalog, params=params)
            < pair["ratio"]
        ):
            lo = mid
        else:
            hi = mid
    return round(0.5 * (lo + hi), 2)


def _row_id(i: int, r: dict[str, str]) -> str:
    model = r["model"] or r["category"]
    return f"PE{i + 1:03d}/{model[:28]}/{r['scenario'][:16]}/{r['metric'][:32]}"


def validate_energy(
    path: str | Path | None = None,
    *,
    mlperf_path: str | Path | None = None,
    catalog: Catalog | None = None,
) -> list[ValidationRow]:
    """Every row of power_energy.csv (predicted or skipped with the reason), then the
    MaxQ / MaxP throughput pairs of mlperf_inference.csv."""

    cat = catalog or load_catalog()
    rows = _read(Path(path) if path else groundtruth_path("power_energy.csv"), COLUMNS)
    cache: dict[str, dict] = {}
    throughput: dict[tuple[str, str, str], float] = {}
    for r in rows:
        m = re.search(r"Performance_Result=([\d.]+)", r["notes"])
        if m:
            throughput[(r["system"], r["model"], r["scenario"])] = float(m.group(1))
    out: list[ValidationRow] = []
    for i, r in enumerate(rows):
        vr = ValidationRow(_row_id(i, r), None, None, None, None, group=r["category"])
        out.append(vr)
        metric, cat_name = r["metric"].lower(), r["category"]
        value = _number(r["value"])
        bench = _benchmark(r["model"])
        if cat_name.startswith("MLPerf Inference Power") and bench and "H200" in r["accelerator"]:
            if "maxq" not in r["system"].lower():
                vr.skipped_reason = "power limit of this submission not known"
                continue
            tps = throughput.get((r["system"], r["model"], r["scenario"]))
            if tps is None or value is None:
                vr.skipped_reason = "no published throughput for this row"
                continue
            pred = cache.setdefault(bench, predict_mlperf_power(bench, catalog=cat))
            vr.measured = value
            details = {"model": MLPERF[bench]["model"], "system": MLPERF_SYSTEM,
                       "published_tokens_per_s": tps, **pred}  # fmt: skip
            if metric.startswith("system power"):
                vr.metric = "system_power_w"
                vr.predicted = round(pred["system_power_w"], 1)
            else:
                vr.metric = "j_per_token"
                vr.predicted = round(pred["system_power_w"] / tps, 4)
                details["model_j_per_token"] = pred["system_power_w"] / pred["model_tokens_per_s"]
            vr.error_pct = round(100 * (vr.predicted - vr.measured) / vr.measured, 2)
            vr.details = details
        elif cat_name == "training energy":
            # "39.3M GPU-h / 700 W / 11,390 tCO2eq" (Llama 3.1 model card)
            nums = [_number(x.strip().split()[0].rstrip("M")) for x in r["value"].split("/")]
            if len(nums) != 3 or None in nums:
                vr.skipped_reason = "unparsed value"
                continue
            gpu_h = nums[0] * 1e6
            energy_j = gpu_h * 3600 * nums[1]
            grid = 390.0
            vr.metric = "training_carbon_tco2eq"
            vr.measured = nums[2]
            vr.predicted = round(
                float(carbon_kg(energy_j, pue=META_PUE, grid_gco2_per_kwh=grid)) / 1000, 1
            )
            vr.error_pct = round(100 * (vr.predicted - vr.measured) / vr.measured, 2)
            vr.details = {"model": r["model"], "system": r["system"], "gpu_hours": gpu_h,
                          "power_w_per_gpu": nums[1], "pue": META_PUE, "grid_gco2_per_kwh": grid,
                          "assumption": "Meta's method: GPU-hours x TDP, adjusted for PUE; PUE 1.09 "
                          "(Meta's reported PUE) and the U.S. 2022 grid average (EIA): checks the "
                          "carbon chain and these assumptions, not the power model"}  # fmt: skip
        elif cat_name == "training power dynamics":
            sysrow = cat.system("grand-teton-h100")
            acc = cat.accelerator(sysrow.accelerator)

            lv = phase_levels(acc, catalog=cat)
            busy = system_power_w(sysrow, gpu_power_w=lv.tdp_w, host_load=1.0, catalog=cat)
            idle = system_power_w(sysrow, gpu_power_w=lv.idle_w, host_load=0.0, catalog=cat)
            swing = float(busy.per_gpu_w - idle.per_gpu_w) * 16384 / 1e6
            vr.skipped_reason = (
                f"qualitative ('tens of megawatts'); predicted IT swing between all-compute and "
                f"idle on 16,384 H100: {swing:.1f} MW"
            )
            vr.details = {"predicted_swing_mw": swing}
        elif cat_name == "PUE":
            vr.skipped_reason = (
                "a PUE figure of other facilities: informs the air/liquid defaults in "
                "catalog/data/power.yaml, not a prediction"
            )
        elif cat_name.startswith("ML.ENERGY") and "gpu energy per token" in metric:
            pred = predict_mlenergy_gpu_j_per_token(
                r["model"], batch=_batch(r["scenario"]), catalog=cat
            )
            last = _number(r["value"].split("->")[-1].strip())
            if pred is None or last is None:
                vr.skipped_reason = "model or batch not modelled"
                continue
            vr.metric = "gpu_j_per_token"
            vr.measured = last
            vr.predicted = round(pred["gpu_j_per_token"], 4)
            vr.error_pct = round(100 * (vr.predicted - vr.measured) / vr.measured, 2)
            vr.details = {**pred, "compared_with": "v3.0 (vLLM 0.11.1), the newer software; "
                          f"v2.0 measured {r['value'].split('->')[0].strip()}"}  # fmt: skip
        elif cat_name.startswith("ML.ENERGY"):
            vr.skipped_reason = (
                "relative or descriptive figure (software-version reductions, coverage, "
                "response lengths): not modelled"
            )
        elif cat_name.startswith("MLPerf"):
            vr.skipped_reason = "benchmark not modelled"
        else:
            vr.skipped_reason = "not an energy figure"
    mpath = Path(mlperf_path) if mlperf_path else groundtruth_path("mlperf_inference.csv")
    for j, pair in enumerate(_maxq_pairs(mpath)):
        bench = _benchmark(pair["model"])
        vr = ValidationRow(
            f"MQ{j + 1:03d}/{pair['model']}/{pair['scenario']}/MaxQ over MaxP tokens/s",
            "dvfs_speed_ratio", round(pair["ratio"], 4), None, None, group="MLPerf MaxQ vs MaxP",
        )  # fmt: skip
        out.append(vr)
        if bench is None:
            vr.skipped_reason = "benchmark not modelled"
            continue
        pred = predict_dvfs_ratio(bench, catalog=cat)
        vr.predicted = round(pred, 4)
        vr.error_pct = round(100 * (pred - pair["ratio"]) / pair["ratio"], 2)
        vr.fitted = (pair["model"], pair["scenario"]) == DVFS_FIT_ROW
        vr.details = {"model": MLPERF[bench]["model"], "system": MLPERF_SYSTEM,
                      "power_limit_w": MLPERF[bench]["power_limit_w"],
                      "maxq_tokens_per_s": pair["maxq"], "maxp_tokens_per_s": pair["maxp"]}  # fmt: skip
    return out


def run_validation(path=None, *, catalog=None):
    """Rows and their summary (the shape every ``gigafleet validate`` command prints)."""
    rows = validate_energy(path, catalog=catalog)
    summary = summarize(
        rows,
        groups={
            "by_metric": lambda r: r.metric or "",
            "by_calibration": lambda r: "fitted" if r.fitted else "held_out",
        },
    )
    return rows, summary
