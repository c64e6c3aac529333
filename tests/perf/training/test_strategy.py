"""Structural constraints: which strategies are impossible, and the message that says why."""

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from trainhelp import est


@pytest.mark.parametrize(
    "kw, expect",
    [
        (dict(tp=3), "must divide num_gpus = 64"),
        (dict(tp=128, num_gpus=128), "tp = 128 must divide the 64 attention heads"),
        (dict(tp=8, pp=3, num_gpus=48), "must divide the 80 layers"),
        (dict(tp=8, ep=2), "needs a MoE model"),
        (dict(tp=8, micro_batch=3), "must divide global_batch = 256"),
        (dict(tp=8, cp=2, seq_len=8191), "must divide seq_len = 8191"),
        (dict(tp=8, vp=2), "vp = 2 needs pp > 1"),
        (dict(num_gpus=-8), "positive integers"),
        (dict(tp=8, precision="fp4"), "precision not supported by h100-sxm; allowed: bf16, fp8"),
    ],
)
def test_impossible_strategies_raise_with_the_constraint(kw, expect):
    with pytest.raises(GigafleetError) as exc:
        est(strict=True, **kw)
    assert expect in str(exc.value)


def test_moe_constraints():
    with pytest.raises(GigafleetError, match="ep = 3 must divide the 128 experts"):
        est("qwen3-30b-a3b", num_gpus=24, ep=3, seq_len=4096, global_batch=48, strict=True)
    with pytest.raises(GigafleetError, match="unknown value 'fp16'"):
        est(precision="fp16")


def test_strict_error_names_the_failing_strategy():
    with pytest.raises(
        GigafleetError, match="tp x pp x cp = 3 x 1 x 1 = 3 must divide num_gpus = 64"
    ):
        est(tp=np.array([8, 3]), strict=True)


def test_out_of_range_values_are_infeasible():
    e = est(tp=8, pp=2, zero=np.array([1, 4, -1]), recompute=np.array([0, 0, 7]))
    assert e.feasible.tolist() == [True, False, False]
    assert (
        est(tp=8, offload=float("nan")).reason()
        == "offload must be a fraction of the layers, 0 to 1"
    )


def test_tp_must_divide_kv_heads():
    with pytest.raises(GigafleetError, match="tp = 16 must divide the 8 key-value heads"):
        est(tp=16, num_gpus=64, strict=True)
