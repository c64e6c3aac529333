"""What-if inputs that every report takes beside its job: energy (power cap, PUE, grid
carbon), reliability (checkpoint storage, restarts, failure-rate overlay) and cost (prices,
utilization). ``gigafleet train`` / ``serve`` derive their options from these fields.

``None`` means "the model's default" (each description says which); the models document
where those defaults come from.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, Field

from gigafleet.spec.base import UserSpec

#: Longest duration an option may give (about 30 years): beyond it a rate underflows.
MAX_DURATION_S = 1e9
#: Highest price per GPU-hour (list prices are a few USD; 1e4 is far above any).
MAX_USD_PER_GPU_HOUR = 1e4


class _Options(UserSpec):
    model_config = ConfigDict(frozen=True)


class EnergyOptions(_Options):
    """Power and energy what-ifs (checked by the energy model, which knows the idle floor)."""

    power_cap_w: float | None = Field(
        default=None, le=100_000, description="GPU board power cap, W (DVFS slows the step)."
    )
    pue: float | None = Field(
        default=None, le=10, description="Facility PUE [by cooling: air 1.5, liquid 1.1]."
    )
    grid_gco2_per_kwh: float | None = Field(
        default=None, ge=0, le=5000, description="Grid carbon intensity, gCO2/kWh [390: U.S. 2022]."
    )


class ReliabilityOptions(_Options):
    """Checkpointing and failure what-ifs for the effective training time."""

    storage_tbytes_per_s: float | None = Field(
        default=None,
        gt=0,
        description="Aggregate checkpoint storage bandwidth, TB/s [2: Llama 3's Tectonic].",
    )
    node_storage_gbytes_per_s: float | None = Field(
        default=None, gt=0, description="Storage bandwidth per node, GB/s [50: assumption]."
    )
    restart_overhead_s: float | None = Field(
        default=None,
        ge=0,
        le=MAX_DURATION_S,
        description="Restart overhead per failure excl. checkpoint read, s [600: assumption].",
    )
    checkpoint_interval_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_DURATION_S,
        description="Checkpoint interval, s [Daly's optimum].",
    )
    planned_per_day: float | None = Field(
        default=None, ge=0, le=1440, description="Planned interruptions (maintenance) per day [0]."
    )
    failure_rates: Path | None = Field(
        default=None,
        description="YAML overriding failure rates (the fields of catalog/data/failure_rates.yaml; "
        "or failure_rates: in a --catalog overlay).",
    )


class CostOptions(_Options):
    """Price what-ifs for owned and cloud cost."""

    price_usd_per_gpu_hour: float | None = Field(
        default=None,
        gt=0,
        le=MAX_USD_PER_GPU_HOUR,
        description="Cloud price per GPU-hour, USD [2: DeepSeek-V3's H800 assumption].",
    )
    system_usd_per_gpu: float | None = Field(
        default=None,
        gt=0,
        le=1e8,
        description="Server purchase price per GPU, USD [catalog default where sourced].",
    )
    prices: Path | None = Field(
        default=None,
        description="YAML overriding default prices (the fields of catalog/data/prices.yaml; "
        "or prices: in a --catalog overlay).",
    )
    avg_power_w: float | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Average wall power per GPU incl. its host share, W "
        "[the GPU's first-order power].",
    )
    utilization: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Share of owned GPU-hours doing paid work, for owned cost [1].",
    )
