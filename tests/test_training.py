"""Unit tests of the training model: each parallelism, memory, constraints, vectorisation."""

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.training import estimate_training

GiB = 2**30


def est(model="llama3-70b", system="dgx-h100", **kw):
    kw.setdefault("num_gpus", 64)
    kw.setdefault("seq_len", 8192)
    kw.setdefault("global_batch", 256)
    kw.setdefault("precision", "fp8")
    return estimate_training(model, system, **kw)


def test_outputs_are_consistent():
    e = est(tp=4, pp=4, vp=5)
    assert e.feasible
    step = e.item("step_time_s")
    assert sum(float(v) for v in e.breakdown_s.values()) == pytest.approx(step, rel=1e-9)
    assert e.item("tokens_per_s") == pytest.approx(256 * 8192 / step)
    assert e.item("tokens_per_s_per_gpu") * 64 == pytest.approx(e.item("tokens_per_s"))
    assert 0.1 < e.item("mfu") < 0.7
    assert e.item("model_tflops_per_gpu") == pytest.approx(e.item("mfu") * 1978.9, rel=1e-6)
    assert 0 < e.item("power_w_per_gpu") <= 700


def test_tensor_parallel_cuts_memory_and_adds_communication():
    a, b = est(tp=1, pp=8, zero=1), est(tp=8, pp=8, zero=1, num_gpus=512)
    assert b.item("memory_bytes_per_gpu") < a.item("memory_bytes_per_gpu") / 3
    assert a.breakdown_s["tp_comm_s"] == 0 and b.item("tp_comm_s") > 0


def test_tp_beyond_the_nvlink_domain_is_slower():
    inside = est(tp=8, pp=1, num_gpus=64)
    across = est(tp=16, pp=1, num_gpus=64)
    # per collective the fabric adds (n-1)/(n g) of the buffer at NIC speed; dp halves, so
    # each GPU also runs twice the micro-batches
    assert across.item("tp_comm_s") > 2.5 * inside.item("tp_comm_s")


def test_pipeline_bubble_follows_1f1b_and_interleaving():
    plain = est(tp=4, pp=4, vp=1)
    inter = est(tp=4, pp=4, vp=5)
    m = float(plain.info["num_micro_batches"])
    t_mb = (
        plain.item("step_time_s")
        - plain.item("bubble_s")
        - plain.item("dp_comm_s")
        - plain.item("optimizer_s")
    ) / m
    assert plain.item("bubble_s") == pytest.approx(3 * t_mb, rel=1e-6)  # (pp-1)/vp micro-batches
    assert inter.item("bubble_s") < plain.item("bubble_s") / 4
    assert est(tp=8, pp=1).item("bubble_s") == 0


def test_zero_stages_shrink_memory_monotonically():
    mem = [est(tp=8, pp=1, zero=z).item("memory_bytes_per_gpu") for z in range(4)]
    assert mem[0] > mem[1] > mem[2] > mem[3]


def test_data_parallel_communication_only_across_replicas():
    one = est(tp=8, pp=8, num_gpus=64, zero=0)  # dp = 1: nothing to reduce
    assert one.item("dp_comm_s") == 0
    # a small batch on many replicas cannot hide its gradient all-reduce
    many = est("llama3-8b", num_gpus=1024, tp=1, pp=1, zero=0, global_batch=1024, seq_len=1024)
    assert many.item("dp_comm_s") > 0


def test_context_parallel_splits_activations():
    a = est(tp=8, pp=1, cp=1, num_gpus=64, seq_len=131072, global_batch=64, recompute="full")
    b = est(tp=8, pp=1, cp=8, num_gpus=64, seq_len=131072, global_batch=64, recompute="full")
    assert b.item("memory_bytes_per_gpu") < a.item("memory_bytes_per_gpu")
    assert a.item("cp_comm_s") == 0
    # across NVLink domains, on short sequences, the KV exchange outlasts the attention it hides behind
    c = est(tp=8, pp=1, cp=8, num_gpus=64, seq_len=2048, global_batch=64, recompute="full")
    assert c.item("cp_comm_s") > 0


