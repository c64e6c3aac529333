"""Cost model: owned vs cloud GPU-hours, run cost, cost per token, break-even, prices."""

import numpy as np
import pytest

from gigafleet.cost import (
    break_even_utilization,
    cost_inputs,
    cost_per_million_tokens,
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


def test_every_default_is_sourced_or_marked_an_assumption():
    p = load_prices()
    scalars = {k: getattr(p, k) for k in SCALARS}
    for name, item in {**scalars, **p.system_usd_per_gpu}.items():
        assert item.source or (item.assumption and item.why), name
    assert "network_usd_per_port" in p.assumptions()


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
    assert run["cloud_usd"] == pytest.approx(1024 * 24 * 2.0)
    assert run["owned_usd"] == pytest.approx(run["gpu_hours"] * run["owned_usd_per_gpu_hour"])
    c = cost_per_million_tokens(np.array([1000.0, 2000.0]), 8, usd_per_gpu_hour=2.0)
    assert c[0] == pytest.approx(1e6 * 8 * 2.0 / 3600 / 1000) and c[1] == pytest.approx(c[0] / 2)
    assert np.isinf(cost_per_million_tokens(0.0, 8, usd_per_gpu_hour=2.0))
    assert energy_usd_per_gpu_hour(0.0, inputs=h100) == 0


def test_overrides_overlay_and_bad_input(tmp_path):
    assert cost_inputs("dgx-h100", pue=1.5).pue == 1.5
    with pytest.raises(GigafleetError, match="no default server price for b200"):
        cost_inputs("dgx-b200")
    assert cost_inputs("dgx-b200", system_usd_per_gpu=50000).system_usd_per_gpu == 50000
    f = tmp_path / "prices.yaml"
    f.write_text(
        "electricity_usd_per_mwh: 50\nsystem_usd_per_gpu:\n  b200: {value: 45000, source: my quote}\n"
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
