import dataclasses

import numpy as np
import pytest

from gigafleet.perf import collectives as c

NET = c.Network(
    domain_size=8, up_bw=400e9, up_latency=0.0, up_in_switch_reduction=False,
    out_bw=50e9, out_latency=0.0, out_in_network_reduction=False,
)  # fmt: skip


def test_single_rank_costs_nothing():
    assert c.all_reduce_time(1e9, 1.0, 1.0, NET) == 0.0
    assert c.all_to_all_time(1e9, 1.0, 1.0, NET) == 0.0


def test_ring_inside_one_domain():
    s = 1e9
    assert c.reduce_scatter_time(s, 8.0, 1.0, NET) == pytest.approx(s * 7 / 8 / 400e9)
    assert c.all_reduce_time(s, 8.0, 1.0, NET) == pytest.approx(2 * s * 7 / 8 / 400e9)


def test_hierarchy_inter_domain_term():
    s = 1e9
    # 8 per domain x 4 domains: the fabric carries (n-1)/(n g) of the buffer per GPU
    t = c.reduce_scatter_time(s, 8.0, 4.0, NET)
    assert t == pytest.approx(s * (7 / 8 / 400e9 + 3 / 32 / 50e9))
    # one rank per domain: everything over the fabric
    assert c.reduce_scatter_time(s, 1.0, 4.0, NET) == pytest.approx(s * 3 / 4 / 50e9)


def test_in_network_reduction_halves_fabric_all_reduce():
    s = 1e9
    sharp = dataclasses.replace(NET, out_in_network_reduction=True)
    assert c.all_reduce_time(s, 1.0, 16.0, sharp) == pytest.approx(
        c.all_reduce_time(s, 1.0, 16.0, NET) / 2
    )


def test_all_to_all_bottleneck():
    s = 1e9
    # 16 ranks over 2 domains: half the data leaves the domain over the slower fabric
    assert c.all_to_all_time(s, 8.0, 2.0, NET) == pytest.approx(s * 8 / 16 / 50e9)


def test_group_layout_strides():
    g, n = c.group_layout(np.array([8, 64, 4]), np.array([1, 8, 4]), 8)
    assert list(g) == [8, 1, 2] and list(n) == [1, 64, 2]


def test_moe_dispatch_dedup_counts_remote_domains():
    s, k = 1e6, 8
    # 64 ranks in 8 domains: plain all-to-all sends k * 7/8 copies off-domain per token,
    # node-aware dispatch one per remote domain hit: 7 * (1 - (7/8)^8)
    plain = c.moe_dispatch_time(s, k, 8.0, 8.0, NET)
    dedup = c.moe_dispatch_time(s, k, 8.0, 8.0, NET, dedup=True)
    assert plain == pytest.approx(s * k * 7 / 8 / 50e9)
    assert dedup == pytest.approx(s * 7 * (1 - (7 / 8) ** 8) / 50e9)
    # inside one domain dedup changes nothing
    assert c.moe_dispatch_time(s, k, 8.0, 1.0, NET, dedup=True) == pytest.approx(
        c.moe_dispatch_time(s, k, 8.0, 1.0, NET)
    )
