"""Cost of owning or renting GPUs: per GPU-hour, per training run, per million tokens.

Owned cost of one GPU-hour actually used, at utilization ``u`` (the share of hours doing
paid work; capital and maintenance are paid for every hour, energy only while working):

    fixed  = (P_sys + n_ports P_port) / (Y_hw H) + F_mw W_fac / (Y_fac H) + m (P_sys + n_ports P_port) / H
    energy = P_avg * PUE * c_MWh / 1e6               (P_avg in W per GPU, all-in if you have it)
    owned  = fixed / u + energy

with ``H`` = 8766 hours a year, ``P_sys`` the server price per GPU, ``n_ports`` scale-out
NIC ports per GPU, ``W_fac`` the facility power reserved per GPU (the system's rated
power per GPU), ``F_mw`` facility capex per MW, ``m`` maintenance per year as a fraction of
hardware capex. Renting costs ``c_cloud`` per used GPU-hour; owning wins above the
break-even utilization ``u* = fixed / (c_cloud - energy)``.

Prices are inputs: the catalog's ``prices`` set (``catalog/data/prices.yaml``) holds
defaults with unit, date and source (or ``assumption: true`` and why); a catalog overlay
(``prices:``) or ``--prices FILE`` changes them. The capital and cloud price of each system,
the network by switch tiers and the cloud price trajectory are resolved by
:mod:`gigafleet.cost.prices`. Electricity power is an input (the energy model lives
elsewhere); :func:`electricity_usd_per_year` is the energy bill of an average draw.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gigafleet.catalog.params import PRICE_SCALARS, PriceSet
from gigafleet.errors import GigafleetError

if TYPE_CHECKING:
    from gigafleet.catalog import Catalog

HOURS_PER_YEAR = 8766.0  # 365.25 days
SCALARS = PRICE_SCALARS

#: The resolved prices: the catalog's ``prices`` set (every price an item with provenance).
Prices = PriceSet


def load_prices(path: str | Path | None = None, *, catalog: Catalog | None = None) -> Prices:
    """The prices of ``catalog`` (default: the shipped ones with ``$GIGAFLEET_CATALOG``), with
    a user's YAML file of changes (``--prices FILE``: the fields of ``prices.yaml``) on top."""
    from gigafleet.catalog import load_catalog

    catalog = catalog or load_catalog()
    if path is not None:
        catalog = catalog.with_param_file("prices", path)
    return catalog.params.prices


@dataclass(frozen=True, slots=True)
class CostInputs:
    """Everything the cost equations need, as plain floats (per GPU), and the basis of each
    price (``basis``: field -> sourced, projected, extrapolated, assumption or user)."""

    system_usd_per_gpu: float
    network_usd_per_port: float
    ports_per_gpu: float
    facility_usd_per_mw: float
    facility_w_per_gpu: float
    hardware_amortization_years: float
    facility_amortization_years: float
    electricity_usd_per_mwh: float
    pue: float
    maintenance_fraction_per_year: float
    cloud_usd_per_gpu_hour: float
    notes: tuple[str, ...] = field(default=())
    basis: dict[str, str] = field(default_factory=dict)

    @property
    def hardware_usd_per_gpu(self) -> float:
        return self.system_usd_per_gpu + self.ports_per_gpu * self.network_usd_per_port


#: Provider kind of the cloud price when none is asked for.
DEFAULT_CLOUD_KIND = "neocloud-committed"
#: Switch tiers of the scale-out network when the fleet's size is not known.
DEFAULT_NETWORK_TIERS = 2


