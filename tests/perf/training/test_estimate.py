"""estimate_training: names in, a consistent estimate out (throughput, MFU, time to train)."""

import pytest

from gigafleet.energy import training_power
from trainhelp import est


def test_outputs_are_consistent():
    e = est(tp=4, pp=4, vp=5)
    assert e.feasible
    step = e.item("step_time_s")
    assert sum(float(v) for v in e.breakdown_s.values()) == pytest.approx(step, rel=1e-9)
    assert e.item("tokens_per_s") == pytest.approx(256 * 8192 / step)
    assert e.item("tokens_per_s_per_gpu") * 64 == pytest.approx(e.item("tokens_per_s"))
    assert 0.1 < e.item("mfu") < 0.7
    assert e.item("model_tflops_per_gpu") == pytest.approx(e.item("mfu") * 1978.9, rel=1e-6)
    assert 0 < training_power(e).item("gpu_power_avg_w") <= 700


def test_time_to_train():
    e = est(tp=8, pp=1, train_tokens=1e12)
    assert float(e.time_to_train_s) == pytest.approx(1e12 / e.item("tokens_per_s"))
