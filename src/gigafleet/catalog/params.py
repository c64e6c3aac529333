"""Typed parameter sets: calibration constants, power, prices and failure rates.

Besides its tables of hardware and models, the catalog ships four parameter sets, one YAML
file each in ``data/``, every one validated by a pydantic model of this module:

=================  ======================  ==================================================
set                file                    read by
=================  ======================  ==================================================
``calibration``    ``calibration.yaml``    perf (GEMM efficiency, serving engines, TEE tolls)
``power``          ``power.yaml``          energy (phase power, DVFS, hosts, NICs, PUE)
``prices``         ``prices.yaml``         cost (server, network, facility, energy, cloud)
``failure_rates``  ``failure_rates.yaml``  reliability (interruptions per component)
=================  ======================  ==================================================

Users change them like the tables, without editing the package: a catalog overlay
(``load_catalog(overlays)``, ``--catalog FILE``, ``$GIGAFLEET_CATALOG``) names the set at
its top level and gives only the fields it changes; nested mappings merge::

    power:
      accelerator:
        idle_fraction_of_tdp: 0.12
        source: "our fleet's telemetry"
    calibration:
      training:
        gemm_efficiency: {hopper: {bf16: 0.55}}     # the other generations stay
    prices:
      electricity_usd_per_mwh: 50                   # a bare number: its source is "user"

Unknown fields, wrong types and non-finite numbers are one :class:`GigafleetError` naming the
file, line, field and the allowed fields. Two rules keep provenance honest: a price is one
item (value, source, assumption) that an overlay replaces whole, so a user's number never
carries the shipped source; and a failure component given ``rate_per_hour`` drops its fitted
``count`` (and a new ``count`` drops an earlier rate).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from gigafleet.catalog.prices import (
    CLOUD_KINDS,
    PRICE_SCALARS,
    PRICE_UNITS,
    PriceItem,
    PriceSet,
    date_month,
)
from gigafleet.enums import Cooling, Engine, Precision
from gigafleet.errors import GigafleetError
from gigafleet.numbers import bounded
from gigafleet.yamlio import read_yaml, validate_model

if TYPE_CHECKING:
    from gigafleet.catalog import Catalog

DATA_DIR = Path(__file__).parent / "data"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        return bounded(value)  # an overlay's 1e308 would overflow the models

    @classmethod
    def normalize_overlay(cls, doc: dict[str, Any]) -> dict[str, Any]:
        """A user's changes as they merge onto the set (the identity but where a set says)."""
        return doc


class _Sourced(_Strict):
    source: str = Field(min_length=1)
    estimated: str | None = None


