"""The flow model inside the collective model: profiles, the effective network, reasons."""

import dataclasses

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.perf import collectives as coll
from gigafleet.perf.fabric.effective import FIBRE_S_PER_KM, FabricProfile, explain_fabric
from gigafleet.perf.hardware import resolve_hardware


def test_default_fabrics_deliver_line_rate_at_every_scale(catalog):
    # adaptive routing on the reference non-blocking fabrics: no change to the model
    for system in ("dgx-h100", "gb200-nvl72", "gb300-nvl72", "dgx-a100"):
        hw = resolve_hardware(catalog, system)
        assert hw.net.fabric is not None and hw.fabric_design
        assert hw.net.fabric.factor("ring", np.array([1, 2, 64, 2048])) == 1.0


def test_profile_scales_out_bw_by_pattern_and_scale(catalog):
    hw = resolve_hardware(catalog, "dgx-h100", fabric="roce-ecmp", placement="fragmented")
    prof = hw.net.fabric
    n = np.array([1.0, 2.0, 256.0, 2048.0])
    s = np.asarray(prof.factor("ring", n))
    # a fragmented job shares a busy cluster: neighbours' rings collide with its own
    assert s[0] == 1.0 and np.all((s[1:] > 0) & (s[1:] < 1.0))
    # the collective model uses exactly out_bw * s
    flat = dataclasses.replace(hw.net, fabric=None)
    size, g = 1e9, 1.0
    t = coll.reduce_scatter_time(size, g, n[-1], hw.net)
    t_flat = coll.reduce_scatter_time(
        size, g, n[-1], dataclasses.replace(flat, out_bw=flat.out_bw * s[-1])
    )
    assert t == pytest.approx(t_flat)


def test_interpolates_between_solved_points(catalog):
    hw = resolve_hardware(catalog, "dgx-h100", fabric="roce-ecmp", placement="fragmented")
    prof = hw.net.fabric
    lo, hi = prof.at("ring", 256), prof.at("ring", 512)
    mid = float(prof.factor("ring", np.array([362.0]))[0])
    assert min(lo, hi) <= mid <= max(lo, hi)


def test_without_flow_the_network_is_flat(catalog):
    hw = resolve_hardware(catalog, "dgx-h100", flow=False)
    assert hw.net.fabric is None and hw.fabric_design == "dgx-superpod-h100-ndr"
    assert hw.net.out_bw_for("ring", 4096) == hw.net.out_bw


def test_technology_without_a_fitting_design_falls_back_to_flat(catalog):
    # HGX B300's 800G NIC on Spectrum-X's 400G-port HGX design would not fit; its default
    # (the 2 x 400G multi-plane design) does; a technology with no design at all is flat
    hw = resolve_hardware(catalog, "hgx-b300", fabric="spectrum-x")
    assert hw.fabric_design == "spectrum-x-ra-nvl72"
    hw = resolve_hardware(catalog, "gb300-nvl72", fabric="infiniband-hdr")
    assert hw.net.fabric is None and hw.fabric == "infiniband-hdr" and hw.fabric_design == ""
    # naming an unfitting design outright is an error that says why
    with pytest.raises(GigafleetError, match="port_gbits_per_s"):
        resolve_hardware(catalog, "gb300-nvl72", fabric="roce-ecmp")


def test_design_nic_sets_out_bw(catalog):
    hw = resolve_hardware(catalog, "dgx-h100", fabric="alibaba-hpn")
    assert hw.net.out_bw == pytest.approx(400e9 / 8 * catalog.fabric("roce").bw_efficiency)


def test_pipeline_across_buildings(catalog):
    one = resolve_hardware(
        catalog, "gb300-nvl72", fabric="spectrum-x-multi-building", num_gpus=36864
    )
    two = resolve_hardware(catalog, "gb300-nvl72", fabric="spectrum-x-multi-building",
                           num_gpus=73728, pp=8)  # fmt: skip
    assert one.net.fabric.p2p_factor() == 1.0 and one.net.fabric.extra_latency_s("p2p") == 0
    assert two.net.fabric.p2p_factor() < 0.2  # 9,216 GPUs of a stage over 1 Pb/s
    assert two.net.fabric.extra_latency_s("p2p") == pytest.approx(10 * FIBRE_S_PER_KM)
    t1 = coll.p2p_time(1e8, False, one.net)
    t2 = coll.p2p_time(1e8, False, two.net)
    assert t2 > 5 * t1


def test_profiles_hash_by_what_they_compute(catalog):
    spec = resolve_hardware(catalog, "dgx-h100").net.fabric.spec
    assert FabricProfile(spec) == FabricProfile(spec)
    assert hash(FabricProfile(spec)) == hash(FabricProfile(spec))
    assert FabricProfile(spec) != FabricProfile(spec, placement="fragmented")


def test_explain_ep_inside_nvl72_and_dp_hidden(catalog):
    hw = resolve_hardware(catalog, "gb300-nvl72", fabric="spectrum-x")
    effects = explain_fabric(
        hw.net.fabric, num_gpus=8192, tp=1, pp=4, ep=64,
        breakdown_s={"dp_comm_s": 0.0, "ep_comm_s": 0.2, "pp_comm_s": 0.01}, step_time_s=10.0,
    )  # fmt: skip
    by = {e.dimension: e for e in effects}
    assert "stays inside the 72-GPU scale-up domain" in by["ep"].reason
    assert by["dp"].domains > 1 and "hidden behind compute" in by["dp"].reason
    assert by["pp"].factor == 1.0 and "neighbouring domains" in by["pp"].reason


def test_explain_ep_across_hgx_nodes(catalog):
    hw = resolve_hardware(catalog, "dgx-h100", fabric="spectrum-x")
    by = {e.dimension: e for e in explain_fabric(hw.net.fabric, num_gpus=1024, ep=64)}
    assert by["ep"].domains == 8 and by["ep"].factor == pytest.approx(0.95)
    assert "all-to-all" in by["ep"].reason


def test_fabric_summary_and_name_check(catalog):
    from gigafleet.perf.fabric.effective import fabric_summary

    hw = resolve_hardware(catalog, "gb300-nvl72", fabric="spectrum-x", num_gpus=4608)
    d = fabric_summary(hw, num_gpus=4608, pp=8, ep=64)
    assert d["design"] == "spectrum-x-ra-nvl72" and d["routing"] == "adaptive"
    assert {e["dimension"] for e in d["effects"]} == {"ep", "dp", "pp"}
    assert catalog.fabric_or_design("spectrum-x") == "spectrum-x"
    assert catalog.fabric_or_design("meta-roce-24k") == "meta-roce-24k"
    with pytest.raises(GigafleetError, match="fabric or fabric design"):
        catalog.fabric_or_design("infiniband", field="sites[0].fleet[0].fabric")


def test_group_sizes_of_infeasible_strategies_are_skipped(catalog):
    # all-NaN group sizes (tp x pp beyond the job) raised "cannot convert float NaN to integer"
    hw = resolve_hardware(catalog, "gb200-nvl72")
    prof = hw.net.fabric
    assert prof.factor("ring", np.array([np.nan, np.nan])) == 1.0
    mixed = prof.factor("ring", np.array([np.nan, 256.0]))
    assert np.isscalar(mixed) or np.isfinite(np.asarray(mixed)[1])
