"""A model from its architecture: Hugging Face config.json of each family, YAML model files,
the catalog entries that come from those configs, and the bad inputs."""

import json
from pathlib import Path

import pytest

from clihelp import assert_user_error, gf
from gigafleet.catalog.hf_config import model_from_hf_config
from gigafleet.catalog.model_files import load_model_file
from gigafleet.errors import GigafleetError
from gigafleet.perf.arch import arch_costs

HF = Path(__file__).parent / "fixtures" / "hf"


def load(name):
    return load_model_file(HF / f"{name}.json")


def billions(m):
    a = arch_costs(m)
    return a.params_total / 1e9, a.params_active / 1e9


def test_llama_dense():
    m = load("meta-llama__Llama-3.1-8B")
    assert (m.num_layers, m.hidden_size, m.ffn_hidden_size) == (32, 4096, 14336)
    assert (m.num_attention_heads, m.kv_heads, m.vocab_size) == (32, 8, 128256)
    assert m.moe is None and m.mlp == "swiglu" and not m.tied_embeddings
    assert billions(m)[0] == pytest.approx(8.03, abs=0.01)


def test_qwen2_dense_ignores_an_inactive_window():
    m = load("Qwen__Qwen2.5-7B")  # sliding_window 131072 with use_sliding_window false
    assert m.sliding_window is None and m.kv_heads == 4 and m.dim_head == 128
    assert billions(m)[0] == pytest.approx(7.6, abs=0.1)


def test_mixtral():
    m = load("mistralai__Mixtral-8x7B-v0.1")
    assert (m.moe.num_experts, m.moe.top_k, m.moe.expert_ffn_hidden_size) == (8, 2, 14336)
    assert m.moe.num_dense_layers == 0
    assert billions(m) == pytest.approx((46.7, 12.9), abs=0.1)


def test_qwen3_moe():
    m = load("Qwen__Qwen3-235B-A22B")
    assert (m.moe.num_experts, m.moe.top_k, m.moe.expert_ffn_hidden_size) == (128, 8, 1536)
    assert m.moe.num_shared_experts == 0 and m.moe.num_dense_layers == 0
    assert m.dim_head == 128  # decoupled from hidden / heads
    assert billions(m) == pytest.approx((235, 22), rel=0.02)


def test_deepseek_v3_mla_and_mtp():
    m = load("deepseek-ai__DeepSeek-V3")
    att = m.attention
    assert att.kind == "mla" and (att.q_lora_rank, att.kv_lora_rank) == (1536, 512)
    assert m.moe.num_dense_layers == 3 and m.moe.num_shared_experts == 1
    assert m.mtp_layers == 1
    # 671B main model + ~12B of MTP module (DeepSeek's weight README: 11.5B unique)
    assert billions(m)[0] == pytest.approx(683, abs=2)


def test_deepseek_v2_without_query_compression():
    m = load("deepseek-v2-lite.constructed")
    assert m.attention.q_lora_rank is None  # null: a plain query projection
    assert (m.moe.num_experts, m.moe.num_shared_experts, m.moe.num_dense_layers) == (64, 2, 1)
    assert billions(m)[0] == pytest.approx(15.7, abs=0.3)  # "16B"


def test_kimi_k2_is_the_deepseek_class():
    m = load("moonshotai__Kimi-K2-Instruct")
    assert m.family == "kimi_k2" and m.moe.num_experts == 384 and m.mtp_layers == 0
    assert m.moe.num_dense_layers == 1
    assert billions(m) == pytest.approx((1030, 32.9), rel=0.01)


def test_gpt_oss_alternating_windows():
    m = load("openai__gpt-oss-120b")
    assert m.sliding_window.size == 128 and m.sliding_window.num_layers == 18
    assert (m.moe.num_experts, m.moe.top_k) == (128, 4)
    assert arch_costs(m).num_sliding == 18
    assert billions(m)[0] == pytest.approx(116.8, abs=0.1)  # model card: 116.83B


def test_llama4_interleaved_moe_and_chunked_attention():
    mav, scout = (
        load("meta-llama__Llama-4-Maverick-17B-128E-Instruct"),
        load("meta-llama__Llama-4-Scout-17B-16E-Instruct"),
    )
    assert mav.moe.num_dense_layers == 24 and scout.moe.num_dense_layers == 0
    assert mav.ffn_hidden_size == 16384 and mav.moe.expert_ffn_hidden_size == 8192
    assert mav.sliding_window.chunked and mav.sliding_window.num_layers == 36
    # chunked attention: half a chunk of keys on average
    assert arch_costs(mav).window == 4096
    assert billions(mav) == pytest.approx((400, 17), rel=0.02)
    assert billions(scout)[1] == pytest.approx(17, rel=0.02)
    assert "text model only" in mav.notes


