"""Cost model: owned vs cloud GPU-hours, run cost, cost per token, break-even, prices."""

import numpy as np
import pytest

from gigafleet.cost import (
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
from gigafleet.cost.model import HOURS_PER_YEAR, SCALARS
from gigafleet.errors import GigafleetError


@pytest.fixture(scope="module")
def h100():
    return cost_inputs("dgx-h100")


def test_every_default_is_sourced_dated_and_in_its_unit():
    p = load_prices()
    items = {k: getattr(p, k) for k in SCALARS}
    items.update({f"capital.{k}": v for k, v in p.capital.items()})
    items.update({f"network.{k}": v for k, v in p.network_usd_per_port.items()})
    for name, entry in p.cloud.items():
        assert entry.launch and entry.launch_source, name
        items.update({f"cloud.{name}.{k}": v for k, v in entry.prices.items()})
    for name, item in items.items():
        assert item.source or (item.assumption and item.why), name
        assert item.unit and item.date, name
    assert (
        p.network_usd_per_port[1].value
        < p.network_usd_per_port[2].value
        < p.network_usd_per_port[3].value
    )
    assert "maintenance_fraction_per_year" in p.assumptions()


def test_the_catalog_carries_the_gb300_nvl72_rack_with_its_source(catalog):
    item = catalog.params.prices.capital["gb300-nvl72"]
    # the reports quote about $3M a rack; the press range is $3-4M
    assert item.unit == "usd_per_system" and 3e6 <= item.value <= 4e6
    assert "awesomeagents" in item.source and item.low == 3e6 and item.high == 4e6
    per_gpu = cost_inputs("gb300-nvl72").system_usd_per_gpu
    assert per_gpu == pytest.approx(item.value / 72)


def test_a_gigawatt_year_of_electricity_costs_600_to_800_million():
    """From first principles: 1 GW for a year is 8.766 TWh; at the US industrial average of
    2023 (EIA: 8.06 c/kWh) that is about $707M, inside the $600-800M the fleet reports quote;
    the band itself is $68-91/MWh, and the catalog's Virginia price lands in it too."""
    us_2023 = float(electricity_usd_per_year(1e9, usd_per_mwh=80.6))
    assert us_2023 == pytest.approx(1e3 * HOURS_PER_YEAR * 80.6)
    assert 600e6 < us_2023 < 800e6 and us_2023 == pytest.approx(706.5e6, rel=1e-3)
    assert float(electricity_usd_per_year(1e9, usd_per_mwh=68.5)) == pytest.approx(600e6, rel=2e-3)
    assert float(electricity_usd_per_year(1e9, usd_per_mwh=91.3)) == pytest.approx(800e6, rel=2e-3)
    catalog_price = load_prices().electricity_usd_per_mwh.value
    assert 600e6 < float(electricity_usd_per_year(1e9, usd_per_mwh=catalog_price)) < 800e6
    # PUE multiplies it: a GW of IT at PUE 1.1 is 1.1 GW at the meter
    assert float(electricity_usd_per_year(1e9, usd_per_mwh=80.6, pue=1.1)) == pytest.approx(
        1.1 * us_2023
    )


def test_owned_cost_parts_add_up(h100):
    o = owned_cost_per_gpu_hour(avg_power_w_per_gpu=1000.0, inputs=h100)
    parts = (
        o.hardware_usd_per_hour
        + o.facility_usd_per_hour
        + o.maintenance_usd_per_hour
        + o.energy_usd_per_hour
    )
    assert o.total_usd_per_gpu_hour == pytest.approx(parts)
    hw = (h100.system_usd_per_gpu + h100.network_usd_per_port) / (5 * HOURS_PER_YEAR)
    assert o.hardware_usd_per_hour == pytest.approx(hw)
    # 1 kW at PUE 1.16 and $89.2/MWh
    assert o.energy_usd_per_hour == pytest.approx(1e-3 * 1.16 * 89.2)
    # the DGX H100's $270k over its 8 GPUs; the network at two switch tiers (size not given)
    assert h100.system_usd_per_gpu == pytest.approx(270000 / 8)
    assert h100.network_usd_per_port == 4247 and h100.basis["system_usd_per_gpu"] == "sourced"
    # facility reserves the DGX H100's rated 10.2 kW / 8 GPUs
    assert h100.facility_w_per_gpu == pytest.approx(10200 / 8)


def test_lower_utilization_raises_owned_cost_but_not_energy(h100):
    full = owned_cost_per_gpu_hour(avg_power_w_per_gpu=800.0, inputs=h100, utilization=1.0)
    half = owned_cost_per_gpu_hour(avg_power_w_per_gpu=800.0, inputs=h100, utilization=0.5)
    fixed = sum(fixed_usd_per_gpu_hour(h100))
    assert half.total_usd_per_gpu_hour - full.total_usd_per_gpu_hour == pytest.approx(fixed)
    assert half.energy_usd_per_hour == full.energy_usd_per_hour


def test_break_even_is_where_owning_equals_renting(h100):
    u = float(break_even_utilization(avg_power_w_per_gpu=900.0, inputs=h100))
    assert 0 < u < 1
    o = owned_cost_per_gpu_hour(avg_power_w_per_gpu=900.0, inputs=h100, utilization=u)
    assert float(o.total_usd_per_gpu_hour) == pytest.approx(h100.cloud_usd_per_gpu_hour)
    cheap = cost_inputs("dgx-h100", cloud_usd_per_gpu_hour=0.05)
    assert np.isinf(break_even_utilization(avg_power_w_per_gpu=900.0, inputs=cheap))


def test_run_cost_and_cost_per_million_tokens(h100):
    run = training_run_cost(1024, 86400.0, avg_power_w_per_gpu=700.0, inputs=h100)
    assert run["gpu_hours"] == pytest.approx(1024 * 24)
    assert run["cloud_usd"] == pytest.approx(1024 * 24 * h100.cloud_usd_per_gpu_hour)
    assert run["owned_usd"] == pytest.approx(run["gpu_hours"] * run["owned_usd_per_gpu_hour"])
    c = cost_per_million_tokens(np.array([1000.0, 2000.0]), 8, usd_per_gpu_hour=2.0)
    assert c[0] == pytest.approx(1e6 * 8 * 2.0 / 3600 / 1000) and c[1] == pytest.approx(c[0] / 2)
    assert np.isinf(cost_per_million_tokens(0.0, 8, usd_per_gpu_hour=2.0))
    assert energy_usd_per_gpu_hour(0.0, inputs=h100) == 0


def test_overrides_overlay_and_bad_input(tmp_path):
    assert cost_inputs("dgx-h100", pue=1.5).pue == 1.5
    with pytest.raises(GigafleetError, match="no default server price for dgx-b200"):
        cost_inputs("dgx-b200")
    assert cost_inputs("dgx-b200", system_usd_per_gpu=50000).system_usd_per_gpu == 50000
    f = tmp_path / "prices.yaml"
    f.write_text(
        "electricity_usd_per_mwh: {value: 50, unit: usd_per_mwh, date: 2026-01}\n"
        "capital:\n  dgx-b200: {value: 45000, unit: usd_per_gpu, date: 2026-01, source: my quote}\n"
    )
    p = load_prices(f)
    i = cost_inputs("dgx-b200", prices=p)
    assert i.electricity_usd_per_mwh == 50 and i.system_usd_per_gpu == 45000
    bad = tmp_path / "bad.yaml"
    bad.write_text("electricity_price: 50\n")
    with pytest.raises(GigafleetError, match="electricity_price"):
        load_prices(bad)
    with pytest.raises(GigafleetError, match="pue"):
        cost_inputs("dgx-h100", pue=-1.0)
    with pytest.raises(GigafleetError, match="utilization"):
        owned_cost_per_gpu_hour(
            avg_power_w_per_gpu=1.0, inputs=cost_inputs("dgx-h100"), utilization=0
        )
    with pytest.raises(GigafleetError, match="avg_power_w_per_gpu"):
        owned_cost_per_gpu_hour(avg_power_w_per_gpu=-1.0, inputs=cost_inputs("dgx-h100"))
    with pytest.raises(GigafleetError, match="unknown cost input"):
        cost_inputs("dgx-h100", price=3.0)
