"""Clos sizes from radix, oversubscription and tiers; GPU placement; the tier limits."""

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.fabric.design import fabric_spec
from gigafleet.perf.fabric.topology import Failures, build_topology


def spec(catalog, name="dgx-superpod-h100-ndr", system="dgx-h100", **changes):
    s = fabric_spec(catalog, catalog.system(system), name)
    return s.replace(**changes) if changes else s


def test_superpod_h100_sizes(catalog):
    # 64-port NDR switches: 32 GPUs down, 32 up per leaf; 32 leaves per pod (3 tiers)
    t = build_topology(spec(catalog), 32768)
    assert (t.down, t.up, t.leaves_per_pod, t.spine_up) == (32, 32, 32, 32)
    assert t.num_leaves == 32768 // 32 and t.num_pods == 32


def test_two_tiers_connect_radix_times_down(catalog):
    s = spec(catalog, tiers=2)
    assert build_topology(s, 64 * 32).num_pods == 1
    with pytest.raises(GigafleetError, match=r"fabric_designs\[dgx-superpod-h100-ndr\].tiers"):
        build_topology(s, 64 * 32 + 8)


def test_three_tiers_have_a_limit_too(catalog):
    with pytest.raises(GigafleetError, match="tiers"):
        build_topology(spec(catalog), 64 * 32 * 32 + 8)


def test_one_tier_is_one_switch_per_rail(catalog):
    s = spec(catalog, tiers=1)
    t = build_topology(s, 64 * 8)
    assert t.up == 0 and t.num_leaves == 8
    with pytest.raises(GigafleetError, match="tiers"):
        build_topology(s, 65 * 8)


def test_oversubscribed_leaf_has_fewer_uplinks(catalog):
    t = build_topology(spec(catalog, leaf_oversubscription=3.0), 4096)
    assert t.down == 48 and t.up == 16  # 48 x 400G down over 16 x 400G up


def test_leaf_down_ports_beyond_the_radix_name_the_field(catalog):
    with pytest.raises(GigafleetError, match="leaf_down_ports"):
        build_topology(spec(catalog, leaf_down_ports=48), 4096)


def test_rail_optimised_placement(catalog):
    t = build_topology(spec(catalog), 1024)
    # GPU j of every node sits on rail j: node 0 and node 1 share leaves rail by rail
    assert t.leaf[0] == t.leaf[8] and t.leaf[0] != t.leaf[1]
    # 32 nodes fill a leaf; node 32 starts the next leaf group
    assert t.leaf[32 * 8] == t.leaf[0] + 8


def test_top_of_rack_placement(catalog):
    t = build_topology(spec(catalog, "meta-roce-24k", "grand-teton-h100"))
    assert t.down == 16 and t.up == 32 and t.leaves_per_pod == 192
    assert t.leaf[15] == 0 and t.leaf[16] == 1 and t.num_pods == 8


def test_random_failures_take_the_asked_share(catalog):
    t = build_topology(spec(catalog), 4096)
    f = Failures.random(t, 0.1, seed=3)
    ok = f.leaf_healthy(t)
    assert abs(1 - ok.mean() - 0.1) < 0.01
    with pytest.raises(GigafleetError, match="failed_fraction"):
        Failures.random(t, 1.2)


def test_failed_spine_takes_all_its_cables(catalog):
    t = build_topology(spec(catalog), 4096)
    f = Failures.spine(t, plane=0, pod=0, k=3)
    ok = f.leaf_healthy(t)
    pod0 = np.flatnonzero(t.pod_of_leaf == 0)
    assert not ok[0, pod0, 3].any() and ok[0, pod0, 2].all()
