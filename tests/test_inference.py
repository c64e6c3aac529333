"""The serving iteration model, per-user adapters and confidential computing."""

import csv

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.adapters import Tier, distinct_in_batch, lru_hit_rate, plan_adapters
from gigafleet.perf.inference import best_offline_throughput, serving_replica
from gigafleet.perf.tee import tee_costs
from gigafleet.validate.tee import fit_tolls, validate_tee


def test_decode_is_memory_bound_and_batching_pays():
    r = serving_replica("llama3-70b", "dgx-h100", tp=4, weight_precision="fp8")
    t1 = r.iteration_time(0, 1, 1000)
    t64 = r.iteration_time(0, 64, 64 * 1000)
    # one decode step reads all weights: at least weight bytes / bandwidth
    assert t1 >= r.weight_bytes_per_gpu / 3.35e12
    # 64 sequences cost far less than 64 single steps: throughput grows with the batch
    assert t64 < 8 * t1
    assert r.decode_throughput(256, 1500, 1000, 1000) > 10 * r.decode_throughput(
        1, 1500, 1000, 1000
    )


def test_prefill_is_compute_bound():
    r = serving_replica("llama3-8b", "dgx-h100", weight_precision="bf16")
    t = r.iteration_time(8192, 0, 0)
    flops = 2 * 8.03e9 * 8192
    assert t > flops / 989.4e12  # never faster than peak
    assert t < 3 * flops / 989.4e12


def test_kv_cache_capacity_and_precision():
    fp16 = serving_replica(
        "llama3-70b", "dgx-h100", tp=4, weight_precision="bf16", kv_precision="bf16"
    )
    fp8 = serving_replica(
        "llama3-70b", "dgx-h100", tp=4, weight_precision="fp8", kv_precision="fp8"
    )
    assert fp8.kv_capacity_tokens > 2 * fp16.kv_capacity_tokens
    # KV per token of Llama 3 70B: 80 layers x 2 x 8 KV heads x 128 x 2 bytes = 320 KiB
    assert fp16.kv_bytes_per_token == pytest.approx(80 * 2 * 8 * 128 * 2)


def test_moe_reads_only_routed_experts():
    import dataclasses

    r = serving_replica("mixtral-8x7b", "dgx-h100", tp=2, ep=2, weight_precision="fp8", engine=None)
    every = dataclasses.replace(r, _route_keep=0.0)  # as if every token used every expert
    # one decode token routes to 2 of 8 experts: the step skips 3/4 of the expert bytes
    saved = every.iteration_time(0, 1, 0) - r.iteration_time(0, 1, 0)
    assert saved == pytest.approx(0.75 * r._num_moe * r._expert_w_s, rel=1e-6)
    # a large batch touches every expert
    assert r.iteration_time(0, 512, 0) == pytest.approx(every.iteration_time(0, 512, 0), rel=1e-3)


def test_bad_replicas():
    with pytest.raises(GigafleetError, match="does not fit on 1 x h100-sxm"):
        serving_replica("llama3.1-405b", "dgx-h100", tp=1, weight_precision="bf16")
    with pytest.raises(GigafleetError, match="tp = 3 must divide"):
        serving_replica("llama3-70b", "dgx-h100", tp=3)
    with pytest.raises(GigafleetError, match="does not support fp4"):
        serving_replica("llama3-70b", "dgx-h100", tp=4, weight_precision="fp4")


def test_offline_throughput_uses_a_batch_that_fits():
    r = serving_replica("llama3-70b", "hgx-h200", tp=2, weight_precision="fp8")
    tps, batch = best_offline_throughput(r, prompt_tokens=1000, output_tokens=300)
    assert batch * 1300 <= r.kv_capacity_tokens
    assert tps > 1000


def test_lru_hit_rate_matches_brute_force_che():
    n, s = 5000, 0.8
    p = np.arange(1, n + 1, dtype=float) ** -s
    p /= p.sum()
    for c in (5, 50, 500):
        lo, hi = 0.0, 1.0
        while np.sum(-np.expm1(-p * hi)) < c:
            hi *= 2
        for _ in range(80):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if np.sum(-np.expm1(-p * mid)) < c else (lo, mid)
        want = np.sum(p * -np.expm1(-p * lo))
        assert lru_hit_rate(n, s, c) == pytest.approx(want, rel=2e-3)
    assert distinct_in_batch(n, s, 128) == pytest.approx(
        np.sum(-np.expm1(128 * np.log1p(-p))), rel=2e-3
    )


