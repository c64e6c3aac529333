"""`gigafleet validate inference`: MLPerf Inference LLM rows (Offline / Server / Interactive
tokens/s), DeepSeek at scale and confidential-computing overheads."""

import csv
import json
import math

import pytest

from clihelp import assert_user_error, gf
from gigafleet.validate import mlperf as mp
from gigafleet.validate import mlperf_fit as mf
from gigafleet.validate import mlperf_latency as ml
from gigafleet.validate.inference import offline_held_out_stats, validate_inference
from gigafleet.yamlio import read_yaml


@pytest.fixture(scope="module")
def report(catalog):
    return validate_inference(catalog=catalog, deepseek=False)


@pytest.fixture(scope="module")
def mlperf_rows():
    return mp.read_rows(mp.default_data_path())


def _row(rows, result_id, model, scenario):
    return next(
        r
        for r in rows
        if (r["result_id"], r["model"], r["scenario"]) == (result_id, model, scenario)
    )


@pytest.mark.slow
def test_targets_met(report, catalog):
    """v4.1: at least 80% of the LLM rows predicted; each measurement once; held out by
    deployment first (a row sharing a fitted row's per-GPU deployment is not held out)."""
    rows, summary = report
    ml = [r for r in rows if r.group.startswith("mlperf")]
    assert summary["num_rows"] == len(ml) > 150
    assert list(summary)[0] == "held_out_by_deployment"
    assert summary["predicted_fraction"] >= 0.80
    # the -99 / -99.9 pairs of one submission are one measurement each
    assert summary["num_measurements"] < 0.7 * summary["num_predicted"]
    held = offline_held_out_stats(rows, catalog=catalog)
    assert held == summary["held_out_by_deployment"]["offline"]
    assert held["num"] >= 15
    assert held["median_abs_error_pct"] <= 20.0  # 15.7 when written
    cal = summary["by_calibration"]
    assert cal["fitted_deployment"]["num"] > cal["fitted"]["num"] > 0
    assert cal["fitted_deployment"]["median_abs_error_pct"] < held["median_abs_error_pct"]


@pytest.mark.slow
def test_every_row_is_predicted_or_says_why(report):
    rows, _ = report
    for r in rows:
        assert (r.error_pct is None) == (r.predicted is None)
        assert (r.error_pct is None) == bool(r.skipped_reason), r.row_id
        if r.group.startswith("mlperf") and r.error_pct is not None:
            assert r.error_pct == pytest.approx(100 * (r.predicted / r.measured - 1), abs=0.01)
    reasons = " ".join(r.skipped_reason for r in rows if r.skipped_reason)
    for why in ("open division", "PCIe", "MaxQ"):
        assert why in reasons


@pytest.mark.slow
def test_server_never_beats_offline(report):
    """A Server run (latency limits) cannot finish more than the same system with every request
    queued: per deployment, predicted Server <= predicted Offline."""
    rows, _ = report
    offline = {
        (r.details["deployment"], r.details["model"]): r.predicted
        for r in rows
        if r.group == "mlperf offline" and r.predicted is not None
    }
    pairs = 0
    for r in rows:
        if r.group == "mlperf server" and r.predicted is not None:
            off = offline[(r.details["deployment"], r.details["model"])]
            assert r.predicted <= off * (1 + 1e-9)
            assert 0.5 < r.details["server_to_offline"] <= 1.0
            pairs += 1
    assert pairs > 50


@pytest.mark.slow
def test_confidential_computing_rows_still_predicted(report):
    rows, summary = report
    cc = summary["confidential_computing"]
    assert cc["error_unit"] == "percentage points of overhead"
    assert cc["num_predicted"] >= 30
    assert cc["median_abs_error_pct"] <= 3
    assert sum(r.group == "confidential computing" for r in rows) == cc["num_rows"]


