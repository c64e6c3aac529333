"""Power of an accelerator, a system, a facility and a site; energy and carbon.

GPU board power is a time-weighted sum over what the GPU does (Ma et al. 2026,
arXiv:2605.11999, for the memory-bound level; ``catalog/data/power.yaml`` for every level):

    P = P_idle + c (P_c - P_idle) + m (P_m - P_idle) + k (P_k - P_idle)

with ``c, m, k`` the fractions of wall time that are compute-bound, memory-bound and
exposed communication (the rest idle), ``P_c = min(TDP, cap)`` and ``P_m``, ``P_k``
fractions of TDP (also at most the cap).

Power capping (DVFS). Dynamic power above idle scales as ``f^a`` with the core clock ``f``
(``P = C V^2 f`` with the voltage rising with the clock: ``1 <= a <= 3``; ``a`` is fitted,
see power.yaml). A phase whose uncapped power ``P`` exceeds the cap runs at

    f = ((cap - P_idle) / (P - P_idle))^(1/a)     (at least ``min_clock_fraction``)

and takes ``1/f`` times as long; phases below the cap (memory-bound decode, communication)
keep their speed, as measured by Ma et al. 2026 on H200. The speed of a mix is
``1 / (sum_i t_i / f_i + t_rest)``.

System (IT) power adds host CPUs, NICs, a share of the scale-out switches, the rest of the
node (scale-up switches, DIMMs, SSDs, BMC), fans as a fraction of the heat, and the power
supplies' loss. Facility power is IT power times the PUE; carbon is facility energy times
the grid's intensity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.catalog.schema import Accelerator, System
from gigafleet.energy.params import COOLING, PowerParams, load_power_params
from gigafleet.errors import GigafleetError, unknown_name

J_PER_KWH = 3.6e6


def _params(params: PowerParams | None, catalog: Catalog | None = None) -> PowerParams:
    return params or load_power_params(catalog)


def _accelerator(accelerator: Accelerator | str, catalog: Catalog | None) -> Accelerator:
    if isinstance(accelerator, Accelerator):
        return accelerator
    return (catalog or load_catalog()).accelerator(accelerator)


def _system(system: System | str, catalog: Catalog | None) -> System:
    if isinstance(system, System):
        return system
    return (catalog or load_catalog()).system(system)


@dataclass(frozen=True, slots=True)
class PhaseLevels:
    """Uncapped board power of each phase of one accelerator, watts."""

    idle_w: float
    compute_w: float
    memory_w: float
    comm_w: float
    tdp_w: float


def phase_levels(accelerator: Accelerator | str, *, params: PowerParams | None = None,
                 catalog: Catalog | None = None) -> PhaseLevels:  # fmt: skip
    """The power levels of ``accelerator`` (see power.yaml for their sources)."""
    acc = _accelerator(accelerator, catalog)
    p = _params(params, catalog)
    a = p.accelerator
    tdp = acc.tdp_w
    idle = p.idle_w(acc.name, tdp)
    return PhaseLevels(
        idle_w=idle,
        compute_w=max(a.compute_fraction_of_tdp * tdp, idle),
        memory_w=max(a.memory_fraction_of_tdp * tdp, idle),
        comm_w=max(a.comm_fraction_of_tdp * tdp, idle),
        tdp_w=tdp,
    )


def _check_fractions(*fracs) -> tuple[np.ndarray, ...]:
    arrs = tuple(np.asarray(f, dtype=float) for f in fracs)
    total = sum(arrs)
    if any(np.any(~(a >= 0)) for a in arrs) or np.any(total > 1 + 1e-9):
        raise GigafleetError(
            "phase fractions must be >= 0 and sum to at most 1",
            field="compute_frac/memory_frac/comm_frac",
        )
    return arrs


def _check_cap(power_cap_w, levels: PhaseLevels) -> np.ndarray | None:
    if power_cap_w is None:
        return None
    cap = np.asarray(power_cap_w, dtype=float)
    if np.any(~(cap > levels.idle_w)):
        raise GigafleetError(
            f"must exceed the idle power of the accelerator ({levels.idle_w:.0f} W), got {power_cap_w}",
            field="power_cap_w",
        )
    return cap


def accelerator_power_w(
    accelerator: Accelerator | str,
    *,
    compute_frac,
    memory_frac,
    comm_frac,
    power_cap_w=None,
    params: PowerParams | None = None,
    catalog: Catalog | None = None,
) -> np.ndarray:
    """Average board power (W) of one accelerator given the fractions of wall time it spends
    compute-bound, memory-bound and in exposed communication (the rest idle); vectorised.

    ``P = P_idle + sum_phase frac (min(P_phase, cap) - P_idle)`` (module docstring). The
    fractions are of the time actually run (under a cap, compute phases last longer: see
    :func:`dvfs_speed`). Bounded by the cap (or TDP) above and idle power below.
    """
    lv = phase_levels(accelerator, params=params, catalog=catalog)
    c, m, k = _check_fractions(compute_frac, memory_frac, comm_frac)
    cap = _check_cap(power_cap_w, lv)
    top = lv.tdp_w if cap is None else np.minimum(cap, lv.tdp_w)

    def level(w):
        return np.minimum(w, top) - lv.idle_w

    return lv.idle_w + c * level(lv.compute_w) + m * level(lv.memory_w) + k * level(lv.comm_w)


def clock_fraction(levels: PhaseLevels, phase_w, power_cap_w, params: PowerParams) -> np.ndarray:
    """Clock (fraction of the uncapped one) at which a phase drawing ``phase_w`` meets the cap:
    ``f = ((cap - P_idle) / (P - P_idle))^(1/a)``, 1 when it is already below it."""
    d = params.dvfs
    dyn = np.maximum(np.asarray(phase_w, dtype=float) - levels.idle_w, 1e-9)
    ratio = np.clip((np.asarray(power_cap_w, dtype=float) - levels.idle_w) / dyn, 0.0, 1.0)
    return np.maximum(ratio ** (1.0 / d.exponent), d.min_clock_fraction)


def dvfs_speed(
    accelerator: Accelerator | str,
    *,
    power_cap_w,
    compute_frac=1.0,
    memory_frac=0.0,
    comm_frac=0.0,
    params: PowerParams | None = None,
    catalog: Catalog | None = None,
) -> np.ndarray:
    """Relative speed (<= 1) under a board power cap: the perf-versus-power curve.

    Fractions are of the uncapped time. ``speed = 1 / (sum_i t_i / f_i + t_rest)`` with
    ``f_i`` from :func:`clock_fraction`; 1 where the cap is at or above every phase's power
    (``power_cap_w=None``: no cap). Model and sources in the module docstring.
    """
    p = _params(params, catalog)
    lv = phase_levels(accelerator, params=p, catalog=catalog)
    c, m, k = _check_fractions(compute_frac, memory_frac, comm_frac)
    if power_cap_w is None:
        return np.ones(np.broadcast(c, m, k).shape)
    cap = _check_cap(power_cap_w, lv)
    rest = 1.0 - (c + m + k)
    t = rest
    for frac, w in ((c, lv.compute_w), (m, lv.memory_w), (k, lv.comm_w)):
        t = t + frac / clock_fraction(lv, w, cap, p)
    return 1.0 / t


@dataclass(frozen=True)
class SystemPowerResult:
    """IT power of one catalog system (node or rack), watts, with its parts."""

    total_w: np.ndarray
    breakdown_w: dict[str, np.ndarray]
    num_gpus: int
    cooling: str

    @property
    def per_gpu_w(self) -> np.ndarray:
        return self.total_w / self.num_gpus


def host_tdp_w(system: System, catalog: Catalog, params: PowerParams) -> float:
    """The host CPU's TDP: the catalog's, else power.yaml's (by name, then by ISA)."""
    host = catalog.host_of(system)
    if host.tdp_w is not None:
        return host.tdp_w
    if host.name in params.host.tdp_w_when_missing:
        return params.host.tdp_w_when_missing[host.name]
    return params.host.tdp_w_by_isa_when_missing[host.isa]


