"""The named codes: precision and recompute follow the spec's order; every reason has words."""

import numpy as np
import pytest

from gigafleet.enums import PRECISIONS, RECOMPUTE
from gigafleet.perf.training import REASONS, Precision, Reason, Recompute
from trainhelp import est


def test_codes_follow_the_spec_order():
    assert [m.name.lower() for m in Precision] == list(PRECISIONS)
    assert [m.name.lower() for m in Recompute] == list(RECOMPUTE)
    assert [int(m) for m in Precision] == list(range(len(PRECISIONS)))
    assert [int(m) for m in Recompute] == list(range(len(RECOMPUTE)))


def test_every_reason_has_words():
    assert set(REASONS) == set(Reason) - {Reason.FEASIBLE}


@pytest.mark.parametrize(
    "kw, reason",
    [
        (dict(tp=3), Reason.GPU_COUNT),
        (dict(tp=8, pp=3, num_gpus=48), Reason.LAYERS),
        (dict(tp=8, ep=2), Reason.EP_WITHOUT_MOE),
        (dict(tp=8, micro_batch=3), Reason.GLOBAL_BATCH),
        (dict(tp=8, vp=2), Reason.VP_WITHOUT_PP),
        (dict(tp=8, zero=4), Reason.OUT_OF_RANGE),
        (dict(tp=8, precision="fp4"), Reason.PRECISION),
        (dict(model="llama3.1-405b", tp=8, pp=1, zero=1), Reason.MEMORY),
    ],
)
def test_reason_codes_name_the_broken_constraint(kw, reason):
    e = est(**kw)
    assert int(e.reason_code) == reason
    assert not e.feasible
    assert e.reason().startswith(REASONS[reason])


def test_first_broken_constraint_wins():
    # tp = 3 breaks the GPU count and the heads: the GPU count is checked first
    e = est(tp=np.array([3, 8]), pp=4)
    assert e.reason_code.tolist() == [Reason.GPU_COUNT, Reason.FEASIBLE]
