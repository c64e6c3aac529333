"""``gigafleet simulate``: outputs, the results query, bad input."""

import json

from clihelp import assert_user_error, gf
from scenariohelp import ASSISTANT, site_doc, write_yaml


def doc(**sim):
    return {
        "name": "tiny", "timeline": {"start": "2026-01", "end": "2026-01"},
        "sites": [site_doc("a", count=32, power_mw=10), site_doc("c", kind="cloud", count=8)],
        "workloads": {"llm_services": [ASSISTANT]},
        "simulation": {"days": 3, "research": {"arrivals_per_day": 20, "sizes": [{"gpus": 8, "share": 1}]},
                       **sim},
    }  # fmt: skip


def test_simulate_writes_shards_summary_and_report(tmp_path):
    path = write_yaml(tmp_path, doc())
    out = tmp_path / "out"
    r = gf("simulate", path, "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    s = d["summary"]
    assert d["scenario"] == "tiny" and d["days"] == 3 and d["seeds"] == [0]
    for key in ("utilization", "goodput_share", "lost_gpu_h", "mtti_by_job_size", "slo_attainment",
                "cloud", "training", "research", "energy_mwh"):  # fmt: skip
        assert key in s
    assert (out / "shard-00000.parquet").exists() and (out / "report.html").exists()
    html = (out / "report.html").read_text()
    assert "GPUs by use" in html and "Lost GPU-hours by cause" in html
    r = gf("results", "query", "SELECT count(*) AS n, min(day) AS d0, "
           "max(gpus_installed) AS g FROM results", "--dir", out, "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row == {"n": 3, "d0": 0, "g": 32 * 8}
    # a second run with --days 2 is other work: it needs another folder
    assert_user_error(gf("simulate", path, "--out", out, "--days", "2"), "holds another simulation")


def test_simulate_prints_tables(tmp_path):
    path = write_yaml(tmp_path, doc())
    r = gf("simulate", path, "--out", tmp_path / "o", "--days", "1")
    assert r.returncode == 0, r.stderr
    assert "goodput" in r.stdout and "lost GPU-hours by cause" in r.stdout


def test_bad_input_is_one_line_with_file_line_field(tmp_path):
    path = write_yaml(tmp_path, doc(power={"grid_events": [{"site": "nowhere", "start_day": 1,
                                                            "hours": 1, "shed_mw": 1}]}))  # fmt: skip
    assert_user_error((gf("simulate", path)), f"{path}:", "simulation.power.grid_events.0.site",
                      "unknown site 'nowhere'")  # fmt: skip
    bad = doc()
    bad["simulation"]["research"]["sizes"] = [{"gpus": 4096, "share": 1}]
    path = write_yaml(tmp_path, bad)
    assert_user_error((gf("simulate", path)), f"{path}:", "simulation.research.sizes.0.gpus",
                      "larger than any pool")  # fmt: skip
    bad = doc()
    bad["simulation"]["research"]["arrivals_per_day"] = -1
    path = write_yaml(tmp_path, bad)
    assert_user_error((gf("simulate", path)), f"{path}:",
                      "simulation.research.arrivals_per_day")  # fmt: skip
    assert_user_error(gf("simulate", write_yaml(tmp_path, doc()), "--seeds", "0"), "--seeds")
