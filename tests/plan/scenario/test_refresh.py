"""Refreshing personal models: the training side of one adapter per user, sized by the LoRA
model and placed like a service."""

import pytest

from gigafleet.perf.training import estimate_training
from gigafleet.plan.scenario import run_scenario
from gigafleet.spec.scenario import AdapterRefresh
from scenariohelp import ASSISTANT, scenario_of, site_doc

REFRESH = {"name": "refresh", "model": "llama3.1-8b", "num_users": 1_000_000,
           "tokens_per_user": 20_000, "refresh_days": 7, "adapters_per_job": 64}  # fmt: skip


def test_demand_is_tokens_to_train_per_second():
    w = AdapterRefresh(**REFRESH)
    assert w.requests_per_day == pytest.approx(1e6 * 2e4 / 7)
    assert w.peak_to_mean == 1.0  # batch work: flat over the day
    with pytest.raises(ValueError, match="unknown LoRA target ffn; allowed: qkv, o, mlp"):
        AdapterRefresh(**REFRESH, lora_targets="qkv,ffn")


def test_refresh_is_sized_by_the_lora_model_and_placed():
    r = run_scenario(scenario_of([site_doc("a", count=64)], {"adapter_refresh": [REFRESH]}))
    (row,) = r.services
    assert row["kind"] == "adapter_refresh" and row["unit"] == "tokens/s"
    assert row["demand_met"] == 1.0 and not r.unplaced
    job = row["replica"]
    # the job's throughput is the LoRA estimate of its strategy, 64 adapters on one base
    s = job["strategy"]
    est = estimate_training(
        "llama3.1-8b", "dgx-h100", num_gpus=job["gpus_per_replica"], seq_len=4096,
        global_batch=64, tp=s["tp"], pp=s["pp"], cp=s["cp"], vp=s["vp"],
        micro_batch=s["micro_batch"], zero=s["zero"], recompute=s["recompute"],
        precision="fp8", workload="lora", lora_rank=16, adapters=64,
    )  # fmt: skip
    assert job["tokens_per_s_per_gpu"] == pytest.approx(est.item("tokens_per_s_per_gpu"), rel=1e-6)
    # GPUs placed: enough whole jobs for the demand
    need = row["peak_demand"] / job["tokens_per_s_per_gpu"]
    assert need <= row["gpus"] < need + 2 * job["gpus_per_replica"]
    # an adapter refresh costs its tokens at the job's rate
    assert row["gpu_hours_per_adapter_refresh"] == pytest.approx(
        2e4 / job["tokens_per_s_per_gpu"] / 3600
    )
    assert row["adapter_refreshes_per_day"] == pytest.approx(1e6 / 7, rel=1e-6)
    assert row["usd_per_adapter_refresh"] > 0


def test_refresh_shares_the_fleet_with_serving_and_follows_training_policy():
    big = {**REFRESH, "num_users": 200_000_000}
    r = run_scenario(
        scenario_of(
            [site_doc("a", count=4)], {"adapter_refresh": [big], "llm_services": [ASSISTANT]}
        )
    )
    rows = {x["workload"]: x for x in r.services}
    assert rows["refresh"]["gpus"] + rows["chat"]["gpus"] <= 32
    assert any(u["workload"] == "refresh" for u in r.unplaced)  # 32 GPUs cannot train it all
    cloud = site_doc("c", kind="cloud", count=64)
    r2 = run_scenario(scenario_of([cloud], {"adapter_refresh": [REFRESH]}))
    (u,) = r2.unplaced
    assert "training stays on owned sites" in u["binding"]


def test_a_base_that_fits_no_job_is_a_memory_limit():
    huge = {**REFRESH, "model": "llama3.1-405b", "precision": "bf16"}
    r = run_scenario(scenario_of([site_doc("a", count=1)], {"adapter_refresh": [huge]}))
    (u,) = r.unplaced
    assert u["binding"].startswith("memory")