@pytest.mark.parametrize(
    "result_id, model, tp, precision",
    [
        # NVIDIA v4.1 configs: TP2 on H100-SXM-80GB and H100-NVL, TP1 on H200, GH200, B200.
        ("v4.1-0043", "llama2-70b-99", 2, "fp8"),
        ("v4.1-0048", "llama2-70b-99", 1, "fp8"),
        ("v4.1-0044", "llama2-70b-99", 1, "fp8"),
        ("v4.1-0040", "llama2-70b-99", 2, "fp8"),
        ("v4.1-0074", "llama2-70b-99", 1, "fp4"),
        ("v4.1-0002", "llama2-70b-99", 1, "fp8"),  # AMD: one model copy per MI300X
    ],
)
def test_deployment_rule_reproduces_published_configs(
    catalog, mlperf_rows, result_id, model, tp, precision
):
    row = _row(mlperf_rows, result_id, model, "Offline")
    dep = mp.deployment_for(row, mp.load_benchmarks()[model], catalog)
    assert isinstance(dep, mp.Deployment), dep
    assert (dep.tp, dep.weight_precision) == (tp, precision)
    assert dep.num_replicas == int(row["total_accelerators"]) // tp


def test_multi_node_rows_scale_by_replicas(catalog, mlperf_rows):
    bench = mp.load_benchmarks()["llama2-70b-99"]
    two = mp.deployment_for(
        _row(mlperf_rows, "v4.1-0035", "llama2-70b-99", "Offline"), bench, catalog
    )
    four = mp.deployment_for(
        _row(mlperf_rows, "v4.1-0036", "llama2-70b-99", "Offline"), bench, catalog
    )
    assert (two.num_replicas, four.num_replicas) == (8, 16)
    assert mp.predict_offline(four, bench, catalog)[0] == pytest.approx(
        2 * mp.predict_offline(two, bench, catalog)[0]
    )
    assert two.release == "v4.1" and two.engine == "tensorrt-llm"


def test_tensor_parallel_rule():
    gib = 2**30
    assert mp.tensor_parallel_for(70e9, 80 * gib, 64, 8) == 2
    assert mp.tensor_parallel_for(70e9, 141 * gib, 64, 8) == 1
    assert mp.tensor_parallel_for(70e9, 24 * gib, 64, 8) == 8
    assert mp.tensor_parallel_for(70e9, 24 * gib, 64, 2) == 2  # capped by the node


def test_shipped_efficiencies_are_the_fit_of_their_named_rows(catalog):
    """calibration.yaml's engine constants are what the fit gives on the rows it names (a
    model change that moves them shows up here: refit and rewrite them)."""
    fitted = mf.fit_engines(catalog)
    rels = {(e, r): v.kernel_efficiency
            for e, d in catalog.params.calibration.serving.engines.items()
            for r, v in d.releases.items()}  # fmt: skip
    assert set(fitted) == set(rels)
    for key, value in rels.items():
        assert fitted[key] == pytest.approx(value, abs=2e-3), key


def test_kernel_efficiency_moves_compute_bound_offline(catalog, mlperf_rows):
    bench = mp.load_benchmarks()["llama2-70b-99"]
    dep = mp.deployment_for(
        _row(mlperf_rows, "v4.1-0048", "llama2-70b-99", "Offline"), bench, catalog
    )
    base, _ = mp.predict_offline(dep, bench, catalog)
    shipped = catalog.params.calibration.serving.engines["tensorrt-llm"].releases["v4.1"]
    faster = mf.with_engines(catalog, {("tensorrt-llm", "v4.1"): 2.0})
    fast, _ = mp.predict_offline(dep, bench, faster)
    # compute-bound mostly: faster, but by less than the kernel rate (memory terms stay)
    assert base < fast < 2.0 / shipped.kernel_efficiency * base


def test_dataset_numbers_name_their_sources():
    data, _ = read_yaml(mp.DATASETS)
    for name, d in data["datasets"].items():
        for key in (
            "num_samples",
            "mean_input_tokens",
            "max_input_tokens",
            "mean_output_tokens",
            "max_output_tokens",
        ):
            assert d[f"{key}_source"], (name, key)
        assert isinstance(d["mean_input_tokens_estimate"], bool) and d["mean_input_tokens_note"]
        for scenario in ("server", "interactive"):
            lim = d.get(scenario)
            if lim is None:
                continue
            assert lim["source"] and lim["percentile"] == 99
            if "tpot_p99_s" in lim:
                assert 0 < lim["tpot_p99_s"] < lim["ttft_p99_s"]
            else:
                assert lim["e2e_p99_s"] > 0
    b = mp.load_benchmarks()
    assert b["llama2-70b-99"] is b["llama2-70b-99.9"] is b["llama2-70b-interactive-99"]
    assert b["mixtral-8x7b"].mean_output_tokens == pytest.approx(144.84)
    assert b["llama2-70b-99"].interactive.tpot_s < b["llama2-70b-99"].server.tpot_s
    assert b["gptj-99"].num_beams == 4 and b["gptj-99"].server.e2e_s == 20.0


