"""Power and energy through the CLI: train, serve, plan train, validate energy, bad input."""

import json

import pytest

from clihelp import assert_user_error, gf

EXAMPLE = ("train", "--config", "examples/llama3.1-405b-h100.yaml")


def test_train_power_lines_and_cap():
    p = gf(*EXAMPLE, "--pue", "1.09", "--grid-gco2-per-kwh", "400")
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.split())
    for needle in ("GPU power (average / peak)", "job IT power", "facility power (PUE 1.09",
                   "energy per step (IT / facility)", "tokens per joule", "energy to train",
                   "carbon to train (400 gCO2/kWh)"):  # fmt: skip
        assert needle in text, needle
    free = json.loads(gf(*EXAMPLE, "--json").stdout)
    capped = json.loads(gf(*EXAMPLE, "--power-cap-w", "450", "--json").stdout)
    assert capped["step_time_s"] > free["step_time_s"]
    assert capped["power"]["dvfs_speed"] < 1 and capped["power"]["gpu_power_peak_w"] <= 450
    assert capped["time_to_train_s"] > free["time_to_train_s"]
    assert sum(capped["breakdown_s"].values()) == pytest.approx(capped["step_time_s"], rel=1e-9)
    assert free["power"]["pue"] == pytest.approx(1.5)  # air-cooled H100 hall by default
    assert free["power_w_per_gpu"] == pytest.approx(free["power"]["gpu_power_avg_w"])


def test_train_bad_energy_input():
    assert_user_error(gf(*EXAMPLE, "--pue", "-1"), "PUE must be >= 1")
    assert_user_error(gf(*EXAMPLE, "--power-cap-w", "20"), "power_cap_w", "idle")
    assert_user_error(
        gf("train", "--model", "llama3-8b", "--system", "dgx-h101", "--gpus", "8"), "unknown system"
    )


def test_plan_energy_objective_and_site_power():
    base = ("plan", "train", "--model", "llama3-70b", "--system", "dgx-h100", "--gpus", "64",
            "--global-batch", "256", "--top", "3", "--json")  # fmt: skip
    time_plan = json.loads(gf(*base).stdout)
    energy_plan = json.loads(gf(*base, "--objective", "energy").stdout)
    assert energy_plan["top"][0]["energy_j_per_step"] <= time_plan["top"][0]["energy_j_per_step"]
    peak = max(s["facility_power_peak_w"] for s in energy_plan["top"])
    limited = json.loads(gf(*base, "--site-power-mw", str(peak / 1e6 * 0.999)).stdout)
    assert limited["num_over_site_power"] > 0
    assert all(s["facility_power_peak_w"] <= peak * 0.999 for s in limited["top"])
    p = gf(*base[:-1], "--site-power-mw", "0.01")
    assert p.returncode == 0 and "exceed the site power limit" in " ".join(p.stdout.split())
    assert_user_error(gf(*base, "--site-power-mw", "-3"), "site_power_mw")


def test_serve_power_lines():
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--precision", "fp8",
           "--rate", "4", "--requests", "300", "--prompt-tokens", "256", "--output-tokens", "64")  # fmt: skip
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.split())
    assert "GPU power (busy / idle)" in text and "energy per output token (IT)" in text


def test_validate_energy_json():
    p = gf("validate", "energy", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    s = r["summary"]
    assert s["num_predicted"] > 0 and s["median_abs_error_pct"] is not None
    assert {"row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"} <= set(
        r["rows"][0]
    )
    t = gf("validate", "energy")
    assert t.returncode == 0 and "rows predicted" in " ".join(t.stdout.split())
    assert_user_error(gf("validate", "energy", "--data", "no/such.csv"), "no/such.csv")
