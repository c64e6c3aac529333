"""MLPerf rows to deployments and predictions: every LLM benchmark, the Interactive scenario,
AMD and multi-node rows, measurements counted once, and the holdout refit."""

import csv

import pytest

from gigafleet.validate import mlperf as mp
from gigafleet.validate import mlperf_fit as mf
from gigafleet.validate import mlperf_latency as ml
from gigafleet.validate.groundtruth import groundtruth_path
from gigafleet.validate.inference import validate_inference

V50 = groundtruth_path("mlperf_inference_v50.csv")


@pytest.fixture(scope="module")
def v50():
    return mp.read_rows(V50)


def _find(rows, **want):
    return [r for r in rows if all(r[k].strip() == v for k, v in want.items())]


def test_every_llm_benchmark_has_a_dataset_or_a_reason():
    """Each benchmark of shared/groundtruth/mlperf_inference_benchmarks.csv is modelled from its
    definition or skipped with the reason the dataset table gives."""
    with groundtruth_path("mlperf_inference_benchmarks.csv").open() as fh:
        names = [r["benchmark"].split(" ")[0] for r in csv.DictReader(fh)]
    known = mp.load_benchmarks()
    for name in names:
        stem = name.replace("gpt-j", "gptj")
        covered = any(k.startswith(stem) for k in known) or mp.not_modelled_reason(stem)
        assert covered, name
    assert mp.not_modelled_reason("dlrm-v2-99").startswith("a recommendation benchmark")
    assert "gen_len" in mp.not_modelled_reason("llama3.1-8b")


def test_interactive_scenario_is_the_tighter_server(catalog, v50):
    """Llama 2 70B interactive (v5.0: TTFT 450 ms, TPOT 40 ms at p99) on 8 x H200: a smaller
    batch limit and a lower rate than the Server scenario (2 s / 200 ms)."""
    row = _find(v50, submitter="NVIDIA", model="llama2-70b-interactive-99", scenario="Interactive",
                accelerator="NVIDIA H200-SXM-141GB")[0]  # fmt: skip
    bench = mp.load_benchmarks()[row["model"]]
    dep = mp.deployment_for(row, bench, catalog)
    assert isinstance(dep, mp.Deployment) and dep.tp == 1
    inter, i_info = ml.predict_latency_bound(dep, bench, catalog, "Interactive")
    server, s_info = ml.predict_latency_bound(dep, bench, catalog, "Server")
    assert i_info["max_num_seqs"] < s_info["max_num_seqs"]
    assert 0.3 * server < inter < 0.8 * server
    assert inter == pytest.approx(float(row["performance_result"]), rel=0.3)
    with pytest.raises(Exception, match="no Interactive"):
        ml.predict_latency_bound(dep, mp.load_benchmarks()["mixtral-8x7b"], catalog, "Interactive")


def test_amd_rows_are_predicted(catalog, v50):
    """MI325X (vLLM named) and MangoBoost's 4-node MI300X (engine not named: AMD's stack)."""
    rows = _find(v50, model="llama2-70b-99", scenario="Offline")
    amd = [r for r in rows if "MI3" in r["accelerator"]]
    out = mp.validate_mlperf(rows=amd, catalog=catalog)
    assert all(v.predicted for v in out), [v.skipped_reason for v in out]
    by = {v.details["submitter"]: v for v in out}
    assert by["AMD"].details["engine"] == "vllm" and by["AMD"].details["engine_named"]
    assert abs(by["ASUSTeK"].error_pct) < 10
    mango = by["MangoBoost"]
    assert mango.details["engine_named"] is False and "32 x TP1" in mango.details["deployment"]
    assert mango.details["accelerator"] == "mi300x"


def test_multi_node_gb200_and_h200_nvl_rows(catalog, v50):
    rows = _find(v50, model="llama3.1-405b", scenario="Offline", submitter="NVIDIA")
    nvl72 = [r for r in rows if r["nodes"] == "18"]
    out = mp.validate_mlperf(rows=nvl72, catalog=catalog)[0]
    assert out.details["catalog_system"] == "gb200-nvl72"
    assert "18 x TP4 fp4" in out.details["deployment"]
    assert abs(out.error_pct) < 25
    nvl = _find(v50, model="llama2-70b-99", scenario="Offline", accelerator="NVIDIA H200-NVL-141GB")
    got = mp.validate_mlperf(rows=nvl, catalog=catalog)
    assert all(v.details["catalog_system"] == "h200-nvl-server" for v in got)


def test_skips_say_why(catalog, v50):
    rows = mp.validate_mlperf(rows=v50[:0] + _find(v50, accelerator="N/A")[:2], catalog=catalog)
    assert all("CPU-only" in v.skipped_reason for v in rows)
    dlrm = mp.validate_mlperf(rows=_find(v50, model="dlrm-v2-99")[:1], catalog=catalog)[0]
    assert "not tokens/s" in dlrm.skipped_reason or "recommendation" in dlrm.skipped_reason
    # a row whose power was measured is predicted (MaxQ, power-capped, is what is skipped)
    fuj = _find(v50, submitter="Fujitsu", model="gptj-99", scenario="Offline")
    assert fuj and fuj[0]["has_power"] == "True"
    assert mp.validate_mlperf(rows=fuj[:1], catalog=catalog)[0].predicted


def test_a_99_and_99_9_pair_is_one_measurement(v50):
    a = _find(v50, submitter="NVIDIA", model="llama2-70b-99", scenario="Offline")[0]
    b = next(r for r in _find(v50, submitter="NVIDIA", model="llama2-70b-99.9", scenario="Offline")
             if r["system"] == a["system"])  # fmt: skip
    assert mp.measurement_key(a) == mp.measurement_key(b)
    assert mp.row_key(a) != mp.row_key(b)


def test_holdout_round_refits_without_the_round(tmp_path, catalog, v50):
    """Leave-one-round-out on a few v5.0 Offline rows: the v5.0 TensorRT-LLM fit loses its rows,
    so the group is predicted with the v4.1 release's constant (and nothing it predicts is
    fitted)."""
    keep = [r for r in v50 if r["scenario"] == "Offline" and r["model"] == "llama2-70b-99"
            and r["submitter"] in ("NVIDIA", "Lambda") and "H200-SXM" in r["accelerator"]]  # fmt: skip
    path = tmp_path / "v50-subset.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(v50[0]))
        w.writeheader()
        w.writerows(keep)
    base, _ = validate_inference(path, catalog=catalog, deepseek=False)
    held, summary = validate_inference(path, catalog=catalog, holdout="round", deepseek=False)
    h = summary["holdout"]
    assert h["by"] == "round" and set(h["refits"]) == {"v5.0"}
    assert "tensorrt-llm@v5.0" not in h["refits"]["v5.0"]
    v41 = catalog.params.calibration.serving.engines["tensorrt-llm"].releases["v4.1"]
    assert h["refits"]["v5.0"]["tensorrt-llm@v4.1"] == pytest.approx(v41.kernel_efficiency)
    ml_base = [r for r in base if r.group == "mlperf offline" and r.predicted]
    ml_held = [r for r in held if r.group == "mlperf offline" and r.predicted]
    assert len(ml_held) == len(ml_base) == len(keep)
    for b, r in zip(ml_base, ml_held, strict=True):
        assert r.predicted < b.predicted  # the older release is slower
        assert not r.fitted and r.details["engine_release"] == "v4.1"
    with pytest.raises(Exception, match="round, system, submitter, deployment"):
        mf.group_of("weather")