def nic_w(system: System, catalog: Catalog, params: PowerParams) -> float:
    """One NIC's power: the catalog's TDP, else power.yaml's (by name, then by port speed)."""
    nic = catalog.nic_of(system)
    if nic.tdp_w is not None:
        return nic.tdp_w
    if nic.name in params.nic.w:
        return params.nic.w[nic.name]
    return params.nic.w_per_gbits_when_missing * nic.port_gbits_per_s


def switch_w_per_nic(system: System, catalog: Catalog, params: PowerParams) -> float:
    """Scale-out switch power charged to one NIC port (fat-tree share, see power.yaml)."""
    s = params.scaleout_switch
    gbits = catalog.nic_of(system).port_gbits_per_s
    speeds = sorted(s.w_per_port_by_gbits)
    nearest = min(speeds, key=lambda g: abs(g - gbits))
    return s.switch_ports_per_nic_port * s.w_per_port_by_gbits[nearest]


def system_power_w(
    system: System | str,
    *,
    gpu_power_w,
    host_load=None,
    include_scaleout: bool = True,
    cooling: str | None = None,
    params: PowerParams | None = None,
    catalog: Catalog | None = None,
) -> SystemPowerResult:
    """IT (wall) power of one system given each GPU's board power (vectorised):

        P = (G + H + N + S + O) (1 + fans) / psu_efficiency

    ``G = num_gpus x gpu_power_w``; ``H`` host CPUs at ``idle + load (1 - idle)`` of their TDP
    (``host_load`` 0..1, default the power.yaml load fraction); ``N`` NICs; ``S`` the
    scale-out switch share per NIC port (off with ``include_scaleout=False``, e.g. a lone
    MLPerf node); ``O`` the rest of the node per GPU; fans a fraction of the heat by
    ``cooling`` (air or liquid; default from power.yaml by system). Sources: power.yaml.
    """
    cat = catalog or load_catalog()
    p = _params(params, cat)
    sysrow = _system(system, cat)
    cool = cooling or p.cooling_of(sysrow.name)
    if cool not in COOLING:
        raise unknown_name("cooling", cool, COOLING, field="cooling")
    gpu = np.asarray(gpu_power_w, dtype=float)
    if np.any(~(gpu >= 0)):
        raise GigafleetError(f"must be >= 0, got {gpu_power_w}", field="gpu_power_w")
    h = p.host
    load = np.asarray(h.load_fraction_of_tdp if host_load is None else host_load, dtype=float)
    if np.any(~((load >= 0) & (load <= 1))):
        raise GigafleetError(f"must be within 0..1, got {host_load}", field="host_load")
    host_frac = h.idle_fraction_of_tdp + load * (1 - h.idle_fraction_of_tdp)
    parts = {
        "gpus_w": sysrow.num_gpus * gpu,
        "hosts_w": sysrow.num_hosts * host_tdp_w(sysrow, cat, p) * host_frac,
        "nics_w": sysrow.num_nics * nic_w(sysrow, cat, p),
        "scaleout_switches_w": sysrow.num_nics * switch_w_per_nic(sysrow, cat, p)
        if include_scaleout
        else 0.0,
        "other_w": sysrow.num_gpus * p.system.other_w_per_gpu,
    }
    heat = parts["gpus_w"] + parts["hosts_w"]
    parts["fans_w"] = heat * p.system.fan_fraction[cool]
    dc = sum(parts.values())
    parts["psu_loss_w"] = dc * (1 / p.system.psu_efficiency - 1)
    total = dc + parts["psu_loss_w"]
    shape = np.shape(total)
    return SystemPowerResult(
        total_w=np.asarray(total, dtype=float),
        breakdown_w={
            k: np.broadcast_to(np.asarray(v, dtype=float), shape) for k, v in parts.items()
        },
        num_gpus=sysrow.num_gpus,
        cooling=cool,
    )


