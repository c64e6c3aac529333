"""The energy model: accelerator phases and DVFS, systems, facility, carbon, training and
serving power, and its validation."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gigafleet.energy import (
    accelerator_power_w,
    carbon_kg,
    default_pue,
    dvfs_speed,
    facility_power_w,
    serving_power,
    site_power_mw,
    system_power_w,
    training_power,
)
from gigafleet.energy.params import load_power_params
from gigafleet.energy.power import phase_levels
from gigafleet.errors import GigafleetError
from gigafleet.perf.inference import serving_replica
from gigafleet.perf.training import estimate_training

GOLDEN = Path(__file__).parent / "golden" / "energy.json"


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


@pytest.fixture(scope="module")
def est405():
    return estimate_training(
        "llama3.1-405b", "grand-teton-h100", num_gpus=16384, tp=8, pp=np.array([16, 16]),
        vp=np.array([7, 1]), seq_len=8192, global_batch=2048, zero=2, recompute="selective",
        uneven_layers=True,
    )  # fmt: skip


def test_training_power(est405):
    tp = training_power(est405, train_tokens=15.6e12)
    assert tp.gpu_power_avg_w.shape == (2,)
    assert np.all(tp.gpu_power_avg_w <= tp.gpu_power_peak_w)
    assert np.all(tp.gpu_power_peak_w <= 700.0)
    assert np.all(tp.facility_power_w == pytest.approx(tp.it_power_w * tp.pue))
    tokens = 2048 * 8192
    assert tp.j_per_token == pytest.approx(tp.it_energy_j_per_step / tokens)
    assert tp.tokens_per_j * tp.j_per_token == pytest.approx(1.0)
    assert tp.energy_to_train_j == pytest.approx(tp.facility_energy_j_per_step * 15.6e12 / tokens)
    assert tp.carbon_kg == pytest.approx(tp.energy_to_train_j / 3.6e6 * tp.grid_gco2_per_kwh / 1e3)
    # the larger pipeline bubble (vp = 1) idles the GPUs more: less power
    assert tp.gpu_power_avg_w[1] < tp.gpu_power_avg_w[0]
    # the estimate's own power figure comes from the same model
    assert est405.power_w_per_gpu == pytest.approx(tp.gpu_power_avg_w)
    assert est405.energy_j_per_step == pytest.approx(tp.it_energy_j_per_step)
    assert training_power(est405).energy_to_train_j is None


def test_training_power_cap(est405):
    free = training_power(est405)
    capped = training_power(est405, power_cap_w=450.0)
    assert np.all(capped.speed < 1.0) and np.all(capped.step_time_s > free.step_time_s)
    assert np.all(capped.gpu_power_peak_w <= 450.0)
    assert np.all(capped.gpu_power_avg_w < free.gpu_power_avg_w)
    assert np.all(training_power(est405, power_cap_w=700.0).speed == pytest.approx(1.0))
    with pytest.raises(GigafleetError, match="power_cap_w"):
        training_power(est405, power_cap_w=10.0)


def test_serving_power_depends_on_batch(catalog):
    rep = serving_replica("llama3-8b", "dgx-h100", weight_precision="fp8")
    small = serving_power(rep, prompt_tokens=500, output_tokens=100, batch=2)
    big = serving_power(rep, prompt_tokens=500, output_tokens=100)
    assert small.idle_w < small.busy_w < big.busy_w
    assert small.phase_fractions["memory"] > big.phase_fractions["memory"]
    assert big.j_per_token < small.j_per_token  # batching pays in energy too
    capped = serving_power(rep, prompt_tokens=500, output_tokens=100, power_cap_w=400.0)
    assert capped.speed < 1.0 and capped.gpu_busy_w <= 400.0


def test_power_yaml_names_exist(catalog):
    p = load_power_params()
    names = {s.name for s in catalog.systems}
    assert set(p.system.cooling) <= names
    assert set(p.accelerator.idle_w) <= {a.name for a in catalog.accelerators}
    assert set(p.nic.w) <= {n.name for n in catalog.nics}
    assert set(p.host.tdp_w_when_missing) <= {h.name for h in catalog.hosts}


def test_energy_golden():
    """Pinned figures (regenerate with GIGAFLEET_REGEN_GOLDEN=1 after an intended change)."""
    e = estimate_training("llama3-70b", "gb200-nvl72", num_gpus=64, tp=2, pp=4, vp=5,
                          seq_len=8192, global_batch=256, precision="fp8")  # fmt: skip
    tp = training_power(e, train_tokens=1e12, power_cap_w=900.0)
    got = {k: tp.item(k) for k in ("gpu_power_avg_w", "it_power_w", "facility_energy_j_per_step",
                                   "speed", "carbon_kg")}  # fmt: skip
    if os.environ.get("GIGAFLEET_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-6), k


def test_validate_energy_shape_and_target():
    from gigafleet.energy.params import load_power_params
    from gigafleet.validate.energy import fit_dvfs_exponent, run_validation

    rows, summary = run_validation()
    for key in ("num_rows", "num_predicted", "median_abs_error_pct", "p90_abs_error_pct"):
        assert key in summary
    d = rows[0].to_dict()
    for key in ("row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"):
        assert key in d
    metrics = {r.metric for r in rows if r.error_pct is not None}
    assert {
        "system_power_w",
        "j_per_token",
        "dvfs_speed_ratio",
        "training_carbon_tco2eq",
    } <= metrics
    assert all(r.skipped_reason for r in rows if r.error_pct is None)
    assert sum(r.fitted for r in rows) == 1
    # target: wall power of the held-out MLPerf rows within 15 %, DVFS ratios within 10 %
    held = [r for r in rows if r.error_pct is not None and not r.fitted]
    assert max(abs(r.error_pct) for r in held if r.metric == "system_power_w") < 15
    assert max(abs(r.error_pct) for r in held if r.metric == "dvfs_speed_ratio") < 10
    # ML.ENERGY's H100 GPU J/token at batch 64 (measured 0.12): right order of magnitude
    ml = [r for r in rows if r.metric == "gpu_j_per_token"]
    assert len(ml) == 1 and 0.5 < ml[0].predicted / ml[0].measured < 2
    # the shipped exponent is the fit on the named row
    assert fit_dvfs_exponent() == pytest.approx(load_power_params().dvfs.exponent, abs=0.01)


def test_overlay_system_without_power_data(tmp_path):
    """A user's host and NIC with no TDP still get a power figure (power.yaml fallbacks)."""
    from gigafleet.catalog import load_catalog

    f = tmp_path / "hw.yaml"
    f.write_text(
        "hosts:\n"
        "  - {name: my-cpu, vendor: Acme, isa: x86, num_cores: 64, gpu_link: pcie5,\n"
        "     gpu_link_gbytes_per_s_per_dir: 64, source: test}\n"
        "nics:\n"
        "  - {name: my-nic, vendor: Acme, port_gbits_per_s: 400, source: test}\n"
        "systems:\n"
        "  - {name: my-node, accelerator: h100-sxm, num_gpus: 8, scaleup: nvlink4-8, host: my-cpu,\n"
        "     num_hosts: 2, nic: my-nic, num_nics: 8, default_fabric: infiniband-ndr, source: test}\n"
    )
    cat = load_catalog([f])
    e = estimate_training(
        "llama3-8b", "my-node", num_gpus=8, seq_len=4096, global_batch=64, catalog=cat
    )
    ref = estimate_training("llama3-8b", "dgx-h100", num_gpus=8, seq_len=4096, global_batch=64)
    # same GPUs, host TDP and NIC power by fallback: the same power as the DGX H100
    assert e.energy_j_per_step == pytest.approx(ref.energy_j_per_step, rel=1e-6)


