"""Prices of a system: capital, network by tiers, and renting by provider kind along the
price trajectory, each with its basis."""

import pytest

from gigafleet.catalog import load_catalog
from gigafleet.catalog.params import date_month
from gigafleet.cost import cost_inputs
from gigafleet.cost.prices import cloud_price, network_tiers, network_usd_per_port, project
from gigafleet.errors import GigafleetError


def test_a_dated_price_is_sourced_at_its_date_and_projected_beyond(catalog):
    p = catalog.params.prices
    item = p.cloud["dgx-h100"].prices["neocloud-committed"]
    at = cloud_price(p, "dgx-h100", kind="neocloud-committed", month=date_month(item.date))
    assert at.value == pytest.approx(item.value) and at.basis == "sourced"
    later = cloud_price(p, "dgx-h100", kind="neocloud-committed", month=date_month("2028-03"))
    d = p.cloud_trajectory.decline_per_year["neocloud-committed"]
    assert later.basis == "projected" and later.value == pytest.approx(item.value * (1 - d) ** 2)


def test_trajectory_launches_high_declines_and_stops_at_the_floor():
    kw = dict(month_obs=date_month("2025-01"), launch=date_month("2023-01"), decline=0.3, floor=0.2)
    launch = project(1.0, month=date_month("2023-01"), **kw)
    assert launch == pytest.approx(1 / 0.7**2)
    assert project(1.0, month=date_month("2022-01"), **kw) == pytest.approx(launch)
    assert project(1.0, month=date_month("2026-01"), **kw) == pytest.approx(0.7)
    assert project(1.0, month=date_month("2040-01"), **kw) == pytest.approx(0.2 * launch)


def test_a_new_generation_without_a_price_rents_in_proportion_to_its_capital(catalog):
    p = catalog.params.prices
    m = date_month("2028-01")
    h100 = cloud_price(p, "dgx-h100", kind="neocloud-committed", month=m)
    rubin = cloud_price(p, "vera-rubin-nvl144", kind="neocloud-committed", month=m)
    assert rubin.basis == "extrapolated" and "dgx-h100" in rubin.note
    # a Rubin GPU costs three times an H100's capital and launched later: it rents for more
    assert rubin.value > 2 * h100.value
    # at launch, the same rent per dollar of capital as the H100 had at its launch
    cap = lambda s: p.capital[s].value / catalog.system(s).num_gpus  # noqa: E731
    at_launch = cloud_price(p, "vera-rubin-nvl144", kind="neocloud-committed")
    h100_launch = project(p.cloud["dgx-h100"].prices["neocloud-committed"].value,
                          month_obs=date_month("2026-03"), month=date_month("2023-07"),
                          launch=date_month("2023-07"), decline=0.09, floor=0.2)  # fmt: skip
    assert at_launch.value / cap("vera-rubin-nvl144") == pytest.approx(
        h100_launch / cap("dgx-h100")
    )
    # own against rent: renting the system costs its own price, not one price for every GPU
    assert (
        cost_inputs("vera-rubin-nvl144").cloud_usd_per_gpu_hour
        > cost_inputs("dgx-h100").cloud_usd_per_gpu_hour
    )


def test_an_oem_build_rents_like_the_priced_system_with_its_gpus(catalog):
    p = catalog.params.prices
    dgx = cloud_price(p, "dgx-h100", kind="neocloud-committed")
    teton = cloud_price(p, "grand-teton-h100", kind="neocloud-committed")
    assert teton.value == dgx.value and teton.basis == "extrapolated" and "dgx-h100" in teton.note


def test_without_capital_or_cloud_price_the_assumption_stands_in(catalog):
    q = cloud_price(catalog.params.prices, "hgx-b300", kind="neocloud-on-demand", month=0)
    assert q.basis == "assumption" and q.value == catalog.params.prices.cloud_usd_per_gpu_hour.value
    with pytest.raises(GigafleetError, match="provider kind"):
        cloud_price(catalog.params.prices, "dgx-h100", kind="spot")


def test_network_price_grows_with_the_tiers_the_fleet_needs(catalog):
    assert [network_tiers(n) for n in (64, 65, 2048, 2049, 10**6)] == [1, 2, 2, 3, 3]
    p = catalog.params.prices
    assert network_usd_per_port(p, 3).value == p.network_usd_per_port[3].value
    assert network_usd_per_port(p, 7).value == p.network_usd_per_port[3].value  # clipped
    big = cost_inputs("dgx-h100", network_tiers=3)
    assert big.network_usd_per_port > cost_inputs("dgx-h100", network_tiers=1).network_usd_per_port


@pytest.mark.parametrize(
    "body, expect",
    [
        ("electricity_usd_per_mwh: 50\n", ["prices.electricity_usd_per_mwh", "no unit or date"]),
        ("electricity_usd_per_mwh: {value: 50, unit: usd_per_mwh}\n",
         ["prices.electricity_usd_per_mwh", "needs date"]),
        ("electricity_usd_per_mwh: {value: 50, date: 2026-01}\n",
         ["prices.electricity_usd_per_mwh", "needs unit"]),
        ("electricity_usd_per_mwh: {value: 50, unit: usd_per_kwh, date: 2026-01}\n",
         ["prices.electricity_usd_per_mwh", "'usd_per_kwh'", "allowed: usd_per_mwh"]),
        ("electricity_usd_per_mwh: {value: 50, unit: usd_per_mwh, date: soon}\n",
         ["prices.electricity_usd_per_mwh.date", "YYYY-MM"]),
        ("cloud:\n  dgx-h100:\n    prices:\n      spot: {value: 1, unit: usd_per_gpu_hour, date: 2026}\n",
         ["prices.cloud.dgx-h100.prices.spot", "neocloud-committed", ":5:"]),
    ],
)  # fmt: skip
def test_a_price_without_unit_or_date_is_one_error(tmp_path, body, expect):
    f = tmp_path / "o.yaml"
    f.write_text("prices:\n" + "".join(f"  {line}\n" for line in body.splitlines()))
    with pytest.raises(GigafleetError) as e:
        load_catalog([f])
    msg = str(e.value)
    line = 5 if "cloud" in body else 2
    assert f"{f}:{line}:" in msg and "\n" not in msg, msg
    for x in expect:
        assert x in msg, msg
