"""Layers by type: MoE experts and their all-to-all and fixed cost, Mamba-2 fixed cost."""

import pytest

from trainhelp import est


def test_expert_parallel_spreads_experts_and_pays_all_to_all():
    a = est("qwen3-30b-a3b", num_gpus=16, ep=1, seq_len=4096, global_batch=512)
    b = est("qwen3-30b-a3b", num_gpus=16, ep=8, seq_len=4096, global_batch=512)
    c = est("qwen3-30b-a3b", num_gpus=16, ep=16, seq_len=4096, global_batch=512)
    assert b.item("memory_bytes_per_gpu") < a.item("memory_bytes_per_gpu")
    assert a.item("ep_comm_s") == 0 and b.item("ep_comm_s") > 0
    assert c.item("ep_comm_s") > b.item("ep_comm_s")  # ep 16 leaves the 8-GPU NVLink domain


def test_moe_fixed_cost_per_local_expert_and_cuda_graphs():
    """Dropless expert GEMMs pay a fixed time per local expert per layer (calibrated), the
    same at any micro-batch; whole-iteration CUDA graphs remove it; dense models never pay."""
    from gigafleet.catalog import load_catalog

    fixed = load_catalog().params.calibration.training.moe_expert_fixed_s
    kw = dict(model="qwen3-30b-a3b", num_gpus=16, seq_len=4096, global_batch=512)
    ep8, ep16 = est(ep=8, **kw), est(ep=16, **kw)
    graphs = est(ep=8, cuda_graphs=True, **kw)
    # 48 MoE layers x 16 local experts x (forward + twice in the backward) x micro-batches
    micro = 512 / 16
    assert ep8.item("moe_fixed_s") == pytest.approx(48 * 16 * 3 * fixed * micro, rel=1e-9)
    assert ep16.item("moe_fixed_s") == pytest.approx(ep8.item("moe_fixed_s") / 2, rel=1e-9)
    assert graphs.item("moe_fixed_s") == 0
    assert graphs.item("step_time_s") < ep8.item("step_time_s")
    # a larger micro-batch amortises it: fewer micro-batches, the same cost each
    mb4 = est(ep=8, micro_batch=4, **kw)
    assert mb4.item("moe_fixed_s") == pytest.approx(ep8.item("moe_fixed_s") / 4, rel=1e-9)
    assert est().item("moe_fixed_s") == 0


def test_mamba_fixed_cost_per_layer_and_micro_batch():
    from gigafleet.catalog import load_catalog

    fixed = load_catalog().params.calibration.training.mamba_fixed_s
    kw = dict(model="nemotron3-nano-30b-a3b", system="gb200-nvl72", num_gpus=8, ep=8)
    kw.update(seq_len=8192, global_batch=512, ep_dispatcher="dedup")
    mb1, mb2 = est(micro_batch=1, **kw), est(micro_batch=2, **kw)
    moe = load_catalog().params.calibration.training.moe_expert_fixed_s * 16 * 23  # 23 MoE layers
    micro = 512 / 8
    assert mb1.item("moe_fixed_s") == pytest.approx((23 * fixed + moe) * 3 * micro, rel=1e-9)
    assert mb2.item("moe_fixed_s") == pytest.approx(mb1.item("moe_fixed_s") / 2, rel=1e-9)


def _moe_step(**kw):
    from gigafleet.catalog import load_catalog
    from gigafleet.perf.arch import arch_costs
    from gigafleet.perf.hardware import resolve_hardware
    from gigafleet.perf.training import efficiency_for, training_step

    cat = load_catalog()
    hw = resolve_hardware(cat, "dgx-b200")
    args = dict(
        num_gpus=8, tp=1, pp=1, cp=1, ep=8, vp=1, micro_batch=1, global_batch=512,
        seq_len=4096, precision=1, zero=1, recompute=0,
    )  # fmt: skip
    args.update(kw)
    return training_step(
        arch_costs(cat.model("qwen3-30b-a3b")), hw, efficiency_for(cat, hw.generation), **args
    )


def test_token_dropping_needs_no_sync_and_pads_experts_to_capacity():
    """Dropless: the host syncs on the routed counts, so each local expert's launches show.
    Token dropping (capacity factor, padded) has static shapes: no sync, the launches hide
    behind the layer's GPU work; the expert GEMMs run on capacity x the balanced load."""
    dropless, drop = _moe_step(micro_batch=4), _moe_step(micro_batch=4, capacity_factor=1.0)
    assert dropless["breakdown_s"]["moe_fixed_s"] > 0
    assert drop["breakdown_s"]["moe_fixed_s"] == 0
    assert drop["step_time_s"] < dropless["step_time_s"]
    # at one sequence per micro-batch the host's launches outlast the layer's GPU work:
    # only the excess shows
    small, small_drop = _moe_step(), _moe_step(capacity_factor=1.0)
    assert 0 < small_drop["breakdown_s"]["moe_fixed_s"] < small["breakdown_s"]["moe_fixed_s"]
    # capacity 1.0 is exactly the balanced load: the same GEMMs
    assert drop["breakdown_s"]["gemm_s"] == pytest.approx(dropless["breakdown_s"]["gemm_s"])
    padded = _moe_step(micro_batch=4, capacity_factor=2.0)
    assert padded["breakdown_s"]["gemm_s"] > drop["breakdown_s"]["gemm_s"]
    assert int(_moe_step(capacity_factor=-1.0)["reason_code"]) != 0