def test_expert_parallel_spreads_experts_and_pays_all_to_all():
    a = est("qwen3-30b-a3b", num_gpus=16, ep=1, seq_len=4096, global_batch=512)
    b = est("qwen3-30b-a3b", num_gpus=16, ep=8, seq_len=4096, global_batch=512)
    c = est("qwen3-30b-a3b", num_gpus=16, ep=16, seq_len=4096, global_batch=512)
    assert b.item("memory_bytes_per_gpu") < a.item("memory_bytes_per_gpu")
    assert a.item("ep_comm_s") == 0 and b.item("ep_comm_s") > 0
    assert c.item("ep_comm_s") > b.item("ep_comm_s")  # ep 16 leaves the 8-GPU NVLink domain


def test_recompute_trades_memory_for_time():
    none, sel, full = (est(tp=8, pp=2, recompute=r) for r in ("none", "selective", "full"))
    assert (
        none.item("memory_bytes_per_gpu")
        > sel.item("memory_bytes_per_gpu")
        > full.item("memory_bytes_per_gpu")
    )
    assert none.item("recompute_s") == 0 < sel.item("recompute_s") < full.item("recompute_s")
    assert full.item("step_time_s") > none.item("step_time_s") * 1.2


def test_lower_precision_is_faster():
    bf16, fp8 = est(tp=4, pp=4, precision="bf16"), est(tp=4, pp=4, precision="fp8")
    assert fp8.item("step_time_s") < bf16.item("step_time_s")
    fp4 = est(system="gb200-nvl72", tp=4, pp=4, precision="fp4")
    assert fp4.item("step_time_s") < est(system="gb200-nvl72", tp=4, pp=4).item("step_time_s")


def test_lora_skips_weight_gradients():
    full, lora = est(tp=8, pp=1, workload="sft"), est(tp=8, pp=1, workload="lora")
    assert lora.item("step_time_s") < full.item("step_time_s")
    assert lora.item("memory_bytes_per_gpu") < full.item("memory_bytes_per_gpu")


def test_memory_check_reports_need_and_capacity():
    e = est("llama3.1-405b", num_gpus=64, tp=8, pp=1, zero=1)
    assert not e.feasible
    assert e.reason().startswith("does not fit in GPU memory: needs ")
    assert "GiB, has 80.0 GiB" in e.reason()
    need = float(e.reason().split("needs ")[1].split(" GiB")[0])
    assert need == pytest.approx(e.item("memory_bytes_per_gpu") / GiB, abs=0.1)


@pytest.mark.parametrize(
    "kw, expect",
    [
        (dict(tp=3), "must divide num_gpus = 64"),
        (dict(tp=128, num_gpus=128), "tp = 128 must divide the 64 attention heads"),
        (dict(tp=8, pp=3, num_gpus=48), "must divide the 80 layers"),
        (dict(tp=8, ep=2), "needs a MoE model"),
        (dict(tp=8, micro_batch=3), "must divide global_batch = 256"),
        (dict(tp=8, cp=2, seq_len=8191), "must divide seq_len = 8191"),
        (dict(tp=8, vp=2), "vp = 2 needs pp > 1"),
        (dict(num_gpus=-8), "positive integers"),
        (dict(tp=8, precision="fp4"), "precision not supported by h100-sxm; allowed: bf16, fp8"),
    ],
)
def test_impossible_strategies_raise_with_the_constraint(kw, expect):
    with pytest.raises(GigafleetError) as exc:
        est(strict=True, **kw)
    assert expect in str(exc.value)


def test_moe_constraints():
    with pytest.raises(GigafleetError, match="ep = 3 must divide the 128 experts"):
        est("qwen3-30b-a3b", num_gpus=24, ep=3, seq_len=4096, global_batch=48, strict=True)
    with pytest.raises(GigafleetError, match="unknown value 'fp16'"):
        est(precision="fp16")


def test_vectorised_broadcasts_across_dimensions():
    tp = np.array([[2], [4], [8]])  # 3 x 1
    prec = np.array(["bf16", "fp8"])  # 2
    disp = np.array(["alltoall", "dedup"])
    many = est(
        "qwen3-30b-a3b",
        num_gpus=64,
        tp=tp,
        ep=8,
        precision=prec,
        ep_dispatcher=disp,
        ep_overlap=np.array([0, 1]),
        seq_len=4096,
    )
    assert many.step_time_s.shape == (3, 2)
    for i, t in enumerate((2, 4, 8)):
        for j in range(2):
            one = est(
                "qwen3-30b-a3b",
                num_gpus=64,
                tp=t,
                ep=8,
                precision=str(prec[j]),
                ep_dispatcher=str(disp[j]),
                ep_overlap=bool(j),
                seq_len=4096,
            )
            assert many.item("step_time_s", (i, j)) == pytest.approx(
                one.item("step_time_s"), rel=1e-12
            )


