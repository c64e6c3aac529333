"""``gigafleet run`` and ``gigafleet compare`` end to end: exit codes, files written, and the
figures of the shipped examples."""

import json
import math

import pytest

from clihelp import ROOT, assert_user_error, gf
from scenariohelp import site_doc, write_yaml


def test_cli_bad_scenario_exits_2_and_writes_nothing(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: t\nsites: [\n")
    out = tmp_path / "out"
    r = gf("run", str(p), "--out", str(out))
    assert_user_error(r, "malformed YAML")
    assert not out.exists()


def test_owned_system_without_a_price_names_the_fleet_entry_and_line(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a", system="dgx-b200", count=1)], "workloads": {}}
    p = write_yaml(tmp_path, doc)
    r = gf("run", str(p), "--out", str(tmp_path / "out"))
    assert_user_error(r, "sites.0.fleet.0.usd_per_gpu", "no sourced server price", "s.yaml:")
    assert not (tmp_path / "out").exists()


def test_run_one_site_writes_report_and_summary(tmp_path):
    out = tmp_path / "report"
    r = gf("run", "examples/one-site.yaml", "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert json.loads((out / "summary.json").read_text()) == d
    html = (out / "report.html").read_text()
    for heading in ("GPUs installed and used", "Power per site", "Placement", "Training runs",
                    "Serving capacity", "Performance per watt", "Own or rent",
                    "Capital and running cost", "Sites: headroom and what binds"):  # fmt: skip
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


def test_impossible_cooling_exits_2_naming_line_and_writes_nothing(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a", system="gb300-nvl72", count=1, cooling="air")],
           "workloads": {}}  # fmt: skip
    p = write_yaml(tmp_path, doc)
    r = gf("run", str(p), "--out", str(tmp_path / "out"))
    assert_user_error(r, "s.yaml:", "sites.0.cooling", "air-cooled gb300-nvl72", "allowed: liquid")
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_cap_below_the_idle_draw_exits_2_naming_the_site_line(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a", count=64, power_mw=0.1)], "workloads": {}}
    p = write_yaml(tmp_path, doc)
    r = gf("run", str(p), "--out", str(tmp_path / "out"))
    line = next(i for i, x in enumerate(p.read_text().splitlines(), 1) if "power_mw" in x)
    assert_user_error(r, f"s.yaml:{line}:", "sites.0.power_mw", "idle draw", "at least")
    assert not (tmp_path / "out").exists()


def test_a_request_longer_than_the_context_window_exits_2_naming_its_line(tmp_path):
    """Issue 13 (a fuzzed hang: 350,000 output tokens simulated for minutes): a prompt and
    its output share the model's context window (max_seq_len), checked before any work."""
    svc = {"name": "chat", "model": "llama3.1-8b", "requests_per_day": 1e6,
           "prompt_tokens": 1500, "output_tokens": 350000}  # fmt: skip
    doc = {"name": "t", "sites": [site_doc("a", count=8)], "workloads": {"llm_services": [svc]}}
    p = write_yaml(tmp_path, doc)
    r = gf("run", str(p), "--out", str(tmp_path / "out"))
    line = next(i for i, x in enumerate(p.read_text().splitlines(), 1) if "output_tokens" in x)
    assert_user_error(r, f"s.yaml:{line}:", "llm_services.0.output_tokens", "context window",
                      "131,072")  # fmt: skip
    assert not (tmp_path / "out").exists()
    svc["prompt_tokens"] = 1e9  # a fuzzed traceback: beyond any window, caught by the schema
    r = gf("run", str(write_yaml(tmp_path, doc)), "--out", str(tmp_path / "out"))
    assert_user_error(r, "llm_services.0.prompt_tokens", "less than or equal to 10000000")
    s = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--prompt-tokens", "8000",
           "--output-tokens", "500")  # fmt: skip
    assert_user_error(s, "output_tokens", "context window of llama3-8b (8,192 tokens")


def test_sensitivity_command_reports_each_lever(tmp_path):
    out = tmp_path / "o"
    r = gf("sensitivity", "examples/one-site.yaml", "--lever", "pue", "--lever", "electricity",
           "--out", str(out), "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert [x["label"] for x in s["levers"]] == [
        "PUE -0.05",
        "PUE +0.05",
        "electricity price -10%",
        "electricity price +10%",
    ]
    assert s["levers"][0]["delta"]["facility_mw_mean"] < 0
    assert "What one step is worth" in (out / "report.html").read_text()
    bad = gf(
        "sensitivity", "examples/one-site.yaml", "--lever", "pew", "--out", str(tmp_path / "x")
    )
    assert_user_error(bad, "--lever", "unknown lever 'pew'", "pue")
    assert not (tmp_path / "x").exists()


def test_compare_carries_a_catalog_per_side_and_flags_extrapolation():
    r = gf("compare", "examples/one-site-private.yaml", "examples/one-site-private.yaml",
           "--catalog-b", "examples/overlays/x86-hosts.yaml", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = {x["figure"]: x for x in json.loads(r.stdout)["rows"]}
    gpus = rows["messages: gpus"]
    # TEE tolls were measured with x86 CPU TEEs: on Grace (A) extrapolated, on x86 (B) not
    assert gpus["tag_a"] == "extrapolated" and gpus["tag_b"] == "interpolated"
    assert any("applied to grace" in w for w in gpus["why"])
    # the host changes the power: a Xeon 6776P draws more than a Grace
    assert rows["facility_mw_mean"]["ratio"] > 1.0


@pytest.mark.slow
def test_every_compare_in_the_readme_runs():
    import re
    import shlex

    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    commands = re.findall(r"^gigafleet compare (.*?)(?:\s+#.*)?$", text, re.M)
    commands = [c for c in commands if "my-variant" not in c]
    assert len(commands) >= 5
    for c in commands:
        r = gf("compare", *shlex.split(c), "--json")
        assert r.returncode == 0, (c, r.stderr)
        assert json.loads(r.stdout)["rows"], c


def test_run_into_a_folder_named_like_the_report_writes_nothing(tmp_path):
    # summary.json was written, then report.html failed naming a temporary file
    scn = write_yaml(tmp_path, {"name": "tiny", "sites": [site_doc("dc-1")], "workloads": {}})
    (tmp_path / "o" / "report.html").mkdir(parents=True)
    p = gf("run", scn, "--out", tmp_path / "o", "--json")
    assert_user_error(p, "report.html is a folder")
    assert sorted(x.name for x in (tmp_path / "o").iterdir()) == ["report.html"]
