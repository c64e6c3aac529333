"""Jobs on a fabric: placement, several jobs sharing spines, oversubscription, failures."""

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf.fabric.design import fabric_spec
from gigafleet.perf.fabric.solve import nonblocking_adaptive, pattern_factor, solve
from gigafleet.perf.fabric.traffic import Job


def spec(catalog, name, system="dgx-h100", **changes):
    s = fabric_spec(catalog, catalog.system(system), name)
    return s.replace(**changes) if changes else s


def test_packed_rings_stay_on_their_rail_leaves(catalog):
    # ECMP or not: consecutive nodes share rail leaves, few flows reach the spines
    s = spec(catalog, "roce-ecmp", max_gpus=16384)
    assert pattern_factor(s, "ring", 1024).factor == 1.0


def test_fragmented_rings_collide_under_ecmp_not_under_adaptive_routing(catalog):
    s = spec(catalog, "roce-ecmp", max_gpus=16384)
    ecmp = pattern_factor(s, "ring", 1024, placement="fragmented").factor
    ar = pattern_factor(s.replace(routing="adaptive"), "ring", 1024, placement="fragmented").factor
    assert ecmp < 0.8 and ar == 1.0


def test_oversubscribed_spines_slow_cross_pod_traffic(catalog):
    # Meta's pods: 1:7 of the pod's GPU bandwidth leaves the pod
    s = spec(
        catalog, "meta-roce-24k", "grand-teton-h100", routing="adaptive", incast_efficiency=1.0
    )
    inside = pattern_factor(s, "a2a", 384).factor  # 3,072 GPUs: one pod
    across = pattern_factor(s, "a2a", 768).factor  # two pods: half the traffic crosses
    assert inside == pytest.approx(1.0)
    assert across == pytest.approx(2 / 7, rel=0.05)


def test_jobs_sharing_spines_interfere(catalog):
    s = spec(catalog, "roce-ecmp", max_gpus=8192, leaf_oversubscription=2.0)
    a = Job("permutation", 256, placement="fragmented", seed=1)
    b = Job("permutation", 256, placement="fragmented", seed=2)
    alone = solve(s, [a])[0].throughput
    shared = solve(s, [a, b])[0].throughput
    assert shared < alone
    # on a non-blocking fabric with adaptive routing, neighbours cost nothing
    nb = s.replace(routing="adaptive", leaf_oversubscription=1.0)
    assert solve(nb, [a, b])[0].factor == solve(nb, [a])[0].factor == 1.0


def test_failed_links_cost_their_capacity_under_adaptive_routing(catalog):
    s = spec(catalog, "spectrum-x-ra-hgx", max_gpus=4096)
    healthy = pattern_factor(s, "permutation", 512, placement="packed").throughput
    hurt = pattern_factor(s, "permutation", 512, placement="packed", failed_fraction=0.1)
    assert healthy == 1.0 and 0.85 < hurt.throughput < 0.95


def test_shortcut_equals_the_solve(catalog):
    s = spec(catalog, "spectrum-x-ra-hgx", max_gpus=4096)
    assert nonblocking_adaptive(s)
    for pattern, n in (("ring", 64), ("a2a", 16), ("a2a", 2), ("p2p", 8)):
        short = pattern_factor(s, pattern, n)
        full = solve(s, [Job(pattern, n)])[0]
        assert short.factor == pytest.approx(full.factor, abs=1e-9), pattern
        assert short.num_flows == full.num_flows, pattern


def test_scale_across_link_limits_cross_building_traffic(catalog):
    s = spec(catalog, "spectrum-x-multi-building", "gb300-nvl72")
    per_building = s.gpus_per_building // s.gpus_per_domain
    # a stage boundary of 256 racks' GPUs straddling two buildings
    job = Job("p2p", 512, first_domain=per_building - 256)
    res = solve(s, [job])[0]
    link = s.scale_across_gbits
    demand = 256 * 72 * s.nic_gbits_per_gpu
    assert res.factor == pytest.approx(link / demand, rel=1e-6)
    assert res.bottleneck == "scale-across"


def test_bad_jobs(catalog):
    s = spec(catalog, "roce-ecmp", max_gpus=1024)
    with pytest.raises(GigafleetError, match="pattern"):
        Job("broadcast", 4)
    with pytest.raises(GigafleetError, match="placement"):
        Job("ring", 4, placement="scattered")
    with pytest.raises(GigafleetError, match="jobs overlap"):
        solve(s, [Job("ring", 100), Job("ring", 100, first_domain=50)])
    # a second packed job placed after the first shares nothing but the spines
    two = solve(s, [Job("ring", 64), Job("ring", 64, first_domain=64)])
    assert [r.factor for r in two] == [1.0, 1.0]


def test_fragmented_jobs_in_a_busy_cluster(catalog):
    from gigafleet.perf.fabric.solve import busy_cluster_factor

    s = spec(catalog, "roce-ecmp", max_gpus=4096)
    busy = busy_cluster_factor(s, "ring", 16, num_gpus=4096)
    assert busy.factor < 0.8  # neighbours' rings collide with this one under ECMP
    ar = busy_cluster_factor(s.replace(routing="adaptive"), "ring", 16, num_gpus=4096)
    assert ar.factor == 1.0
