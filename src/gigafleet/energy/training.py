"""Power and energy of a training step, from the step's time by GPU phase (perf/training).

The training model says how long the GPUs compute, stream HBM, wait on links and idle
(``phase_s``; :data:`gigafleet.perf.training.PHASES` says which phase each term of its
``breakdown_s`` is). Under a power cap the compute-bound phases slow down by their clock
fraction (:func:`gigafleet.energy.power.dvfs_speed`), the others keep their time, and the
step becomes ``sum_i t_i / f_i``. Average GPU power follows from the phase fractions of the
(capped) step; peak GPU power is that of the most power-hungry phase present.

Job IT power is the system's power per GPU (GPUs, hosts, NICs, scale-out switch share,
rest of the node, fans, PSU loss) times the GPUs; facility power multiplies by the PUE.
Energy per step, per run and per token, tokens per joule and FLOP per joule follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import System
from gigafleet.energy.params import PowerParams, load_power_params
from gigafleet.energy.power import (
    _check_pue,
    accelerator_power_w,
    carbon_kg,
    clock_fraction,
    default_pue,
    phase_levels,
    system_power_w,
)
from gigafleet.enums import PHASE_NAMES
from gigafleet.errors import GigafleetError


@dataclass
class TrainingPower:
    """Power and energy of a training job; arrays over strategies (as the estimate's)."""

    step_time_s: np.ndarray  # under the power cap (= the estimate's without one)
    speed: np.ndarray  # uncapped step time / capped step time
    gpu_power_avg_w: np.ndarray
    gpu_power_peak_w: np.ndarray
    it_power_w: np.ndarray  # whole job, average
    it_power_peak_w: np.ndarray
    system_power_w: np.ndarray  # one system (node or rack), average
    system_power_peak_w: np.ndarray
    facility_power_w: np.ndarray
    facility_power_peak_w: np.ndarray
    pue: float
    it_energy_j_per_step: np.ndarray
    facility_energy_j_per_step: np.ndarray
    j_per_token: np.ndarray  # IT energy per trained token
    tokens_per_j: np.ndarray
    flops_per_j: np.ndarray  # model FLOPs per IT joule
    energy_to_train_j: np.ndarray | None  # facility energy for train_tokens
    carbon_kg: np.ndarray | None  # location-based, facility energy x grid intensity
    grid_gco2_per_kwh: float
    power_cap_w: float | None
    cooling: str
    phase_fractions: dict[str, np.ndarray]  # of the (capped) step
    it_breakdown_w_per_gpu: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)

    def item(self, name: str, index: int | tuple[int, ...] = ()) -> float | None:
        v = getattr(self, name)
        return None if v is None else float(np.asarray(v)[index])


