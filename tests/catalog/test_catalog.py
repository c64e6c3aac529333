import csv
from pathlib import Path

import pytest

from gigafleet.catalog import load_catalog, name_key
from gigafleet.errors import GigafleetError
from gigafleet.validate.training import PACKAGED, default_data_path

REQUIRED_ACCELERATORS = [
    "a100-80gb", "h100-sxm", "h200-sxm", "b200", "gb200", "b300", "gb300", "rubin",
    "mi300x", "mi325x", "mi355x",
]  # fmt: skip
REQUIRED_SYSTEMS = [
    "dgx-a100", "dgx-h100", "hgx-h200", "dgx-b200", "hgx-b300", "gb200-nvl72", "gb300-nvl72",
    "vera-rubin-nvl144", "mi300x-platform", "mi355x-platform",
]  # fmt: skip
REQUIRED_MODELS = [
    "llama3-8b", "llama3-70b", "llama3.1-8b", "llama3.1-70b", "llama3.1-405b", "gpt3-175b",
    "gpt-1.7b", "gpt-1008.0b", "mixtral-8x7b", "mixtral-8x22b", "deepseek-v3", "qwen3-30b-a3b",
    "qwen3-235b-a22b", "gpt-oss-120b",
]  # fmt: skip


def test_required_entries_exist(catalog):
    for name in REQUIRED_ACCELERATORS:
        assert name in catalog.accelerators
    for name in REQUIRED_SYSTEMS:
        assert name in catalog.systems
    for name in REQUIRED_MODELS:
        assert name in catalog.models
    assert {"grace", "vera"} <= {h.name for h in catalog.hosts}
    assert {"infiniband-ndr", "infiniband-xdr", "spectrum-x", "roce"} <= {
        f.name for f in catalog.fabrics
    }
    assert {"nvlink4-8", "nvl72", "nvl144"} <= {s.name for s in catalog.scaleup}
    assert {n.port_gbits_per_s for n in catalog.nics} >= {400, 800}


def test_every_row_names_a_source(catalog):
    for table in catalog.tables.values():
        for row in table:
            assert row.source and len(row.source) > 10, f"{table.kind}[{row.name}] has no source"


def test_flops_are_dense_and_ordered(catalog):
    for acc in catalog.accelerators:
        if acc.fp8_dense_tflops:
            assert acc.fp8_dense_tflops >= acc.bf16_dense_tflops
        if acc.fp4_dense_tflops:
            assert acc.fp4_dense_tflops >= acc.fp8_dense_tflops
    # dense, not 2:4-sparse: H100 SXM BF16 is 989 TFLOP/s dense (1979 sparse)
    assert catalog.accelerator("h100-sxm").bf16_dense_tflops == pytest.approx(989.4)


def test_groundtruth_names_resolve(catalog):
    with default_data_path().open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        catalog.model(r["model"])  # raises if unknown
        assert r["system"] in catalog.systems or r["gpu_type"] in catalog.accelerators


def test_name_key_ignores_case_punctuation_and_suffix(catalog):
    assert catalog.model("LLAMA3.1_405B").name == "llama3.1-405b"
    assert catalog.model("DeepSeekV3 (dropless)").name == "deepseek-v3"
    assert name_key("Qwen3_30B_a3B") == name_key("qwen3-30b-a3b")


def test_unknown_name_suggests(catalog):
    with pytest.raises(GigafleetError) as exc:
        catalog.model("llama3.1-450b")
    msg = str(exc.value)
    assert (
        "unknown model 'llama3.1-450b'" in msg and "did you mean" in msg and "llama3.1-405b" in msg
    )


