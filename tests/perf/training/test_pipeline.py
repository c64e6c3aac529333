"""One pipeline stage: 1F1B bubble, exposed TP, CP, EP and PP communication."""

import pytest

from gigafleet.errors import GigafleetError
from trainhelp import est


def test_tensor_parallel_cuts_memory_and_adds_communication():
    a, b = est(tp=1, pp=8, zero=1), est(tp=8, pp=8, zero=1, num_gpus=512)
    assert b.item("memory_bytes_per_gpu") < a.item("memory_bytes_per_gpu") / 3
    assert a.breakdown_s["tp_comm_s"] == 0 and b.item("tp_comm_s") > 0


def test_tp_beyond_the_nvlink_domain_is_slower():
    inside = est(tp=8, pp=1, num_gpus=64)
    across = est(tp=16, pp=1, num_gpus=64)
    # per collective the fabric adds (n-1)/(n g) of the buffer at NIC speed; dp halves, so
    # each GPU also runs twice the micro-batches
    assert across.item("tp_comm_s") > 2.5 * inside.item("tp_comm_s")


def test_pipeline_bubble_follows_1f1b_and_interleaving():
    plain = est(tp=4, pp=4, vp=1)
    inter = est(tp=4, pp=4, vp=5)
    m = float(plain.info["num_micro_batches"])
    t_mb = (
        plain.item("step_time_s")
        - plain.item("bubble_s")
        - plain.item("dp_comm_s")
        - plain.item("optimizer_s")
    ) / m
    assert plain.item("bubble_s") == pytest.approx(3 * t_mb, rel=1e-6)  # (pp-1)/vp micro-batches
    assert inter.item("bubble_s") < plain.item("bubble_s") / 4
    assert est(tp=8, pp=1).item("bubble_s") == 0


def test_context_parallel_splits_activations():
    a = est(tp=8, pp=1, cp=1, num_gpus=64, seq_len=131072, global_batch=64, recompute="full")
    b = est(tp=8, pp=1, cp=8, num_gpus=64, seq_len=131072, global_batch=64, recompute="full")
    assert b.item("memory_bytes_per_gpu") < a.item("memory_bytes_per_gpu")
    assert a.item("cp_comm_s") == 0
    # across NVLink domains, on short sequences, the KV exchange outlasts the attention it hides behind
    c = est(tp=8, pp=1, cp=8, num_gpus=64, seq_len=2048, global_batch=64, recompute="full")
    assert c.item("cp_comm_s") > 0


def test_moe_all_to_all_overlap_and_dedup():
    kw = dict(
        model="deepseek-v3",
        system="dgx-h100",
        num_gpus=1024,
        tp=2,
        pp=8,
        vp=4,
        ep=64,
        seq_len=4096,
        global_batch=8192,
        uneven_layers=True,
        recompute="selective",
    )
    plain = est(**kw)
    overlap = est(ep_overlap=True, **kw)
    dedup = est(ep_dispatcher="dedup", **kw)
    assert overlap.item("ep_comm_s") < plain.item("ep_comm_s")
    assert dedup.item("ep_comm_s") < plain.item("ep_comm_s")
    with pytest.raises(GigafleetError, match="allowed: alltoall, dedup"):
        est(ep_dispatcher="deepep", **kw)
