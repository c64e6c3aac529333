"""The typed parameter sets (calibration, power, prices, failure rates) and their overlays."""

import textwrap

import pytest

from clihelp import assert_user_error, gf
from gigafleet.catalog import load_catalog
from gigafleet.catalog.params import PRICE_SCALARS, Params, shipped_params
from gigafleet.cost import cost_inputs, load_prices
from gigafleet.energy.power import system_power_w
from gigafleet.errors import GigafleetError
from gigafleet.perf.training import efficiency_for
from gigafleet.reliability import load_failure_rates


def _overlay(tmp_path, text, name="mine.yaml"):
    f = tmp_path / name
    f.write_text(text)
    return f


def test_shipped_sets_are_typed_and_sourced(catalog):
    p = catalog.params
    assert isinstance(p, Params) and p == shipped_params()
    for block in type(p.power).model_fields:
        assert len(getattr(p.power, block).source) > 10, block
    for k in PRICE_SCALARS:
        item = getattr(p.prices, k)
        assert item.source or (item.assumption and item.why), k
    assert all(s.source for s in p.failure_rates.hbm_stacks.values())
    assert p.failure_rates.calibration.source
    assert p.calibration.training.fit_rows and p.calibration.serving.engines


def test_power_overlay_moves_the_energy_result(tmp_path, monkeypatch):
    base = system_power_w("dgx-h100", gpu_power_w=700.0, catalog=load_catalog())
    f = _overlay(tmp_path, "power:\n  system:\n    other_w_per_gpu: 175\n")
    cat = load_catalog([f])
    moved = system_power_w("dgx-h100", gpu_power_w=700.0, catalog=cat)
    # +100 W per GPU of node overhead, through the power supplies: 8 x 100 / 0.95
    assert float(moved.total_w - base.total_w) == pytest.approx(8 * 100 / 0.95)
    # nested fields merge: the rest of the block and of the set stay
    assert cat.params.power.system.psu_efficiency == 0.95
    assert cat.params.power.system.source == load_catalog().params.power.system.source
    assert cat.params.power.dvfs == load_catalog().params.power.dvfs
    # the same file from the environment, like a hardware overlay
    monkeypatch.setenv("GIGAFLEET_CATALOG", str(f))
    assert load_catalog().params.power.system.other_w_per_gpu == 175
    assert float(system_power_w("dgx-h100", gpu_power_w=700.0).total_w) == pytest.approx(
        float(moved.total_w)
    )


def test_calibration_overlay_merges_nested_fields(tmp_path, catalog):
    f = _overlay(
        tmp_path, "calibration:\n  training:\n    gemm_efficiency: {hopper: {bf16: 0.6}}\n"
    )
    cal = load_catalog([f]).params.calibration.training
    shipped = catalog.params.calibration.training
    assert cal.gemm_efficiency["hopper"] == {"bf16": 0.6, "fp8": shipped.gemm_efficiency["hopper"]["fp8"]}  # fmt: skip
    assert cal.gemm_efficiency["ampere"] == shipped.gemm_efficiency["ampere"]
    assert efficiency_for(load_catalog([f]), "hopper").gemm[0] == 0.6
    assert efficiency_for(catalog, "hopper").gemm[0] == shipped.gemm_efficiency["hopper"]["bf16"]


def test_price_overlay_replaces_whole_items(tmp_path, catalog):
    body = (
        "cloud_usd_per_gpu_hour: {value: 3.5, unit: usd_per_gpu_hour, date: 2026-01}\n"
        "network_usd_per_port:\n  2: {value: 2500, unit: usd_per_port, date: 2026-01, source: our quote}\n"
        "capital:\n  dgx-b200: {value: 360000, unit: usd_per_system, date: 2026-01, source: our quote}\n"
    )
    f = _overlay(tmp_path, "prices:\n" + textwrap.indent(body, "  "))
    p = load_catalog([f]).params.prices
    cloud = p.cloud_usd_per_gpu_hour
    assert cloud.value == 3.5 and cloud.source == "user: cloud_usd_per_gpu_hour"
    assert not cloud.assumption and not cloud.why  # the shipped rationale does not stick to it
    assert p.network_usd_per_port[2].source == "our quote" and p.network_usd_per_port[2].low is None
    assert p.network_usd_per_port[3] == catalog.params.prices.network_usd_per_port[3]
    assert "cloud_usd_per_gpu_hour" not in p.assumptions()
    assert p.capital["dgx-h100"] == catalog.params.prices.capital["dgx-h100"]
    assert cost_inputs("dgx-b200", catalog=load_catalog([f])).system_usd_per_gpu == 45000
    # --prices FILE is the same overlay of the one set
    assert load_prices(_overlay(tmp_path, body, "prices.yaml")) == p