def cost_inputs(
    system: str,
    *,
    prices: Prices | None = None,
    catalog=None,
    month: int | None = None,
    cloud_kind: str = DEFAULT_CLOUD_KIND,
    network_tiers: int | None = None,
    **overrides: float | None,
) -> CostInputs:
    """Resolve the prices for ``system`` (catalog name); keyword overrides win (None: ignored).

    The capital price is the catalog's for the system (``prices.capital``); the network's
    per port at ``network_tiers`` switch tiers (default 2); the cloud price that of
    ``cloud_kind`` at ``month`` (months since year 0; None: at its date), extrapolated for a
    system without one (:func:`gigafleet.cost.prices.cloud_price`). The facility reserves the
    system's rated power per GPU (``system_power_kw``), or the GPU's TDP where the catalog
    has no system power (noted).
    """
    from gigafleet.catalog import load_catalog
    from gigafleet.cost.prices import capital_usd_per_gpu, cloud_price, network_usd_per_port

    catalog = catalog or load_catalog()
    prices = prices or load_prices(catalog=catalog)
    row = catalog.system(system)
    acc = catalog.accelerator(row.accelerator)
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - set(CostInputs.__slots__)  # type: ignore[attr-defined]
    if unknown:
        from gigafleet.errors import unknown_name

        raise unknown_name(
            "cost input", sorted(unknown)[0], CostInputs.__slots__, field="overrides"
        )  # type: ignore[attr-defined]
    for k, v in given.items():
        if not (v >= 0 and math.isfinite(v)):
            raise GigafleetError(f"got {v}; allowed: zero or a positive number", field=k)
    notes: list[str] = []
    basis = {k: "user" for k in given}
    capital = capital_usd_per_gpu(prices, row, catalog=catalog)
    if "system_usd_per_gpu" in given:
        sys_price = given["system_usd_per_gpu"]
    elif capital is not None:
        sys_price = capital.value
        basis["system_usd_per_gpu"] = capital.basis
    else:
        known = ", ".join(sorted(prices.capital)) or "none"
        raise GigafleetError(
            f"no default server price for {row.name} ({acc.name}; sourced prices exist for: "
            f"{known}); give --system-usd-per-gpu or a prices YAML with capital",
            field="system_usd_per_gpu",
        )
    tiers = DEFAULT_NETWORK_TIERS if network_tiers is None else network_tiers
    if "network_usd_per_port" in given:
        port_price = given["network_usd_per_port"]
    else:
        q = network_usd_per_port(prices, tiers)
        port_price = q.value
        basis["network_usd_per_port"] = q.basis
        if network_tiers is None:
            notes.append(f"network priced for {tiers} switch tiers (fleet size not given)")
    if "cloud_usd_per_gpu_hour" in given:
        cloud = given["cloud_usd_per_gpu_hour"]
    else:
        q = cloud_price(prices, row.name, kind=cloud_kind, month=month, catalog=catalog)
        cloud = q.value
        basis["cloud_usd_per_gpu_hour"] = q.basis
        if q.basis in ("extrapolated", "assumption"):
            notes.append(f"cloud price ({cloud_kind}): {q.note}")
    if row.system_power_kw:
        fac_w = row.system_power_kw * 1e3 / row.num_gpus
    else:
        fac_w = acc.tdp_w
        notes.append(f"{row.name} has no rated system power: facility sized at GPU TDP only")
    values = {k: prices.value(k) for k in SCALARS if k != "cloud_usd_per_gpu_hour"}
    values.update({k: v for k, v in given.items() if k in values})
    for k in ("hardware_amortization_years", "facility_amortization_years", "pue"):
        if values[k] <= 0:
            raise GigafleetError(f"got {values[k]}; allowed: a positive number", field=k)
    used = {a for a in prices.assumptions() if a not in given}
    if basis.get("cloud_usd_per_gpu_hour") != "assumption":
        used.discard("cloud_usd_per_gpu_hour")
    notes += [f"assumption: {a}" for a in sorted(used)]
    return CostInputs(
        system_usd_per_gpu=float(sys_price),
        network_usd_per_port=float(port_price),
        cloud_usd_per_gpu_hour=float(cloud),
        ports_per_gpu=float(given.get("ports_per_gpu", row.num_nics / row.num_gpus)),
        facility_w_per_gpu=float(given.get("facility_w_per_gpu", fac_w)),
        notes=tuple(notes),
        basis=basis,
        **values,
    )


def electricity_usd_per_year(avg_power_w: Any, *, usd_per_mwh: Any, pue: Any = 1.0) -> Any:
    """What a year of electricity costs at an average draw, from first principles:

        E = P_avg x PUE x 8766 h          (MWh, with P in MW)
        cost = E x price                  (USD)

    1 GW of IT load at 100% for a year is 8.766 TWh; at the US industrial average of 2023
    (EIA: 8.06 cents/kWh) that is $707M, and $600-800M per GW-year spans $68-91/MWh."""
    p = _power(avg_power_w)
    return p / 1e6 * np.asarray(pue, dtype=float) * HOURS_PER_YEAR * np.asarray(usd_per_mwh)


@dataclass(frozen=True)
class OwnedCost:
    """Owned cost per used GPU-hour and its parts (USD)."""

    hardware_usd_per_hour: Any
    facility_usd_per_hour: Any
    maintenance_usd_per_hour: Any
    energy_usd_per_hour: Any
    utilization: Any
    total_usd_per_gpu_hour: Any

    def to_dict(self) -> dict[str, Any]:
        return {k: np.asarray(v).tolist() for k, v in asdict(self).items()}


def _power(avg_power_w_per_gpu: Any) -> np.ndarray:
    p = np.asarray(avg_power_w_per_gpu, dtype=float)
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise GigafleetError(
            f"got {avg_power_w_per_gpu}; allowed: zero or a positive power in W",
            field="avg_power_w_per_gpu",
        )
    return p


