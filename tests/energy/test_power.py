"""Accelerator power by phase and DVFS, systems, facility, site and carbon."""

import numpy as np
import pytest

from gigafleet.energy import (
    accelerator_power_w,
    carbon_kg,
    default_pue,
    dvfs_speed,
    facility_power_w,
    site_power_mw,
    system_power_w,
)
from gigafleet.energy.power import phase_levels
from gigafleet.errors import GigafleetError


def test_power_rises_with_load_between_idle_and_tdp(catalog):
    acc = catalog.accelerator("h100-sxm")
    lv = phase_levels(acc)
    c = np.linspace(0, 1, 11)
    p = accelerator_power_w(acc, compute_frac=c, memory_frac=0.0, comm_frac=0.0)
    assert p.shape == c.shape
    assert np.all(np.diff(p) > 0)
    assert p[0] == pytest.approx(lv.idle_w) and p[-1] == pytest.approx(acc.tdp_w)
    # memory-bound work draws less than compute-bound, more than idle
    m = accelerator_power_w(acc, compute_frac=0.0, memory_frac=1.0, comm_frac=0.0)
    assert lv.idle_w < m < acc.tdp_w


def test_power_is_capped(catalog):
    acc = catalog.accelerator("b200")
    caps = np.array([300.0, 600.0, 900.0, 2000.0])
    p = accelerator_power_w(acc, compute_frac=1.0, memory_frac=0.0, comm_frac=0.0, power_cap_w=caps)
    assert np.allclose(p, np.minimum(caps, acc.tdp_w))
    mix = accelerator_power_w(
        acc, compute_frac=0.5, memory_frac=0.3, comm_frac=0.1, power_cap_w=caps
    )
    assert np.all(mix <= np.minimum(caps, acc.tdp_w) + 1e-9)


def test_bad_fractions_and_caps(catalog):
    acc = catalog.accelerator("h100-sxm")
    with pytest.raises(GigafleetError, match="fractions"):
        accelerator_power_w(acc, compute_frac=0.8, memory_frac=0.5, comm_frac=0.0)
    with pytest.raises(GigafleetError, match="fractions"):
        accelerator_power_w(acc, compute_frac=-0.1, memory_frac=0.0, comm_frac=0.0)
    with pytest.raises(GigafleetError, match="power_cap_w"):
        dvfs_speed(acc, power_cap_w=50.0)
    with pytest.raises(GigafleetError, match="unknown accelerator"):
        accelerator_power_w("h100-sxn", compute_frac=1.0, memory_frac=0.0, comm_frac=0.0)


def test_dvfs_speed_curve(catalog):
    acc = catalog.accelerator("h100-sxm")
    assert dvfs_speed(acc, power_cap_w=None) == pytest.approx(1.0)
    assert dvfs_speed(acc, power_cap_w=acc.tdp_w) == pytest.approx(1.0)
    caps = np.array([200.0, 300.0, 400.0, 500.0, 600.0, 700.0])
    s = dvfs_speed(acc, power_cap_w=caps)
    assert np.all(s[:-1] < 1.0) and s[-1] == pytest.approx(1.0)
    assert np.all(np.diff(s) > 0)  # the perf-versus-power curve rises with power
    # memory-bound work keeps its speed under a cap above its power (Ma et al. 2026)
    assert dvfs_speed(acc, power_cap_w=400.0, compute_frac=0.0, memory_frac=1.0) == pytest.approx(
        1.0
    )
    # a mix slows less than pure compute
    pure = dvfs_speed(acc, power_cap_w=400.0)
    mixed = dvfs_speed(acc, power_cap_w=400.0, compute_frac=0.5, memory_frac=0.5)
    assert pure < mixed < 1.0


def test_system_power_parts_and_ratings(catalog):
    for sysrow in catalog.systems:
        acc = catalog.accelerator(sysrow.accelerator)
        r = system_power_w(
            sysrow, gpu_power_w=np.array([phase_levels(acc).idle_w, acc.tdp_w]), host_load=1.0
        )
        assert np.allclose(sum(r.breakdown_w.values()), r.total_w)
        assert r.total_w[0] < r.total_w[1]
        if sysrow.system_power_kw:  # peak IT power stays under the vendor's maximum rating
            assert r.total_w[1] <= sysrow.system_power_kw * 1e3
    lone = system_power_w("hgx-h200", gpu_power_w=500.0, include_scaleout=False)
    fleet = system_power_w("hgx-h200", gpu_power_w=500.0)
    assert float(lone.breakdown_w["scaleout_switches_w"]) == 0 and lone.total_w < fleet.total_w
    air = system_power_w("hgx-h200", gpu_power_w=700.0, cooling="air")
    liquid = system_power_w("hgx-h200", gpu_power_w=700.0, cooling="liquid")
    assert liquid.total_w < air.total_w
    assert system_power_w("gb200-nvl72", gpu_power_w=700.0).cooling == "liquid"
    with pytest.raises(GigafleetError, match="cooling"):
        system_power_w("hgx-h200", gpu_power_w=700.0, cooling="immersion")


def test_facility_site_and_carbon():
    assert facility_power_w(1e6, pue=1.2) == pytest.approx(1.2e6)
    assert site_power_mw(np.array([1e6, 2e6]), pue=1.5) == pytest.approx([1.5, 3.0])
    # 1 MWh of IT energy at PUE 1.1 on a 400 g/kWh grid: 440 kg
    assert carbon_kg(3.6e9, pue=1.1, grid_gco2_per_kwh=400) == pytest.approx(440.0)
    assert default_pue("liquid") < default_pue("air")
    for bad in (-1.0, 0.9):
        with pytest.raises(GigafleetError, match="PUE"):
            facility_power_w(1.0, pue=bad)
    with pytest.raises(GigafleetError, match="grid"):
        carbon_kg(1.0, pue=1.1, grid_gco2_per_kwh=-5)
