"""Prices of one system: its capital, its network, and what renting it costs by provider kind
and month, each with the basis it rests on.

Cloud prices move: a new generation launches high and declines (``cloud_trajectory`` in
``catalog/data/prices.yaml``, fitted on the H100's history). A price observed at month
``t_obs`` is projected to month ``t`` as

    p(t) = clip(p_obs (1 - d)^((t - t_obs) / 12),  f p_launch,  p_launch)
    p_launch = p_obs (1 - d)^(-(t_obs - t_launch) / 12)

with ``d`` the decline per year of the provider kind and ``f`` the floor as a fraction of
the launch price. A system with no price of a kind is extrapolated: rent in proportion to
capital at launch,

    p_launch(s) = C(s) x median_r( p_launch(r) / C(r) )

over the reference systems ``r`` that have both a capital price ``C`` and a price of that
kind, then projected from its own launch. Without a capital price either, the catalog's
``cloud_usd_per_gpu_hour`` (an assumption) stands in.

The basis of each figure: ``sourced`` (a dated price, within six months of its date),
``projected`` (a dated price moved along the trajectory), ``extrapolated`` (from other
systems), ``assumption`` (no source), ``user`` (given by the user).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gigafleet.catalog.prices import CLOUD_KINDS, PriceSet, date_month
from gigafleet.errors import GigafleetError, unknown_name

if TYPE_CHECKING:
    from gigafleet.catalog import Catalog

#: A dated price moved by at most this many months still counts as sourced.
SOURCED_WITHIN_MONTHS = 6
#: Ports of the 64-port switch the per-tier network prices were derived on.
NETWORK_RADIX = 64


@dataclass(frozen=True, slots=True)
class Quote:
    """A price and what it rests on (``basis``: sourced, projected, extrapolated,
    assumption, user; ``note``: the source or the derivation)."""

    value: float
    basis: str
    note: str
    date: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "basis": self.basis, "note": self.note, "date": self.date}


def capital_usd_per_gpu(
    prices: PriceSet, system: Any, *, catalog: Catalog | None = None
) -> Quote | None:
    """The catalog's capital price of ``system`` (a catalog row) per GPU, or None. A system
    without one takes the per-GPU price of a priced system with the same accelerator and
    GPUs per system (``extrapolated``; e.g. an OEM HGX H100 server from the DGX H100)."""
    item = prices.capital.get(system.name)
    if item is None and catalog is not None:
        for name, other in prices.capital.items():
            row = catalog.system(name) if name in catalog.systems else None
            if row is not None and (row.accelerator, row.num_gpus) == (
                system.accelerator,
                system.num_gpus,
            ):
                per_gpu = other.value if other.unit == "usd_per_gpu" else other.value / row.num_gpus
                return Quote(per_gpu, "extrapolated",
                             f"per-GPU price of {name} (same accelerator): {other.source or other.why}",
                             other.date)  # fmt: skip
    if item is None:
        return None
    per_gpu = item.value if item.unit == "usd_per_gpu" else item.value / system.num_gpus
    basis = "assumption" if item.assumption else "sourced"
    return Quote(per_gpu, basis, item.source or item.why, item.date)


def network_tiers(num_ports: float, *, radix: int = NETWORK_RADIX) -> int:
    """Switch tiers of a non-blocking folded Clos of ``radix``-port switches holding
    ``num_ports`` end points: 1 up to ``radix``, 2 up to ``radix^2 / 2``, else 3."""
    if num_ports <= radix:
        return 1
    return 2 if num_ports <= radix * radix / 2 else 3


def network_usd_per_port(prices: PriceSet, tiers: int) -> Quote:
    """The scale-out network's price per NIC port at ``tiers`` switch tiers (clipped to the
    tiers the catalog prices)."""
    table = prices.network_usd_per_port
    if not table:
        raise GigafleetError("no network prices in the catalog", field="network_usd_per_port")
    t = min(max(tiers, min(table)), max(table))
    item = table[t]
    return Quote(item.value, "assumption" if item.assumption else "sourced",
                 f"{t} tier(s): {item.source or item.why}", item.date)  # fmt: skip


def project(
    value: float, *, month_obs: int, month: int, launch: int, decline: float, floor: float
) -> float:
    """``value`` observed at ``month_obs`` moved to ``month`` along the trajectory (module
    docstring): never above the launch price nor below ``floor`` of it."""
    launch_price = value * (1.0 - decline) ** (-(month_obs - launch) / 12.0)
    if month <= launch:
        return launch_price
    p = value * (1.0 - decline) ** ((month - month_obs) / 12.0)
    return min(max(p, floor * launch_price), launch_price)


def _check_kind(kind: str) -> None:
    if kind not in CLOUD_KINDS:
        raise unknown_name("provider kind", kind, CLOUD_KINDS, field="cloud_kind")


def _launch_price(prices: PriceSet, system: str, kind: str) -> float | None:
    """The launch price of ``system``'s own dated ``kind`` price, or None."""
    entry = prices.cloud.get(system)
    if entry is None or kind not in entry.prices:
        return None
    item = entry.prices[kind]
    d = prices.cloud_trajectory.decline_per_year[kind]
    return item.value * (1.0 - d) ** (-(date_month(item.date) - date_month(entry.launch)) / 12.0)


