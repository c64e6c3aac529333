"""``gigafleet recsys``: one service sized on one system, the training step, bad input."""

import json

from clihelp import assert_user_error, gf


def test_serve_sizes_a_feed():
    p = gf("recsys", "serve", "--model", "dlrm-v3", "--system", "gb200-nvl72", "--candidates",
           "2048", "--latency-ms", "80", "--users", "1e8", "--requests-per-user", "20",
           "--zipf", "0", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    c, dep = d["capacity"], d["deployment"]
    assert c["p99_latency_s"] <= 0.08 and c["items_per_s_per_gpu"] > 0
    assert dep["requests_per_day"] == 2e9 and dep["items_per_day"] == 2e9 * 2048
    assert dep["gpus"] % c["gpus_per_replica"] == 0
    assert dep["gpus"] * c["items_per_s_per_gpu"] >= dep["peak_items_per_s"]
    assert dep["facility_mw_peak"] > dep["facility_mw_mean"] > 0
    assert d["cost"]["cloud_usd_per_billion_items"] > 0
    assert c["tiers"]["host_link"] == "nvlink-c2c" and c["tiers"]["hit_host"] > 0


def test_serve_prints_and_a_user_hstu_config():
    p = gf("recsys", "serve", "--model", "dlrm-v3", "--system", "dgx-b200", "--hstu-layers",
           "10", "--history", "2000", "--candidates", "512")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "items ranked / s / GPU" in p.stdout and "calibration" in p.stdout
    a = json.loads(gf("recsys", "serve", "--model", "dlrm-v3", "--system", "dgx-b200",
                      "--history", "2000", "--candidates", "512", "--json").stdout)  # fmt: skip
    b = json.loads(gf("recsys", "serve", "--model", "dlrm-v3", "--system", "dgx-b200",
                      "--hstu-layers", "10", "--history", "2000", "--candidates", "512",
                      "--json").stdout)  # fmt: skip
    assert b["capacity"]["flops_per_unit"] > 1.8 * a["capacity"]["flops_per_unit"]


def test_bad_input_is_one_line_naming_the_field():
    assert_user_error(gf("recsys", "serve", "--model", "dlrm-v4", "--system", "dgx-h100"),
                      "did you mean", "dlrm-v3")  # fmt: skip
    assert_user_error(gf("recsys", "serve", "--system", "dgx-h100", "--candidates", "0"),
                      "items_per_query", "--candidates")  # fmt: skip
    assert_user_error(gf("recsys", "serve", "--model", "dlrm-v3", "--system", "dgx-h100",
                         "--latency-ms", "0.5"), "latency_budget_ms", "budget")  # fmt: skip
    assert_user_error(gf("recsys", "serve", "--model", "hstu-production-ranker", "--system",
                         "dgx-b200"), "model", "do not fit")  # fmt: skip
    assert_user_error(gf("recsys", "serve", "--model", "dlrm-v2", "--system", "dgx-h100",
                         "--hstu-layers", "4"), "hstu", "not an HSTU model")  # fmt: skip
    assert_user_error(gf("recsys", "serve", "--system", "dgx-h100", "--qps", "10", "--users",
                         "5", "--requests-per-user", "2"), "at most one")  # fmt: skip


def test_train_against_mlperf():
    p = gf("recsys", "train", "--gpus", "8", "--mlperf", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["step"]["samples_per_s"] > 0 and len(d["mlperf"]) == 8
