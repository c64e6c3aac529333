"""End to end: the CLI on the shipped example and on bad input."""

import json

import pytest

from clihelp import assert_user_error, gf


def test_train_shipped_example_json():
    p = gf("train", "--config", "examples/llama3.1-405b-h100.yaml", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["feasible"] and r["model"] == "llama3.1-405b" and r["num_gpus"] == 16384
    for key in (
        "step_time_s",
        "tokens_per_s",
        "tokens_per_s_per_gpu",
        "model_tflops_per_gpu",
        "mfu",
        "memory_gib_per_gpu",
        "breakdown_s",
        "power_w_per_gpu",
        "energy_j_per_step",
        "time_to_train_s",
    ):
        assert key in r
    assert r["strategy"]["dp"] == 128
    assert sum(r["breakdown_s"].values()) == pytest.approx(r["step_time_s"], rel=1e-9)


def test_train_table_and_option_override():
    p = gf(
        "train",
        "--config",
        "examples/llama3.1-405b-h100.yaml",
        "--precision",
        "bf16",
        "--tokens",
        "1e12",
    )
    assert p.returncode == 0, p.stderr
    assert (
        "tokens/s per GPU" in p.stdout
        and "Where the step goes" in p.stdout
        and "time to train" in p.stdout
    )


def test_train_without_config():
    p = gf(
        "train",
        "--model",
        "LLAMA3_8B",
        "--system",
        "DGX-H100",
        "--gpus",
        "8",
        "--precision",
        "fp8",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["model"] == "llama3-8b"


@pytest.mark.parametrize(
    "args, needles",
    [
        (
            ["--model", "llama3.1-450b", "--system", "dgx-h100", "--gpus", "8"],
            ["unknown model 'llama3.1-450b'", "did you mean", "llama3.1-405b"],
        ),
        (
            ["--model", "llama3-8b", "--system", "dgx-h1000", "--gpus", "8"],
            ["unknown system 'dgx-h1000'", "dgx-h100"],
        ),
        (
            ["--model", "llama3-70b", "--system", "dgx-h100", "--gpus", "64", "--tp", "3"],
            ["tp x pp x cp = 3 x 1 x 1 = 3 must divide num_gpus = 64"],
        ),
        (
            ["--model", "llama3-70b", "--system", "dgx-h100", "--gpus", "48", "--pp", "3"],
            ["must divide the 80 layers"],
        ),
        (
            ["--model", "llama3-70b", "--system", "dgx-h100", "--gpus", "-8"],
            ["num_gpus", "greater than 0"],
        ),
        (
            ["--model", "llama3-70b", "--system", "dgx-h100", "--gpus", "8", "--precision", "fp16"],
            ["precision", "'bf16', 'fp8' or 'fp4'"],
        ),
        (
            ["--model", "llama3-70b", "--system", "dgx-h100", "--gpus", "8", "--precision", "fp4"],
            ["not supported by h100-sxm", "allowed: bf16, fp8"],
        ),
        (["--model", "llama3-70b", "--system", "dgx-h100"], ["num_gpus", "Field required"]),
    ],
)
def test_train_bad_input(args, needles):
    assert_user_error(gf("train", *args), *needles)


def test_train_bad_config_names_line_and_field(tmp_path):
    f = tmp_path / "job.yaml"
    f.write_text("model: llama3-70b\nsystem: dgx-h100\nnum_gpus: 64\ntensor_parallel: 8\n")
    assert_user_error(
        gf("train", "--config", str(f)), f"{f}:4", "tensor_parallel", "unknown field", "tp"
    )
    f.write_text("model: llama3-70b\nsystem: dgx-h100\nnum_gpus: 64\ntp: [8\n")
    assert_user_error(gf("train", "--config", str(f)), "malformed YAML", "line 5")


def test_override_errors_name_the_command_line():
    p = gf("train", "--config", "examples/llama3.1-405b-h100.yaml", "--gpus", "-8")
    assert_user_error(p, "command line", "num_gpus")
    ok = gf(
        "train",
        "--config",
        "examples/llama3.1-405b-h100.yaml",
        "--no-uneven-layers",
        "--vp",
        "1",
        "--pp",
        "2",
        "--json",
    )
    assert ok.returncode == 0, ok.stderr


def test_train_cuda_graphs_option():
    args = ["train", "--model", "qwen3-30b-a3b", "--system", "dgx-h100", "--gpus", "16"]
    args += ["--seq-len", "4096", "--global-batch", "512", "--ep", "8", "--json"]
    plain, graphs = json.loads(gf(*args).stdout), json.loads(gf(*args, "--cuda-graphs").stdout)
    assert graphs["strategy"]["cuda_graphs"] and not plain["strategy"]["cuda_graphs"]
    assert plain["breakdown_s"]["moe_fixed_s"] > 0 == graphs["breakdown_s"]["moe_fixed_s"]
    assert graphs["tokens_per_s_per_gpu"] > plain["tokens_per_s_per_gpu"]


def test_binary_files_are_refused_cleanly(tmp_path):
    f = tmp_path / "bin.yaml"
    f.write_bytes(b"\xff\xfe\x00garbage")
    assert_user_error(gf("train", "--config", str(f)), "not a text (UTF-8) file")
    assert_user_error(
        gf(
            "train",
            "--model",
            "llama3-8b",
            "--system",
            "dgx-h100",
            "--gpus",
            "8",
            "--catalog",
            str(f),
        ),
        str(f),
    )
    assert_user_error(gf("validate", "training", "--data", str(f)), str(f))


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
    zero = gf(*EXAMPLE, "--pue", "0")  # issue 13: was divided by before the check (a warning)
    assert_user_error(zero, "PUE must be >= 1")
    assert "Warning" not in zero.stderr and len(zero.stderr.strip().splitlines()) == 1
    assert_user_error(gf(*EXAMPLE, "--power-cap-w", "20"), "power_cap_w", "idle")
    assert_user_error(
        gf("train", "--model", "llama3-8b", "--system", "dgx-h101", "--gpus", "8"), "unknown system"
    )


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
    assert cost["cloud_usd"] == pytest.approx(cost["gpu_hours"] * cost["cloud_usd_per_gpu_hour"])
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


def test_owning_that_never_pays_says_never_not_inf():
    # "owning beats renting above inf% utilization" (and 135% at $1/h)
    for price in ("0.01", "1"):
        p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8",
               "--price-usd-per-gpu-hour", price)  # fmt: skip
        assert p.returncode == 0, p.stderr
        text = " ".join(p.stdout.split())
        assert "inf%" not in text and "owning never beats renting" in text
        assert "owning beats renting above │ never" in text
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8",
           "--price-usd-per-gpu-hour", "0.01", "--json")  # fmt: skip
    cost = json.loads(p.stdout)["cost"]
    assert cost["break_even_utilization"] is None
    assert any("never" in n for n in cost["notes"])