def cloud_price(
    prices: PriceSet, system: str, *, kind: str, month: int | None = None,
    catalog: Catalog | None = None,
) -> Quote:  # fmt: skip
    """Price of renting one GPU-hour of ``system`` from a provider of ``kind`` at ``month``
    (months since year 0; None: at the date of the price), with its basis."""
    _check_kind(kind)
    traj = prices.cloud_trajectory
    d, floor = traj.decline_per_year[kind], traj.floor_fraction_of_launch
    entry = prices.cloud.get(system)
    if entry is not None and kind in entry.prices:
        item = entry.prices[kind]
        obs = date_month(item.date)
        if month is None:
            return Quote(item.value, "sourced", item.source or item.why, item.date)
        v = project(item.value, month_obs=obs, month=month, launch=date_month(entry.launch),
                    decline=d, floor=floor)  # fmt: skip
        basis = "sourced" if abs(month - obs) <= SOURCED_WITHIN_MONTHS else "projected"
        return Quote(v, basis, f"{item.source or item.why} (dated {item.date})", item.date)
    if catalog is None:
        from gigafleet.catalog import load_catalog

        catalog = load_catalog()
    if entry is None and system in catalog.systems:
        # an OEM build of a priced system (same accelerator, same GPUs per system) rents
        # like it: e.g. Meta's Grand Teton H100 servers like the DGX/HGX H100
        row = catalog.system(system)
        for name, other in prices.cloud.items():
            if name in catalog.systems and kind in other.prices:
                sib = catalog.system(name)
                if (sib.accelerator, sib.num_gpus) == (row.accelerator, row.num_gpus):
                    q = cloud_price(prices, name, kind=kind, month=month, catalog=catalog)
                    return Quote(q.value, "extrapolated",
                                 f"the price of {name} (same accelerator): {q.note}", q.date)  # fmt: skip
    own = (
        capital_usd_per_gpu(prices, catalog.system(system), catalog=catalog)
        if system in catalog.systems
        else None
    )
    refs = []
    for name in prices.cloud:
        if name == system or name not in prices.capital or name not in catalog.systems:
            continue
        launch_price = _launch_price(prices, name, kind)
        cap = capital_usd_per_gpu(prices, catalog.system(name))
        if launch_price is not None and cap is not None and cap.value > 0:
            refs.append((name, launch_price / cap.value))
    if own is not None and refs:
        ratios = sorted(r for _, r in refs)
        mid = len(ratios) // 2
        ratio = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
        launch_price = own.value * ratio
        note = (
            f"extrapolated: rent in proportion to capital at launch (${own.value:,.0f} per "
            f"GPU), from {', '.join(n for n, _ in refs)}"
        )
        if entry is None or month is None:
            return Quote(launch_price, "extrapolated", note + "; price at launch", "")
        v = project(launch_price, month_obs=date_month(entry.launch), month=month,
                    launch=date_month(entry.launch), decline=d, floor=floor)  # fmt: skip
        return Quote(v, "extrapolated", note, entry.launch)
    item = prices.cloud_usd_per_gpu_hour
    return Quote(item.value, "assumption" if item.assumption else "sourced",
                 item.source or item.why, item.date)  # fmt: skip


__all__ = [
    "NETWORK_RADIX",
    "SOURCED_WITHIN_MONTHS",
    "Quote",
    "capital_usd_per_gpu",
    "cloud_price",
    "network_tiers",
    "network_usd_per_port",
    "project",
]
