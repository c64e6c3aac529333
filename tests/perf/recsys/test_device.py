"""The sustained clock under each part's power limit, the roofline, gathers at row size."""

import pytest

from gigafleet.perf.recsys.device import device_for, granule_bytes, sustained_clock


def test_reference_part_sustains_the_fitted_clock(catalog):
    f, status = sustained_clock(catalog.accelerator("h100-sxm"), catalog)
    assert f == pytest.approx(
        catalog.params.calibration.recsys.sustained_clock["hopper"].clock_fraction
    )
    assert status == "fitted"


def test_power_limit_orders_parts_of_one_silicon(catalog):
    """Same GH100 silicon: a 900 W GH200 sustains more clock than a 700 W H100 SXM, a 400 W
    H100 NVL and a 350 W H100 PCIe less (the held-out MLPerf rows follow this order)."""
    f = {n: sustained_clock(catalog.accelerator(n), catalog)[0]
         for n in ("gh200-144gb", "h100-sxm", "h200-sxm", "h100-nvl", "h100-pcie")}  # fmt: skip
    assert f["gh200-144gb"] > f["h100-sxm"] == f["h200-sxm"] > f["h100-nvl"]
    assert f["h100-sxm"] > f["h100-pcie"]
    assert all(0 < v <= 1 for v in f.values())


def test_other_generations_borrow_and_say_so(catalog):
    f, status = sustained_clock(catalog.accelerator("b200"), catalog)
    assert status.startswith("extrapolated from hopper") and 0 < f <= 1


def test_int8_runs_at_the_fp8_rate_and_fp16_at_bf16(catalog):
    acc = catalog.accelerator("h100-sxm")
    dev = device_for(acc, catalog)
    assert dev.peak["int8"] == pytest.approx(dev.peak["fp8"])
    assert dev.peak["fp16"] == pytest.approx(dev.peak["bf16"])
    assert dev.peak["fp16"] == pytest.approx(dev.peak["int8"] / 2, rel=1e-3)  # 989.4 vs 1978.9
    assert dev.layer_time(1e12, 0, "bf16") > dev.layer_time(1e12, 0, "int8")
    assert dev.layer_time(0, 1e9, "bf16") == pytest.approx(1e9 / dev.hbm_bw)


def test_rows_cost_whole_granules():
    assert granule_bytes(128) == 128
    assert granule_bytes(40) == 64
    assert granule_bytes(1024) == 1024
