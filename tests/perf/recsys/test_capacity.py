"""The latency-bounded batch, replica shapes and embedding tiers in the serving capacity."""

import dataclasses
import math

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.recsys import latency_bounded_batch, recsys_capacity
from gigafleet.perf.recsys.capacity import system_memory, unit_times
from gigafleet.perf.recsys.device import device_for
from gigafleet.perf.recsys.embeddings import Tiers


def test_latency_bounded_batch_is_the_largest_within_the_budget():
    times = {"gpu": 1e-5, "host link": 4e-6}
    b, period, lat = latency_bounded_batch(times, 2e-4, 0.05, min_batch=1, max_batch=10**9)
    assert period + lat <= 0.05
    assert 2 * 2e-4 + (b + 1) * (1e-5 + 1.4e-5) > 0.05  # one more unit would miss it
    assert period == pytest.approx(2e-4 + b * 1e-5) and lat == pytest.approx(2e-4 + b * 1.4e-5)
    b2, _, _ = latency_bounded_batch(times, 2e-4, 0.1, min_batch=1, max_batch=10**9)
    assert b2 > 2 * b - 2  # a longer budget allows a larger batch
    assert latency_bounded_batch(times, 2e-4, math.inf, min_batch=1, max_batch=77)[0] == 77
    with pytest.raises(GigafleetError, match="below one batch") as e:
        latency_bounded_batch(times, 2e-4, 3e-4, min_batch=1, max_batch=10**9)
    assert e.value.field == "latency_budget_ms"
    with pytest.raises(GigafleetError, match="one query"):
        latency_bounded_batch(times, 2e-4, 0.01, min_batch=5000, max_batch=10**9)


def test_throughput_grows_with_the_budget_and_p99_fits(catalog):
    caps = [recsys_capacity("dlrm-v3", "dgx-b200", latency_budget_s=s, catalog=catalog)
            for s in (0.03, 0.08, 0.3)]  # fmt: skip
    for c, s in zip(caps, (0.03, 0.08, 0.3), strict=True):
        assert c.p99_latency_s <= s
        assert c.items_per_s_per_gpu == pytest.approx(c.queries_per_s_per_gpu * 2048)
    u = [c.items_per_s_per_gpu for c in caps]
    assert u == sorted(u)


def test_cold_rows_cost_less_over_c2c_than_over_pcie(catalog):
    """Same work and tiers: the host-link time of a Grace host (NVLink-C2C) is a fraction of
    an x86 host's (PCIe Gen5)."""
    from gigafleet.perf.hardware import resolve_hardware
    from gigafleet.perf.recsys import unit_work

    w = unit_work(catalog.recsys_model("dlrm-v3"))
    tiers = Tiers(4, w.table_bytes, 0.6e12, 0.4e12, 0, 0.6, 0.4, 0.0, "test")
    t = {}
    for system in ("gb200-nvl72", "dgx-b200"):
        hw = resolve_hardware(catalog, system, flow=False)
        t[system], _ = unit_times(w, device_for(hw.accelerator, catalog),
                                  system_memory(hw, catalog), tiers, attention_efficiency=0.75)  # fmt: skip
    assert t["gb200-nvl72"]["host link"] < t["dgx-b200"]["host link"] / 2


def test_tables_beyond_hbm_use_the_host_tier(catalog):
    c = recsys_capacity("dlrm-v3", "hgx-h200", latency_budget_s=0.08, zipf_s=0, catalog=catalog)
    assert 0 < c.tiers["hit_host"] < 1 and c.tiers["host_link"] == "pcie5"
    assert c.gpus_per_replica > 1  # 1 TB of tables: sharded over the NVLink domain


def test_a_table_that_fits_nowhere_names_the_model(catalog):
    with pytest.raises(GigafleetError, match="do not fit") as e:
        recsys_capacity("hstu-production-ranker", "dgx-b200", latency_budget_s=0.1,
                        catalog=catalog)  # fmt: skip
    assert e.value.field == "model"
    # a far tier holds it
    c = recsys_capacity("hstu-production-ranker", "dgx-b200", latency_budget_s=0.1, far="ssd",
                        far_tb_per_node=30, catalog=catalog)  # fmt: skip
    assert c.items_per_s_per_gpu > 0


def test_bad_inputs_name_their_field(catalog):
    with pytest.raises(GigafleetError) as e:
        recsys_capacity("dlrm-v2", "dgx-h100", latency_budget_s=0.05, items_per_query=0,
                        catalog=catalog)  # fmt: skip
    assert e.value.field == "items_per_query"
    with pytest.raises(GigafleetError, match="did you mean") as e:
        recsys_capacity("dlrm-v4", "dgx-h100", latency_budget_s=0.05, catalog=catalog)
    assert e.value.field == "model"
    with pytest.raises(GigafleetError) as e:
        recsys_capacity("dlrm-v3", "dgx-h100", latency_budget_s=1e-4, catalog=catalog)
    assert e.value.field == "latency_budget_ms"


def test_retrieval_adds_work_per_request(catalog):
    a = recsys_capacity("dlrm-v3", "gb200-nvl72", latency_budget_s=0.08, catalog=catalog)
    b = recsys_capacity("dlrm-v3", "gb200-nvl72", latency_budget_s=0.08,
                        retrieval_candidates=100_000, catalog=catalog)  # fmt: skip
    assert b.items_per_s_per_gpu < a.items_per_s_per_gpu
    assert dataclasses.asdict(a)["model"] == "dlrm-v3"
