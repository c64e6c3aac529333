"""LoRA fine-tuning: a frozen base (no base gradients, no optimizer state, no weight-gradient
GEMMs), adapters that cost their own GEMMs and state, many adapters of one base at once."""

import pytest

from clihelp import gf
from gigafleet.catalog import load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.training import efficiency_for, training_step
from gigafleet.perf.training.constants import GRAD_BYTES, OPTIMIZER_BYTES, WEIGHT_BYTES
from gigafleet.perf.training.lora import Lora, adapter_params, parse_targets
from trainhelp import GiB, est

ONE_GPU = dict(num_gpus=1, tp=1, zero=0, global_batch=1, seq_len=2048, precision="bf16")


def test_adapter_parameters_match_the_mlperf_llama2_lora_count(catalog):
    # MLPerf Llama 2 70B LoRA: r = 16 on qkv_proj and o_proj of 80 layers:
    # 80 x 16 x ((8192 + 10240) + (8192 + 8192)) = 44.6 M trainable parameters
    p = adapter_params(arch_costs(catalog.model("llama2-70b")), Lora(rank=16))
    assert p == 80 * 16 * ((8192 + 10240) + (8192 + 8192))
    every = adapter_params(
        arch_costs(catalog.model("llama2-70b")), Lora(targets=("qkv", "o", "mlp"))
    )
    assert every == p + 80 * 16 * 3 * (8192 + 28672)


def test_frozen_base_keeps_no_gradients_or_optimizer_state():
    """With one GPU and no ZeRO, pre-training holds weights + FP32 gradients + Adam state for
    every parameter; LoRA holds the weights only, plus the adapters' own state. A LoRA model
    that kept base gradients or optimizer state would fail this."""
    pre = est("llama3-8b", **ONE_GPU)
    lo = est("llama3-8b", workload="lora", lora_rank=8, **ONE_GPU)
    params = pre.info["params_total"]
    p_ad = lo.info["lora"]["params_per_adapter"]
    base_state = (GRAD_BYTES + OPTIMIZER_BYTES) * params
    adapter_state = (WEIGHT_BYTES + GRAD_BYTES + OPTIMIZER_BYTES) * p_ad
    saved = pre.item("memory_bytes_per_gpu") - lo.item("memory_bytes_per_gpu")
    adapter_acts = lo.item("memory_bytes_per_gpu") - adapter_state  # bounded below
    assert saved == pytest.approx(base_state - adapter_state, rel=0.01)
    assert adapter_acts > 0
    assert lo.item("optimizer_s") < pre.item("optimizer_s") * p_ad / params * 1.01


def test_frozen_base_runs_no_weight_gradient_gemms(catalog):
    """Backward = dgrad only: the base GEMM time is 2/3 of pre-training's; the adapters add
    three thin forward passes' worth (forward, input and weight gradients), a few percent."""
    hw = resolve_hardware(catalog, "dgx-h100")
    eff, a = efficiency_for(catalog, hw.generation), arch_costs(catalog.model("llama2-70b"))
    kw = dict(num_gpus=8, tp=4, pp=1, cp=1, ep=1, vp=1, micro_batch=1, global_batch=8,
              seq_len=8192, precision=1, zero=1, recompute=0)  # fmt: skip
    pre = training_step(a, hw, eff, **kw)["breakdown_s"]["gemm_s"]
    frozen = training_step(a, hw, eff, lora=True, **kw)["breakdown_s"]["gemm_s"]
    adapted = training_step(a, hw, eff, lora_adapters=Lora(), **kw)["breakdown_s"]["gemm_s"]
    assert float(frozen) == pytest.approx(2 / 3 * float(pre), rel=1e-9)
    assert 0 < float(adapted - frozen) < 0.1 * float(frozen)


def test_fp8_frozen_base_halves_the_weight_memory():
    bf16 = est("llama3-70b", num_gpus=8, tp=8, global_batch=8, workload="lora")
    fp8 = est("llama3-70b", num_gpus=8, tp=8, global_batch=8, workload="lora", frozen_weights="fp8")
    weights = bf16.info["params_total"] / 8  # per GPU, BF16 -> FP8 saves one byte each
    saved = bf16.item("memory_bytes_per_gpu") - fp8.item("memory_bytes_per_gpu")
    assert saved == pytest.approx(weights, rel=0.01)


def test_many_adapters_share_the_base():
    """N adapters in one job: per token the same compute as one adapter, N adapters' state,
    and the GPU-hours of an adapter refresh are about those of a job of its own."""
    one = est("llama3-8b", num_gpus=8, global_batch=64, workload="lora")
    many = est("llama3-8b", num_gpus=8, global_batch=64, workload="lora", adapters=256)
    state = (WEIGHT_BYTES + GRAD_BYTES) * one.info["lora"]["params_per_adapter"]
    grown = many.item("memory_bytes_per_gpu") - one.item("memory_bytes_per_gpu")
    assert grown > 255 * state  # N adapters' weights and gradients at least
    assert many.item("step_time_s") == pytest.approx(one.item("step_time_s"), rel=0.05)
    assert many.info["lora"]["trainable_params"] == 256 * one.info["lora"]["params_per_adapter"]


def test_gpu_hours_per_adapter_refresh_in_the_report(tmp_path):
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8",
           "--global-batch", "64", "--seq-len", "4096", "--adapters", "100", "--tokens", "1e8",
           "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    import json

    r = json.loads(p.stdout)
    lo = r["lora"]
    assert lo["adapters"] == 100 and r["strategy"]
    expected = 8 * r["time_to_train_s"] / 3600 / 100
    assert lo["gpu_hours_per_adapter"] == pytest.approx(expected, rel=1e-9)
    assert lo["gpu_hours_per_million_tokens"] == pytest.approx(
        8 * 1e6 / r["tokens_per_s"] / 3600, rel=1e-9
    )


def test_bad_lora_inputs():
    with pytest.raises(GigafleetError, match="allowed: qkv, o, mlp, experts, all"):
        parse_targets("qkv,ffn")
    assert parse_targets("all") == ("qkv", "o", "mlp", "experts")
    with pytest.raises(GigafleetError, match="workload lora"):
        est("llama3-8b", workload="sft", lora_rank=8)
    with pytest.raises(GigafleetError, match="frozen_weights"):
        est("llama3-8b", workload="lora", frozen_weights="fp4")
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8",
           "--lora-rank", "8", "--workload", "pretrain")  # fmt: skip
    assert p.returncode == 2 and "workload lora" in " ".join(p.stderr.split())
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8",
           "--lora-targets", "qkv,bogus")  # fmt: skip
    assert p.returncode == 2 and "bogus" in p.stderr


def test_a_rank_alone_makes_the_job_lora():
    from gigafleet.spec.training import TrainingJob

    job = TrainingJob(model="llama3-8b", system="dgx-h100", num_gpus=8, lora_rank=32)
    assert job.workload == "lora"
    assert TrainingJob(model="llama3-8b", system="dgx-h100", num_gpus=8).workload == "pretrain"
    assert load_catalog() is not None and GiB
