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
