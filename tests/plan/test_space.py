"""The strategy space: every strategy in it is structurally valid."""

import numpy as np

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
