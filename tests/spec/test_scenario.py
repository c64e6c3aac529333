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
    for name in ("hyperscale.yaml", "one-site.yaml"):
        load_scenario(ROOT / "examples" / name)


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
