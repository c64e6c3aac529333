"""The power catalog (``catalog/data/power.yaml``): phase power levels, DVFS, hosts, NICs,
switches, system overheads, PUE and grid intensity, each with its source."""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gigafleet.catalog import DATA_DIR
from gigafleet.spec.enums import Cooling
from gigafleet.yamlio import load_yaml_model

POWER_FILE = DATA_DIR / "power.yaml"
COOLING = ("air", "liquid")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Sourced(_Strict):
    source: str = Field(min_length=1)
    estimated: str | None = None


class AcceleratorPower(_Sourced):
    compute_fraction_of_tdp: float = Field(gt=0, le=1)
    memory_fraction_of_tdp: float = Field(gt=0, le=1)
    comm_fraction_of_tdp: float = Field(gt=0, le=1)
    idle_fraction_of_tdp: float = Field(gt=0, lt=1)
    idle_w: dict[str, float] = {}


class Dvfs(_Sourced):
    exponent: float = Field(gt=0)
    min_clock_fraction: float = Field(gt=0, le=1)
    fitted_on: str | None = None


class HostPower(_Sourced):
    load_fraction_of_tdp: float = Field(ge=0, le=1)
    idle_fraction_of_tdp: float = Field(ge=0, le=1)
    tdp_w_when_missing: dict[str, float] = {}
    tdp_w_by_isa_when_missing: dict[Literal["x86", "arm"], float]


class NicPower(_Sourced):
    w: dict[str, float] = {}
    w_per_gbits_when_missing: float = Field(ge=0)


class SwitchPower(_Sourced):
    switch_ports_per_nic_port: float = Field(ge=0)
    w_per_port_by_gbits: dict[int, float]


class SystemPower(_Sourced):
    other_w_per_gpu: float = Field(ge=0)
    fan_fraction: dict[Cooling, float]
    psu_efficiency: float = Field(gt=0, le=1)
    cooling: dict[str, Cooling] = {}
    default_cooling: Cooling = "air"


class FacilityPower(_Sourced):
    pue: dict[Cooling, float]
    grid_gco2_per_kwh: float = Field(ge=0)


class PowerParams(_Strict):
    """Everything in ``power.yaml``."""

    accelerator: AcceleratorPower
    dvfs: Dvfs
    host: HostPower
    nic: NicPower
    scaleout_switch: SwitchPower
    system: SystemPower
    facility: FacilityPower

    def idle_w(self, name: str, tdp_w: float) -> float:
        """Idle board power: measured where known, else ``idle_fraction_of_tdp`` of TDP."""
        a = self.accelerator
        return float(a.idle_w.get(name, a.idle_fraction_of_tdp * tdp_w))

    def cooling_of(self, system: str) -> str:
        return self.system.cooling.get(system, self.system.default_cooling)


@functools.lru_cache(maxsize=1)
def load_power_params() -> PowerParams:
    """The shipped power catalog (validated, cached)."""
    return load_yaml_model(POWER_FILE, PowerParams)
