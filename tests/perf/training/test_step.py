"""training_step is vectorised: arrays broadcast, and each element equals its scalar run."""

import numpy as np
import pytest

from trainhelp import est


def test_vectorised_broadcasts_across_dimensions():
    tp = np.array([[2], [4], [8]])  # 3 x 1
    prec = np.array(["bf16", "fp8"])  # 2
    disp = np.array(["alltoall", "dedup"])
    many = est(
        "qwen3-30b-a3b",
        num_gpus=64,
        tp=tp,
        ep=8,
        precision=prec,
        ep_dispatcher=disp,
        ep_overlap=np.array([0, 1]),
        seq_len=4096,
    )
    assert many.step_time_s.shape == (3, 2)
    for i, t in enumerate((2, 4, 8)):
        for j in range(2):
            one = est(
                "qwen3-30b-a3b",
                num_gpus=64,
                tp=t,
                ep=8,
                precision=str(prec[j]),
                ep_dispatcher=str(disp[j]),
                ep_overlap=bool(j),
                seq_len=4096,
            )
            assert many.item("step_time_s", (i, j)) == pytest.approx(
                one.item("step_time_s"), rel=1e-12
            )


def test_vectorised_equals_scalar():
    tp = np.array([1, 2, 4, 8, 8, 8])
    pp = np.array([8, 4, 4, 1, 2, 4])
    vp = np.array([1, 2, 5, 1, 5, 2])
    rec = np.array(["none", "full", "none", "selective", "none", "full"])
    many = est(tp=tp, pp=pp, vp=vp, recompute=rec)
    for i in range(len(tp)):
        one = est(tp=int(tp[i]), pp=int(pp[i]), vp=int(vp[i]), recompute=str(rec[i]))
        assert many.item("step_time_s", i) == pytest.approx(one.item("step_time_s"), rel=1e-12)
        assert many.item("memory_bytes_per_gpu", i) == pytest.approx(
            one.item("memory_bytes_per_gpu"), rel=1e-12
        )
        assert many.reason(i) == one.reason()
