"""The power catalog (power.yaml) names only what the hardware catalog has."""

from gigafleet.energy.params import load_power_params


def test_power_yaml_names_exist(catalog):
    p = load_power_params()
    names = {s.name for s in catalog.systems}
    assert set(p.system.cooling) <= names
    assert set(p.accelerator.idle_w) <= {a.name for a in catalog.accelerators}
    assert set(p.nic.w) <= {n.name for n in catalog.nics}
    assert set(p.host.tdp_w_when_missing) <= {h.name for h in catalog.hosts}
