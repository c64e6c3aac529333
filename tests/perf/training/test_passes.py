"""Forward, backward and recomputation: what each costs in time and memory."""

from trainhelp import est


def test_recompute_trades_memory_for_time():
    none, sel, full = (est(tp=8, pp=2, recompute=r) for r in ("none", "selective", "full"))
    assert (
        none.item("memory_bytes_per_gpu")
        > sel.item("memory_bytes_per_gpu")
        > full.item("memory_bytes_per_gpu")
    )
    assert none.item("recompute_s") == 0 < sel.item("recompute_s") < full.item("recompute_s")
    assert full.item("step_time_s") > none.item("step_time_s") * 1.2


def test_lora_skips_weight_gradients():
    full, lora = est(tp=8, pp=1, workload="sft"), est(tp=8, pp=1, workload="lora")
    assert lora.item("step_time_s") < full.item("step_time_s")
    assert lora.item("memory_bytes_per_gpu") < full.item("memory_bytes_per_gpu")
