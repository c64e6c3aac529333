"""The scenario file: its schema, the shipped examples, and the errors it names."""

import json

import pytest

from clihelp import ROOT
from gigafleet.errors import GigafleetError
from gigafleet.spec.scenario import load_scenario, scenario_json_schema
from scenariohelp import ASSISTANT, site_doc, write_yaml


def test_published_schema_is_the_models_schema():
    shipped = json.loads((ROOT / "schemas" / "scenario.schema.json").read_text())
    assert shipped == scenario_json_schema()


def test_shipped_examples_load():
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        if "sites:" in path.read_text():  # scenarios (not training configs or sweeps)
            load_scenario(path)


def test_unknown_field_names_line_and_allowed_fields(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: t\nsites:\n  - name: a\n    power_mw: 10\n    powr: 3\n"
        "    fleet: [{system: dgx-h100, count: 1}]\nworkloads: {}\n"
    )
    with pytest.raises(GigafleetError) as e:
        load_scenario(p)
    msg = str(e.value)
    assert f"{p}:5" in msg and "sites.0.powr" in msg and "power_mw" in msg


def test_unknown_system_suggests_and_names_line(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a", system="gb300-nvl27")], "workloads": {}}
    with pytest.raises(GigafleetError) as e:
        load_scenario(write_yaml(tmp_path, doc))
    msg = str(e.value)
    assert "sites.0.fleet.0.system" in msg and "gb300-nvl72" in msg and "s.yaml:" in msg


def test_bad_month_and_order_are_errors(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a")], "workloads": {}}
    doc["sites"][0]["fleet"][0]["arrive"] = "2026-13"
    with pytest.raises(GigafleetError, match="arrive"):
        load_scenario(write_yaml(tmp_path, doc))
    doc["sites"][0]["fleet"][0].update(arrive="2027-01", retire="2026-01")
    with pytest.raises(GigafleetError, match="retire"):
        load_scenario(write_yaml(tmp_path, doc))


def test_policy_naming_an_unknown_workload_or_region_is_an_error(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a")], "workloads": {"llm_services": [ASSISTANT]},
           "policies": {"residency": {"chta": ["us"]}}}  # fmt: skip
    with pytest.raises(GigafleetError, match="chat") as e:
        load_scenario(write_yaml(tmp_path, doc))
    assert "policies.residency.chta" in str(e.value) and "s.yaml:" in str(e.value)
    doc["policies"] = {"residency": {"chat": ["mars"]}}
    with pytest.raises(GigafleetError, match="unknown region 'mars'; allowed: us"):
        load_scenario(write_yaml(tmp_path, doc))


def test_infinite_power_is_an_error(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a", power_mw=float("inf"))], "workloads": {}}
    with pytest.raises(GigafleetError, match="power_mw"):
        load_scenario(write_yaml(tmp_path, doc))


def _line_of(path, needle):
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_an_impossible_cooling_names_the_line_and_what_is_allowed(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a", system="gb300-nvl72", count=2, cooling="air")],
           "workloads": {}}  # fmt: skip
    p = write_yaml(tmp_path, doc)
    with pytest.raises(GigafleetError) as e:
        load_scenario(p)
    msg = str(e.value)
    assert f"{p}:{_line_of(p, 'cooling: air')}:" in msg and "sites.0.cooling" in msg
    assert "air-cooled gb300-nvl72" in msg and "allowed: liquid" in msg
    # a fleet entry's own cooling is checked too, and the site's may hold other systems
    doc["sites"][0]["cooling"] = "liquid"
    doc["sites"][0]["fleet"].append({"system": "dgx-b200", "count": 1, "cooling": "liquid"})
    with pytest.raises(GigafleetError, match=r"sites.0.fleet.1.cooling: .*allowed: air"):
        load_scenario(write_yaml(tmp_path, doc))
    doc["sites"][0]["fleet"][1]["cooling"] = "air"
    load_scenario(write_yaml(tmp_path, doc))


def test_a_scenarios_own_catalog_overlay_is_checked_with_its_lines(tmp_path):
    doc = {"name": "t", "sites": [site_doc("a", system="my-rack", count=1)], "workloads": {},
           "catalog": {"systems": [{"name": "my-rack", "accelerator": "b300", "num_gpus": 8,
                                    "scaleup": "nvlink5-8", "host": "xeon-6776p", "num_hosts": 2,
                                    "nic": "connectx-8", "num_nics": 8,
                                    "default_fabric": "infiniband-xdr", "source": "ours"}],
                       "power": {"system": {"cooling": {"my-rack": ["liquid"]}}}}}  # fmt: skip
    p = write_yaml(tmp_path, doc)
    scn = load_scenario(p)  # the system the overlay adds resolves
    assert scn.catalog["systems"][0]["name"] == "my-rack"
    doc["catalog"]["power"]["system"]["colling"] = {}
    p = write_yaml(tmp_path, doc)
    with pytest.raises(GigafleetError) as e:
        load_scenario(p)
    msg = str(e.value)
    assert f"{p}:{_line_of(p, 'colling')}:" in msg and "power.system.colling" in msg
    assert "unknown field" in msg and "cooling" in msg
    del doc["catalog"]["power"]["system"]["colling"]
    doc["catalog"]["prices"] = {"capital": {"my-rack": {"value": 4e5, "unit": "usd_per_system"}}}
    p = write_yaml(tmp_path, doc)
    with pytest.raises(GigafleetError, match="needs date") as e:
        load_scenario(p)
    assert f"{p}:" in str(e.value) and "prices.capital.my-rack" in str(e.value)


def test_a_timeline_of_thousands_of_periods_is_an_error(tmp_path):
    """Issue 13 (a fuzzed hang: ``end: 9999-12``, 15,948 periods): at most MAX_PERIODS."""
    from gigafleet.spec.scenario import MAX_PERIODS

    doc = {"name": "t", "sites": [site_doc("a")], "workloads": {},
           "timeline": {"start": "2026-01", "end": "9999-12", "step_months": 6}}  # fmt: skip
    with pytest.raises(GigafleetError, match="15,948 periods") as e:
        load_scenario(write_yaml(tmp_path, doc))
    assert "s.yaml:" in str(e.value) and f"at most {MAX_PERIODS}" in str(e.value)
    doc["timeline"] = {"start": "2026-01", "end": "2075-12", "step_months": 1}  # exactly 600
    assert len(load_scenario(write_yaml(tmp_path, doc)).timeline.months()) == MAX_PERIODS