def test_qwen3_next_gated_deltanet():
    m = load("Qwen__Qwen3-Next-80B-A3B-Thinking")
    assert m.num_layers == 96 and m.layer_pattern.count("G") == 36
    assert m.layer_pattern.count("*") == 12 and m.layer_pattern.count("E") == 48
    assert m.layer_pattern[:8] == "GEGEGE*E"
    assert m.attention.output_gate  # Qwen3-Next attention is gated even without the key
    la = m.linear_attention
    assert (la.num_key_heads, la.num_value_heads, la.key_head_dim) == (16, 32, 128)
    a = arch_costs(m)
    assert a.num_mamba == 36 and a.mamba_scan_flops > 0  # costed as recurrent layers
    assert billions(m)[0] == pytest.approx(80, rel=0.01)


def test_qwen35_multimodal_wrapper():
    m = load("Qwen__Qwen3.5-397B-A17B")
    assert m.num_layers == 120 and m.layer_pattern.count("G") == 45 and m.mtp_layers == 1
    assert m.vocab_size == 248320 and m.attention.output_gate
    total, active = billions(m)
    # the published 397B leaves out the MTP layer (one attention + one MoE layer)
    a = arch_costs(m)
    mtp = a.attn_params + a.moe_dense_params + 2 * a.hidden**2 + a.expert_params
    assert (total - mtp / 1e9) == pytest.approx(397, rel=0.005)
    assert active == pytest.approx(17, rel=0.05)


def test_nemotron_h_hybrid_mamba():
    dense = load("nvidia__Nemotron-H-56B-Base-8K")
    assert dense.moe is None and dense.mlp == "relu2" and dense.dim_head == 128
    assert dense.layer_pattern.count("M") == 54 and dense.mamba.state_size == 256
    assert billions(dense)[0] == pytest.approx(56, rel=0.02)
    sup = load("nvidia__NVIDIA-Nemotron-3-Super-120B-A12B-FP8")  # `Infinity` in the file
    assert sup.moe.latent_size == 1024 and sup.mtp_layers == 1 and sup.mtp_shared_weights


@pytest.mark.parametrize(
    ("entry", "config"),
    [
        ("deepseek-v3", "deepseek-ai__DeepSeek-V3"),
        ("deepseek-r1", "deepseek-ai__DeepSeek-R1"),
        ("kimi-k2", "moonshotai__Kimi-K2-Instruct"),
        ("qwen3-235b-a22b", "Qwen__Qwen3-235B-A22B"),
        ("qwen3.5-397b-a17b", "Qwen__Qwen3.5-397B-A17B"),
        ("qwen3-next-80b-a3b", "Qwen__Qwen3-Next-80B-A3B-Thinking"),
        ("llama4-scout", "meta-llama__Llama-4-Scout-17B-16E-Instruct"),
        ("llama4-maverick", "meta-llama__Llama-4-Maverick-17B-128E-Instruct"),
        ("gpt-oss-20b", "openai__gpt-oss-20b"),
        ("gpt-oss-120b", "openai__gpt-oss-120b"),
        ("mixtral-8x7b", "mistralai__Mixtral-8x7B-v0.1"),
        ("llama3.1-8b", "meta-llama__Llama-3.1-8B"),
    ],
)
def test_catalog_entries_cost_what_their_config_says(catalog, entry, config):
    ours, theirs = arch_costs(catalog.model(entry)), arch_costs(load(config))
    different = [
        f for f in ours.__slots__ if f != "name" and getattr(ours, f) != getattr(theirs, f)
    ]
    assert different == []


def test_catalog_model_takes_a_path(catalog, tmp_path):
    m = catalog.model(str(HF / "openai__gpt-oss-20b.json"))
    assert m.name.endswith("openai__gpt-oss-20b.json")
    assert "model_type gpt_oss" in m.notes
    # the Python API takes the path where it takes a name, and costs it as the catalog entry
    from gigafleet.perf.training import estimate_training

    kw = dict(num_gpus=8, seq_len=4096, global_batch=64, ep=8, precision="bf16")
    by_file = estimate_training(str(HF / "openai__gpt-oss-20b.json"), "dgx-h100", **kw)
    by_name = estimate_training("gpt-oss-20b", "dgx-h100", **kw)
    assert by_file.item("step_time_s") == pytest.approx(by_name.item("step_time_s"), rel=1e-12)


