"""Reliability validation and the reliability/cost faces of train, serve and plan."""

import json

import pytest

from clihelp import assert_user_error, gf
from gigafleet.errors import GigafleetError
from gigafleet.validate.reliability import validate_reliability


def test_validate_reliability_llama3_and_held_out():
    rows, summary = validate_reliability()
    by = {r.row_id: r for r in rows}
    # the Llama 3 target: ~419 unexpected interruptions in 54 days within 15%, ETT above 90%
    assert by["R01"].predicted == pytest.approx(419, rel=0.15)
    assert by["R09"].metric == "ett_pct" and by["R09"].predicted > 90
    assert by["R01"].fitted and not by["R09"].fitted and not by["H01"].fitted
    assert set(summary["by_calibration"]) == {"fitted", "held_out", "same_job_as_fit"}
    held = summary["by_calibration"]["held_out"]
    assert held["num"] >= 5 and held["median_abs_error_pct"] is not None


def test_validate_reliability_bad_rows(tmp_path):
    head = "row_id,study,system,num_gpus,period_days,metric,components,measured,bound,num_params,planned_per_day,fitted\n"
    f = tmp_path / "r.csv"
    f.write_text(head + "X1,s,dgx-h100,8,7,interruptions,gpu+fan,1,,,,false\n")
    with pytest.raises(GigafleetError, match="unknown failure component 'fan'"):
        validate_reliability(f)
    f.write_text(
        head
        + "X1,s,dgx-h100,8,7,interruptions,gpu,n/a,,,,false\nX2,s,nope,8,7,interruptions,gpu,1,,,,false\n"
    )
    rows, summary = validate_reliability(f)
    assert summary["num_predicted"] == 0 and all(r.skipped_reason for r in rows)


def test_cli_validate_reliability_json_shape():
    p = gf("validate", "reliability", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    for k in ("num_rows", "num_predicted", "median_abs_error_pct", "p90_abs_error_pct"):
        assert k in r["summary"]
    for k in ("row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"):
        assert k in r["rows"][0]
    bad = gf("validate", "reliability", "--data", "pyproject.toml")
    assert_user_error(bad, "missing columns")


def test_cli_train_reports_reliability_and_cost():
    p = gf(
        "train",
        "--config",
        "examples/llama3.1-405b-h100.yaml",
        "--json",
        "--planned-per-day",
        "0.87",
    )
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    rel, cost = r["reliability"], r["cost"]
    assert rel["failures_per_day"] * 54 == pytest.approx(419, rel=0.01)
    assert 0.9 < rel["ett"] < 1 and rel["wall_time_s"] > r["time_to_train_s"]
    assert rel["checkpoint_interval_s"] > 0 and rel["mtbf_s"] == pytest.approx(
        86400 / rel["failures_per_day"]
    )
    assert cost["cloud_usd"] == pytest.approx(cost["gpu_hours"] * 2.0)
    assert cost["gpu_hours"] == pytest.approx(16384 * rel["wall_time_s"] / 3600)
    assert 0 < cost["owned_usd"] < cost["cloud_usd"]
    assert 0 < cost["break_even_utilization"] < 1
    slow = gf("train", "--config", "examples/llama3.1-405b-h100.yaml", "--json",
              "--storage-tbytes-per-s", "0.05", "--price-usd-per-gpu-hour", "3")  # fmt: skip
    s = json.loads(slow.stdout)
    assert s["reliability"]["ett"] < rel["ett"] and s["cost"]["cloud_usd_per_gpu_hour"] == 3


def test_cli_train_table_without_tokens():
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8")
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.split())
    assert "effective training time" in text and "per GPU-hour" in text and "--tokens" in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--storage-tbytes-per-s", "-1"], "--storage-tbytes-per-s"),
        (["--restart-overhead-s", "-5"], "--restart-overhead-s"),
        (["--utilization", "1.5"], "utilization"),
        (["--price-usd-per-gpu-hour", "0"], "--price-usd-per-gpu-hour"),
    ],
)
def test_cli_train_bad_reliability_and_cost_options(args, needle):
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8", *args)
    assert_user_error(p, needle)
    assert len(p.stderr.strip().splitlines()) == 1


def test_cli_train_unknown_component_in_rates_file(tmp_path):
    f = tmp_path / "rates.yaml"
    f.write_text("components:\n  gpus:\n    unit: gpu\n    rate_per_hour: 1e-6\n")
    p = gf(
        "train",
        "--model",
        "llama3-8b",
        "--system",
        "dgx-h100",
        "--gpus",
        "8",
        "--failure-rates",
        str(f),
    )
    assert_user_error(p, str(f), "failure_rates.components.gpus", "did you mean 'gpu'")


def test_cli_serve_cost_per_million_tokens():
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--requests", "300", "--rate", "5",
           "--json", "--price-usd-per-gpu-hour", "2.5")  # fmt: skip
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    c, m = r["cost"], r["metrics"]
    expected = 1e6 * r["gpus"] * 2.5 / 3600 / m["output_tokens_per_s"]
    assert c["cloud_usd_per_million_output_tokens"] == pytest.approx(expected)
    assert c["owned_usd_per_million_output_tokens"] > 0


def test_cli_plan_train_cost_objective_uses_cost_model():
    p = gf("plan", "train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8,16",
           "--global-batch", "64", "--objective", "cost", "--top", "3", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    costs = [s["cost_usd_per_step"] for s in r["top"]]
    assert costs == sorted(costs) and costs[0] > 0 and 0 < r["top"][0]["ett"] <= 1
    bad = gf("plan", "train", "--model", "llama3-8b", "--system", "dgx-b200", "--gpus", "8",
             "--global-batch", "64", "--objective", "cost")  # fmt: skip
    assert_user_error(bad, "--gpu-hour-usd")
