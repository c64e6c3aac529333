"""Routing on a two-leaf Clos: ECMP collisions against balls into bins, adaptive routing at
the fair share, oversubscription, queue pairs, failed links, incast."""

import numpy as np
import pytest

from gigafleet.perf.fabric.design import fabric_spec
from gigafleet.perf.fabric.maxmin import max_min_rates
from gigafleet.perf.fabric.routing import route
from gigafleet.perf.fabric.topology import Failures, build_topology


@pytest.fixture
def two_leaves(catalog):
    """Top-of-rack leaves of 64 x 400G ports: GPUs 0-31 on leaf 0, 32-63 on leaf 1."""
    s = fabric_spec(catalog, catalog.system("dgx-h100"), "roce-ecmp")
    return s.replace(tiers=2, rail_optimized=False, num_rails=1, switch_radix=64,
                     max_gpus=64, incast_efficiency=1.0)  # fmt: skip


def rates(spec, src, dst, **kw):
    topo = build_topology(spec, 64)
    r = route(topo, np.asarray(src), np.asarray(dst), np.ones(len(src)), **kw)
    return topo, r, max_min_rates(r.paths, r.capacity)


def test_ecmp_collisions_match_balls_into_bins(two_leaves):
    # k flows from leaf 0 to leaf 1 hash onto m = 32 uplinks; flows on one uplink share it,
    # so the total rate is one port per occupied uplink: E = m (1 - (1 - 1/m)^k) ports
    m, k = 32, 32
    src, dst = np.arange(k), 32 + np.arange(k)
    totals = [rates(two_leaves, src, dst, seed=s)[2].sum() / 400.0 for s in range(300)]
    expected = m * (1 - (1 - 1 / m) ** k)
    assert np.mean(totals) == pytest.approx(expected, rel=0.02)
    assert expected / k == pytest.approx(0.638, abs=0.001)  # the classic 1 - 1/e


def test_ecmp_collision_probability_for_two_flows(two_leaves):
    # two flows share an uplink with probability 1/m: then each gets half a port
    shared = [
        rates(two_leaves, [0, 1], [32, 33], seed=s)[2].max() < 400 - 1e-6 for s in range(2000)
    ]
    assert np.mean(shared) == pytest.approx(1 / 32, abs=0.012)


def test_adaptive_routing_reaches_the_fair_share(two_leaves):
    src, dst = np.arange(32), 32 + np.arange(32)
    _, _, r = rates(two_leaves.replace(routing="adaptive"), src, dst)
    assert r == pytest.approx(np.full(32, 400.0))
    # ECMP on the same traffic leaves about a third of the uplinks idle (see above)
    _, _, h = rates(two_leaves, src, dst, seed=0)
    assert h.sum() < 0.8 * r.sum()


def test_oversubscription_halves_cross_traffic(catalog):
    s = fabric_spec(catalog, catalog.system("dgx-h100"), "roce-ecmp")
    s = s.replace(tiers=2, rail_optimized=False, num_rails=1, switch_radix=64, max_gpus=84,
                  incast_efficiency=1.0, routing="adaptive", leaf_oversubscription=2.0)  # fmt: skip
    topo = build_topology(s, 84)
    assert (topo.down, topo.up) == (42, 21)
    src, dst = np.arange(42), 42 + np.arange(42)
    r = route(topo, src, dst, np.ones(42))
    # 21 x 400G of uplink for 42 GPUs: each gets exactly half a port, the fair share
    assert max_min_rates(r.paths, r.capacity) == pytest.approx(np.full(42, 200.0))
    hashed = build_topology(s.replace(routing="ecmp"), 84)
    e = route(hashed, src, dst, np.ones(42), seed=2)
    got = max_min_rates(e.paths, e.capacity)
    assert got.mean() < 200.0 and got.max() <= 400.0


def test_more_queue_pairs_even_out_the_hash(two_leaves):
    src, dst = np.arange(32), 32 + np.arange(32)

    def slowest_flow(spec, seed):
        _, r, x = rates(spec, src, dst, seed=seed)
        t = np.zeros(32)  # a flow ends with its slowest queue pair (data split evenly)
        np.maximum.at(t, r.owner, r.nbytes / x)
        return (1.0 / t).min()

    one = np.mean([slowest_flow(two_leaves, s) for s in range(20)])
    sixteen = np.mean(
        [slowest_flow(two_leaves.replace(qps_per_connection=16), s) for s in range(20)]
    )
    assert one < 250 < sixteen


def test_pinned_paths_balance_whole_racks(two_leaves):
    src, dst = np.arange(32), 32 + np.arange(32)
    _, _, r = rates(two_leaves.replace(routing="pinned"), src, dst)
    assert r == pytest.approx(np.full(32, 400.0))
    # half a rack as destination: uplinks by the destination's port index still spread
    _, _, r = rates(two_leaves.replace(routing="pinned"), src[:16], dst[:16])
    assert r == pytest.approx(np.full(16, 400.0))


def test_a_failed_link_is_routed_around(two_leaves):
    topo = build_topology(two_leaves, 64)
    dead = Failures(leaf_cables=(0 * topo.up + 5,))  # leaf 0, uplink 5
    src, dst = np.arange(32), 32 + np.arange(32)
    for s in range(10):
        r = route(topo, src, dst, np.ones(32), failures=dead, seed=s)
        assert not np.isin(r.paths.links, [topo.leaf_up(0, 5, 0), topo.leaf_down(0, 5, 0)]).any()
    # adaptive routing: the leaf keeps 31 of 32 uplinks, every flow gets 31/32 of a port
    ar = build_topology(two_leaves.replace(routing="adaptive"), 64)
    r = route(ar, src, dst, np.ones(32), failures=dead)
    assert max_min_rates(r.paths, r.capacity) == pytest.approx(np.full(32, 400 * 31 / 32))


def test_incast_keeps_the_congestion_control_share(two_leaves):
    s = two_leaves.replace(routing="adaptive", incast_efficiency=0.9)
    topo = build_topology(s, 64)
    # four senders into one receiver: its 400G link keeps 90%, shared four ways
    r = route(topo, np.array([0, 1, 2, 33]), np.array([40, 40, 40, 40]), np.ones(4))
    assert max_min_rates(r.paths, r.capacity) == pytest.approx(np.full(4, 90.0))
    # one sender with two connections is not incast
    r = route(topo, np.array([0, 0]), np.array([40, 40]), np.ones(2))
    assert max_min_rates(r.paths, r.capacity) == pytest.approx([200.0, 200.0])
