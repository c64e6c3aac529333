"""A serving deployment end to end: the roofline replica, TEE tolls and adapters in the simulator,
disaggregation, bad input."""

from __future__ import annotations

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.deployment import run_serving, serving_report
from gigafleet.spec.serving import ServeJob

BASE = dict(
    model="llama3-8b", system="dgx-h100", replicas=2, precision="fp8",
    traffic=dict(rate_per_s=20, num_requests=1500, prompt_tokens=512, output_tokens=128),
)  # fmt: skip


def job(**over):
    return ServeJob.model_validate({**BASE, **over})


def test_deployment_runs_and_reports():
    r = run_serving(job())
    m = r["metrics"]
    assert m["num_requests"] == 1500
    assert 0 < m["ttft_p50_s"] <= m["ttft_p99_s"]
    assert m["output_tokens_per_s"] == pytest.approx(1500 * 128 / m["makespan_s"], rel=1e-9)
    assert r["replica"]["kv_capacity_tokens"] > 0 and m["energy_j_per_output_token"] > 0


def test_tee_mode_costs_time():
    plain, tee = run_serving(job()), run_serving(job(tee="tdx"))
    assert tee["metrics"]["ttft_mean_s"] > plain["metrics"]["ttft_mean_s"]
    assert tee["metrics"]["tpot_mean_s"] > plain["metrics"]["tpot_mean_s"]
    assert tee["tee"]["iteration_toll_s"] > 0


def test_cold_adapters_add_a_ttft_tail():
    plain = run_serving(job())
    lora = run_serving(job(adapters=dict(num_users=10**9, rank=16)))
    a = lora["adapters"]
    assert sum(a["tier_hit_rate"].values()) == pytest.approx(1.0)
    assert a["added_ttft_p99_s"] > 0
    assert lora["metrics"]["ttft_p99_s"] > plain["metrics"]["ttft_p99_s"]


def test_disaggregation_moves_kv():
    r = run_serving(job(replicas=3, prefill_replicas=1))
    assert r["metrics"]["num_kv_transfers"] == 1500


def test_bad_serving_input():
    with pytest.raises(ValueError):
        job(prefill_replicas=2, replicas=2)
    with pytest.raises(GigafleetError, match="unknown model"):
        run_serving(job(model="llama-99b"))


WIDE = dict(
    model="deepseek-v3", system="gb200-nvl72", precision="fp8", dp=16, ep=16,
    redundant_experts=16, traffic=dict(rate_per_s=60, num_requests=1200, prompt_tokens=2000,
                                       output_tokens=300), slo=dict(ttft_s=2.0, tpot_s=0.05),
)  # fmt: skip


def test_dp_attention_replica_simulates():
    r = run_serving(ServeJob.model_validate(WIDE))
    assert r["gpus"] == 16 and r["replica"]["dp"] == 16
    m = r["metrics"]
    assert m["slo_attainment"] > 0.95 and m["mean_decode_batch"] > 16


def test_mtp_drafts_raise_throughput_per_step():
    plain = run_serving(ServeJob.model_validate(WIDE))
    mtp = run_serving(ServeJob.model_validate({**WIDE, "speculative_tokens": 1, "draft": "mtp",
                                               "acceptance_rate": 0.85}))  # fmt: skip
    assert mtp["metrics"]["tpot_mean_s"] < plain["metrics"]["tpot_mean_s"]
    with pytest.raises(GigafleetError, match="no MTP modules"):
        serving_report(ServeJob.model_validate({**WIDE, "model": "mixtral-8x7b", "dp": 8, "ep": 8,
                                                "redundant_experts": 0, "speculative_tokens": 1,
                                                "draft": "mtp"}), catalog=None or __import__(
            "gigafleet.catalog", fromlist=["load_catalog"]).load_catalog())  # fmt: skip
