"""A wide-EP serving deployment simulated end to end: DP attention, redundant experts, MTP."""

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.deployment import run_serving, serving_report
from gigafleet.spec.serving import ServeJob

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
