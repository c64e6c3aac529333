"""Provisioning: ratings of systems, the distribution of a site's draw, its percentiles, and
what capping the draw costs."""

import numpy as np
import pytest

from gigafleet.energy.provisioning import (
    RunDraw,
    capping,
    provisioned_w,
    site_draw,
    system_rating,
    weighted_percentile,
)
from gigafleet.errors import GigafleetError


def test_ratings_come_from_published_figures_else_the_model(catalog):
    gb300 = system_rating("gb300-nvl72", catalog=catalog)
    # NVIDIA's 'up to 142 kW' nameplate; Supermicro's 132-140 kW typical as the expected peak
    assert (gb300.rated_w, gb300.rated_basis) == (142e3, "sourced")
    assert (gb300.peak_w, gb300.peak_basis) == (136e3, "sourced")
    # the energy model at full load lands within 10% of the published typical draw
    assert gb300.full_load_w == pytest.approx(136e3, rel=0.1) and gb300.full_load_w < gb300.rated_w
    gb200 = system_rating("gb200-nvl72", catalog=catalog)
    assert gb200.rated_w == 150e3  # the SuperPOD RA's 1.2 MW per 8 racks, not the 120 kW draw
    mi = system_rating("mi300x-platform", catalog=catalog)  # no published platform power
    assert mi.rated_basis == mi.peak_basis == "modelled" and mi.rated_w == mi.full_load_w
    assert system_rating("vera-rubin-nvl144", catalog=catalog).rated_basis == "estimated"
    assert gb300.switch_w > 0  # its share of the scale-out switches, outside the rack


def test_weighted_percentile():
    v, w = [1.0, 2.0, 3.0, 4.0], [0.1, 0.4, 0.4, 0.1]
    assert weighted_percentile(v, w, 50) == 2.0
    assert weighted_percentile(v, w, 90) == 3.0
    assert weighted_percentile(v, w, 100) == 4.0
    with pytest.raises(GigafleetError, match="percentile"):
        weighted_percentile(v, w, 0)


def test_draw_mixes_hours_and_training_phases_and_keeps_the_mean():
    run = RunDraw.from_mean(share=0.5, mean_w=60.0, peak_w=100.0, low_w=40.0)
    assert run.p_peak == pytest.approx(1 / 3) and run.mean_w == pytest.approx(30.0)
    hours = 10.0 * (1 + np.cos(np.linspace(0, 2 * np.pi, 24, endpoint=False)))
    d = site_draw(1000.0, hours, [run])
    assert d.weight.sum() == pytest.approx(1.0)
    assert d.mean_w == pytest.approx(1000.0 + hours.mean() + 30.0)
    assert d.peak_w == pytest.approx(1000.0 + hours.max() + 100.0)
    assert d.percentile_w(50) < d.percentile_w(99) <= d.peak_w
    # a run below its low level runs flat at its mean
    flat = RunDraw.from_mean(share=1.0, mean_w=20.0, peak_w=100.0, low_w=40.0)
    assert flat.p_peak == 0 and flat.low_w == 20.0


def test_capping_costs_throughput_only_above_the_limit(catalog):
    run = RunDraw.from_mean(share=1.0, mean_w=80.0, peak_w=100.0, low_w=50.0)
    d = site_draw(100.0, [0.0], [run])
    free = capping(d, d.peak_w, catalog=catalog)
    assert free.time_capped == 0 and free.throughput_loss == 0
    tight = capping(d, 180.0, catalog=catalog)  # the peak phase (200 W) is capped to 180 W
    assert tight.time_capped == pytest.approx(run.p_peak) and tight.unmet_w == 0
    a = catalog.params.power.dvfs.exponent
    f = (80.0 / 100.0) ** (1 / a)  # 100 W busy must shed 20 W
    assert tight.throughput_loss == pytest.approx(run.p_peak * 100 * (1 - f) / 80.0)
    tighter = capping(d, 150.0, catalog=catalog)
    assert tighter.throughput_loss > tight.throughput_loss


def test_provisioned_power_by_policy(catalog):
    d = site_draw(10.0, [0.0, 5.0, 10.0, 20.0], [])
    assert provisioned_w("rated", rated_w=100.0, peak_w=50.0, draw=d, percentile=99) == 100.0
    assert provisioned_w("peak", rated_w=100.0, peak_w=50.0, draw=d, percentile=99) == 50.0
    assert provisioned_w("percentile", rated_w=100.0, peak_w=50.0, draw=d, percentile=50) == 15.0
    with pytest.raises(GigafleetError, match="rated, peak, percentile"):
        provisioned_w("nameplate", rated_w=1, peak_w=1, draw=d, percentile=99)
