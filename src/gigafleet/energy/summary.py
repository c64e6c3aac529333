"""Plain-number summaries of power and energy for the faces (CLI, JSON): no printing here,
only the numbers and their labels, so ``gigafleet train`` / ``serve`` stay short."""

from __future__ import annotations

from typing import Any

import numpy as np

from gigafleet.energy.training import training_power
from gigafleet.perf.training import PHASES


def apply_training_energy(
    result: dict[str, Any],
    est,
    *,
    train_tokens: float | None = None,
    power_cap_w: float | None = None,
    pue: float | None = None,
    cooling: str | None = None,
    grid_gco2_per_kwh: float | None = None,
    catalog=None,
) -> dict[str, Any]:
    """Add ``result["power"]`` (a single-strategy estimate's power and energy) to the summary
    of ``gigafleet train``; under a power cap, also slow its step time, throughput, MFU,
    time to train and breakdown terms by DVFS (compute-bound terms by their clock)."""
    tp = training_power(
        est, train_tokens=train_tokens, power_cap_w=power_cap_w, pue=pue, cooling=cooling,
        grid_gco2_per_kwh=grid_gco2_per_kwh, catalog=catalog,
    )  # fmt: skip

    def f(x):
        return None if x is None else float(np.asarray(x))

    speed = f(tp.speed)
    if power_cap_w is not None:
        step = f(tp.step_time_s)
        phase_s: dict[str, float] = {}
        for k, v in result["breakdown_s"].items():
            ph = PHASES[k]
            phase_s[ph] = phase_s.get(ph, 0.0) + v
        scale = {
            ph: (f(tp.phase_fractions[ph]) * step / s if s > 0 else 1.0)
            for ph, s in phase_s.items()
        }
        result["breakdown_s"] = {k: v * scale[PHASES[k]] for k, v in result["breakdown_s"].items()}
        result["step_time_s"] = step
        for k in ("tokens_per_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu", "mfu"):
            result[k] = result[k] * speed
        if result.get("time_to_train_s") is not None:
            result["time_to_train_s"] = result["time_to_train_s"] / speed
    result["power_w_per_gpu"] = f(tp.gpu_power_avg_w)
    result["energy_j_per_step"] = f(tp.it_energy_j_per_step)
    result["power"] = {
        "power_cap_w": power_cap_w,
        "dvfs_speed": speed,
        "gpu_power_avg_w": f(tp.gpu_power_avg_w),
        "gpu_power_peak_w": f(tp.gpu_power_peak_w),
        "it_power_w": f(tp.it_power_w),
        "it_power_peak_w": f(tp.it_power_peak_w),
        "system": tp.info["system"],
        "system_power_w": f(tp.system_power_w),
        "system_power_peak_w": f(tp.system_power_peak_w),
        "cooling": tp.cooling,
        "pue": tp.pue,
        "facility_power_w": f(tp.facility_power_w),
        "facility_power_peak_w": f(tp.facility_power_peak_w),
        "it_energy_j_per_step": f(tp.it_energy_j_per_step),
        "facility_energy_j_per_step": f(tp.facility_energy_j_per_step),
        "j_per_token": f(tp.j_per_token),
        "tokens_per_j": f(tp.tokens_per_j),
        "flops_per_j": f(tp.flops_per_j),
        "energy_to_train_j": f(tp.energy_to_train_j),
        "grid_gco2_per_kwh": tp.grid_gco2_per_kwh,
        "carbon_kg": f(tp.carbon_kg),
        "it_breakdown_w_per_gpu": {k: f(v) for k, v in tp.it_breakdown_w_per_gpu.items()},
    }
    return result