def test_adapter_tiers():
    tiers = [Tier("hbm", 1e4, 3e12, 0), Tier("host", 1e6, 450e9, 1e-5), Tier("nvme", 1e7, 7e9, 1e-4),
             Tier("remote", 1e12, 1.25e9, 0.02)]  # fmt: skip
    plan = plan_adapters(num_users=10**9, zipf_s=1.0, size_bytes=50e6, tiers=tiers)
    assert sum(plan.probability) == pytest.approx(1.0)
    assert plan.load_s[0] == 0 and list(plan.load_s) == sorted(plan.load_s)
    assert plan.latency_quantile(0.5) <= plan.latency_quantile(0.99)
    bigger = plan_adapters(num_users=10**9, zipf_s=1.0, size_bytes=50e6,
                           tiers=[Tier("hbm", 1e5, 3e12, 0), *tiers[1:]])  # fmt: skip
    assert bigger.probability[0] > plan.probability[0]


def test_tee_tolls_refit_and_held_out_accuracy(catalog):
    from gigafleet.validate.groundtruth import PACKAGED

    with (PACKAGED / "confidential_computing.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["tee_off"]]
    tee = catalog.params.calibration.tee
    fit = fit_tolls(rows, tee.fit_model)
    for kind, values in tee.tolls.items():
        for k, v in values.model_dump().items():
            assert fit[kind][k] == pytest.approx(v, rel=1e-3)
    out = validate_tee(catalog=catalog)
    held = [abs(r.error_pct) for r in out if r.error_pct is not None and not r.fitted]
    assert len(held) >= 20
    assert np.median(held) <= 3  # the target: overheads within 3 percentage points
    assert sum(e <= 3 for e in held) / len(held) >= 0.9
    with pytest.raises(GigafleetError, match="unknown CPU TEE"):
        tee_costs("sgx", catalog)


def test_pipeline_stages_run_in_turn():
    one = serving_replica("llama3-70b", "dgx-h100", tp=2, weight_precision="fp8")
    two = serving_replica("llama3-70b", "dgx-h100", tp=2, pp=2, weight_precision="fp8")
    # pp halves each GPU's weights but not the iteration's latency
    assert two.weight_bytes_per_gpu == pytest.approx(one.weight_bytes_per_gpu / 2)
    assert two.iteration_time(0, 8, 8000) >= one.iteration_time(0, 8, 8000)


def test_sliding_window_layers_hold_no_per_token_kv():
    m_full = serving_replica("gpt-oss-120b", "hgx-h200", tp=2, ep=2, weight_precision="fp8")
    # half of gpt-oss's attention layers use a 128-token window: only the full ones grow per token
    from gigafleet.catalog import load_catalog

    m = load_catalog().model("gpt-oss-120b")
    full_layers = m.num_layers - m.num_layers // 2
    per_token = 2 * m.kv_heads * m.dim_head * full_layers * 1.0  # fp8
    assert m_full.kv_bytes_per_token == pytest.approx(per_token)


def test_engine_efficiency_stretches_the_roofline():
    bare = serving_replica("llama3-8b", "dgx-h100", weight_precision="fp8", engine=None)
    for engine in ("tensorrt-llm", "vllm"):
        r = serving_replica("llama3-8b", "dgx-h100", weight_precision="fp8", engine=engine)
        assert 0 < r.efficiency < 1
        assert r.iteration_time(512, 64, 64 * 1000) == pytest.approx(
            bare.iteration_time(512, 64, 64 * 1000) / r.efficiency
        )
        phases = r.phase_times(512, 64, 64 * 1000)
        assert sum(phases.values()) == pytest.approx(r.iteration_time(512, 64, 64 * 1000))
    with pytest.raises(GigafleetError, match="tensorrt-llm, vllm"):
        serving_replica("llama3-8b", "dgx-h100", engine="sglang")