def test_overlay_overrides_and_adds(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(
        "accelerators:\n"
        "  - name: h100-sxm\n"
        "    hbm_gib: 96\n"
        "    source: test overlay\n"
        "  - name: my-gpu\n"
        "    vendor: Acme\n"
        "    generation: hopper\n"
        "    status: announced\n"
        "    bf16_dense_tflops: 100\n"
        "    hbm_gib: 10\n"
        "    hbm_bw_tbytes_per_s: 1\n"
        "    tdp_w: 100\n"
        "    scaleup_gbytes_per_s_per_dir: 50\n"
        "    source: made up for a test\n"
    )
    cat = load_catalog([f])
    assert cat.accelerator("h100-sxm").hbm_gib == 96
    assert cat.accelerator("h100-sxm").bf16_dense_tflops == pytest.approx(989.4)  # untouched
    assert cat.accelerator("my-gpu").vendor == "Acme"
    assert load_catalog().accelerator("h100-sxm").hbm_gib == 80  # the shipped catalog is unchanged


def test_overlay_from_environment(tmp_path, monkeypatch):
    f = tmp_path / "env.yaml"
    f.write_text("fabrics:\n  - name: roce\n    bw_efficiency: 0.9\n")
    monkeypatch.setenv("GIGAFLEET_CATALOG", str(f))
    assert load_catalog().fabric("roce").bw_efficiency == 0.9


@pytest.mark.parametrize(
    "text, expect",
    [
        ("accelerators:\n  - name: x\n    vendor: [unclosed\n", "malformed YAML: line 4"),
        (
            "accelerators:\n  - name: h100-sxm\n    hbm_gb: 96\n",
            "accelerators[h100-sxm].hbm_gb: unknown field",
        ),
        ("accelerators:\n  - name: h100-sxm\n    hbm_gib: -5\n", "accelerators[h100-sxm].hbm_gib"),
        ("gpus:\n  - name: x\n", "unknown catalog table or parameter set 'gpus'"),
        ("accelerators:\n  - name: new-one\n    vendor: Acme\n", "accelerators[new-one]"),
        ("systems:\n  - name: dgx-h100\n    accelerator: h1000\n", "unknown accelerator 'h1000'"),
        ("- just a list\n", "must map table names"),
        ("models:\n  - name: [a, b]\n", "each entry needs a 'name'"),
        ("models:\n  - name: llama3-8b\n    moe: {top_k: 4}\n", "moe.num_experts"),
    ],
)
def test_malformed_overlay_names_file_and_field(tmp_path, text, expect):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(GigafleetError) as exc:
        load_catalog([f])
    assert expect in str(exc.value)
    assert str(f) in str(exc.value)


def test_packaged_groundtruth_matches_shared():
    shared = Path(__file__).resolve().parents[3] / "shared" / "groundtruth" / "training_runs.csv"
    if not shared.exists():
        pytest.skip("shared/groundtruth not beside this checkout")
    assert PACKAGED.read_bytes() == shared.read_bytes()


def test_overlay_by_alias_and_nested_merge(tmp_path):
    f = tmp_path / "alias.yaml"
    f.write_text(
        "accelerators:\n  - name: H100 SXM5\n    tdp_w: 650\n"
        "models:\n  - name: Mixtral-8x7B\n    moe: {top_k: 1}\n"
    )
    cat = load_catalog([f])
    assert cat.accelerator("h100-sxm").tdp_w == 650
    moe = cat.model("mixtral-8x7b").moe
    assert moe.top_k == 1 and moe.num_experts == 8  # the other moe fields stay


def test_overlay_error_has_line(tmp_path):
    f = tmp_path / "line.yaml"
    f.write_text("fabrics:\n  - name: roce\n    bw_efficiency: 2.0\n")
    with pytest.raises(GigafleetError) as exc:
        load_catalog([f])
    assert f"{f}:3" in str(exc.value) and "bw_efficiency" in str(exc.value)


@pytest.mark.parametrize("value", [".inf", ".nan", "1.0e+308", "-1.0e+300"])
def test_overlay_numbers_are_finite_and_bounded(tmp_path, value):
    # an overlay's .inf or 1e308 reached the models (nulls and overflow warnings)
    f = tmp_path / "ov.yaml"
    f.write_text(
        f"accelerators:\n  - name: h100-sxm\n    hbm_bw_tbytes_per_s: {value}\n    source: t\n"
    )
    with pytest.raises(GigafleetError, match="hbm_bw_tbytes_per_s"):
        load_catalog([f])