def test_yaml_model_file_in_the_catalog_schema(catalog, tmp_path):
    one = tmp_path / "tiny.yaml"
    one.write_text(
        "family: tiny\nnum_layers: 4\nhidden_size: 512\nffn_hidden_size: 1536\n"
        "num_attention_heads: 8\nvocab_size: 32000\n"
    )
    m = catalog.model(str(one))
    assert m.name == str(one) and m.source.startswith("user file")
    listed = tmp_path / "listed.yml"
    listed.write_text(
        "models:\n  - name: tiny2\n    source: my notes\n    family: tiny\n    num_layers: 2\n"
        "    hidden_size: 256\n    ffn_hidden_size: 768\n    num_attention_heads: 4\n"
        "    vocab_size: 1000\n"
    )
    assert catalog.model(str(listed)).name == "tiny2"
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: tiny\nnum_layers: four\nhidden_size: 512\n")
    with pytest.raises(GigafleetError, match=r"bad.yaml.*num_layers"):
        catalog.model(str(bad))


def _config(**changes):
    doc = json.loads((HF / "meta-llama__Llama-3.1-8B.json").read_text())
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not ...}


@pytest.mark.parametrize(
    ("changes", "needles"),
    [
        ({"num_hidden_layers": ...}, ["cfg.json", "num_hidden_layers", "missing"]),
        ({"hidden_size": "big"}, ["hidden_size", "whole number", "'big'"]),
        ({"intermediate_size": 14336.5}, ["intermediate_size", "whole number"]),
        ({"model_type": "bert"}, ["model_type 'bert'", "allowed:", "llama", "qwen3_moe"]),
        ({"num_key_value_heads": 7}, ["num_key_value_heads", "multiple"]),
        ({"num_extra_layers": 4}, ["num_extra_layers", "may change the cost"]),
        ({"layer_types": ["full_attention", "mystery"]}, ["layer_types"]),
    ],
)
def test_bad_configs_name_file_key_and_allowed(tmp_path, changes, needles):
    path = tmp_path / "cfg.json"
    doc = _config(**changes)
    if "layer_types" in changes:  # a gpt-oss config with a bad layer type
        doc = json.loads((HF / "openai__gpt-oss-20b.json").read_text()) | changes
    path.write_text(json.dumps(doc))
    with pytest.raises(GigafleetError) as exc:
        load_model_file(path)
    for n in needles:
        assert n in str(exc.value)


def test_keys_that_cannot_change_the_cost_are_ignored():
    doc = _config(foo_token_id=5, custom_note="hello", use_fancy_kernels=True)
    m = model_from_hf_config(doc, file="cfg.json")
    assert m.num_layers == 32


def test_malformed_and_missing_files(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"model_type": "llama",')
    with pytest.raises(GigafleetError, match="malformed JSON"):
        load_model_file(broken)
    with pytest.raises(GigafleetError, match="not found"):
        load_model_file(tmp_path / "absent.json")
    native = tmp_path / "native.json"  # DeepSeek's own inference format is not a config.json
    native.write_text(json.dumps({"dim": 2048, "n_layers": 27}))
    with pytest.raises(GigafleetError, match="model_type"):
        load_model_file(native)


def test_cli_trains_a_config_json_and_refuses_a_bad_one(tmp_path):
    cfg = HF / "Qwen__Qwen3-30B-A3B.json" if (HF / "Qwen__Qwen3-30B-A3B.json").exists() else None
    cfg = cfg or HF / "mistralai__Mixtral-8x7B-v0.1.json"
    p = gf("train", "--model", cfg, "--system", "dgx-h100", "--gpus", "16", "--ep", "8",
           "--tp", "2", "--global-batch", "64", "--seq-len", "4096", "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["model"] == str(cfg) and out["step_time_s"] > 0
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps(_config(hidden_size=None)))
    p = gf("train", "--model", bad, "--system", "dgx-h100", "--gpus", "8")
    assert_user_error(p, "config.json", "hidden_size")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e400"])
def test_config_json_non_finite_sizes_are_a_user_error(tmp_path, value):
    # Python's json reads NaN: int(NaN) raised ValueError from the config reader
    src = Path(__file__).parent / "fixtures" / "hf" / "Qwen__Qwen2.5-7B.json"
    f = tmp_path / "config.json"
    f.write_text(src.read_text().replace('"hidden_size": 3584', f'"hidden_size": {value}'))
    with pytest.raises(GigafleetError, match="'hidden_size' must be a whole number"):
        load_model_file(f)


def test_config_json_nested_too_deeply(tmp_path):
    f = tmp_path / "config.json"
    f.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert_user_error(
        gf("train", "--model", f, "--system", "dgx-h100", "--gpus", "8"), "nested too deeply"
    )