def default_pue(
    cooling: str,
    *,
    climate: str = "temperate",
    params: PowerParams | None = None,
    catalog: Catalog | None = None,
) -> float:
    """PUE of an air- or liquid-cooled hall in a cool, temperate or hot climate (power.yaml,
    with sources)."""
    from gigafleet.catalog.params import CLIMATES

    if cooling not in COOLING:
        raise unknown_name("cooling", cooling, COOLING, field="cooling")
    if climate not in CLIMATES:
        raise unknown_name("climate", climate, CLIMATES, field="climate")
    return _params(params, catalog).pue(cooling, climate)


def _check_pue(pue) -> np.ndarray:
    arr = np.asarray(pue, dtype=float)
    if np.any(~(arr >= 1.0)):
        raise GigafleetError(f"PUE must be >= 1 (facility over IT power), got {pue}", field="pue")
    return arr


def facility_power_w(it_w, *, pue) -> np.ndarray:
    """Facility power, ``P_facility = PUE x P_IT`` (The Green Grid's definition of PUE)."""
    return np.asarray(it_w, dtype=float) * _check_pue(pue)


def site_power_mw(it_w, *, pue) -> np.ndarray:
    """Site power in MW (what a site's grid connection must supply): ``PUE x P_IT / 1e6``."""
    return facility_power_w(it_w, pue=pue) / 1e6


def carbon_kg(energy_j, *, pue, grid_gco2_per_kwh) -> np.ndarray:
    """Location-based emissions of IT energy ``energy_j``:
    ``kg CO2 = E / 3.6e6 J/kWh x PUE x g/kWh / 1000`` (GHG Protocol location-based method)."""
    g = np.asarray(grid_gco2_per_kwh, dtype=float)
    if np.any(~(g >= 0)):
        raise GigafleetError(f"must be >= 0, got {grid_gco2_per_kwh}", field="grid_gco2_per_kwh")
    return np.asarray(energy_j, dtype=float) / J_PER_KWH * _check_pue(pue) * g / 1000.0