def test_failures_faster_than_checkpoints_never_finish(tmp_path):
    # a huge fitted count overflowed expm1 (a numpy warning) and printed inf
    rates = tmp_path / "rates.yaml"
    rates.write_text("components:\n  host:\n    unit: node\n    count: 1000000000000\n")
    p = gf(
        "train", "--config", "examples/llama3.1-405b-h100.yaml", "--failure-rates", rates, "--json"
    )
    assert p.returncode == 0, p.stderr
    assert "Warning" not in p.stderr and "NaN" not in p.stdout and "Infinity" not in p.stdout
    rel = json.loads(p.stdout)["reliability"]
    assert rel["wall_time_s"] is None and "never finishes" in rel["note"]
    table = gf("train", "--config", "examples/llama3.1-405b-h100.yaml", "--failure-rates", rates)
    assert table.returncode == 0 and " inf " not in table.stdout


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--tokens", "nan"], "train_tokens"),
        (["--tokens", "inf"], "train_tokens"),
        (["--grid-gco2-per-kwh", "-1"], "grid_gco2_per_kwh"),
        (["--power-cap-w", "inf"], "power_cap_w"),
        (["--pue", "1e999"], "pue"),
        (["--pue", "1e308"], "pue"),
        (["--planned-per-day", "1e308"], "planned_per_day"),
        (["--checkpoint-interval-s", "inf"], "checkpoint_interval_s"),
        (["--pp", "4000000000000"], "pp"),
        (["--price-usd-per-gpu-hour", "-1"], "price_usd_per_gpu_hour"),
        (["--storage-tbytes-per-s", "-1"], "--storage-tbytes-per-s"),
        (["--restart-overhead-s", "-5"], "--restart-overhead-s"),
        (["--utilization", "1.5"], "utilization"),
        (["--price-usd-per-gpu-hour", "0"], "--price-usd-per-gpu-hour"),
    ],
)
def test_nonsense_options_fail_cleanly_without_warnings(args, needle):
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8", *args)
    assert_user_error(p, needle)
    assert "Warning" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_infeasible_split_on_a_fabric_is_an_error_not_a_nan():
    # tp x pp larger than the job gave NaN group sizes to the fabric model (ValueError)
    p = gf("train", "--model", "llama3-70b", "--system", "gb200-nvl72", "--gpus", "64",
           "--tp", "2", "--pp", "80", "--vp", "5", "--seq-len", "128", "--global-batch", "256")  # fmt: skip
    assert_user_error(p, "must divide num_gpus")


def test_train_without_tokens_says_why_its_totals_are_null():
    """Issue 13: a null figure comes with its reason (here: no tokens to train on)."""
    r = json.loads(gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8",
                      "--json").stdout)  # fmt: skip
    assert r["time_to_train_s"] is None and r["power"]["energy_to_train_j"] is None
    assert "--tokens" in r["time_to_train_note"]
    with_tokens = json.loads(gf(*EXAMPLE, "--json").stdout)
    assert with_tokens["time_to_train_s"] > 0 and "time_to_train_note" not in with_tokens
