"""Training power and energy from the step's phases: average and peak, caps, golden, overlays."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gigafleet.energy import step_power, training_power
from gigafleet.errors import GigafleetError
from gigafleet.perf.training import estimate_training

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "energy.json"


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
    # the planner's path (the step's phases straight from perf) gives the same figures
    direct = step_power(
        est405.phase_s, system="grand-teton-h100", num_gpus=16384, tokens_per_step=tokens,
        flops_per_token=est405.model_flops_per_token,
    )  # fmt: skip
    assert direct.gpu_power_avg_w == pytest.approx(tp.gpu_power_avg_w)
    assert direct.it_energy_j_per_step == pytest.approx(tp.it_energy_j_per_step)
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
    assert training_power(e, catalog=cat).it_energy_j_per_step == pytest.approx(
        training_power(ref).it_energy_j_per_step, rel=1e-6
    )


def test_step_power_takes_phases_only():
    """step_power wants seconds per phase (perf's ``phase_s``), not the terms by name."""
    kw = dict(system="dgx-h100", num_gpus=8, tokens_per_step=1e6, flops_per_token=1e9)
    one = step_power({"compute": 1.0, "idle": 1.0}, **kw)
    assert float(one.phase_fractions["compute"]) == pytest.approx(0.5)
    assert float(one.phase_fractions["memory"]) == 0.0
    with pytest.raises(GigafleetError, match="unknown phase 'gemm_s'"):
        step_power({"gemm_s": 1.0}, **kw)
