"""Failures of a training job, checkpointing, and the effective training time.

A synchronous training job stops whenever any of its parts fails, so it is a series system:
its failure rate is the sum over components of (units in the job) x (rate per unit),

    lambda_job = sum_c n_c(N) * r_c,        MTBF = 1 / lambda_job,

with components ``gpu`` (per GPU), ``hbm`` (per HBM stack), ``host`` and ``software`` (per
node), ``nic`` and ``switch`` (per scale-out NIC port). The rates are calibrated on the
Llama 3 interruption table (Dubey et al. 2024, Table 5): the catalog's ``failure_rates``
set (``catalog/data/failure_rates.yaml``, overridable by an overlay) says how, and
``gigafleet validate reliability`` reports the error on held-out clusters.

Failures are taken as a Poisson process (exponential times between failures), the
assumption of Young (1974) and Daly (2006). Checkpoint write and restore times come from
the checkpoint size (bytes per parameter, documented in :func:`checkpoint_bytes`) and the
storage bandwidth, the smaller of the aggregate file-system bandwidth and the nodes'
own links. The expected wall time of a run is Daly's closed form, exact for exponential
failures when failures may also strike during checkpoints and restarts:

    T_wall = M * exp(R / M) * (exp((tau + delta) / M) - 1) * T_solve / tau

(Daly 2006, "A higher order estimate of the optimum checkpoint interval for restart
dumps", FGCS 22(3), Eq. 20), with M the MTBF, R the restart time (overhead plus restore),
delta the checkpoint write time and tau the compute time between checkpoints. The
effective training time ratio is ETT = T_solve / T_wall.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gigafleet.catalog import load_catalog
from gigafleet.catalog.params import FAILURE_COMPONENTS, RATE_UNITS
from gigafleet.errors import GigafleetError, unknown_name

if TYPE_CHECKING:
    from gigafleet.catalog import Catalog

COMPONENTS = FAILURE_COMPONENTS
UNITS = RATE_UNITS
HOURS_PER_DAY = 24.0

# Defaults with their sources (see also README's reliability section).
#: Aggregate checkpoint write bandwidth: Meta's Tectonic for Llama 3, "a sustainable
#: throughput of 2 TB/s" (Dubey et al. 2024, Sec. 3.3.1). A site property: override it.
DEFAULT_STORAGE_BW_BYTES_PER_S = 2e12
#: Per-node storage bandwidth. ASSUMPTION: one 400 Gb/s front-end (storage) port per node
#: at full rate, 50 GB/s; NVIDIA's DGX H100 has two dual-port ConnectX-7 cards for storage
#: and in-band management, and the usable rate depends on the storage fabric.
DEFAULT_NODE_STORAGE_BW_BYTES_PER_S = 50e9
#: Time from a failure to resumed training, excluding the checkpoint read. ASSUMPTION:
#: 10 min, the default NCCL watchdog timeout of PyTorch's ProcessGroupNCCL (a hang is
#: detected only then), with rescheduling on spare nodes and re-initialisation folded in.
#: No public per-restart figure for Llama 3 exists; ETT is sensitive to it (see the report).
DEFAULT_RESTART_OVERHEAD_S = 600.0
#: Checkpoint bytes per parameter: BF16 weights (2) + FP32 master weights (4) + Adam's two
#: FP32 moments (8) = 14, the mixed-precision Adam state of Rajbhandari et al. 2020 (ZeRO,
#: Sec. 3.1: "16 bytes" with FP16 gradients, which are not checkpointed).
DEFAULT_CHECKPOINT_BYTES_PER_PARAM = 14.0


@dataclass(frozen=True)
class FailureRates:
    """Rates per unit-hour for each component, and the unit each one counts."""

    per_unit_hour: dict[str, float]
    per_job_hour: dict[str, float]
    units: dict[str, str]
    hbm_stacks: dict[str, int]
    source: str


@dataclass(frozen=True)
class ComponentCounts:
    """How many of each unit a job of ``num_gpus`` holds (floats: partial systems allowed)."""

    gpu: Any
    hbm_stack: Any
    node: Any
    nic: Any
    hbm_estimated: bool

    def of(self, unit: str) -> Any:
        return 1.0 if unit == "job" else getattr(self, unit)


def _check_component(name: str) -> None:
    if name not in COMPONENTS:
        raise unknown_name("failure component", name, COMPONENTS, field="components")


def load_failure_rates(
    path: str | Path | None = None, *, catalog: Catalog | None = None
) -> FailureRates:
    """The failure rates of ``catalog`` (default: the shipped ones with ``$GIGAFLEET_CATALOG``),
    with a user's YAML file of changes (``--failure-rates FILE``: the fields of
    ``failure_rates.yaml``) on top.

    A component's rate per unit-hour is ``count / (units in the calibration job x hours)``
    (the Llama 3 fit) unless ``rate_per_hour`` is given. An overlay may change a
    component's unit, count or rate, or add HBM stack counts.
    """

    catalog = catalog or load_catalog()
    source = catalog.params.failure_rates.calibration.source
    if path is not None:
        catalog = catalog.with_param_file("failure_rates", path)
        source += f" + overlay {path}"
    fr = catalog.params.failure_rates
    cal = fr.calibration
    stacks = {k: v.num for k, v in fr.hbm_stacks.items()}
    per_unit, per_job, units = {}, {}, {}
    for name in COMPONENTS:
        c = getattr(fr.components, name)
        if c.rate_per_hour is not None:
            rate = c.rate_per_hour
        else:
            counts = component_counts(
                cal.num_gpus, system=cal.system, catalog=catalog, hbm_stacks=stacks
            )
            exposure = float(counts.of(c.unit)) * cal.period_days * HOURS_PER_DAY
            rate = c.count / exposure
        per_unit[name], per_job[name], units[name] = rate, c.rate_per_job_hour, c.unit
    return FailureRates(per_unit, per_job, units, stacks, source)


def component_counts(
    num_gpus: Any,
    *,
    system: str | None = None,
    catalog=None,
    hbm_stacks: dict[str, int] | None = None,
) -> ComponentCounts:
    """Units of each kind in a job of ``num_gpus`` on ``system`` (default: the calibration one).

    Nodes: a system row lists CPU sockets (``num_hosts``); a compute node (server or tray)
    has two of them in every multi-socket system of the catalog (DGX/HGX: 2 per 8 GPUs,
    GB200/GB300 NVL72: 36 Grace in 18 trays), one in single-socket superchips.
    HBM stacks per GPU: from ``hbm_stacks`` (sourced in the data file) or, for other
    accelerators, ``hbm_gib / 16`` (the H100 stack size), marked ``hbm_estimated``.
    """

    catalog = catalog or load_catalog()
    fr = catalog.params.failure_rates
    row = catalog.system(fr.calibration.system if system is None else system)
    acc = catalog.accelerator(row.accelerator)
    stacks = hbm_stacks if hbm_stacks is not None else {k: v.num for k, v in fr.hbm_stacks.items()}
    n = np.asarray(num_gpus, dtype=float)
    if np.any(n <= 0):
        raise GigafleetError(f"got {num_gpus}; allowed: a positive GPU count", field="num_gpus")
    num_nodes = max(1, row.num_hosts // 2)
    per_gpu_stacks = stacks.get(acc.name)
    estimated = per_gpu_stacks is None
    if estimated:
        per_gpu_stacks = max(1.0, acc.hbm_gib / 16.0)
    return ComponentCounts(
        gpu=n,
        hbm_stack=n * per_gpu_stacks,
        node=n * num_nodes / row.num_gpus,
        nic=n * row.num_nics / row.num_gpus,
        hbm_estimated=estimated,
    )


def failure_rates_by_component_per_s(
    num_gpus: Any,
    *,
    system: str | None = None,
    rates: FailureRates | None = None,
    components: tuple[str, ...] | None = None,
    catalog=None,
) -> dict[str, np.ndarray]:
    """Interruptions per second of a job, per component: ``n_c(N) * r_c + r_job_c``."""
    rates = rates or load_failure_rates(catalog=catalog)
    comps = components or COMPONENTS
    for c in comps:
        _check_component(c)
    counts = component_counts(num_gpus, system=system, catalog=catalog, hbm_stacks=rates.hbm_stacks)
    return {
        c: (counts.of(rates.units[c]) * rates.per_unit_hour[c] + rates.per_job_hour[c]) / 3600.0
        for c in comps
    }


def job_failure_rate_per_s(
    num_gpus: Any,
    *,
    system: str | None = None,
    rates: FailureRates | None = None,
    components: tuple[str, ...] | None = None,
    catalog=None,
) -> np.ndarray:
    """Unexpected interruptions per second of a synchronous job (series system).

    ``lambda = sum_c n_c(N) r_c``; grows linearly with the job's GPUs, HBM stacks, nodes and
    NICs. Vectorised over ``num_gpus``.
    """
    parts = failure_rates_by_component_per_s(
        num_gpus, system=system, rates=rates, components=components, catalog=catalog
    )
    return np.asarray(sum(parts.values()))


def checkpoint_bytes(
    num_params: Any, *, bytes_per_param: float = DEFAULT_CHECKPOINT_BYTES_PER_PARAM
) -> Any:
    """Bytes of one full training checkpoint: ``num_params * bytes_per_param``.

    Default 14 B/param: BF16 weights (2) + FP32 master copy (4) + Adam first and second
    moments in FP32 (4 + 4), the mixed-precision Adam state of the ZeRO paper (Rajbhandari
    et al. 2020, Sec. 3.1, less the FP16 gradients, which a checkpoint does not keep).
    """
    if bytes_per_param <= 0:
        raise GigafleetError(
            f"got {bytes_per_param}; allowed: a positive number", field="bytes_per_param"
        )
    return np.asarray(num_params, dtype=float) * bytes_per_param


def _positive(value: float, field: str) -> float:
    if not (value > 0 and math.isfinite(value)):
        raise GigafleetError(f"got {value}; allowed: a positive number", field=field)
    return float(value)


def checkpoint_time_s(
    num_bytes: Any,
    *,
    num_nodes: Any,
    storage_bw_bytes_per_s: float = DEFAULT_STORAGE_BW_BYTES_PER_S,
    node_bw_bytes_per_s: float = DEFAULT_NODE_STORAGE_BW_BYTES_PER_S,
) -> Any:
    """Time to write (or read back) a checkpoint: ``bytes / min(B_storage, nodes * B_node)``.

    Every node writes its shard in parallel (sharded checkpointing, as in PyTorch DCP and
    Megatron's distributed checkpoint), so the time is set by the narrower of the aggregate
    file-system bandwidth and the sum of the nodes' own storage links. The same form gives
    the restore time.
    """
    _positive(storage_bw_bytes_per_s, "storage_bw_bytes_per_s")
    _positive(node_bw_bytes_per_s, "node_bw_bytes_per_s")
    bw = np.minimum(
        storage_bw_bytes_per_s, np.asarray(num_nodes, dtype=float) * node_bw_bytes_per_s
    )
    return np.asarray(num_bytes, dtype=float) / bw


def young_interval_s(checkpoint_s: Any, mtbf_s: Any) -> Any:
    """Young's first-order optimum: ``tau = sqrt(2 * delta * M)`` (Young 1974, CACM 17(9))."""
    return np.sqrt(2.0 * np.asarray(checkpoint_s, dtype=float) * np.asarray(mtbf_s, dtype=float))


def daly_interval_s(checkpoint_s: Any, mtbf_s: Any) -> Any:
    """Daly's higher-order optimum of the compute time between checkpoints.

    ``tau = sqrt(2 delta M) [1 + (1/3) sqrt(delta / (2M)) + (1/9) (delta / (2M))] - delta``
    for ``delta < 2M``, else ``tau = M`` (Daly 2006, FGCS 22(3), Eq. 37).
    """
    d = np.asarray(checkpoint_s, dtype=float)
    m = np.asarray(mtbf_s, dtype=float)
    x = d / (2.0 * m)
    tau = np.sqrt(2.0 * d * m) * (1.0 + np.sqrt(x) / 3.0 + x / 9.0) - d
    return np.where(d < 2.0 * m, tau, m)


def optimal_checkpoint_interval_s(checkpoint_s: Any, mtbf_s: Any, *, method: str = "daly") -> Any:
    """The checkpoint interval (compute time between checkpoints) that minimises wall time.

    ``method``: ``daly`` (higher order, default) or ``young`` (``sqrt(2 delta M)``).
    """
    if method == "daly":
        return daly_interval_s(checkpoint_s, mtbf_s)
    if method == "young":
        return young_interval_s(checkpoint_s, mtbf_s)
    raise GigafleetError(f"unknown method {method!r}; allowed: daly, young", field="method")


def segment_expected_time_s(work_s: Any, *, restart_s: Any, mtbf_s: Any) -> Any:
    """Expected time to finish ``work_s`` of uninterrupted time under Poisson failures.

    ``E = M exp(R/M) (exp(W/M) - 1)``: each failure loses the attempt and costs a restart of
    length R, itself interruptible (Daly 2006, Eq. 20 for one segment).
    """
    m = np.asarray(mtbf_s, dtype=float)
    return m * np.exp(np.asarray(restart_s, dtype=float) / m) * np.expm1(np.asarray(work_s) / m)


def expected_wall_time_s(
    solve_s: Any, *, interval_s: Any, checkpoint_s: Any, restart_s: Any, mtbf_s: Any
) -> Any:
    """Expected wall time of a run of ``solve_s`` failure-free compute time.

    The run is ``n = ceil(T/tau) - 1`` segments of ``tau + delta`` (compute, then
    checkpoint) and a last piece of ``T - n tau`` (up to ``tau``) without a checkpoint; each segment is
    :func:`segment_expected_time_s`. For ``T`` a multiple of ``tau`` this is Daly's Eq. 20
    less the final checkpoint.
    """
    t = np.asarray(solve_s, dtype=float)
    tau = np.asarray(interval_s, dtype=float)
    n = np.maximum(np.ceil(t / tau) - 1.0, 0.0)
    rest = t - n * tau
    with np.errstate(over="ignore", invalid="ignore"):  # an interval far beyond M: inf
        seg = segment_expected_time_s(tau + checkpoint_s, restart_s=restart_s, mtbf_s=mtbf_s)
        last = segment_expected_time_s(rest, restart_s=restart_s, mtbf_s=mtbf_s)
        return np.where(n > 0, n * seg, 0.0) + last


@dataclass(frozen=True)
class Reliability:
    """What failures do to a training run (scalars, or arrays when inputs were arrays)."""

    num_gpus: Any
    failures_per_day: Any  # unexpected interruptions per day of wall time
    failures_per_day_by_component: dict[str, Any]
    mtbf_s: Any
    checkpoint_bytes: Any
    checkpoint_write_s: Any
    restore_s: Any
    restart_s: Any  # overhead + restore
    checkpoint_interval_s: Any
    planned_per_day: float
    ideal_time_s: Any
    wall_time_s: Any
    ett: Any  # effective training time ratio: ideal / wall
    expected_failures: Any  # over the whole run
    lost_work_s_per_failure: Any  # expected compute lost per failure (excl. restart)
    hbm_estimated: bool

    def to_dict(self) -> dict[str, Any]:
        def plain(v):
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            a = np.asarray(v)
            return a.item() if a.ndim == 0 else a.tolist()

        return {k: plain(v) for k, v in asdict(self).items()}


def effective_training_time(
    ideal_time_s: Any,
    num_gpus: Any,
    *,
    num_params: Any,
    system: str | None = None,
    rates: FailureRates | None = None,
    bytes_per_param: float = DEFAULT_CHECKPOINT_BYTES_PER_PARAM,
    storage_bw_bytes_per_s: float = DEFAULT_STORAGE_BW_BYTES_PER_S,
    node_bw_bytes_per_s: float = DEFAULT_NODE_STORAGE_BW_BYTES_PER_S,
    restart_overhead_s: float = DEFAULT_RESTART_OVERHEAD_S,
    checkpoint_interval_s: Any = None,
    interval_method: str = "daly",
    planned_per_day: float = 0.0,
    catalog=None,
) -> Reliability:
    """Failures, checkpointing and the wall-clock time of a run of ``ideal_time_s``.

    Wall time is Daly's expected time (:func:`expected_wall_time_s`) at the optimal (or
    given) checkpoint interval, plus planned interruptions (maintenance, at
    ``planned_per_day``), each costing a checkpoint and a restart but no lost work:
    ``T_wall = T_daly / (1 - p (delta + R) / 86400)``. ETT = ideal / wall.

    Expected lost compute per failure is ``tau/2`` to first order; the exact value under
    exponential failures is ``M - L / (exp(L/M) - 1)`` with ``L = tau + delta`` the segment.
    """
    if restart_overhead_s < 0 or not math.isfinite(restart_overhead_s):
        raise GigafleetError(
            f"got {restart_overhead_s}; allowed: zero or a positive number",
            field="restart_overhead_s",
        )
    if planned_per_day < 0:
        raise GigafleetError(
            f"got {planned_per_day}; allowed: zero or more", field="planned_per_day"
        )
    rates = rates or load_failure_rates(catalog=catalog)
    parts = failure_rates_by_component_per_s(num_gpus, system=system, rates=rates, catalog=catalog)
    lam = sum(parts.values())
    mtbf = 1.0 / lam
    counts = component_counts(num_gpus, system=system, catalog=catalog, hbm_stacks=rates.hbm_stacks)
    ckpt_bytes = checkpoint_bytes(num_params, bytes_per_param=bytes_per_param)
    write = checkpoint_time_s(
        ckpt_bytes, num_nodes=counts.node, storage_bw_bytes_per_s=storage_bw_bytes_per_s,
        node_bw_bytes_per_s=node_bw_bytes_per_s,
    )  # fmt: skip
    restore = write  # reads at the same bandwidth (the same links bound both directions)
    restart = restart_overhead_s + restore
    if checkpoint_interval_s is None:
        tau = optimal_checkpoint_interval_s(write, mtbf, method=interval_method)
    else:
        tau = np.asarray(checkpoint_interval_s, dtype=float)
        if np.any(tau <= 0):
            raise GigafleetError(
                f"got {checkpoint_interval_s}; allowed: a positive interval",
                field="checkpoint_interval_s",
            )
    ideal = np.asarray(ideal_time_s, dtype=float)
    if np.any(ideal < 0):
        raise GigafleetError(f"got {ideal_time_s}; allowed: zero or more", field="ideal_time_s")
    wall = expected_wall_time_s(
        ideal, interval_s=tau, checkpoint_s=write, restart_s=restart, mtbf_s=mtbf
    )
    planned_share = planned_per_day * (write + restart) / 86400.0
    if np.any(planned_share >= 1):
        raise GigafleetError(
            "planned interruptions take the whole day; lower planned_per_day",
            field="planned_per_day",
        )
    wall = wall / (1.0 - planned_share)
    seg = tau + write
    with np.errstate(over="ignore"):  # a segment far beyond the MTBF: expm1 = inf, lost = M
        lost = mtbf - seg / np.expm1(seg / mtbf)
    with np.errstate(invalid="ignore", divide="ignore"):
        ett = np.where(wall > 0, ideal / wall, 1.0)
    return Reliability(
        num_gpus=np.asarray(num_gpus),
        failures_per_day=lam * 86400.0,
        failures_per_day_by_component={k: v * 86400.0 for k, v in parts.items()},
        mtbf_s=mtbf,
        checkpoint_bytes=ckpt_bytes,
        checkpoint_write_s=write,
        restore_s=restore,
        restart_s=restart,
        checkpoint_interval_s=tau,
        planned_per_day=float(planned_per_day),
        ideal_time_s=ideal,
        wall_time_s=wall,
        ett=ett,
        expected_failures=lam * wall,
        lost_work_s_per_failure=lost,
        hbm_estimated=counts.hbm_estimated,
    )
