"""Power of a serving replica: busy power from the phase mix of its iterations
(perf/inference.py ``ServingReplica.phase_times``), idle power from the idle board power,
both at system (IT) level including hosts, NICs and the rest of the node.

The request simulator (sim/serving.py) integrates ``busy_s x P_busy + idle_s x P_idle`` per
replica; :func:`serving_power` supplies the two levels. The busy level uses a
representative steady-state iteration: the batch that maximises offline throughput for the
workload's mean prompt and output lengths (``best_offline_throughput``), decoding that batch
and prefilling the prompts of the sequences that finish (continuous batching).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.energy.params import PowerParams, load_power_params
from gigafleet.energy.power import accelerator_power_w, clock_fraction, phase_levels, system_power_w
from gigafleet.perf.inference import ServingReplica, best_offline_throughput


@dataclass(frozen=True)
class ServingPower:
    """Power levels of one replica (IT, watts) and of its GPUs, plus the iteration's phase mix."""

    busy_w: float  # replica IT power while it runs iterations
    idle_w: float  # replica IT power while idle
    gpu_busy_w: float  # per GPU board power while busy
    gpu_idle_w: float
    speed: float  # throughput under the power cap / uncapped
    batch: int
    offline_tokens_per_s: float  # replica, under the cap
    j_per_token: float  # IT energy per output token at offline (full) load
    phase_fractions: dict[str, float]
    cooling: str


def iteration_phases(replica: ServingReplica, *, batch: int, prompt_tokens: float,
                     output_tokens: float) -> dict[str, float]:  # fmt: skip
    """Phase seconds of one steady-state iteration at ``batch`` running sequences."""
    prefill = int(round(batch * prompt_tokens / max(output_tokens, 1.0)))
    context = prompt_tokens + output_tokens / 2
    return replica.phase_times(prefill, batch, int(batch * context))


def serving_power(
    replica: ServingReplica,
    *,
    prompt_tokens: float,
    output_tokens: float,
    batch: int | None = None,
    iteration: tuple[float, float, float] | None = None,
    power_cap_w: float | None = None,
    include_scaleout: bool = True,
    cooling: str | None = None,
    params: PowerParams | None = None,
    catalog: Catalog | None = None,
) -> ServingPower:
    """Busy and idle IT power of one replica, and J/token at full load.

    ``batch`` defaults to the offline-throughput-maximising batch; ``iteration`` =
    ``(prefill, decode, context)`` tokens of the mean iteration actually run (what a
    simulation measured) replaces it for the busy power. Under ``power_cap_w`` the
    compute-bound share of each iteration slows by its clock fraction (``dvfs_speed``).
    The replica's share of its systems is ``num_gpus / gpus_per_system`` of the system power.
    """
    cat = catalog or load_catalog()
    p = params or load_power_params(cat)
    sysrow = cat.system(replica.system)
    acc = cat.accelerator(sysrow.accelerator)
    lv = phase_levels(acc, params=p)
    tps, best = best_offline_throughput(
        replica, prompt_tokens=prompt_tokens, output_tokens=output_tokens
    )
    b = best if batch is None else int(batch)
    rep = replica
    if rep.prompt_tokens_hint != prompt_tokens:
        rep = dataclasses.replace(replica, prompt_tokens_hint=float(prompt_tokens))
    if iteration is None:
        ph = iteration_phases(
            rep, batch=b, prompt_tokens=prompt_tokens, output_tokens=output_tokens
        )
    else:
        ph = rep.phase_times(*(int(round(x)) for x in iteration))
    t0 = sum(ph.values())
    if power_cap_w is not None:
        for name, w in (("compute", lv.compute_w), ("memory", lv.memory_w), ("comm", lv.comm_w)):
            ph[name] = ph[name] / float(clock_fraction(lv, w, power_cap_w, p))
    t = sum(ph.values())
    frac = {k: (v / t if t > 0 else 0.0) for k, v in ph.items()}
    gpu_busy = float(
        accelerator_power_w(acc, compute_frac=frac["compute"], memory_frac=frac["memory"],
                            comm_frac=frac["comm"], power_cap_w=power_cap_w, params=p)
    )  # fmt: skip
    share = replica.num_gpus / sysrow.num_gpus
    kw = dict(include_scaleout=include_scaleout, cooling=cooling, params=p, catalog=cat)
    busy = float(system_power_w(sysrow, gpu_power_w=gpu_busy, **kw).total_w) * share
    idle_sys = system_power_w(sysrow, gpu_power_w=lv.idle_w, host_load=0.0, **kw)
    speed = t0 / t if t > 0 else 1.0
    if batch is not None:
        tps = replica.decode_throughput(
            b, prompt_tokens + output_tokens / 2, prompt_tokens, output_tokens
        )
    tps_capped = tps * speed
    return ServingPower(
        busy_w=busy,
        idle_w=float(idle_sys.total_w) * share,
        gpu_busy_w=gpu_busy,
        gpu_idle_w=lv.idle_w,
        speed=speed,
        batch=b,
        offline_tokens_per_s=tps_capped,
        j_per_token=busy / tps_capped if tps_capped > 0 else float(np.inf),
        phase_fractions=frac,
        cooling=idle_sys.cooling,
    )
