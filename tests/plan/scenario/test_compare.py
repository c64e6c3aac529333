"""Comparing two results: headline totals, then the runs and services present in both."""

import pytest

from gigafleet.plan.scenario import compare_results


def _result(totals, training, services):
    return {"totals": totals, "training": training, "services": services}


def _run(name, days):
    return {"workload": name, "days": days, "num_gpus": 1024.0, "mfu": 0.4,
            "energy_gwh": 2.0, "cost_usd": 1e6, "tokens_per_it_joule": 5.0}  # fmt: skip


def test_totals_then_shared_workloads_with_ratios():
    a = _result(
        {"gpus_peak": 100.0, "num_unplaced": 0.0},
        [_run("pre", 10.0), _run("only-a", 3.0)],
        [{"workload": "chat", "gpus": 8.0, "slo_attainment": 1.0, "usd_per_million_tokens": 0.2}],
    )
    b = _result(
        {"gpus_peak": 150.0},
        [_run("pre", 5.0)],
        [{"workload": "chat", "gpus": 4.0, "slo_attainment": 0.5, "facility_mw": 1.0}],
    )
    rows = compare_results(a, b)
    by = {r["figure"]: r for r in rows}
    assert [r["figure"] for r in rows[:2]] == ["gpus_peak", "num_unplaced"]
    assert by["gpus_peak"]["ratio"] == pytest.approx(1.5)
    # a total missing from B counts as 0; a zero in A has no ratio
    assert by["num_unplaced"] == {"figure": "num_unplaced", "a": 0.0, "b": 0.0, "ratio": None,
                                  "tag_a": "", "tag_b": "", "why": []}  # fmt: skip
    assert by["pre: days"]["ratio"] == pytest.approx(0.5)
    assert {f"pre: {k}" for k in ("num_gpus", "mfu", "energy_gwh", "cost_usd",
                                  "tokens_per_it_joule")} <= set(by)  # fmt: skip
    assert not any(f.startswith("only-a") for f in by)  # not in B: not compared
    assert by["chat: gpus"]["ratio"] == pytest.approx(0.5)
    assert by["chat: slo_attainment"]["b"] == 0.5
    # a figure only one side has is left out
    assert "chat: usd_per_million_tokens" not in by and "chat: facility_mw" not in by


def test_each_figure_says_where_it_stands_on_each_side():
    ext = {"tag": "extrapolated", "why": ["TEE tolls measured on x86 hosts, applied to grace"]}
    a = _result({"gpus_peak": 8.0}, [], [{"workload": "m", "gpus": 8.0, "basis": ext}])
    a["tags"] = {"gpus_peak": ext}
    b = _result({"gpus_peak": 8.0}, [], [{"workload": "m", "gpus": 8.0,
                                          "basis": {"tag": "interpolated", "why": []}}])  # fmt: skip
    by = {r["figure"]: r for r in compare_results(a, b)}
    assert (by["m: gpus"]["tag_a"], by["m: gpus"]["tag_b"]) == ("extrapolated", "interpolated")
    assert by["m: gpus"]["why"] == ext["why"] and by["gpus_peak"]["tag_b"] == ""
