"""Rooflines by precision: lower precision is faster, but NVFP4 casts cost HBM traffic."""

from trainhelp import est


def test_lower_precision_is_faster():
    bf16, fp8 = est(tp=4, pp=4, precision="bf16"), est(tp=4, pp=4, precision="fp8")
    assert fp8.item("step_time_s") < bf16.item("step_time_s")
    fp4 = est(system="gb200-nvl72", tp=4, pp=4, precision="fp4")
    assert fp4.item("step_time_s") < est(system="gb200-nvl72", tp=4, pp=4).item("step_time_s")


def test_nvfp4_quantisation_costs_more_memory_traffic_than_fp8():
    from gigafleet.enums import PRECISIONS
    from gigafleet.perf.training import CAST_BYTES

    fp8, fp4 = CAST_BYTES[PRECISIONS.index("fp8")], CAST_BYTES[PRECISIONS.index("fp4")]
    assert CAST_BYTES[PRECISIONS.index("bf16")] == 0 and fp4 > fp8 > 0
    kw = dict(system="gb200-nvl72", tp=2, pp=4, num_gpus=64)
    assert est(precision="fp4", **kw).item("memory_bound_s") > est(precision="fp8", **kw).item(
        "memory_bound_s"
    )
