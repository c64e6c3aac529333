"""Scenarios: the file's errors, placement under each policy, and the report's contents."""

import json
import math
from pathlib import Path

import pytest
import yaml

from clihelp import ROOT, assert_user_error, gf
from gigafleet.errors import GigafleetError
from gigafleet.plan.scenario import run_scenario
from gigafleet.spec.scenario import Scenario, load_scenario, scenario_json_schema


def _site(name, *, power_mw=50.0, kind="owned", region="us", tee=False, system="dgx-h100",
          count=64, **extra):  # fmt: skip
    return {
        "name": name, "kind": kind, "region": region, "power_mw": power_mw,
        "confidential_computing": tee, "fleet": [{"system": system, "count": count}], **extra,
    }  # fmt: skip


def _scenario(sites, workloads, **extra):
    return Scenario.model_validate(
        {
            "name": "t",
            "timeline": {"start": "2026-01", "end": "2026-01"},
            "sites": sites,
            "workloads": workloads,
            **extra,
        }  # fmt: skip
    )


ASSISTANT = {"name": "chat", "model": "llama3.1-8b", "requests_per_day": 2e6,
             "prompt_tokens": 500, "output_tokens": 100, "slo": {"ttft_s": 1.0, "tpot_s": 0.05}}  # fmt: skip
PRIVATE = {**ASSISTANT, "name": "private"}


def _write(tmp_path, doc) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


# ---- the file ------------------------------------------------------------------------------


def test_published_schema_is_the_models_schema():
    shipped = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text())
    assert shipped == scenario_json_schema()


def test_shipped_examples_load():
    for name in ("hyperscale.yaml", "one-site.yaml"):
        load_scenario(ROOT / "examples" / name)


def test_unknown_field_names_line_and_allowed_fields(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: t\nsites:\n  - name: a\n    power_mw: 10\n    powr: 3\n"
        "    fleet: [{system: dgx-h100, count: 1}]\nworkloads: {}\n"
    )
    with pytest.raises(GigafleetError) as e:
        load_scenario(p)
    msg = str(e.value)
    assert f"{p}:5" in msg and "sites.0.powr" in msg and "power_mw" in msg


def test_unknown_system_suggests_and_names_line(tmp_path):
    doc = {"name": "t", "sites": [_site("a", system="gb300-nvl27")], "workloads": {}}
    with pytest.raises(GigafleetError) as e:
        load_scenario(_write(tmp_path, doc))
    msg = str(e.value)
    assert "sites.0.fleet.0.system" in msg and "gb300-nvl72" in msg and "s.yaml:" in msg


def test_bad_month_and_order_are_errors(tmp_path):
    doc = {"name": "t", "sites": [_site("a")], "workloads": {}}
    doc["sites"][0]["fleet"][0]["arrive"] = "2026-13"
    with pytest.raises(GigafleetError, match="arrive"):
        load_scenario(_write(tmp_path, doc))
    doc["sites"][0]["fleet"][0].update(arrive="2027-01", retire="2026-01")
    with pytest.raises(GigafleetError, match="retire"):
        load_scenario(_write(tmp_path, doc))


def test_policy_naming_an_unknown_workload_or_region_is_an_error(tmp_path):
    doc = {"name": "t", "sites": [_site("a")], "workloads": {"llm_services": [ASSISTANT]},
           "policies": {"residency": {"chta": ["us"]}}}  # fmt: skip
    with pytest.raises(GigafleetError, match="chat") as e:
        load_scenario(_write(tmp_path, doc))
    assert "policies.residency.chta" in str(e.value) and "s.yaml:" in str(e.value)
    doc["policies"] = {"residency": {"chat": ["mars"]}}
    with pytest.raises(GigafleetError, match="unknown region 'mars'; allowed: us"):
        load_scenario(_write(tmp_path, doc))


def test_infinite_power_is_an_error(tmp_path):
    doc = {"name": "t", "sites": [_site("a", power_mw=float("inf"))], "workloads": {}}
    with pytest.raises(GigafleetError, match="power_mw"):
        load_scenario(_write(tmp_path, doc))


