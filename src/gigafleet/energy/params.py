"""The power parameters: the ``power`` set of the catalog (``catalog/data/power.yaml``:
phase power levels, DVFS, hosts, NICs, switches, system overheads, PUE and grid intensity,
each with its source), changed like any catalog entry by a user overlay (``power:``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gigafleet.catalog import load_catalog
from gigafleet.catalog.params import PowerParams
from gigafleet.enums import COOLINGS

if TYPE_CHECKING:
    from gigafleet.catalog import Catalog

COOLING = COOLINGS


def load_power_params(catalog: Catalog | None = None) -> PowerParams:
    """The power set of ``catalog`` (default: the shipped one with ``$GIGAFLEET_CATALOG``)."""

    return (catalog or load_catalog()).params.power


__all__ = ["COOLING", "PowerParams", "load_power_params"]
