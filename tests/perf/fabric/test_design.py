"""Which fabric design a system runs on, and the bad inputs a design can hold."""

import uuid

import pytest

from gigafleet.catalog import load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf.fabric.design import fabric_spec, find_design


@pytest.mark.parametrize(
    ("system", "fabric", "design"),
    [
        ("dgx-h100", None, "dgx-superpod-h100-ndr"),
        ("dgx-a100", None, "dgx-superpod-a100-hdr"),
        ("gb300-nvl72", None, "dgx-superpod-gb300-xdr"),
        ("gb300-nvl72", "spectrum-x", "spectrum-x-ra-nvl72"),
        ("dgx-h100", "spectrum-x", "spectrum-x-ra-hgx"),
        ("grand-teton-h100", None, "meta-roce-24k"),
        ("mi300x-platform", None, "roce-ecmp"),
        ("gb300-nvl72", "roce", "roce-ecmp-800g"),
        ("dgx-h100", "meta-ib-24k", "meta-ib-24k"),
    ],
)
def test_default_and_named_designs(catalog, system, fabric, design):
    assert find_design(catalog, catalog.system(system), fabric).name == design


def test_every_shipped_system_has_a_valid_default_design(catalog):
    for s in catalog.systems:
        spec = fabric_spec(catalog, s)
        assert spec.gpus_per_domain >= 1 and spec.nic_gbits_per_gpu > 0, s.name


def test_every_shipped_design_cites_a_source_and_resolves(catalog):
    for d in catalog.fabric_designs:
        assert d.source and d.fabric in catalog.fabrics, d.name


def test_unknown_fabric_suggests(catalog):
    with pytest.raises(GigafleetError, match="did you mean 'spectrum-x'"):
        find_design(catalog, catalog.system("dgx-h100"), "spectrum-xx")


def _overlay(tmp_path, **changes):
    row = {"name": "my-fabric", "fabric": "roce", "tiers": 2, "rail_optimized": True,
           "switch_radix": 64, "port_gbits_per_s": 400, "routing": "ecmp",
           "incast_efficiency": 1.0, "max_gpus": 1024, "source": "test"}  # fmt: skip
    row.update(changes)
    lines = ["fabric_designs:", "  - " + "\n    ".join(f"{k}: {v}" for k, v in row.items())]
    f = tmp_path / f"overlay-{uuid.uuid4().hex}.yaml"  # catalogs are cached by path
    f.write_text("\n".join(lines) + "\n")
    return load_catalog([f])


def test_oversubscription_below_one_names_the_field(tmp_path):
    with pytest.raises(GigafleetError, match="leaf_oversubscription"):
        _overlay(tmp_path, leaf_oversubscription=0.5)
    with pytest.raises(GigafleetError, match="spine_oversubscription"):
        _overlay(tmp_path, tiers=3, spine_oversubscription=0.9)


def test_nic_faster_than_switch_port_names_the_field(tmp_path):
    cat = _overlay(tmp_path, port_gbits_per_s=200)
    with pytest.raises(GigafleetError, match=r"fabric_designs\[my-fabric\].port_gbits_per_s"):
        fabric_spec(cat, cat.system("dgx-h100"), "my-fabric")
    # two planes of 200G carry a 400G NIC
    cat = _overlay(tmp_path, port_gbits_per_s=200, num_planes=2)
    assert fabric_spec(cat, cat.system("dgx-h100"), "my-fabric").num_planes == 2


def test_contradicting_uplinks_are_refused(tmp_path):
    with pytest.raises(GigafleetError, match="leaf_uplink_factor"):
        _overlay(tmp_path, leaf_uplink_factor=2, leaf_oversubscription=2)


def test_what_if_copy_keeps_the_original(catalog):
    spec = fabric_spec(catalog, catalog.system("dgx-h100"), "roce-ecmp")
    other = spec.replace(routing="adaptive", qps_per_connection=8)
    assert spec.routing == "ecmp" and other.routing == "adaptive" and other != spec
    assert hash(spec) != hash(other)


def test_a_design_whose_tiers_cannot_hold_its_cluster_fails_on_resolve(tmp_path):
    # two tiers of 64-port switches hold 64 x 32 = 2,048 GPUs, not 4,096
    cat = _overlay(tmp_path, switch_radix=64, max_gpus=4096)
    with pytest.raises(GigafleetError, match=r"fabric_designs\[my-fabric\].tiers"):
        fabric_spec(cat, cat.system("dgx-h100"), "my-fabric")