def test_plan_power_cap_and_site_limit():
    from gigafleet.plan.training import plan_training

    kw = dict(num_gpus=64, seq_len=8192, global_batch=256)
    free = plan_training("llama3-70b", "dgx-h100", **kw)
    capped = plan_training("llama3-70b", "dgx-h100", power_cap_w=400.0, **kw)
    f = free.feasible
    assert np.all(capped.metrics["step_time_s"][f] > free.metrics["step_time_s"][f])
    assert np.all(capped.metrics["tokens_per_s"][f] < free.metrics["tokens_per_s"][f])
    # every strategy on the same GPUs peaks alike: the limit picks between GPU counts
    kw["num_gpus"] = [32, 64]
    free = plan_training("llama3-70b", "dgx-h100", **kw)
    peak = free.metrics["facility_power_peak_w"][free.feasible]
    limit = float(peak.min() + peak.max()) / 2 / 1e6
    limited = plan_training("llama3-70b", "dgx-h100", site_power_mw=limit, **kw)
    assert 0 < limited.num_feasible < free.num_feasible
    assert limited.info["num_over_site_power"] == free.num_feasible - limited.num_feasible
    assert np.all(limited.metrics["facility_power_peak_w"][limited.feasible] <= limit * 1e6)
    with pytest.raises(GigafleetError, match="site_power_mw"):
        plan_training("llama3-70b", "dgx-h100", site_power_mw=0.0, **kw)
