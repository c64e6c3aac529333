"""MLPerf Training time to train: one row end to end, later rounds, bad inputs, and the
accuracy on the shared results (slow)."""

import csv
import json

import pytest

from clihelp import assert_user_error, gf
from gigafleet.catalog import load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.validate.groundtruth import groundtruth_path
from gigafleet.validate.mlperf_training import (
    accelerator_for,
    validate_mlperf_training,
)

HEADER = ("mlperf_version,benchmark,division,submitter,system_id,accelerator,number_of_nodes,"
          "accelerators_per_node,accelerator_count,time_to_train_min,global_batch_size\n")  # fmt: skip
EOS = "v4.1,llama2_70b_lora,closed,NVIDIA,eos_ngc24.09_nemo,NVIDIA H100-SXM5-80GB,1,8,8,27.928,8\n"


def write(tmp_path, text, name="rows.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_accelerator_strings_of_the_results_tables(catalog):
    assert accelerator_for(catalog, "NVIDIA H100-SXM5-80GB").name == "h100-sxm"
    assert accelerator_for(catalog, "NVIDIA Blackwell GPU (B200-SXM-180GB)").name == "b200"
    assert accelerator_for(catalog, "NVIDIA L40S").name == "l40s"
    assert accelerator_for(catalog, "TPU-v5p") is None


@pytest.mark.slow
def test_a_row_end_to_end(tmp_path):
    """NVIDIA's 8 x H100 LoRA result of v4.1 at its published TP4 layout: RCP samples at
    batch 8, 397 steps and the evaluations after the three skipped ones."""
    rows, summary = validate_mlperf_training(write(tmp_path, HEADER + EOS))
    (r,) = rows
    d = r.details
    assert d["published"] and d["strategy"]["tp"] == 4 and d["strategy"]["precision"] == "fp8"
    assert d["samples_to_converge"] == pytest.approx(3178.667)
    assert d["steps"] == pytest.approx(3178.667 / 8)
    assert d["num_evals"] == pytest.approx(3178.667 / 384 - 3)  # FLOOR(0.125 x 8 + 2) skipped
    total = d["steps"] * d["step_time_s"] / 60 + d["eval_min"]
    assert r.predicted == pytest.approx(total, rel=1e-3)
    assert abs(r.error_pct) < 10
    assert summary["metric"] == "time_to_train_min"


@pytest.mark.slow
def test_later_rounds_predict_with_the_planner(tmp_path):
    text = HEADER + (
        "v5.1,llama31_8b,closed,X,gb300_n18,NVIDIA GB300,18,4,72,10.0,36\n"
        "v6.0,gpt_oss_20b,closed,X,b200_n1,NVIDIA B200,1,8,8,60.0,32\n"
    )
    rows, _ = validate_mlperf_training(write(tmp_path, text))
    for r in rows:
        assert r.predicted and "planner" in r.details["strategy_source"]
        assert r.details["model"] in ("llama3.1-8b", "gpt-oss-20b")
    assert "interpolated between batches 32 and 64" in rows[0].details["rcp"]


def test_rows_the_twin_cannot_run_are_skipped_with_the_reason(tmp_path):
    text = HEADER + (
        "v4.0,gpt3,closed,Google,tpu,TPU-v5p,128,4,512,114.8,2048\n"
        "v4.1,llama2_70b_lora,closed,Clemson,c,NVIDIA H100-SXM5-80GB,7,8,56,,\n"
    )
    rows, summary = validate_mlperf_training(write(tmp_path, text))
    assert "cannot source" in rows[0].skipped_reason and "TPU-v5p" in rows[0].skipped_reason
    assert rows[1].skipped_reason == "no measured time to train"
    assert summary["num_predicted"] == 0


def test_bad_inputs_are_one_clear_error(tmp_path):
    with pytest.raises(GigafleetError, match="missing columns global_batch_size"):
        validate_mlperf_training(write(tmp_path, HEADER.replace(",global_batch_size", "")))
    rcps = write(tmp_path, "training_version,benchmark,global_batch_size,"
                 "mean_samples_to_converge,unit\nv4.1.0,gpt3,2048,1.2e9,tokens\n", "rcps.csv")  # fmt: skip
    with pytest.raises(GigafleetError, match=r"rcps.csv.*no RCP for benchmark 'llama2_70b_lora'"):
        validate_mlperf_training(write(tmp_path, HEADER + EOS), rcps=rcps)
    big = EOS.replace(",8\n", ",512\n").replace(",1,8,8,", ",64,8,512,")
    with pytest.raises(GigafleetError, match="at global batch 512: above every RCP batch"):
        validate_mlperf_training(write(tmp_path, HEADER + big))


def test_cli_json_and_bad_file(tmp_path):
    text = HEADER + "v4.0,gpt3,closed,Google,tpu,TPU-v5p,128,4,512,114.8,2048\n"
    p = gf("validate", "mlperf-training", "--data", write(tmp_path, text), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["summary"]["metric"] == "time_to_train_min" and out["rows"][0]["skipped_reason"]
    p = gf("validate", "mlperf-training", "--data", write(tmp_path, "a,b\n1,2\n", "x.csv"))
    assert_user_error(p, "x.csv", "missing columns")


@pytest.mark.slow
def test_accuracy_on_the_shared_results():
    rows, s = validate_mlperf_training(catalog=load_catalog())
    assert s["predicted_fraction"] >= 0.75
    assert s["median_abs_error_pct"] <= 12
    # every skipped row says why: hardware, no measurement, or a repeated measurement
    assert all(r.skipped_reason for r in rows if r.error_pct is None)
    with open(groundtruth_path("mlperf_training.csv")) as fh:
        assert len(rows) == len(list(csv.DictReader(fh)))


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="p90 47% against the 25% target: LoRA runs beyond one node (CP2, one micro-batch "
    "per step) are predicted 25-55% too fast, DeepSpeed and A100 rows 58-79% (planner's best)",
)
def test_p90_target_on_the_shared_results():
    _, s = validate_mlperf_training(catalog=load_catalog())
    assert s["p90_abs_error_pct"] <= 25