def test_strict_error_names_the_failing_strategy():
    with pytest.raises(
        GigafleetError, match="tp x pp x cp = 3 x 1 x 1 = 3 must divide num_gpus = 64"
    ):
        est(tp=np.array([8, 3]), strict=True)


def test_out_of_range_values_are_infeasible():
    e = est(tp=8, pp=2, zero=np.array([1, 4, -1]), recompute=np.array([0, 0, 7]))
    assert e.feasible.tolist() == [True, False, False]
    assert (
        est(tp=8, offload=float("nan")).reason()
        == "offload must be a fraction of the layers, 0 to 1"
    )


def test_tp_must_divide_kv_heads():
    with pytest.raises(GigafleetError, match="tp = 16 must divide the 8 key-value heads"):
        est(tp=16, num_gpus=64, strict=True)


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


def test_vectorised_equals_scalar():
    tp = np.array([1, 2, 4, 8, 8, 8])
    pp = np.array([8, 4, 4, 1, 2, 4])
    vp = np.array([1, 2, 5, 1, 5, 2])
    rec = np.array(["none", "full", "none", "selective", "none", "full"])
    many = est(tp=tp, pp=pp, vp=vp, recompute=rec)
    for i in range(len(tp)):
        one = est(tp=int(tp[i]), pp=int(pp[i]), vp=int(vp[i]), recompute=str(rec[i]))
        assert many.item("step_time_s", i) == pytest.approx(one.item("step_time_s"), rel=1e-12)
        assert many.item("memory_bytes_per_gpu", i) == pytest.approx(
            one.item("memory_bytes_per_gpu"), rel=1e-12
        )
        assert many.reason(i) == one.reason()


def test_unsupported_generations_say_they_are_extrapolated():
    e = est(system="vera-rubin-nvl144", num_gpus=72, tp=8, pp=1, global_batch=72 // 8 * 8)
    assert "extrapolated" in e.calibration
    assert est(tp=8).calibration == "fitted"


def test_fabric_choice_matters_when_data_parallel_crosses_nodes():
    kw = dict(model="llama3-8b", num_gpus=1024, tp=1, pp=1, global_batch=1024, seq_len=2048, zero=0)
    ib = est(**kw, fabric="infiniband-ndr")
    roce = est(**kw, fabric="roce")
    assert roce.item("dp_comm_s") > ib.item("dp_comm_s")


def test_time_to_train():
    e = est(tp=8, pp=1, train_tokens=1e12)
    assert float(e.time_to_train_s) == pytest.approx(1e12 / e.item("tokens_per_s"))


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


def test_moe_all_to_all_overlap_and_dedup():
    kw = dict(
        model="deepseek-v3",
        system="dgx-h100",
        num_gpus=1024,
        tp=2,
        pp=8,
        vp=4,
        ep=64,
        seq_len=4096,
        global_batch=8192,
        uneven_layers=True,
        recompute="selective",
    )
    plain = est(**kw)
    overlap = est(ep_overlap=True, **kw)
    dedup = est(ep_dispatcher="dedup", **kw)
    assert overlap.item("ep_comm_s") < plain.item("ep_comm_s")
    assert dedup.item("ep_comm_s") < plain.item("ep_comm_s")
    with pytest.raises(GigafleetError, match="allowed: alltoall, dedup"):
        est(ep_dispatcher="deepep", **kw)


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


def test_nvfp4_quantisation_costs_more_memory_traffic_than_fp8():
    from gigafleet.enums import PRECISIONS
    from gigafleet.perf.training import CAST_BYTES

    fp8, fp4 = CAST_BYTES[PRECISIONS.index("fp8")], CAST_BYTES[PRECISIONS.index("fp4")]
    assert CAST_BYTES[PRECISIONS.index("bf16")] == 0 and fp4 > fp8 > 0
    kw = dict(system="gb200-nvl72", tp=2, pp=4, num_gpus=64)
    assert est(precision="fp4", **kw).item("memory_bound_s") > est(precision="fp8", **kw).item(
        "memory_bound_s"
    )


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
