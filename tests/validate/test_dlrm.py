"""MLPerf recommendation rows: the pairs-per-sample conversion, deployments, the fit, the
DLRM-v3 path, and the accuracy targets (slow)."""

import csv
import math

import pytest

from gigafleet.validate import dlrm
from gigafleet.validate import mlperf as mp
from gigafleet.validate.groundtruth import PACKAGED


def _row(**kw):
    base = {
        "mlperf_version": "v4.1", "division": "closed", "availability": "available",
        "submitter": "NVIDIA", "system": "NVIDIA DGX H100 (8x H100-SXM-80GB, TensorRT)",
        "platform": "DGX-H100_H100-SXM-80GBx8_TRT", "model": "dlrm-v2-99", "scenario": "Offline",
        "accelerator": "NVIDIA H100-SXM-80GB", "accelerators_per_node": "8.0", "nodes": "1",
        "total_accelerators": "8", "host_processor": "Intel(R) Xeon(R) Platinum 8480C",
        "weight_data_types": "int8", "software": "TensorRT 10.2.0, CUDA 12.4",
        "performance_result": "595658.0", "performance_units": "Samples/s", "has_power": "False",
        "power_result_w": "",
        "results_location": "closed/NVIDIA/results/DGX-H100_H100-SXM-80GBx8_TRT/dlrm-v2-99/Offline",
        "result_id": "v4.1-0042", "source": "test", "notes": "",
    }  # fmt: skip
    return {**base, **kw}


def test_pairs_per_sample_mean_is_270():
    """The published distribution (groundtruth CSV: pmf and 20 quantiles) and the packaged
    benchmark table agree: 270 user-item pairs per sample on average, 100 to 700."""
    pmf = dlrm.pairs_per_sample()
    assert dlrm.mean_units_per_sample(pmf) == pytest.approx(270.0)
    assert min(pmf) == 100 and max(pmf) == 700
    bench = dlrm.load_benchmarks()["dlrm-v2-99"]
    assert bench.units_per_sample == pmf and bench.mean_units == pytest.approx(270.0)
    with open(PACKAGED / "dlrmv2_pairs_per_sample.csv", newline="") as fh:
        q = [
            int(r["user_item_pairs"]) for r in csv.DictReader(fh) if r["record_type"] == "quantile"
        ]
    assert sum(q) / len(q) == pytest.approx(270.0)


def test_samples_are_pairs_over_pairs_per_sample(catalog):
    """Offline samples/s = pairs/s per GPU x GPUs / 270; the -99.9 target (DCN in FP16) is
    slower than -99 (everything INT8)."""
    from gigafleet.perf.hardware import resolve_hardware
    from gigafleet.perf.recsys import unit_work
    from gigafleet.perf.recsys.capacity import best_capacity, system_memory
    from gigafleet.perf.recsys.device import device_for

    row = _row()
    bench = dlrm.load_benchmarks()["dlrm-v2-99"]
    dep = dlrm.deployment_for(row, bench, catalog)
    assert dep.system == "dgx-h100" and dep.num_gpus == 8
    assert dep.precisions == {"mlp": "int8", "interaction": "int8", "embedding": "int8"}
    value, info = dlrm.predict(dep, bench, "Offline", catalog)
    hw = resolve_hardware(catalog, "dgx-h100", flow=False)
    m = catalog.recsys_model("dlrm-v2")
    cap = best_capacity(m, unit_work(m, precision="int8", embedding="int8"), hw,
                        device_for(hw.accelerator, catalog), system_memory(hw, catalog),
                        latency_budget_s=math.inf, units_per_query=270,
                        cal=catalog.params.calibration.recsys)  # fmt: skip
    assert value == pytest.approx(cap.units_per_s_per_gpu * 8 / 270)
    assert info["units_per_sample"] == pytest.approx(270)
    hi = dlrm.deployment_for(_row(model="dlrm-v2-99.9"), bench, catalog)
    assert hi.precisions["interaction"] == "fp16"
    assert dlrm.predict(hi, bench, "Offline", catalog)[0] < value
    server, sinfo = dlrm.predict(dep, bench, "Server", catalog)
    assert server < value and sinfo["p99_latency_s"] <= 0.060


