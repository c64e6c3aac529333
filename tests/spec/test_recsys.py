"""A recommendation feed as a scenario describes it, and ``recsys serve``'s job: its load
forms, the funnel, a user's HSTU changes and the errors they name."""

import pytest
from pydantic import ValidationError

from gigafleet.errors import GigafleetError
from gigafleet.plan.scenario import run_scenario
from gigafleet.spec.recsys import RecsysJob
from gigafleet.spec.scenario import RecommendationService, load_scenario
from scenariohelp import scenario_of, site_doc, write_yaml

FEED = {"name": "feed", "model": "dlrm-v3", "daily_active_users": 1e8,
        "requests_per_user_per_day": 10, "items_per_query": 2048, "latency_budget_ms": 80}  # fmt: skip


def test_a_feed_is_users_times_requests_times_candidates():
    f = RecommendationService(**FEED)
    assert f.queries_per_day == 1e9 and f.requests_per_day == 1e9 * 2048
    q = RecommendationService(name="q", queries_per_s=10, items_per_query=5)
    assert q.queries_per_day == 864000 and q.requests_per_day == 864000 * 5
    with pytest.raises(ValidationError, match="together"):
        RecommendationService(name="x", daily_active_users=1e6)
    with pytest.raises(ValidationError, match="exactly one"):
        RecommendationService(**FEED, queries_per_s=3)
    with pytest.raises(ValidationError, match="items_per_query"):
        RecommendationService(**{**FEED, "items_per_query": 0})
    with pytest.raises(ValidationError, match="far_tb_per_node"):
        RecommendationService(**FEED, far_tier="ssd")
    job = RecsysJob(system="dgx-h100")  # no load: per GPU only
    assert not job.has_load and job.name == "recommendation"


def test_scenario_sizes_the_feed_and_a_user_hstu_config():
    site = site_doc("a", system="gb200-nvl72", count=4)
    site["fleet"][0]["usd_per_gpu"] = 45000
    sites = [site]
    base = run_scenario(scenario_of(sites, {"recommendation": [FEED]})).services[0]
    deeper = {**FEED, "hstu": {"num_layers": 10}}
    more = run_scenario(scenario_of(sites, {"recommendation": [deeper]})).services[0]
    assert base["demand_met"] == 1.0 and more["gpus"] > base["gpus"]
    rep = base["replica"]
    assert rep["p99_latency_s"] <= 0.08 and rep["embedding_tiers"]["host_link"] == "nvlink-c2c"
    assert rep["calibration"].startswith("extrapolated")
    assert base["usd_per_billion_inferences"] > 0


def test_unknown_model_and_bad_hstu_change_name_their_field(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a")],
           "workloads": {"recommendation": [{**FEED, "model": "dlrm-v4"}]}}  # fmt: skip
    with pytest.raises(GigafleetError, match="did you mean") as e:
        load_scenario(write_yaml(tmp_path, doc))
    assert "workloads.recommendation.0.model" in str(e.value)
    bad = scenario_of([site_doc("a")], {"recommendation": [{**FEED, "hstu": {"max_seq_len": 100}}]})
    with pytest.raises(GigafleetError, match="no room for a history") as e:
        run_scenario(bad)
    assert e.value.field == "hstu"
