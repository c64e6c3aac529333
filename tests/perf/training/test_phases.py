"""Every term of the step breakdown has a GPU phase; the phases add up to the step."""

import numpy as np
import pytest

from gigafleet.enums import PHASE_NAMES
from gigafleet.perf.training import PHASES, phase_seconds
from trainhelp import est


def test_every_term_has_a_phase():
    e = est("deepseek-v3", system="gb200-nvl72", num_gpus=256, pp=4, vp=4, ep=64,
            seq_len=4096, global_batch=4096, uneven_layers=True)  # fmt: skip
    assert set(e.breakdown_s) <= set(PHASES)
    assert set(PHASES.values()) <= set(PHASE_NAMES)
    assert list(e.phase_s) == list(PHASE_NAMES)


def test_phases_add_up_to_the_step():
    e = est(tp=np.array([2, 4, 8]), pp=4, vp=5, recompute="selective")
    total = sum(e.phase_s.values())
    assert np.allclose(total, e.step_time_s, rtol=1e-12)
    assert np.all(e.phase_s["idle"] == e.breakdown_s["bubble_s"])
    want = e.breakdown_s["memory_bound_s"] + e.breakdown_s["optimizer_s"]
    assert e.phase_s["memory"] == pytest.approx(want, rel=1e-12)


def test_phase_seconds_groups_terms():
    got = phase_seconds({"gemm_s": 1.0, "tp_comm_s": 2.0, "attention_s": 3.0, "bubble_s": 4.0})
    assert {k: float(v) for k, v in got.items()} == {
        "compute": 4.0,
        "memory": 0.0,
        "comm": 2.0,
        "idle": 4.0,
    }
    with pytest.raises(KeyError):
        phase_seconds({"mystery_s": 1.0})
