import pytest

from gigafleet.perf.arch import arch_costs

# Published parameter counts (config / paper); the MTP module is outside DeepSeek-V3's 671B.
PUBLISHED = {
    "llama3.1-405b": 405e9,
    "llama3-70b": 70.6e9,
    "llama3-8b": 8.03e9,
    "gpt3-175b": 175e9,
    "gpt-1008.0b": 1008e9,
    "mixtral-8x7b": 46.7e9,
    "qwen3-235b-a22b": 235e9,
    "qwen3-30b-a3b": 30.5e9,
    "gpt-oss-120b": 116.8e9,
}


@pytest.mark.parametrize("name, params", sorted(PUBLISHED.items()))
def test_parameter_count_matches_publication(catalog, name, params):
    assert arch_costs(catalog.model(name)).params_total == pytest.approx(params, rel=0.03)


def test_deepseek_v3_active_and_total(catalog):
    a = arch_costs(catalog.model("deepseek-v3"))
    mtp = a.params_total - 671e9  # the 14B MTP module is published separately
    assert 10e9 < mtp < 16e9
    assert a.params_active == pytest.approx(37e9 + 1.2e9, rel=0.05)


def test_dense_flops_are_6n_plus_attention(catalog):
    """Forward FLOPs/token = 2 x (non-embedding params + output layer) + causal attention."""
    m = catalog.model("llama3-70b")
    a = arch_costs(m)
    seq = 8192
    n_matmul = a.params_total - a.embed_params  # the input embedding is a lookup
    attn = a.num_attn * 2 * m.num_attention_heads * 2 * m.dim_head * seq / 2
    assert a.forward_flops_per_token(seq) == pytest.approx(2 * n_matmul + attn, rel=1e-6)


def test_moe_flops_scale_with_top_k_not_experts(catalog):
    m = catalog.model("mixtral-8x7b")
    a = arch_costs(m)
    b = arch_costs(m.model_copy(update={"moe": m.moe.model_copy(update={"num_experts": 64})}))
    assert a.forward_flops_per_token(4096) == pytest.approx(
        b.forward_flops_per_token(4096) - a.num_moe * 2 * m.hidden_size * (64 - 8), rel=1e-9
    )  # only the router grows
    assert b.params_total > 4 * a.params_total


def test_sliding_window_caps_attention(catalog):
    a = arch_costs(catalog.model("gpt-oss-120b"))
    assert a.num_sliding == a.num_attn // 2
    grow = a.forward_flops_per_token(65536) - a.forward_flops_per_token(32768)
    full_only = (a.num_attn - a.num_sliding) * a.core_flops_per_key * (65536 - 32768) / 2
    assert grow == pytest.approx(full_only, rel=1e-9)


def test_hybrid_pattern_counts(catalog):
    m = catalog.model("Nemotron_3_Nano")
    a = arch_costs(m)
    assert a.num_mamba + a.num_attn + a.num_moe + a.num_mlp == m.num_layers
    assert a.num_mamba > 0 and a.num_moe > 0 and a.mamba_ssd_bytes > 0


def test_mla_uses_low_rank_projections(catalog):
    a = arch_costs(catalog.model("deepseek-v3"))
    assert a.attn_proj_flops == pytest.approx(2 * a.attn_params)
    # the GEMM list holds the same work as the parameter count
    assert sum(n * k for n, k, _ in a.attn_gemms) == pytest.approx(a.attn_params)


def test_shared_mtp_weights_count_once(catalog):
    nano = arch_costs(catalog.model("nemotron3-nano-30b-a3b"))
    lightning = catalog.model("nemotron3.5-lightning-30b-a3b")  # Nano + one MTP block run twice
    a = arch_costs(lightning)
    one_block = a.attn_params + a.moe_dense_params + 2 * a.hidden**2 + a.expert_params
    assert a.params_total == pytest.approx(nano.params_total + one_block, rel=1e-9)
    # compute still counts both passes
    b = arch_costs(lightning.model_copy(update={"mtp_layers": 1}))
    assert a.forward_flops_per_token(8192) > b.forward_flops_per_token(8192)
