"""KV-cache memory: prefix caching (hits, LRU, a prefix larger than the cache) and the fit check."""

from __future__ import annotations

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving import ReplicaConfig, Workload, simulate
from gigafleet.sim.serving.kv import PrefixCache
from servinghelp import linear, workload


def test_prefix_caching_lowers_ttft_and_reports_hits():
    n = 200
    rng = np.random.default_rng(1)
    # Spaced arrivals: the shared 900-token system prompt is cached after the first request.
    kw = dict(prefix_id=np.zeros(n, dtype=int), prefix_tokens=np.full(n, 900))
    wl = Workload(np.arange(n) * 1.0, np.full(n, 1000), np.full(n, 10), **kw)
    f = linear(0.01, 1e-4, 0.0)
    cold = simulate(wl, [ReplicaConfig(f, 10**5)])
    warm = simulate(wl, [ReplicaConfig(f, 10**5, prefix_cache_tokens=4096)])
    assert warm.prefix_hit_rate == pytest.approx((n - 1) / n)
    assert cold.prefix_hit_rate == 0.0
    assert warm.ttft_s[1:].mean() == pytest.approx(f(100, 0, 0))
    assert warm.ttft_s.mean() < 0.5 * cold.ttft_s.mean()
    assert warm.summary()["prefix_hit_rate"] == warm.prefix_hit_rate
    del rng
    # A cache smaller than the prefix never hits.
    tiny = simulate(wl, [ReplicaConfig(f, 10**5, prefix_cache_tokens=512)])
    assert tiny.prefix_hits == 0


def test_a_request_larger_than_the_kv_cache_is_refused():
    f = linear()
    ok = workload(5, 1.0, 10, 10)
    with pytest.raises(GigafleetError, match="kv_capacity_tokens"):
        simulate(ok, [ReplicaConfig(f, 16)])  # 20 tokens cannot fit in 16


def test_prefix_cache_evicts_the_least_recently_used():
    cache = PrefixCache(100)
    cache.insert(1, 40)
    cache.insert(2, 40)
    assert cache.lookup(1) == 40  # 1 is now the most recently used
    cache.insert(3, 40)  # 120 > 100: evicts 2
    assert list(cache.entries) == [1, 3] and cache.num_tokens == 80
    assert cache.lookup(2) == 0
    cache.insert(4, 101)  # larger than the whole cache: not kept
    assert 4 not in cache.entries
    assert (cache.num_lookups, cache.num_hits) == (2, 1)