Fraction = Annotated[float, Field(gt=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]

# ---- calibration ---------------------------------------------------------------------------


class TrainingCalibration(_Strict):
    """Constants of the training model (perf/training.py), with the rows they are fitted on."""

    fit_rule: str = Field(min_length=1)
    fit_rows: list[str]
    fit_rows_mamba: list[str] = []
    fit_rows_moe: list[str] = []
    default_efficiency: Fraction
    #: generation without fitted rows -> the fitted generation it borrows from
    fallback: dict[str, str] = {}
    gemm_efficiency: dict[str, dict[Precision, Fraction]]
    mamba_fixed_s: float = Field(ge=0)
    moe_expert_fixed_s: float = Field(ge=0)

    @field_validator("fallback")
    @classmethod
    def _fallbacks_end(cls, fallback: dict[str, str]) -> dict[str, str]:
        for start in fallback:
            seen, gen = {start}, start
            while gen in fallback:
                gen = fallback[gen]
                if gen in seen:
                    raise ValueError(f"the fallbacks from {start!r} loop back to {gen!r}")
                seen.add(gen)
        return fallback


class TeeTolls(_Strict):
    iteration_toll_s_per_layer: float = Field(ge=0)
    request_toll_s_per_layer: float = Field(ge=0)


class TeeCalibration(_Strict):
    """Tolls of GPU confidential computing per CPU TEE (perf/tee.py)."""

    fit_model: str = Field(min_length=1)
    tolls: dict[Literal["sev-snp", "tdx"], TeeTolls] = Field(min_length=1)


class EngineRelease(_Strict):
    """One release of a serving engine: its fitted kernel efficiency and the rows it was
    fitted on (MLPerf results_location prefixed by the round)."""

    kernel_efficiency: float = Field(gt=0, le=2)
    fit_rows: list[str] = []


class EngineCalibration(_Strict):
    releases: dict[str, EngineRelease] = {}


class ServingCalibration(_Strict):
    """Kernel efficiency per serving engine and release (perf/engine.py)."""

    engines: dict[Engine, EngineCalibration] = {}


class SustainedClock(_Strict):
    """The clock a generation's reference accelerator sustains under dense GEMMs at its TDP
    (a fraction of the datasheet clock the peak FLOP/s assume)."""

    reference: str = Field(min_length=1, description="catalog accelerator")
    clock_fraction: Fraction


class RecsysCalibration(_Strict):
    """Constants of the recommendation model (perf/recsys), fitted on named MLPerf rows."""

    fit_rule: str = Field(min_length=1)
    fit_rows: list[str]
    #: GEMM efficiency of recommendation kernels at the sustained clock
    kernel_efficiency: Fraction
    #: generation -> its reference accelerator and sustained clock
    sustained_clock: dict[str, SustainedClock] = {}
    #: generation without a reference -> the generation whose clock fraction it borrows
    fallback: dict[str, str] = {}
    #: HSTU pointwise-attention kernels, relative to the GEMM efficiency
    hstu_attention_efficiency: Fraction
    #: fixed time of one batch (launches, host batching, the copies' latency), seconds
    batch_overhead_s: float = Field(ge=0)
    source: str = Field(min_length=1)
    estimated: str | None = None


class Calibration(_Strict):
    """Everything in ``calibration.yaml``."""

    training: TrainingCalibration
    tee: TeeCalibration
    serving: ServingCalibration
    recsys: RecsysCalibration


# ---- power ---------------------------------------------------------------------------------


class AcceleratorPower(_Sourced):
    compute_fraction_of_tdp: float = Field(gt=0, le=1)
    memory_fraction_of_tdp: float = Field(gt=0, le=1)
    comm_fraction_of_tdp: float = Field(gt=0, le=1)
    idle_fraction_of_tdp: float = Field(gt=0, lt=1)
    idle_w: dict[str, Positive] = {}


class Dvfs(_Sourced):
    exponent: float = Field(gt=0)
    min_clock_fraction: float = Field(gt=0, le=1)
    fitted_on: str | None = None


class HostPower(_Sourced):
    load_fraction_of_tdp: float = Field(ge=0, le=1)
    idle_fraction_of_tdp: float = Field(ge=0, le=1)
    tdp_w_when_missing: dict[str, Positive] = {}
    tdp_w_by_isa_when_missing: dict[Literal["x86", "arm"], Positive]


class NicPower(_Sourced):
    w: dict[str, NonNegative] = {}
    w_per_gbits_when_missing: float = Field(ge=0)


class SwitchPower(_Sourced):
    switch_ports_per_nic_port: float = Field(ge=0)
    w_per_port_by_gbits: dict[int, NonNegative]


Climate = Literal["cool", "temperate", "hot"]
CLIMATES: tuple[str, ...] = ("cool", "temperate", "hot")


class SystemPower(_Sourced):
    other_w_per_gpu: float = Field(ge=0)
    fan_fraction: dict[Cooling, NonNegative]
    psu_efficiency: float = Field(gt=0, le=1)
    #: system -> the coolings its vendors build it for, the first its default
    cooling: dict[str, list[Cooling]] = {}
    #: what a system not in ``cooling`` supports (the first its default)
    default_cooling: list[Cooling] = ["air"]

    @field_validator("cooling", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        """``liquid`` is short for ``[liquid]``."""
        if isinstance(v, dict):
            return {k: [x] if isinstance(x, str) else x for k, x in v.items()}
        return v

    @field_validator("default_cooling", mode="before")
    @classmethod
    def _default_one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("cooling", "default_cooling")
    @classmethod
    def _not_empty(cls, v: Any) -> Any:
        items = v.values() if isinstance(v, dict) else [v]
        if any(not x for x in items):
            raise ValueError("needs at least one cooling: air, liquid")
        return v


class FacilityPower(_Sourced):
    #: PUE by cooling, and by climate (one number: the same in every climate)
    pue: dict[Cooling, dict[Climate, Annotated[float, Field(ge=1)]]]
    grid_gco2_per_kwh: float = Field(ge=0)

    @field_validator("pue", mode="before")
    @classmethod
    def _by_climate(cls, v: Any) -> Any:
        """A bare number is that cooling's PUE in every climate."""
        if isinstance(v, dict):
            return {
                k: {c: x for c in CLIMATES} if isinstance(x, int | float) else x
                for k, x in v.items()
            }
        return v

    @field_validator("pue")
    @classmethod
    def _every_climate(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for cooling, by in v.items():
            missing = [c for c in CLIMATES if c not in by]
            if missing:
                raise ValueError(
                    f"{cooling}: give a PUE for every climate ({', '.join(CLIMATES)}) or one "
                    f"number; missing: {', '.join(missing)}"
                )
        return v


class PeakFigure(_Strict):
    """A published power figure of one system (kW), with where it comes from."""

    kw: Positive
    source: str = Field(min_length=1)
    estimated: str | None = None


class Provisioning(_Sourced):
    """How data centers provision power for what they install (``energy/provisioning.py``).

    ``rated_kw``: nameplate (maximum input) where it differs from ``systems.csv``'s
    ``system_power_kw`` (e.g. a vendor's rack budget); ``peak_kw``: the expected peak in
    service (a typical operating maximum) where one is published. A system without either
    gets the energy model at full load (every GPU compute-bound, hosts fully loaded).
    """

    rated_kw: dict[str, PeakFigure] = {}
    peak_kw: dict[str, PeakFigure] = {}
    default_percentile: float = Field(gt=0, le=100)
    literature: list[str] = []


class PowerParams(_Strict):
    """Everything in ``power.yaml``."""

    accelerator: AcceleratorPower
    dvfs: Dvfs
    host: HostPower
    nic: NicPower
    scaleout_switch: SwitchPower
    system: SystemPower
    facility: FacilityPower
    provisioning: Provisioning

    def idle_w(self, name: str, tdp_w: float) -> float:
        """Idle board power: measured where known, else ``idle_fraction_of_tdp`` of TDP."""
        a = self.accelerator
        return float(a.idle_w.get(name, a.idle_fraction_of_tdp * tdp_w))

    def cooling_options(self, system: str) -> tuple[str, ...]:
        """The coolings ``system`` is built for (air, liquid or both), its default first."""
        return tuple(self.system.cooling.get(system, self.system.default_cooling))

    def cooling_of(self, system: str) -> str:
        """The default cooling of ``system``."""
        return self.cooling_options(system)[0]

    def pue(self, cooling: str, climate: str = "temperate") -> float:
        """PUE of a hall with this cooling in this climate."""
        return float(self.facility.pue[cooling][climate])  # type: ignore[index]


# ---- failure rates -------------------------------------------------------------------------

#: Parts of a training job that interrupt it, and the units their rates count.
FAILURE_COMPONENTS = ("gpu", "hbm", "host", "nic", "switch", "software")
RateUnit = Literal["gpu", "hbm_stack", "node", "nic", "job"]
RATE_UNITS = ("gpu", "hbm_stack", "node", "nic", "job")


class ComponentRate(_Strict):
    """One component: its counting unit and either a fitted count or a rate."""

    unit: RateUnit
    count: float | None = Field(default=None, ge=0)
    rate_per_hour: float | None = Field(default=None, ge=0)
    rate_per_job_hour: float = Field(default=0.0, ge=0)
    categories: list[str] = []
    note: str = ""

    @model_validator(mode="after")
    def _count_or_rate(self) -> ComponentRate:
        if self.count is None and self.rate_per_hour is None:
            raise ValueError("needs rate_per_hour, or a count fitted on the calibration job")
        return self


class FailureComponents(_Strict):
    gpu: ComponentRate
    hbm: ComponentRate
    host: ComponentRate
    nic: ComponentRate
    switch: ComponentRate
    software: ComponentRate


class FailureFitJob(_Strict):
    """The job the counts were observed on (the exposure that turns counts into rates)."""

    source: str = Field(min_length=1)
    system: str
    num_gpus: int = Field(gt=0)
    period_days: float = Field(gt=0)
    note: str = ""


class HbmStacks(_Strict):
    num: int = Field(gt=0)
    source: str = Field(min_length=1)


class FailureRateSet(_Strict):
    """Everything in ``failure_rates.yaml``."""

    calibration: FailureFitJob
    components: FailureComponents
    hbm_stacks: dict[str, HbmStacks] = {}

    @classmethod
    def normalize_overlay(cls, doc: dict[str, Any]) -> dict[str, Any]:
        """A component given a rate drops its fitted count, and a new count an earlier rate."""
        comps = doc.get("components")
        if not isinstance(comps, dict):
            return doc
        out = {}
        for name, c in comps.items():
            if isinstance(c, dict) and c.get("rate_per_hour") is not None:
                c = {"count": None, **c}
            elif isinstance(c, dict) and c.get("count") is not None:
                c = {"rate_per_hour": None, **c}
            out[name] = c
        return {**doc, "components": out}


# ---- the sets together ---------------------------------------------------------------------

SETS: dict[str, type[_Strict]] = {
    "calibration": Calibration,
    "power": PowerParams,
    "prices": PriceSet,
    "failure_rates": FailureRateSet,
}
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Params:
    """The four parameter sets of a catalog (shipped, with the user's overlays applied)."""

    calibration: Calibration
    power: PowerParams
    prices: PriceSet
    failure_rates: FailureRateSet

    def overlay(self, name: str, doc: Any, *, file: str, node: Any = None) -> Params:
        """These sets with ``doc`` (a user's changes to set ``name``) applied on top."""
        new = overlay_set(getattr(self, name), doc, name=name, file=file, node=node)
        return replace(self, **{name: new})


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; nested mappings merge too."""
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def overlay_set(current: M, doc: Any, *, name: str, file: str, node: Any = None) -> M:
    """``current`` (a validated set) with a user's changes ``doc`` merged in and revalidated.

    Errors name ``file`` (with the line, from the YAML ``node`` of ``doc``) and the field as
    ``<name>.<path>``, with the allowed fields for an unknown one.
    """
    model = type(current)
    if not isinstance(doc, dict):
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        raise GigafleetError(
            f"must be a mapping of fields; allowed fields: {', '.join(model.model_fields)}",
            file=f"{file}{line}",
            field=name,
        )
    doc = model.normalize_overlay(doc)  # type: ignore[attr-defined]
    merged = deep_merge(current.model_dump(), doc)
    return validate_model(merged, model, source=file, node=node, prefix=f"{name}.")


def _load_shipped(name: str) -> _Strict:
    path = DATA_DIR / f"{name}.yaml"
    doc, node = read_yaml(path)
    if not isinstance(doc, dict):
        raise GigafleetError("expected a mapping of fields at the top level", file=str(path))
    return validate_model(doc, SETS[name], source=str(path), node=node, prefix=f"{name}.")


@functools.lru_cache(maxsize=1)
def shipped_params() -> Params:
    """The shipped parameter sets (validated once, immutable)."""
    return Params(**{name: _load_shipped(name) for name in SETS})  # type: ignore[arg-type]


#: The first line of every overlay :func:`write_overlay` writes (it replaces only those).
WRITTEN_HEADER = "# gigafleet catalog overlay (written by gigafleet)"


def write_overlay(
    path: str | Path, changes: dict[str, Any], *, about: list[str], catalog: Catalog
) -> Path:
    """Write ``changes`` (set name -> changed fields) as a user catalog overlay at ``path``.

    What is written must load as an overlay on ``catalog``'s sets (checked first). The file
    is written atomically (a temporary file in the same folder, then renamed), never inside
    the installed package, and replaces only a file this function wrote before.
    """
    import os
    import tempfile

    import yaml

    package = Path(__file__).resolve().parents[1]  # the installed gigafleet package
    path = Path(path)
    if path.resolve().is_relative_to(package):
        raise GigafleetError(
            "refusing to write inside the installed package; give a path of your own",
            file=str(path),
        )
    if path.exists():
        try:
            first = path.read_text().split("\n", 1)[0]
        except (OSError, UnicodeDecodeError):
            first = ""
        if first != WRITTEN_HEADER:
            raise GigafleetError(
                "exists and was not written by gigafleet: choose another path or remove it",
                file=str(path),
            )
    for name, doc in changes.items():
        overlay_set(getattr(catalog.params, name), doc, name=name, file=str(path))
    use = f"Use it: gigafleet <command> --catalog {path}, or list it in $GIGAFLEET_CATALOG."
    text = "\n".join([WRITTEN_HEADER, *(f"# {line}" for line in (*about, use))]) + "\n"
    text += yaml.safe_dump(changes, sort_keys=True, default_flow_style=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; an overlay is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def references(params: Params) -> list[tuple[str, tuple[str, ...], str]]:
    """Names the sets use that must exist in the catalog: ``(table, field path, name)``;
    the table ``generations`` stands for the accelerators' generations."""
    p, c, t = params.power, params.failure_rates, params.calibration.training
    refs = [
        ("accelerators", ("power", "accelerator", "idle_w", k), k) for k in p.accelerator.idle_w
    ]
    refs += [("hosts", ("power", "host", "tdp_w_when_missing", k), k) for k in p.host.tdp_w_when_missing]  # fmt: skip
    refs += [("nics", ("power", "nic", "w", k), k) for k in p.nic.w]
    refs += [("systems", ("power", "system", "cooling", k), k) for k in p.system.cooling]
    refs += [("systems", ("power", "provisioning", "rated_kw", k), k) for k in p.provisioning.rated_kw]  # fmt: skip
    refs += [("systems", ("power", "provisioning", "peak_kw", k), k) for k in p.provisioning.peak_kw]  # fmt: skip
    refs += [("systems", ("prices", "capital", k), k) for k in params.prices.capital]
    refs += [("systems", ("prices", "cloud", k), k) for k in params.prices.cloud]
    refs += [("systems", ("failure_rates", "calibration", "system"), c.calibration.system)]
    refs += [("accelerators", ("failure_rates", "hbm_stacks", k), k) for k in c.hbm_stacks]
    refs += [("generations", ("calibration", "training", "gemm_efficiency", k), k) for k in t.gemm_efficiency]  # fmt: skip
    for k, v in t.fallback.items():
        refs += [("generations", ("calibration", "training", "fallback", k), k)]
        refs += [("generations", ("calibration", "training", "fallback", k), v)]
    rs = params.calibration.recsys
    for k, v in rs.sustained_clock.items():
        refs += [("generations", ("calibration", "recsys", "sustained_clock", k), k)]
        refs += [("accelerators", ("calibration", "recsys", "sustained_clock", k, "reference"), v.reference)]  # fmt: skip
    for k, v in rs.fallback.items():
        refs += [("generations", ("calibration", "recsys", "fallback", k), k)]
        refs += [("generations", ("calibration", "recsys", "fallback", k), v)]
    return refs


__all__ = [
    "FAILURE_COMPONENTS",
    "CLIMATES",
    "CLOUD_KINDS",
    "PRICE_SCALARS",
    "PRICE_UNITS",
    "RATE_UNITS",
    "SETS",
    "Calibration",
    "ComponentRate",
    "FailureRateSet",
    "Params",
    "PowerParams",
    "PriceItem",
    "date_month",
    "PriceSet",
    "RecsysCalibration",
    "ServingCalibration",
    "SustainedClock",
    "TeeCalibration",
    "TrainingCalibration",
    "deep_merge",
    "overlay_set",
    "references",
    "shipped_params",
    "write_overlay",
]
