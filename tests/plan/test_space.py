"""The strategy space: every strategy in it is structurally valid."""

import numpy as np
import pytest

from gigafleet.plan.space import strategy_space


def test_space_is_structurally_valid(catalog):
    m = catalog.model("llama3-70b")
    s = strategy_space(m, num_gpus=64, seq_len=8192, global_batch=256, precisions=("bf16", "fp8"))
    n = s["tp"].size
    assert n > 1000
    mp = s["tp"] * s["pp"] * s["cp"]
    assert np.all(64 % mp == 0)
    dp = 64 / mp
    assert np.all(256 % (dp * s["micro_batch"]) == 0)
    assert np.all(m.num_attention_heads % s["tp"] == 0)
    assert np.all((s["vp"] == 1) | (s["pp"] > 1))
    assert set(np.unique(s["precision"])) == {0.0, 1.0}


def _meshgrid_space(model, *, num_gpus, seq_len, global_batch, precisions):
    """The space as the full product of the axes, then one mask (the definition)."""
    from gigafleet.enums import PRECISIONS, RECOMPUTE
    from gigafleet.plan.space import SpaceLimits, _divisors, _pow2_upto

    lim = SpaceLimits()
    layers, experts = model.num_layers, model.moe.num_experts if model.moe else 1
    axes = np.meshgrid(
        [t for t in _pow2_upto(lim.max_tp) if model.num_attention_heads % t == 0 and t <= num_gpus],
        sorted({p for p in _pow2_upto(lim.max_pp) + _divisors(layers) if p <= min(layers, lim.max_pp)}),
        list(range(1, lim.max_vp + 1)),
        [c for c in _pow2_upto(lim.max_cp) if seq_len % (2 * c) == 0 or c == 1],
        [e for e in _divisors(experts) if e <= num_gpus],
        [m for m in _pow2_upto(lim.max_micro_batch) if global_batch % m == 0],
        lim.zero, [RECOMPUTE.index(r) for r in lim.recompute],
        [PRECISIONS.index(p) for p in precisions], indexing="ij",
    )  # fmt: skip
    tp, pp, vp, cp, ep, mb, zero, rec, prec = (a.ravel().astype(float) for a in axes)
    mp = tp * pp * cp
    dp = np.floor(num_gpus / mp)
    ok = (np.mod(num_gpus, mp) == 0) & (dp >= 1)
    ok &= (vp == 1) | ((pp > 1) & (pp * vp <= layers))
    ok &= np.mod(global_batch, np.maximum(dp, 1) * mb) == 0
    ok &= np.mod(tp * dp * cp, ep) == 0
    ok &= (dp * cp > 1) | (zero == 1)
    cols = dict(tp=tp, pp=pp, vp=vp, cp=cp, ep=ep, micro_batch=mb, zero=zero, recompute=rec,
                precision=prec)  # fmt: skip
    return {
        "num_gpus": np.full(int(ok.sum()), float(num_gpus)),
        **{k: v[ok] for k, v in cols.items()},
    }


@pytest.mark.parametrize("name", ["deepseek-v3", "llama3.1-405b", "mixtral-8x22b"])
@pytest.mark.parametrize("num_gpus", [1, 24, 1024])
def test_pruned_space_is_the_masked_product_in_order(catalog, name, num_gpus):
    model = catalog.model(name)
    args = dict(num_gpus=num_gpus, seq_len=4096, global_batch=1536, precisions=("bf16", "fp8"))
    want, got = _meshgrid_space(model, **args), strategy_space(model, **args)
    assert list(got) == list(want)
    for k in want:
        assert np.array_equal(got[k], want[k]), k


def _tree_equal(a, b, path=""):
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _tree_equal(a[k], b[k], f"{path}.{k}")
    else:
        assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True), path


@pytest.mark.parametrize(
    "name,system,num_gpus",
    [("llama3.1-405b", "dgx-h100", 64), ("deepseek-v3", "gb200-nvl72", 256),
     ("nemotron3-8b", "dgx-h100", 16), ("llama3-8b", "dgx-b200", 1)],
)  # fmt: skip
def test_grid_evaluation_is_the_flat_evaluation(catalog, name, system, num_gpus):
    """The planner runs the model on the grid's broadcast inputs (terms that do not depend
    on ZeRO, recomputation or precision computed once per row): every output, breakdown
    and phase included, equals the model run on the flat strategies."""
    from gigafleet.perf.arch import arch_costs
    from gigafleet.perf.hardware import resolve_hardware
    from gigafleet.perf.training import efficiency_for, training_step
    from gigafleet.plan.space import strategy_grid

    model, hw = catalog.model(name), resolve_hardware(catalog, system)
    eff = efficiency_for(catalog, hw.generation)
    precisions = ("bf16", "fp8") if hw.accelerator.dense_flops("fp8") else ("bf16",)
    grid = strategy_grid(model, num_gpus=num_gpus, seq_len=4096, global_batch=512,
                         precisions=precisions)  # fmt: skip
    keep = grid.keep()
    assert keep.size == grid.num_rows * int(np.prod(grid.inner_shape))
    kw = dict(global_batch=512.0, seq_len=4096.0, uneven_layers=True)
    flat = training_step(arch_costs(model), hw, eff, **grid.flat(), **kw)
    broadcast = training_step(arch_costs(model), hw, eff, **grid.model_inputs(), **kw)
    flatten = lambda t: {k: flatten(v) if isinstance(v, dict) else grid.flatten(v, keep)  # noqa: E731
                         for k, v in t.items()}  # fmt: skip
    _tree_equal(flat, flatten(broadcast))
    if num_gpus == 1:  # one data-parallel rank: only ZeRO-1 is kept of the product
        assert not keep.all() and keep.sum() == grid.num_rows * keep.size // grid.num_rows // 4