def test_cli_bad_scenario_exits_2_and_writes_nothing(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: t\nsites: [\n")
    out = tmp_path / "out"
    r = gf("run", str(p), "--out", str(out))
    assert_user_error(r, "malformed YAML")
    assert not out.exists()


def test_owned_system_without_a_price_names_the_fleet_entry_and_line(tmp_path):
    doc = {"name": "t", "sites": [_site("a", system="gb300-nvl72", count=1)], "workloads": {}}
    p = _write(tmp_path, doc)
    r = gf("run", str(p), "--out", str(tmp_path / "out"))
    assert_user_error(r, "sites.0.fleet.0.usd_per_gpu", "no sourced server price", "s.yaml:")
    assert not (tmp_path / "out").exists()


# ---- placement under each policy ------------------------------------------------------------


def test_private_work_only_on_tee_sites():
    scn = _scenario([_site("plain"), _site("secure", tee=True)], {"private": [PRIVATE]})
    r = run_scenario(scn)
    (svc,) = r.services
    assert svc["demand_met"] == pytest.approx(1.0)
    assert {p["site"] for p in svc["placement"]} == {"secure"}


def test_private_work_without_tee_site_is_unplaced_by_policy():
    r = run_scenario(_scenario([_site("plain")], {"private": [PRIVATE]}))
    (u,) = r.unplaced
    assert u["workload"] == "private" and u["binding"].startswith("policy")


def test_residency_keeps_work_in_its_region():
    scn = _scenario(
        [_site("us-1", power_mw=100), _site("eu-1", region="eu", power_mw=100)],
        {"llm_services": [ASSISTANT]},
        policies={"residency": {"chat": ["eu"]}},
    )
    (svc,) = run_scenario(scn).services
    assert {p["site"] for p in svc["placement"]} == {"eu-1"}


def test_cloud_bursting_off_keeps_work_on_owned_sites():
    sites = [
        _site("owned", count=1),
        _site("cloud", kind="cloud", price_usd_per_gpu_hour=3.0),
    ]
    big = {**ASSISTANT, "requests_per_day": 5e8}
    on = run_scenario(_scenario(sites, {"llm_services": [big]}))
    assert "cloud" in {p["site"] for p in on.services[0]["placement"]}
    off = run_scenario(
        _scenario(sites, {"llm_services": [big]}, policies={"cloud_bursting": False})
    )
    assert {p["site"] for p in off.services[0]["placement"]} <= {"owned"}
    assert off.unplaced and off.unplaced[0]["binding"].startswith("GPUs")


def test_owned_gpus_are_used_before_cloud_ones():
    sites = [_site("owned", count=64), _site("cloud", kind="cloud", price_usd_per_gpu_hour=3.0)]
    (svc,) = run_scenario(_scenario(sites, {"llm_services": [ASSISTANT]})).services
    assert {p["site"] for p in svc["placement"]} == {"owned"}


def test_power_cap_binds():
    # 512 H100s idle at well over 0.1 MW: the site cannot serve anything within its cap
    r = run_scenario(_scenario([_site("tiny", power_mw=0.1)], {"llm_services": [ASSISTANT]}))
    assert r.warnings and r.warnings[0].startswith("power")
    (u,) = r.unplaced
    assert u["binding"].startswith("power")


def test_model_that_fits_no_gpu_count_is_a_memory_limit():
    run = {"name": "big", "model": "llama3.1-405b", "tokens": 1e9, "deadline_days": 10,
           "precision": "bf16", "max_gpus": 8}  # fmt: skip
    r = run_scenario(_scenario([_site("a")], {"training": [run]}))
    (u,) = r.unplaced
    assert u["binding"].startswith("memory")


def test_training_meets_its_deadline_with_the_fewest_gpus():
    run = {"name": "r", "model": "llama3.1-8b", "tokens": 2e11, "deadline_days": 20,
           "precision": "bf16", "seq_len": 8192, "global_batch": 512}  # fmt: skip
    r = run_scenario(_scenario([_site("a", count=128)], {"training": [run]}))
    (t,) = r.training
    assert t["days"] <= 20
    # the model's own numbers: days = tokens / throughput / ETT
    assert t["days"] * 86400 == pytest.approx(2e11 / t["tokens_per_s"] / t["ett"], rel=1e-6)
    # half the GPUs would miss the deadline (or not fit): the count is the smallest that works
    half = {**run, "max_gpus": t["num_gpus"] // 2}
    r2 = run_scenario(_scenario([_site("a", count=128)], {"training": [half]}))
    assert r2.unplaced or r2.training[0]["days"] > 20


RUN_8B = {"name": "r", "model": "llama3.1-8b", "tokens": 4e12, "deadline_days": 20,
          "precision": "bf16", "seq_len": 8192, "global_batch": 1024}  # fmt: skip


def _training(sites, runs, *, end="2026-07"):
    return run_scenario(Scenario.model_validate(
        {"name": "t", "timeline": {"start": "2026-01", "end": end}, "sites": sites,
         "workloads": {"training": runs}}
    ))  # fmt: skip


def test_training_is_sized_for_each_pool_it_could_use():
    # 128 GPUs cannot meet the deadline; 2,048 can: the run goes to the big pool in time
    r = _training([_site("small", count=16, power_mw=100), _site("big", count=256, power_mw=100)],
                  [RUN_8B])  # fmt: skip
    (t,) = r.training
    assert t["site"] == "big" and t["meets_deadline"] and t["num_gpus"] > 128


def test_training_finishes_before_its_pool_retires():
    site = _site("a", count=256, power_mw=100)
    site["fleet"][0]["retire"] = "2026-02"
    (t,) = _training([site], [{**RUN_8B, "tokens": 1e12, "deadline_days": 60}]).training
    assert t["days"] <= 31  # resized to finish within the month the pool has left


def test_site_power_room_limits_a_training_run():
    plenty = _training([_site("a", count=256, power_mw=100)], [RUN_8B]).training[0]
    tight = _training([_site("a", count=256, power_mw=1.2)], [RUN_8B])
    assert tight.unplaced or tight.training[0]["num_gpus"] < plenty["num_gpus"]
    for p in tight.periods:
        assert p["sites"][0]["facility_mw"] <= 1.2 + 1e-6 or tight.warnings


def test_runs_never_hold_more_gpus_than_the_pool():
    r1, r2 = {**RUN_8B, "name": "r1", "tokens": 1e12}, {**RUN_8B, "name": "r2", "tokens": 1e12}
    r = _training([_site("a", count=32, power_mw=100)], [r1, r2])
    for p in r.periods:
        assert p["sites"][0]["gpus_used"] <= 256
    assert len(r.training) + len(r.unplaced) == 2


def test_services_are_placed_in_whole_replicas():
    big = {**ASSISTANT, "model": "llama3.1-70b", "requests_per_day": 3e7}
    (svc,) = run_scenario(
        _scenario([_site("a", count=64, power_mw=100)], {"llm_services": [big]})
    ).services
    g = svc["replica"]["gpus_per_replica"]
    assert g > 1 and all(p["gpus"] % g == 0 for p in svc["placement"])


def test_cloud_only_fleet_needs_no_capital_price():
    cloud = _site("c", kind="cloud", system="gb300-nvl72", count=4, price_usd_per_gpu_hour=5.0)
    (svc,) = run_scenario(_scenario([cloud], {"llm_services": [ASSISTANT]})).services
    assert svc["demand_met"] == pytest.approx(1.0)
    # rented: the cost is the price per GPU-hour, nothing else
    assert svc["cost_usd_per_hour"] == pytest.approx(5.0 * svc["gpus"])


def test_site_pue_follows_cooling():
    air = run_scenario(_scenario([_site("a")], {})).sites[0]  # DGX H100: air-cooled
    liquid = run_scenario(_scenario([_site("a", cooling="liquid")], {})).sites[0]
    assert (air["cooling"], air["pue"]) == ("air", 1.5)
    assert liquid["pue"] == pytest.approx(1.10)


def test_a_query_must_fit_its_latency_budget():
    q = {"name": "rank", "queries_per_s": 10, "items_per_query": 100_000, "latency_budget_ms": 2}
    r = run_scenario(_scenario([_site("a")], {"recommendation": [q]}))
    (u,) = r.unplaced
    assert u["workload"] == "rank" and "budget" in u["binding"]


def test_generations_in_rollout_arrive_and_retire():
    site = _site("a")
    site["fleet"] = [
        {"system": "dgx-h100", "count": 10, "arrive": "2026-01", "retire": "2027-01"},
        {"system": "gb300-nvl72", "count": 2, "arrive": "2026-07", "usd_per_gpu": 50000},
    ]
    scn = Scenario.model_validate(
        {
            "name": "t",
            "timeline": {"start": "2026-01", "end": "2027-01", "step_months": 6},
            "sites": [site],
            "workloads": {},
        }  # fmt: skip
    )
    r = run_scenario(scn)
    gens = [p["sites"][0]["gpus_by_generation"] for p in r.periods]
    assert gens == [
        {"hopper": 80},
        {"hopper": 80, "blackwell-ultra": 144},
        {"blackwell-ultra": 144},
    ]


def test_recommendation_load_as_queries_or_inferences():
    q = {"name": "rank", "queries_per_s": 1000, "items_per_query": 500, "latency_budget_ms": 50}
    per_day = {"name": "rank", "inferences_per_day": 1000 * 500 * 86400.0, "latency_budget_ms": 50}
    a = run_scenario(_scenario([_site("a")], {"recommendation": [q]})).services[0]
    b = run_scenario(_scenario([_site("a")], {"recommendation": [per_day]})).services[0]
    assert a["peak_demand"] == pytest.approx(b["peak_demand"]) == pytest.approx(1000 * 500 * 1.5)
    assert a["capacity"] >= a["peak_demand"] and a["gpus"] >= 1
    assert a["replica"]["p99_latency_s"] <= 0.05
    with pytest.raises(ValueError, match="exactly one"):
        _scenario([_site("a")], {"recommendation": [{**q, "inferences_per_day": 1e9}]})


def test_daily_profile_has_the_given_peak_over_mean():
    from gigafleet.plan.scenario import daily_profile

    for p2m in (1.0, 1.3, 1.8):
        prof = daily_profile(p2m)
        assert prof.mean() == pytest.approx(1.0)
        assert prof.max() == pytest.approx(p2m, rel=0.01)


# ---- the report --------------------------------------------------------------------------------


def test_run_one_site_writes_report_and_summary(tmp_path):
    out = tmp_path / "report"
    r = gf("run", "examples/one-site.yaml", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert json.loads((out / "summary.json").read_text()) == d
    html = (out / "report.html").read_text()
    for heading in ("GPUs per site over time", "Power per site", "Training runs",
                    "Serving capacity", "Performance per watt"):  # fmt: skip
        assert heading in html
    assert "Plotly" in html and "<script src=" not in html  # plotly inlined: works offline
    (t,) = d["training"]
    assert f"{t['num_gpus']:,.0f}" in html
    s = d["services"][0]
    assert s["capacity"] >= s["peak_demand"] * 0.999 and 0 < s["slo_attainment"] <= 1
    assert math.isclose(
        s["facility_joules_per_token_at_peak"],
        s["facility_mw"] * 1e6 / s["output_tokens_per_s"],
        rel_tol=1e-9,
    )
    # over the day the GPUs sized for the peak idle part of the time: more J per token
    assert s["facility_joules_per_token"] > s["facility_joules_per_token_at_peak"]
    assert s["facility_mw_mean"] < s["facility_mw"]
    assert max(s["daily"]["utilization"]) <= 1.0
    # physics: a token cannot cost less than its FLOPs on a GPU at TDP with nothing else
    # drawing power (2 x parameters per decoded token, plus the prompt's prefill share)
    from gigafleet.catalog import load_catalog
    from gigafleet.perf.arch import arch_costs

    cat = load_catalog()
    acc = cat.accelerator(cat.system("gb300-nvl72").accelerator)
    params = arch_costs(cat.model("llama3.1-8b")).params_total
    flops = 2 * params * (1 + 1500 / 350)  # one-site: 1500-token prompts, 350 out
    floor = flops / acc.dense_flops("fp8") * acc.tdp_w
    assert s["facility_joules_per_token_at_peak"] > floor
    assert t["tokens_per_it_joule"] < 1 / (
        6 * arch_costs(cat.model("llama3.1-70b")).params_total / acc.dense_flops("fp8") * acc.tdp_w
    )


def test_compare_gb300_against_rubin():
    r = gf("compare", "examples/one-site.yaml", "examples/one-site-rubin.yaml", "--json")
    assert r.returncode == 0, r.stderr
    rows = {x["figure"]: x for x in json.loads(r.stdout)["rows"]}
    assert "facility_mw_peak" in rows and "pretrain-70b: days" in rows
    # Rubin serves a token with less energy than GB300 (more FLOP/s and HBM bandwidth per watt)
    assert rows["assistant: facility_joules_per_token"]["ratio"] < 1.0
