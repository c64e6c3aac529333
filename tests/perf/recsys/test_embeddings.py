"""Embeddings beyond HBM: Zipf and trace hit rates, the cache split over tables, the tiers."""

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.recsys.embeddings import (
    cached_share,
    harmonic,
    place_tables,
    read_trace,
    trace_hit_rate,
    zipf_hit_rate,
)
from gigafleet.perf.recsys.work import TableUse, UnitWork


def _work(*tables):
    return UnitWork("dlrm", 1, (), tuple(TableUse(f"t{i}", n, k) for i, (n, k) in enumerate(tables)),
                    row_bytes=100.0, pooled_bytes=0, input_bytes=0, weight_bytes=0,
                    activation_bytes=1)  # fmt: skip


@pytest.mark.parametrize("s", [0.6, 1.0, 1.3])
def test_harmonic_matches_the_sum(s):
    n = 200_000
    exact = float(np.sum(np.arange(1, n + 1, dtype=float) ** -s))
    assert harmonic(n, s) == pytest.approx(exact, rel=1e-6)


def test_zipf_hit_rate():
    assert zipf_hit_rate(1e6, 1e6, 1.1) == 1.0
    assert zipf_hit_rate(1e6, 0, 1.1) == 0.0
    assert zipf_hit_rate(1e6, 1e4, 0.0) == pytest.approx(0.01)
    rates = [zipf_hit_rate(1e9, k, 1.1) for k in (1e3, 1e6, 1e8)]
    assert rates == sorted(rates) and rates[1] > 0.5  # skew: 0.1% of rows serve most lookups
    assert zipf_hit_rate(1e9, 1e6, 1.3) > zipf_hit_rate(1e9, 1e6, 0.9)


def test_cache_goes_to_the_rows_looked_up_most():
    """Two tables of 1e6 rows, one looked up 9x as often: at equal marginal frequency the
    busy table gets more of a cache than half, and the split beats an even one."""
    w = _work((1_000_000, 9.0), (1_000_000, 1.0))
    cap = 200_000 * 100.0
    best = cached_share(w, cap, zipf_s=1.0)
    even = (9 * zipf_hit_rate(1e6, 1e5, 1.0) + zipf_hit_rate(1e6, 1e5, 1.0)) / 10
    assert best > even
    assert cached_share(w, 2e6 * 100.0, zipf_s=1.0) == 1.0
    # uniform access: the denser table first
    u = _work((1_000_000, 9.0), (9_000_000, 1.0))
    assert cached_share(u, 1e6 * 100.0, zipf_s=0) == pytest.approx(0.9)


def test_trace(tmp_path):
    f = tmp_path / "counts.csv"
    f.write_text("count\n1\n7\n2\n0\n")
    counts = read_trace(f)
    assert list(counts) == [7, 2, 1, 0]
    assert trace_hit_rate(counts, 0.25) == pytest.approx(0.7)
    assert trace_hit_rate(counts, 0.5) == pytest.approx(0.9)
    bad = tmp_path / "bad.txt"
    bad.write_text("3\nlots\n")
    with pytest.raises(GigafleetError, match="not a number"):
        read_trace(bad)


def test_tiers_fill_hbm_then_host_then_far():
    w = _work((10_000_000, 10.0))  # 1 GB of rows
    t = place_tables(w, gpus=2, hbm_per_gpu=1e9, host_per_gpu=0)
    assert (t.hit_hbm, t.hit_host, t.hit_far) == (1.0, 0.0, 0.0)
    t = place_tables(w, gpus=1, hbm_per_gpu=0.3e9, host_per_gpu=1e9, zipf_s=1.0)
    assert 0.5 < t.hit_hbm < 1 and t.hit_host == pytest.approx(1 - t.hit_hbm) and t.hit_far == 0
    t = place_tables(w, gpus=1, hbm_per_gpu=0.3e9, host_per_gpu=0.3e9, far_per_gpu=1e9, zipf_s=0)
    assert t.hit_hbm == pytest.approx(0.3) and t.hit_host == pytest.approx(0.3)
    assert t.hit_far == pytest.approx(0.4)
    with pytest.raises(GigafleetError, match="do not fit") as e:
        place_tables(w, gpus=1, hbm_per_gpu=0.3e9, host_per_gpu=0.3e9)
    assert e.value.field == "model"