def test_failure_rate_overlay_rate_replaces_count(tmp_path, catalog):
    f = _overlay(tmp_path, "failure_rates:\n  components:\n    gpu: {rate_per_hour: 1.0e-5}\n")
    cat = load_catalog([f])
    gpu = cat.params.failure_rates.components.gpu
    assert gpu.rate_per_hour == 1e-5 and gpu.count is None and gpu.unit == "gpu"
    assert load_failure_rates(catalog=cat).per_unit_hour["gpu"] == 1e-5
    base = load_failure_rates(catalog=catalog)
    assert load_failure_rates(catalog=cat).per_unit_hour["host"] == base.per_unit_hour["host"]
    g = _overlay(tmp_path, "failure_rates:\n  components:\n    gpu: {count: 392}\n", "g.yaml")
    back = load_catalog([f, g])  # a later count replaces the earlier rate
    assert load_failure_rates(catalog=back).per_unit_hour["gpu"] == pytest.approx(
        2 * base.per_unit_hour["gpu"]
    )


@pytest.mark.parametrize(
    "text, line, expect",
    [
        ("power:\n  accelerator:\n    idle_fraction: 0.1\n", 3,
         ["power.accelerator.idle_fraction", "unknown field", "allowed fields", "idle_fraction_of_tdp"]),
        ("power:\n  dvfs:\n    exponent: fast\n", 3, ["power.dvfs.exponent", "valid number"]),
        ("prices:\n  pue: .inf\n", 2, ["prices.pue", "no unit or date"]),
        ("calibration:\n  serving:\n    engines: {trtllm: {}}\n", 3,
         ["calibration.serving.engines.trtllm", "tensorrt-llm"]),
        ("failure_rates:\n  components:\n    fan: {unit: node, rate_per_hour: 1}\n", 3,
         ["failure_rates.components.fan", "unknown field", "gpu, hbm, host"]),
        ("failure_rates:\n  components:\n    gpu: {unit: rack}\n", 3,
         ["failure_rates.components.gpu.unit", "hbm_stack"]),
        ("power: 3\n", 1, ["power", "must be a mapping", "accelerator, dvfs"]),
        ("prices:\n  capital:\n    dgx-h10: {value: 1, unit: usd_per_gpu, date: 2026}\n", 3,
         ["prices.capital.dgx-h10", "unknown system", "did you mean 'dgx-h100'"]),
        ("prices:\n  pue: {value: .nan, unit: ratio, date: 2026, source: x}\n", 2,
         ["prices.pue.value", "finite number"]),
        ("calibration:\n  training:\n    fallback: {rubin: cdna4, cdna4: rubin}\n", 3,
         ["calibration.training.fallback", "loop back"]),
        ("power:\n  system:\n    cooling: {dgx-h100: [steam]}\n", 3,
         ["power.system.cooling.dgx-h100", "'air' or 'liquid'"]),
        ("pricing:\n  pue: 1.2\n", None, ["unknown catalog table or parameter set 'pricing'", "did you mean 'prices'"]),
    ],
)  # fmt: skip
def test_bad_overlay_is_one_error_naming_file_line_and_field(tmp_path, text, line, expect):
    f = _overlay(tmp_path, text)
    with pytest.raises(GigafleetError) as exc:
        load_catalog([f])
    msg = str(exc.value)
    assert "\n" not in msg
    assert (f"{f}:{line}:" if line else f"{f}:") in msg, msg
    for e in expect:
        assert e in msg, msg


def test_bad_set_file_names_the_file(tmp_path):
    f = _overlay(tmp_path, "electricity_price: 50\n", "prices.yaml")
    with pytest.raises(GigafleetError, match=f"{f}:1: prices.electricity_price: unknown field"):
        load_prices(f)


def test_cli_bad_params_overlay_exits_2_with_one_line(tmp_path):
    f = _overlay(tmp_path, "power:\n  facility:\n    pue: {air: -1}\n")
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8", "--catalog", str(f))  # fmt: skip
    assert_user_error(p, f"{f}:3", "power.facility.pue.air")
    assert len(p.stderr.strip().splitlines()) == 1


def test_parameter_overlays_are_bounded(tmp_path):
    # a failure-rate count of 1e300 overflowed the reliability model
    f = tmp_path / "rates.yaml"
    f.write_text("components:\n  host:\n    unit: node\n    count: 1.0e+300\n")
    with pytest.raises(GigafleetError, match="count"):
        load_failure_rates(f)
