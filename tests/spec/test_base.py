"""spec/base: no user input reaches a model as NaN, infinity or an absurd magnitude."""

import pytest
from pydantic import ValidationError

from gigafleet.spec.base import MAX_MAGNITUDE
from gigafleet.spec.options import CostOptions, EnergyOptions, ReliabilityOptions
from gigafleet.spec.serving import Adapters, ServeJob, Traffic
from gigafleet.spec.training import TrainingJob, TrainingPlanRequest

JOB = {"model": "llama3-8b", "system": "dgx-h100", "num_gpus": 8}


@pytest.mark.parametrize(
    "model, data",
    [
        (TrainingJob, {**JOB, "train_tokens": float("nan")}),
        (TrainingJob, {**JOB, "train_tokens": float("inf")}),
        (TrainingJob, {**JOB, "train_tokens": 10 * MAX_MAGNITUDE}),
        (TrainingJob, {**JOB, "pp": 4_000_000_000_000}),  # numpy warnings before the error
        (TrainingPlanRequest, {**JOB, "num_gpus": [8, 2**40]}),
        (TrainingPlanRequest, {**JOB, "num_gpus": [8], "site_power_mw": float("inf")}),
        (TrainingPlanRequest, {**JOB, "num_gpus": [8], "site_power_mw": -5}),
        (TrainingPlanRequest, {**JOB, "num_gpus": [8], "gpu_hour_usd": float("inf")}),
        (TrainingPlanRequest, {**JOB, "num_gpus": [8], "top": 100_000}),  # hung
        (EnergyOptions, {"power_cap_w": float("inf")}),
        (EnergyOptions, {"pue": 1e308}),
        (EnergyOptions, {"grid_gco2_per_kwh": -1}),
        (ReliabilityOptions, {"planned_per_day": 1e308}),
        (ReliabilityOptions, {"checkpoint_interval_s": float("inf")}),
        (CostOptions, {"price_usd_per_gpu_hour": -1}),
        (CostOptions, {"avg_power_w": 1e9}),
        (CostOptions, {"utilization": 0}),
        (Traffic, {"num_requests": 2**31}),  # a 16 GiB allocation
        (Traffic, {"output_tokens": float("nan")}),
        (Adapters, {"num_users": 10, "zipf_s": 1e6}),  # NaN probabilities
        (ServeJob, {"model": "m", "system": "s", "replicas": 1_000_000_000}),  # hung
    ],
)
def test_nonsense_is_rejected_at_the_boundary(model, data):
    with pytest.raises(ValidationError):
        model.model_validate(data)


def test_real_inputs_pass():
    TrainingJob.model_validate({**JOB, "train_tokens": 15.6e12, "pp": 16, "num_gpus": 16384})
    EnergyOptions(power_cap_w=700, pue=1.1, grid_gco2_per_kwh=0)
    CostOptions(price_usd_per_gpu_hour=2.0, utilization=0.8)
    Traffic(num_requests=1_000_000, output_tokens=1)


@pytest.mark.parametrize(
    "field, value",
    [("electricity_usd_per_mwh", 1e100), ("electricity_usd_per_mwh", 2e5),
     ("grid_gco2_per_kwh", -1), ("power_mw", float("inf")), ("power_mw", 1e9)],
)  # fmt: skip
def test_scenario_sites_are_bounded(field, value):
    # electricity at 1e100 USD/MWh left the placement program unsolved
    from gigafleet.spec.scenario import Site

    site = {"name": "dc", "power_mw": 10, "fleet": [{"system": "dgx-h100", "count": 1}]}
    Site.model_validate(site)
    with pytest.raises(ValidationError, match=field):
        Site.model_validate({**site, field: value})


@pytest.mark.parametrize("value", [5e-324, 1e-300, 1e-40])
def test_vanishing_numbers_are_rejected(value):
    # 5e-324 as a storage bandwidth or a utilization overflowed divisions (numpy warnings)
    with pytest.raises(ValidationError, match="magnitude"):
        ReliabilityOptions(storage_tbytes_per_s=value)
    ReliabilityOptions(storage_tbytes_per_s=1e-9)
