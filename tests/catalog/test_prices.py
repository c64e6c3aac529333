"""catalog/prices: a user's price is a real, bounded number with a unit and a date."""

import pytest

from gigafleet.catalog.prices import MAX_PRICE
from gigafleet.cost import load_prices
from gigafleet.errors import GigafleetError


@pytest.mark.parametrize("value", ["1e100", "-5", ".nan", ".inf"])
def test_absurd_prices_are_rejected(tmp_path, value):
    # electricity_usd_per_mwh: 1e100 left the placement program unsolved (a traceback)
    f = tmp_path / "prices.yaml"
    f.write_text(f"electricity_usd_per_mwh: {{value: {value}, unit: usd_per_mwh, date: 2026-01}}\n")
    with pytest.raises(GigafleetError, match="electricity_usd_per_mwh"):
        load_prices(f)


def test_real_prices_pass(tmp_path):
    f = tmp_path / "prices.yaml"
    f.write_text("electricity_usd_per_mwh: {value: 95.5, unit: usd_per_mwh, date: 2026-01}\n")
    assert load_prices(f).electricity_usd_per_mwh.value == 95.5 < MAX_PRICE
