"""FLOP and bytes of one unit of work: a DLRM-DCNv2 pair and a DLRM-v3 request, against
the formulas written out by hand."""

import pytest

from gigafleet.perf.recsys import unit_work
from gigafleet.perf.recsys.hstu import history_moments, hstu_flops


def test_dlrm_v2_pair_flops_from_the_layer_sizes(catalog):
    m = catalog.recsys_model("dlrm-v2")
    w = unit_work(m, precision="int8", embedding="int8")
    x = 27 * 128
    macs = (13 * 512 + 512 * 256 + 256 * 128) + 3 * 2 * x * 512
    macs += x * 1024 + 1024 * 1024 + 1024 * 512 + 512 * 256 + 256
    assert w.flops == pytest.approx(2 * macs)
    assert w.flops == pytest.approx(32.06e6, rel=1e-3)
    assert w.lookups == 214 and w.row_bytes == 128
    # the 99.9% target runs the DCN in FP16: twice the bytes of its layers
    hi = unit_work(m, precision="int8", embedding="int8", interaction="fp16")
    dcn = [
        (a.nbytes, b.nbytes) for a, b in zip(w.layers, hi.layers, strict=True) if "dcn" in a.name
    ]
    assert all(b == 2 * a for a, b in dcn)


def test_dlrm_v3_request_is_half_a_teraflop(catalog):
    """d 512, 4 heads of 128, 5 layers, L ~ 6,615 (cv 0.083), 2,048 candidates: the
    definition gives ~0.53 TFLOP per request (the blog's 260 GFLOP is per request)."""
    m = catalog.recsys_model("dlrm-v3")
    p = hstu_flops(m)
    lm, lsq = history_moments(m.hstu)
    n = lm + 1 + 2048
    per_token = 2 * 512 * 4 * (2 * 128 + 2 * 128) + 2 * (3 * 4 * 128) * 512
    assert p["projections"] == pytest.approx(5 * n * per_token)
    assert p["candidate_attention"] == pytest.approx(5 * 2 * 2048 * (lm + 2) * 4 * 256)
    assert p["history_attention"] == pytest.approx(5 * 4 * 256 * (lsq + 2 * lm + 1))
    total = sum(unit_work(m).layers[i].flops for i in range(len(unit_work(m).layers)))
    assert 0.45e12 < total < 0.6e12
    assert unit_work(m).items == 2048


def test_jagged_histories_cost_more_attention_than_their_mean(catalog):
    m = catalog.recsys_model("dlrm-v3")
    flat = hstu_flops(m.model_copy(update={"hstu": m.hstu.model_copy(update={"history_cv": 0.0})}))
    wide = hstu_flops(m.model_copy(update={"hstu": m.hstu.model_copy(update={"history_cv": 1.0})}))
    assert wide["history_attention"] == pytest.approx(2 * flat["history_attention"], rel=0.01)
    assert wide["projections"] == pytest.approx(flat["projections"])


def test_history_is_capped_by_the_sequence_length(catalog):
    m = catalog.recsys_model("dlrm-v3")
    mean, sq = history_moments(m.hstu, mean=1e6)
    assert mean == m.hstu.max_history == 16384 - 2048 - 1
    assert sq <= mean**2