def test_lengths_keep_their_mean_after_clipping():
    import numpy as np

    x = ml._lengths(294.45, 1.0, 1024, 20000, np.random.default_rng(0))
    assert x.max() <= 1024 and x.min() >= 1
    assert x.mean() == pytest.approx(294.45, abs=1.0)


def _subset(tmp_path, mlperf_rows, keep):
    path = tmp_path / "subset.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(mlperf_rows[0]))
        w.writeheader()
        for r in mlperf_rows:
            if (r["result_id"], r["model"]) in keep:
                w.writerow(r)
    return path


def test_cli_json_shape(tmp_path, mlperf_rows):
    path = _subset(
        tmp_path, mlperf_rows, {("v4.1-0044", "mixtral-8x7b"), ("v4.1-0092", "llama2-70b-99")}
    )
    p = gf("validate", "inference", "--data", str(path), "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    s = d["summary"]
    for key in ("num_rows", "num_predicted", "median_abs_error_pct", "p90_abs_error_pct"):
        assert key in s
    assert (s["num_rows"], s["num_predicted"]) == (3, 2)  # Jetson (open division) is skipped
    assert s["data"]["mlperf"] == str(path)
    assert s["confidential_computing"]["num_predicted"] >= 30
    for row in d["rows"]:
        assert {"row_id", "metric", "measured", "predicted", "error_pct", "skipped_reason"} <= set(
            row
        )
    ml = [r for r in d["rows"] if r["group"].startswith("mlperf")]
    assert {r["metric"] for r in ml} == {"offline_tokens_per_s", "server_tokens_per_s"}
    done = [r for r in ml if r["error_pct"] is not None]
    assert all(math.isfinite(r["predicted"]) and r["predicted"] > 0 for r in done)
    assert s["median_abs_error_pct"] == pytest.approx(
        sorted(abs(r["error_pct"]) for r in done)[0] / 2
        + sorted(abs(r["error_pct"]) for r in done)[1] / 2,
        abs=0.01,
    )


def test_cli_bad_data_file(tmp_path):
    p = gf("validate", "inference", "--data", str(tmp_path / "missing.csv"))
    assert_user_error(p, "missing.csv", "cannot read")
    assert len(p.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    p = gf("validate", "inference", "--data", str(bad), "--json")
    assert_user_error(p, "bad.csv", "performance_result", "overhead_pct")
    assert len(p.stderr.strip().splitlines()) == 1
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    p = gf("validate", "inference", "--data", str(binary))
    assert_user_error(p, "bin.csv")
    p = gf("validate", "inference", "--holdout", "weather")
    assert_user_error(p, "--holdout", "round, system, submitter, deployment")
    assert len(p.stderr.strip().splitlines()) == 1


def test_cli_calibrate_inference_prints_the_shipped_fit(catalog, tmp_path):
    p = gf("calibrate", "inference")
    assert p.returncode == 0, p.stderr
    fitted = json.loads(p.stdout)
    shipped = catalog.params.calibration.serving.engines["tensorrt-llm"].releases
    assert fitted["tensorrt-llm@v5.0"] == pytest.approx(shipped["v5.0"].kernel_efficiency, abs=2e-3)
    out = tmp_path / "serving.yaml"
    p = gf("calibrate", "inference", "--write", "--out", out)
    assert p.returncode == 0 and out.exists(), p.stderr
    from gigafleet.catalog import load_catalog

    over = load_catalog([out]).params.calibration.serving.engines["tensorrt-llm"].releases
    assert over["v5.0"].kernel_efficiency == pytest.approx(fitted["tensorrt-llm@v5.0"])
    assert over["v5.0"].fit_rows == shipped["v5.0"].fit_rows  # the named rows are kept
