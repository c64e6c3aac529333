"""The first-order DLRM training step against MLPerf Training DLRM-dcnv2 rates."""

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.recsys.training import compare_mlperf_training, recsys_training_step


def test_step_parts_add_up_and_scale(catalog):
    s8 = recsys_training_step(
        "dlrm-v2", "dgx-h100", num_gpus=8, global_batch=55296, catalog=catalog
    )
    s64 = recsys_training_step("dlrm-v2", "dgx-h100", num_gpus=64, global_batch=55296,
                               catalog=catalog)  # fmt: skip
    assert s8.step_s >= sum(s8.parts_s.values())
    assert s64.samples_per_s > s8.samples_per_s
    assert s64.parts_s["all_to_all"] > s8.parts_s["all_to_all"] / 8  # crosses the NICs


def test_first_order_within_a_factor_of_two_of_mlperf(catalog):
    """First order (no overlap, no per-step overheads, no shard imbalance): at 8 GPUs within
    about 20% of the rates derived from the MLPerf logs; every row within 2x."""
    rows = compare_mlperf_training(catalog)
    small = [r for r in rows if r["num_gpus"] == 8]
    assert all(abs(r["error_pct"]) < 20 for r in small)
    assert all(abs(r["error_pct"]) < 100 for r in rows)
    assert np.median([abs(r["error_pct"]) for r in rows]) < 25


def test_hstu_and_too_few_gpus_are_refused(catalog):
    with pytest.raises(GigafleetError, match="HSTU"):
        recsys_training_step("dlrm-v3", "dgx-h100", num_gpus=8, global_batch=1024, catalog=catalog)
    with pytest.raises(GigafleetError) as e:
        recsys_training_step("dlrm-v2", "dgx-h100", num_gpus=8, global_batch=4, catalog=catalog)
    assert e.value.field == "global_batch"
