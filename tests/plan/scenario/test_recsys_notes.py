"""Recommendation in ``gigafleet compare``: the same feed on Grace hosts (cold rows over
NVLink-C2C) against x86 hosts (PCIe), and the hyperscale feed's production ranker."""

import json

from clihelp import gf


def test_compare_shows_grace_against_x86():
    p = gf("compare", "examples/recsys-x86.yaml", "examples/recsys-grace.yaml", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    (n,) = d["recommendation"]
    a, b = n["a"], n["b"]
    assert a["host_link"] == "pcie5" and b["host_link"] == "nvlink-c2c"
    assert a["host_share"] > 0 and b["host_share"] > 0  # 1 TB of tables: cold rows in host memory
    assert b["unit_time_s"]["host link"] < a["unit_time_s"]["host link"] / 2
    assert n["items_per_gpu_ratio"] > 1
    figures = {r["figure"] for r in d["rows"]}
    assert "feed: usd_per_billion_inferences" in figures
    text = gf("compare", "examples/recsys-x86.yaml", "examples/recsys-grace.yaml").stdout
    assert "nvlink-c2c" in text and "pcie5" in text
