"""Cost: capex, amortisation, electricity, maintenance, cloud prices (pure model)."""

from gigafleet.cost.model import (
    CostInputs,
    OwnedCost,
    Prices,
    break_even_utilization,
    cost_inputs,
    cost_per_million_tokens,
    electricity_usd_per_year,
    energy_usd_per_gpu_hour,
    fixed_usd_per_gpu_hour,
    load_prices,
    owned_cost_per_gpu_hour,
    training_run_cost,
)

__all__ = [
    "CostInputs",
    "OwnedCost",
    "Prices",
    "break_even_utilization",
    "cost_inputs",
    "cost_per_million_tokens",
    "electricity_usd_per_year",
    "energy_usd_per_gpu_hour",
    "fixed_usd_per_gpu_hour",
    "load_prices",
    "owned_cost_per_gpu_hour",
    "training_run_cost",
]
