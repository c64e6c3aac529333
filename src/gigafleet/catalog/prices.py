"""The ``prices`` parameter set (``catalog/data/prices.yaml``): every price an item with its
value, unit, date and provenance; capital per system, network per port by switch tiers,
facility, amortisation, electricity, PUE, maintenance, cloud prices per system and provider
kind, and the trajectory of cloud prices (resolved by :mod:`gigafleet.cost.prices`).
Part of :mod:`gigafleet.catalog.params`, which re-exports it."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from gigafleet.numbers import bounded


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        return bounded(value)  # an overlay's 1e308 would overflow the models


# ---- prices --------------------------------------------------------------------------------

#: The prices that are one item each.
PRICE_SCALARS = (
    "facility_usd_per_mw",
    "hardware_amortization_years",
    "facility_amortization_years",
    "electricity_usd_per_mwh",
    "pue",
    "maintenance_fraction_per_year",
    "cloud_usd_per_gpu_hour",
)
#: The unit each price is given in (every price item names its unit; another is an error).
PRICE_UNITS: dict[str, tuple[str, ...]] = {
    "capital": ("usd_per_system", "usd_per_gpu"),
    "network_usd_per_port": ("usd_per_port",),
    "facility_usd_per_mw": ("usd_per_mw",),
    "hardware_amortization_years": ("years",),
    "facility_amortization_years": ("years",),
    "electricity_usd_per_mwh": ("usd_per_mwh",),
    "pue": ("ratio",),
    "maintenance_fraction_per_year": ("fraction_per_year",),
    "cloud_usd_per_gpu_hour": ("usd_per_gpu_hour",),
    "cloud": ("usd_per_gpu_hour",),
}
#: How a GPU is rented: from a hyperscaler or a smaller GPU cloud, by the hour or committed
#: for a term (reserved instances, capacity blocks, 1-3 year contracts).
CloudKind = Literal[
    "hyperscaler-on-demand", "hyperscaler-committed", "neocloud-on-demand", "neocloud-committed"
]
CLOUD_KINDS: tuple[str, ...] = (
    "hyperscaler-on-demand",
    "hyperscaler-committed",
    "neocloud-on-demand",
    "neocloud-committed",
)
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"


def date_month(text: str) -> int:
    """``"2025-06"`` (or ``2025``, ``2025-06-15``) -> months since year 0; a year alone is
    read as its middle (June)."""
    parts = text.split("-")
    return int(parts[0]) * 12 + (int(parts[1]) - 1 if len(parts) > 1 else 5)


def _check_date(v: Any) -> str:
    v = str(v)
    if not _DATE.match(v):
        raise ValueError(f"a date as {DATE_FORMS}, got {v!r}")
    return v


PriceDate = Annotated[str, BeforeValidator(_check_date)]


#: Largest price a user may give, in any unit (a rack-scale system is ~4e6 USD, a
#: facility ~1e7 USD per MW): far above any real price, far below float overflow.
MAX_PRICE = 1e12


class PriceItem(_Strict):
    """One price: its value, unit and date, and where it comes from (a source, or
    ``assumption: true`` and why). ``low``/``high`` give the published spread, if any."""

    value: float = Field(ge=0, le=MAX_PRICE)
    unit: str
    date: PriceDate
    source: str = ""
    assumption: bool = False
    why: str = ""
    low: float | None = Field(default=None, ge=0, le=MAX_PRICE)
    high: float | None = Field(default=None, ge=0, le=MAX_PRICE)

    @model_validator(mode="before")
    @classmethod
    def _complete(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            raise ValueError(
                "a price is a mapping {value, unit, date, source} (a bare number has no unit "
                f"or date); date as {DATE_FORMS}"
            )
        missing = [k for k in ("value", "unit", "date") if v.get(k) is None]
        if missing:
            raise ValueError(
                f"a price needs {', '.join(missing)} (value, unit, date as {DATE_FORMS}, "
                "and a source or assumption: true with why)"
            )
        return v

    @model_validator(mode="after")
    def _has_provenance(self) -> PriceItem:
        if not (self.source or self.why):
            raise ValueError("a price needs a source, or assumption: true and why")
        return self


def _unit_check(field: str):
    """A validator that every item of ``field`` is in one of its units (PRICE_UNITS)."""
    allowed = PRICE_UNITS[field]

    def check(item: PriceItem) -> PriceItem:
        if item.unit not in allowed:
            raise ValueError(f"unit {item.unit!r}; allowed: {', '.join(allowed)}")
        return item

    return check


def _units(field: str) -> Any:
    return Annotated[PriceItem, AfterValidator(_unit_check(field))]


class CloudSystem(_Strict):
    """What renting one system costs, per provider kind, and when it reached the clouds
    (the start of its price trajectory)."""

    launch: PriceDate
    launch_source: str = Field(min_length=1)
    prices: dict[CloudKind, _units("cloud")] = {}  # type: ignore[valid-type]


class CloudTrajectory(_Strict):
    """Rental prices after launch: ``p(t) = p_obs (1 - d)^((t - t_obs) / 12)``, never below
    ``floor_fraction_of_launch`` of the launch price nor above it (``cost/prices.py``)."""

    decline_per_year: dict[CloudKind, Annotated[float, Field(ge=0, lt=1)]]
    floor_fraction_of_launch: float = Field(ge=0, le=1)
    source: str = Field(min_length=1)
    estimated: str | None = None

    @field_validator("decline_per_year")
    @classmethod
    def _every_kind(cls, v: dict[str, float]) -> dict[str, float]:
        missing = [k for k in CLOUD_KINDS if k not in v]
        if missing:
            raise ValueError(f"missing: {', '.join(missing)}")
        return v


class PriceSet(_Strict):
    """Everything in ``prices.yaml``: each price a :class:`PriceItem` with unit and date."""

    capital: dict[str, _units("capital")]  # type: ignore[valid-type]
    network_usd_per_port: dict[Annotated[int, Field(ge=1, le=3)], _units("network_usd_per_port")]  # type: ignore[valid-type]  # fmt: skip
    facility_usd_per_mw: _units("facility_usd_per_mw")  # type: ignore[valid-type]
    hardware_amortization_years: _units("hardware_amortization_years")  # type: ignore[valid-type]
    facility_amortization_years: _units("facility_amortization_years")  # type: ignore[valid-type]
    electricity_usd_per_mwh: _units("electricity_usd_per_mwh")  # type: ignore[valid-type]
    pue: _units("pue")  # type: ignore[valid-type]
    maintenance_fraction_per_year: _units("maintenance_fraction_per_year")  # type: ignore[valid-type]
    cloud_usd_per_gpu_hour: _units("cloud_usd_per_gpu_hour")  # type: ignore[valid-type]
    cloud: dict[str, CloudSystem] = {}
    cloud_trajectory: CloudTrajectory

    def value(self, name: str) -> float:
        return getattr(self, name).value

    def assumptions(self) -> list[str]:
        """The prices that are assumptions, not sourced figures."""
        out = [k for k in PRICE_SCALARS if getattr(self, k).assumption]
        out += [f"capital.{k}" for k, v in self.capital.items() if v.assumption]
        out += [f"network_usd_per_port.{k}" for k, v in self.network_usd_per_port.items() if v.assumption]  # fmt: skip
        return out

    @classmethod
    def normalize_overlay(cls, doc: dict[str, Any]) -> dict[str, Any]:
        """Every price an overlay gives replaces the shipped item whole (so a user's number
        never carries the shipped source); a mapping without source or why is the user's."""

        def item(v: Any, where: str) -> Any:
            if isinstance(v, dict):
                default = "" if v.get("why") else f"user: {where}"
                # value, unit and date never come from the shipped item under it
                return {"value": None, "unit": None, "date": None, "source": default,
                        "assumption": False, "why": "", "low": None, "high": None, **v}  # fmt: skip
            return v  # a bare number or wrong type: validation says what a price needs

        out = {k: item(v, k) if k in PRICE_SCALARS else v for k, v in doc.items()}
        for table in ("capital", "network_usd_per_port"):
            rows = out.get(table)
            if isinstance(rows, dict):
                out[table] = {k: item(v, f"{table}.{k}") for k, v in rows.items()}
        cloud = out.get("cloud")
        if isinstance(cloud, dict):
            for name, entry in cloud.items():
                if isinstance(entry, dict) and isinstance(entry.get("prices"), dict):
                    entry["prices"] = {
                        k: item(v, f"cloud.{name}.prices.{k}") for k, v in entry["prices"].items()
                    }
        return out
