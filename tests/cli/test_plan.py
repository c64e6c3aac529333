"""Power and energy through the CLI: train, serve, plan train, validate energy, bad input."""

import json

import pytest

from clihelp import assert_user_error, gf

EXAMPLE = ("train", "--config", "examples/llama3.1-405b-h100.yaml")


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


def test_plan_train_without_a_price_prints_null_cost_with_a_note():
    # cost_usd_per_step was NaN (invalid JSON) for every system without a sourced price
    p = gf("plan", "train", "--model", "llama3-8b", "--system", "dgx-b200", "--gpus", "8,16",
           "--global-batch", "64", "--seq-len", "4096", "--top", "3", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "NaN" not in p.stdout
    r = json.loads(p.stdout)
    assert all(s["cost_usd_per_step"] is None for s in r["top"])
    assert "dgx-b200 has no price" in r["cost_note"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--gpu-hour-usd", "-1"], "--gpu-hour-usd"),  # reported a cost of -16 $/h
        (["--gpu-hour-usd", "inf"], "--gpu-hour-usd"),
        (["--requests", "2147483648"], "num_requests"),  # a 16 GiB allocation
        (["--replicas", "1000000000"], "replicas"),  # hung
    ],
)
def test_plan_serve_rejects_nonsense(args, needle):
    p = gf("plan", "serve", "--model", "llama3-8b", "--system", "dgx-h100", "--rate", "5",
           "--requests", "100", *args)  # fmt: skip
    assert_user_error(p, needle)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--site-power-mw", "inf"], "site_power_mw"),
        (["--site-power-mw", "-1"], "site_power_mw"),
        (["--gpu-hour-usd", "Infinity"], "gpu_hour_usd"),
        (["--top", "100000"], "top"),
        (["--gpus", "8-1048576000"], "num_gpus"),
    ],
)
def test_plan_train_rejects_nonsense(args, needle):
    p = gf("plan", "train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8", *args)
    assert_user_error(p, needle)