def _utilization(u: Any) -> np.ndarray:
    a = np.asarray(u, dtype=float)
    if np.any(~(a > 0)) or np.any(a > 1):
        raise GigafleetError(f"got {u}; allowed: a fraction in (0, 1]", field="utilization")
    return a


def energy_usd_per_gpu_hour(avg_power_w_per_gpu: Any, *, inputs: CostInputs) -> Any:
    """``P_avg * PUE / 1e6 * USD/MWh``: electricity of one GPU-hour at the facility meter."""
    return _power(avg_power_w_per_gpu) * inputs.pue / 1e6 * inputs.electricity_usd_per_mwh


def fixed_usd_per_gpu_hour(inputs: CostInputs) -> tuple[float, float, float]:
    """Hardware, facility and maintenance cost of one GPU for one calendar hour."""
    hw = inputs.hardware_usd_per_gpu / (inputs.hardware_amortization_years * HOURS_PER_YEAR)
    fac = (
        inputs.facility_usd_per_mw
        * inputs.facility_w_per_gpu
        / 1e6
        / (inputs.facility_amortization_years * HOURS_PER_YEAR)
    )
    maint = inputs.maintenance_fraction_per_year * inputs.hardware_usd_per_gpu / HOURS_PER_YEAR
    return hw, fac, maint


def owned_cost_per_gpu_hour(
    *, avg_power_w_per_gpu: Any, inputs: CostInputs, utilization: Any = 1.0
) -> OwnedCost:
    """Owned cost per *used* GPU-hour: ``fixed / u + energy`` (see the module docstring)."""
    u = _utilization(utilization)
    hw, fac, maint = fixed_usd_per_gpu_hour(inputs)
    energy = energy_usd_per_gpu_hour(avg_power_w_per_gpu, inputs=inputs)
    return OwnedCost(
        hardware_usd_per_hour=hw / u,
        facility_usd_per_hour=fac / u,
        maintenance_usd_per_hour=maint / u,
        energy_usd_per_hour=energy,
        utilization=u,
        total_usd_per_gpu_hour=(hw + fac + maint) / u + energy,
    )


def training_run_cost(
    num_gpus: Any,
    wall_time_s: Any,
    *,
    avg_power_w_per_gpu: Any,
    inputs: CostInputs,
    utilization: Any = 1.0,
) -> dict[str, Any]:
    """Cost of a run holding ``num_gpus`` for ``wall_time_s`` (use the failure-inclusive wall
    time): ``GPU-hours x (owned cost per used GPU-hour | cloud price)``."""
    gpu_hours = np.asarray(num_gpus, dtype=float) * np.asarray(wall_time_s, dtype=float) / 3600.0
    owned = owned_cost_per_gpu_hour(
        avg_power_w_per_gpu=avg_power_w_per_gpu, inputs=inputs, utilization=utilization
    )
    return {
        "gpu_hours": gpu_hours,
        "owned_usd": gpu_hours * owned.total_usd_per_gpu_hour,
        "cloud_usd": gpu_hours * inputs.cloud_usd_per_gpu_hour,
        "owned_usd_per_gpu_hour": owned.total_usd_per_gpu_hour,
        "cloud_usd_per_gpu_hour": inputs.cloud_usd_per_gpu_hour,
        "energy_usd": gpu_hours * owned.energy_usd_per_hour,
    }


def cost_per_million_tokens(tokens_per_s: Any, num_gpus: Any, *, usd_per_gpu_hour: Any) -> Any:
    """``1e6 * num_gpus * USD/GPU-hour / (3600 * tokens/s)``: the cost of a million tokens
    served (or trained) at a sustained rate."""
    tps = np.asarray(tokens_per_s, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(
            tps > 0,
            1e6 * np.asarray(num_gpus, dtype=float) * np.asarray(usd_per_gpu_hour) / (3600.0 * tps),
            np.inf,
        )


def break_even_utilization(*, avg_power_w_per_gpu: Any, inputs: CostInputs) -> Any:
    """Utilization above which owning costs less per used GPU-hour than renting.

    ``u* = fixed / (c_cloud - energy)``; ``inf`` when the cloud price does not even cover
    the energy (renting always wins), and values above 1 mean owning never pays.
    """
    fixed = sum(fixed_usd_per_gpu_hour(inputs))
    margin = inputs.cloud_usd_per_gpu_hour - energy_usd_per_gpu_hour(
        avg_power_w_per_gpu, inputs=inputs
    )
    with np.errstate(divide="ignore"):
        return np.where(margin > 0, fixed / np.where(margin > 0, margin, 1.0), np.inf)
