"""End to end: the CLI on the shipped example and on bad input."""

import json

import pytest

from clihelp import ROOT, assert_user_error, gf


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


def test_bad_catalog_overlay(tmp_path):
    f = tmp_path / "cat.yaml"
    f.write_text("accelerators:\n  - name: h100-sxm\n    hbm: 96\n")
    p = gf(
        "train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8", "--catalog", str(f)
    )
    assert_user_error(p, str(f), "accelerators[h100-sxm].hbm", "unknown field", "hbm_gib")


def test_catalog_list_and_show():
    p = gf("catalog", "list", "systems", "--json")
    assert p.returncode == 0 and "gb300-nvl72" in json.loads(p.stdout)["systems"]
    p = gf("catalog", "show", "H100 SXM5", "--json")
    row = json.loads(p.stdout)
    assert row["name"] == "h100-sxm" and row["source"]
    assert_user_error(gf("catalog", "show", "h1000"), "unknown catalog entry 'h1000'")
    assert_user_error(gf("catalog", "list", "gpus"), "unknown catalog table 'gpus'")


def test_validate_training_json_shape():
    p = gf("validate", "training", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    for key in ("num_rows", "num_predicted", "median_abs_error_pct", "p90_abs_error_pct"):
        assert key in d["summary"]
    row = d["rows"][0]
    for key in ("row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"):
        assert key in row


def test_validate_training_other_csv(tmp_path):
    src = (ROOT / "src/gigafleet/validate/data/training_runs.csv").read_text().splitlines()
    f = tmp_path / "mine.csv"
    f.write_text("\n".join(src[:4]) + "\n")
    d = json.loads(gf("validate", "training", "--data", str(f), "--json").stdout)
    assert d["summary"]["num_rows"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("row_id,model\nX,llama3-8b\n")
    assert_user_error(gf("validate", "training", "--data", str(bad)), "missing columns", str(bad))
    assert_user_error(
        gf("validate", "training", "--data", str(tmp_path / "nope.csv")), "cannot read"
    )


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


def test_bad_csv_cells_skip_the_row_with_a_reason(tmp_path):
    src = (ROOT / "src/gigafleet/validate/data/training_runs.csv").read_text().splitlines()
    header = src[0].split(",")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO("\n".join(src[:2]))))
    rows[0]["tp"] = "0"
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    f = tmp_path / "bad.csv"
    f.write_text(out.getvalue())
    d = json.loads(gf("validate", "training", "--data", str(f), "--json").stdout)
    assert (
        d["rows"][0]["skipped_reason"].startswith("cannot express")
        and "tp" in d["rows"][0]["skipped_reason"]
    )


def test_calibrate_guards(tmp_path):
    src = (ROOT / "src/gigafleet/validate/data/training_runs.csv").read_text().splitlines()
    f = tmp_path / "few.csv"
    f.write_text("\n".join(src[:3]) + "\n")
    assert_user_error(
        gf("calibrate", "training", "--data", str(f)), "calibration rows", "are not in the data"
    )
    out = tmp_path / "cal.yaml"
    p = gf("calibrate", "training", "--data", str(f), "--write", "--out", str(out))
    assert_user_error(p, "calibration rows", "are not in the data")
    assert not out.exists()  # nothing half-written


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


def test_unwritable_output_is_a_user_error():
    assert_user_error(
        gf("sweep", "examples/sweep-405b.yaml", "--output", "/proc/no/such/dir"), "/proc/no"
    )


def test_train_cuda_graphs_option():
    args = ["train", "--model", "qwen3-30b-a3b", "--system", "dgx-h100", "--gpus", "16"]
    args += ["--seq-len", "4096", "--global-batch", "512", "--ep", "8", "--json"]
    plain, graphs = json.loads(gf(*args).stdout), json.loads(gf(*args, "--cuda-graphs").stdout)
    assert graphs["strategy"]["cuda_graphs"] and not plain["strategy"]["cuda_graphs"]
    assert plain["breakdown_s"]["moe_fixed_s"] > 0 == graphs["breakdown_s"]["moe_fixed_s"]
    assert graphs["tokens_per_s_per_gpu"] > plain["tokens_per_s_per_gpu"]