def _phase_seconds(phase_s: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``phase_s`` with every phase present (0 when absent)."""
    unknown = set(phase_s) - set(PHASE_NAMES)
    if unknown:
        raise GigafleetError(
            f"unknown phase {sorted(unknown)[0]!r}; allowed: {', '.join(PHASE_NAMES)}",
            field="phase_s",
        )
    return {k: phase_s.get(k, 0.0) for k in PHASE_NAMES}


def step_power(
    phase_s: dict[str, Any],
    *,
    system: System | str,
    num_gpus,
    tokens_per_step,
    flops_per_token,
    train_tokens: float | None = None,
    power_cap_w: float | None = None,
    pue: float | None = None,
    cooling: str | None = None,
    grid_gco2_per_kwh: float | None = None,
    params: PowerParams | None = None,
    catalog: Catalog | None = None,
) -> TrainingPower:
    """The vectorised core of :func:`training_power`, on the step's seconds per GPU phase
    (``compute``, ``memory``, ``comm``, ``idle``: the ``phase_s`` of what
    ``perf.training.training_step`` returns; the planner calls this directly)."""
    cat = catalog or load_catalog()
    p = params or load_power_params(cat)
    sysrow = system if isinstance(system, System) else cat.system(system)
    acc = cat.accelerator(sysrow.accelerator)
    lv = phase_levels(acc, params=p)
    cool = cooling or p.cooling_of(sysrow.name)
    # checked before any figure is divided by it (a zero PUE printed a numpy warning)
    pue = default_pue(cool, params=p) if pue is None else float(_check_pue(pue))
    grid = p.facility.grid_gco2_per_kwh if grid_gco2_per_kwh is None else float(grid_gco2_per_kwh)
    with np.errstate(divide="ignore", invalid="ignore"):
        ph = _phase_seconds(phase_s)
        step0 = ph["compute"] + ph["memory"] + ph["comm"] + ph["idle"]
        if power_cap_w is not None:
            if not power_cap_w > lv.idle_w:
                raise GigafleetError(
                    f"must exceed the idle power of {acc.name} ({lv.idle_w:.0f} W), got {power_cap_w}",
                    field="power_cap_w",
                )
            for name, w in (
                ("compute", lv.compute_w),
                ("memory", lv.memory_w),
                ("comm", lv.comm_w),
            ):
                ph[name] = ph[name] / clock_fraction(lv, w, power_cap_w, p)
        step = ph["compute"] + ph["memory"] + ph["comm"] + ph["idle"]
        frac = {k: np.nan_to_num(v / step) for k, v in ph.items()}
        gpu_avg = accelerator_power_w(
            acc, compute_frac=frac["compute"], memory_frac=frac["memory"],
            comm_frac=frac["comm"], power_cap_w=power_cap_w, params=p,
        )  # fmt: skip
        top = lv.tdp_w if power_cap_w is None else min(power_cap_w, lv.tdp_w)
        peak = np.full(np.shape(step), lv.idle_w)
        for name, w in (("memory", lv.memory_w), ("comm", lv.comm_w), ("compute", lv.compute_w)):
            peak = np.where(frac[name] > 0, np.maximum(peak, min(w, top)), peak)
        sp = system_power_w(sysrow, gpu_power_w=gpu_avg, cooling=cool, params=p, catalog=cat)
        sp_peak = system_power_w(
            sysrow, gpu_power_w=peak, host_load=1.0, cooling=cool, params=p, catalog=cat
        )
        n = np.asarray(num_gpus, dtype=float)
        it = sp.per_gpu_w * n
        it_peak = sp_peak.per_gpu_w * n
        e_step = it * step
        tokens = np.asarray(tokens_per_step, dtype=float)
        jpt = e_step / tokens
        energy_train = None if train_tokens is None else e_step * pue * train_tokens / tokens
    return TrainingPower(
        step_time_s=step,
        speed=np.nan_to_num(step0 / step, nan=1.0),
        gpu_power_avg_w=gpu_avg,
        gpu_power_peak_w=peak,
        it_power_w=it,
        it_power_peak_w=it_peak,
        system_power_w=sp.total_w,
        system_power_peak_w=sp_peak.total_w,
        facility_power_w=it * pue,
        facility_power_peak_w=it_peak * pue,
        pue=pue,
        it_energy_j_per_step=e_step,
        facility_energy_j_per_step=e_step * pue,
        j_per_token=jpt,
        tokens_per_j=1.0 / jpt,
        flops_per_j=np.asarray(flops_per_token, dtype=float) / jpt,
        energy_to_train_j=energy_train,
        carbon_kg=None
        if energy_train is None
        else carbon_kg(energy_train / pue, pue=pue, grid_gco2_per_kwh=grid),
        grid_gco2_per_kwh=grid,
        power_cap_w=power_cap_w,
        cooling=cool,
        phase_fractions=frac,
        it_breakdown_w_per_gpu={k: v / sysrow.num_gpus for k, v in sp.breakdown_w.items()},
        info={"system": sysrow.name, "accelerator": acc.name, "idle_w": lv.idle_w},
    )


def training_power(
    est,
    *,
    system: System | str | None = None,
    train_tokens: float | None = None,
    power_cap_w: float | None = None,
    pue: float | None = None,
    cooling: str | None = None,
    grid_gco2_per_kwh: float | None = None,
    params: PowerParams | None = None,
    catalog: Catalog | None = None,
) -> TrainingPower:
    """Power and energy of the strategies of a :class:`perf.training.TrainingEstimate`.

    Args:
        est: the estimate (its ``phase_s``, step time, tokens and FLOPs per token).
        system: the catalog system (default: the estimate's).
        train_tokens: tokens to train on (default: none, or the estimate's time to train's).
        power_cap_w: board power cap per GPU (DVFS slows the compute-bound phases).
        pue: facility PUE (default by the system's cooling, power.yaml).
        cooling: ``air`` or ``liquid`` (default: the system's, power.yaml).
        grid_gco2_per_kwh: grid carbon intensity (default: U.S. 2022 average, power.yaml).
    """
    tokens_step = np.asarray(est.tokens_per_s) * np.asarray(est.step_time_s)
    return step_power(
        est.phase_s,
        system=system or est.info["system"],
        num_gpus=est.num_gpus,
        tokens_per_step=tokens_step,
        flops_per_token=est.model_flops_per_token,
        train_tokens=train_tokens,
        power_cap_w=power_cap_w,
        pue=pue,
        cooling=cooling,
        grid_gco2_per_kwh=grid_gco2_per_kwh,
        params=params,
        catalog=catalog,
    )