def test_skips_say_why(catalog):
    rows = [_row(accelerator="", accelerators_per_node="", total_accelerators=""),
            _row(system="NVIDIA H200 (8x H200-SXM-141GB, MaxQ, TensorRT)"),
            _row(division="open"), _row(model="dlrm-v9")]  # fmt: skip
    out = dlrm.validate_dlrm(rows, catalog=catalog)
    reasons = [r.skipped_reason for r in out]
    assert "CPU-only" in reasons[0] and "MaxQ" in reasons[1]
    assert "open division" in reasons[2] and "unknown" in reasons[3]


def test_fitted_rows_are_marked_and_a_dlrm_v3_row_is_predicted(catalog, tmp_path):
    rows = [_row(), _row(model="dlrm-v3", scenario="Server", performance_result="5000",
                         performance_units="Queries/s", results_location="closed/X/dlrm-v3/Server",
                         mlperf_version="v6.0")]  # fmt: skip
    out = dlrm.validate_dlrm(rows, catalog=catalog)
    assert out[0].fitted and abs(out[0].error_pct) < 5
    v3 = out[1]
    assert v3.skipped_reason is None and v3.predicted > 0 and not v3.fitted
    assert v3.details["model"] == "dlrm-v3" and v3.details["p99_latency_s"] <= 0.080
    assert v3.details["units_per_sample"] == 1


@pytest.mark.slow
def test_refit_reproduces_the_shipped_constants(catalog):
    fit = dlrm.fit_recsys(catalog)
    cal = catalog.params.calibration.recsys
    assert fit["kernel_efficiency"] == pytest.approx(cal.kernel_efficiency, abs=2e-3)
    assert fit["clock_fraction"] == pytest.approx(cal.sustained_clock["hopper"].clock_fraction,
                                                  abs=2e-3)  # fmt: skip
    assert sorted(fit["rows"]) == sorted(cal.fit_rows)


@pytest.mark.slow
def test_dlrm_rows_meet_the_targets(catalog):
    """At least 80% of the MLPerf DLRM rows predicted, median |error| <= 15%, p90 <= 30%;
    and on the rows the fit never saw."""
    s = dlrm.dlrm_summary(dlrm.validate_dlrm(catalog=catalog))
    assert s["num_rows"] == 174
    assert s["predicted_fraction"] >= 0.8
    assert s["median_abs_error_pct"] <= 15 and s["p90_abs_error_pct"] <= 30
    assert s["targets"]["met"]
    held = s["held_out"]["all"]
    assert (
        held["num"] >= 130
        and held["median_abs_error_pct"] <= 15
        and held["p90_abs_error_pct"] <= 30
    )


@pytest.mark.slow
def test_holdout_by_system_refits_without_it(catalog):
    rows = [
        r
        for r in dlrm.default_rows()
        if "H100-SXM" in r["accelerator"] or "GH200" in r["accelerator"]
    ]
    out, refits = dlrm.validate_dlrm_holdout(rows, "system", catalog=catalog)
    assert set(refits) == {"h100-sxm", "gh200-144gb", "gh200-96gb"}
    assert all(not r.fitted for r in out)
    assert refits["h100-sxm"]["rows"] and all(
        "H100-SXM" not in k for k in refits["h100-sxm"]["rows"]
    )


def test_validate_inference_routes_dlrm_rows_to_their_own_block(catalog, tmp_path):
    """A results CSV with LLM and DLRM rows: the LLM summary is what the LLM path alone
    gives (DLRM rows skipped there, as before); the DLRM rows are predicted in
    ``summary.recommendation``."""
    from gigafleet.validate import inference
    from gigafleet.validate.inference import mlperf_summary

    llm = [r for r in mp.read_rows(mp.default_data_path())
           if r["scenario"] == "Offline" and r["submitter"] == "NVIDIA"][:2]  # fmt: skip
    rec = [_row(), _row(scenario="Server", performance_result="510155.0",
                        results_location="closed/NVIDIA/results/DGX-H100/dlrm-v2-99/Server")]  # fmt: skip
    f = tmp_path / "mixed.csv"
    dlrm.write_csv(llm + rec, f)
    rows, summary = inference.validate_inference(f, catalog=catalog, deepseek=False)
    alone = mp.validate_mlperf(rows=mp.read_rows(f), catalog=catalog)
    for r in alone[2:]:
        r.group = inference.NOT_LLM
    expect = mlperf_summary(alone, inference._fitted_deployments(catalog))
    assert {k: summary[k] for k in expect} == expect and summary["num_rows"] == 4
    block = summary["recommendation"]
    assert block["num_rows"] == 2 and block["num_predicted"] == 2
    assert [r.group for r in rows].count(dlrm.GROUP) == 2
