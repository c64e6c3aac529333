"""HBM per GPU: ZeRO stages, saved activations (Korthikanti), offload, the memory check."""

import pytest

from gigafleet.errors import GigafleetError
from trainhelp import GiB, est


def test_zero_stages_shrink_memory_monotonically():
    mem = [est(tp=8, pp=1, zero=z).item("memory_bytes_per_gpu") for z in range(4)]
    assert mem[0] > mem[1] > mem[2] > mem[3]


def test_memory_check_reports_need_and_capacity():
    e = est("llama3.1-405b", num_gpus=64, tp=8, pp=1, zero=1)
    assert not e.feasible
    assert e.reason().startswith("does not fit in GPU memory: needs ")
    assert "GiB, has 80.0 GiB" in e.reason()
    need = float(e.reason().split("needs ")[1].split(" GiB")[0])
    assert need == pytest.approx(e.item("memory_bytes_per_gpu") / GiB, abs=0.1)


def test_activation_memory_follows_korthikanti():
    """1F1B keeps pp micro-batches in flight; interleaving adds (1 + (pp-1)/(pp vp)).

    With full recomputation a layer keeps only its input: 2 h / tp bytes per token.
    """
    kw = dict(tp=8, pp=4, zero=1, num_gpus=64, global_batch=256, recompute="full")
    plain, inter = est(vp=1, **kw), est(vp=5, **kw)
    h, layers, t = 8192, 80, 8192
    act_mb = 2 * h / 8 * layers / 4 * t  # one micro-batch on one stage
    diff = inter.item("memory_bytes_per_gpu") - plain.item("memory_bytes_per_gpu")
    assert diff == pytest.approx(act_mb * 4 * (3 / 20), rel=1e-9)


def test_activation_offload_saves_memory_and_costs_host_bandwidth():
    kw = dict(model="llama3-70b", num_gpus=64, tp=1, pp=1, zero=3, micro_batch=2)
    none = est(system="gb200-nvl72", **kw)
    half = est(system="gb200-nvl72", offload=0.5, **kw)
    assert half.item("memory_bytes_per_gpu") < none.item("memory_bytes_per_gpu") - 50 * GiB
    # Grace's NVLink-C2C moves activations far faster than an x86 host's PCIe link
    x86 = est(system="dgx-b200", offload=1.0, **kw)
    grace = est(system="gb200-nvl72", offload=1.0, **kw)
    assert x86.item("offload_s") > grace.item("offload_s")
    with pytest.raises(GigafleetError, match="offload = 1.5 must be a fraction"):
        est(offload=1.5, tp=8, strict=True)
