"""The simulation block: defaults, bad values and names, with file, line and field."""

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.spec.scenario import load_scenario, located
from gigafleet.spec.simulation import Simulation, check_simulation
from scenariohelp import ASSISTANT, site_doc, write_yaml


def doc(**sim):
    return {
        "name": "t", "sites": [site_doc("a"), site_doc("b")],
        "workloads": {"llm_services": [ASSISTANT]}, "simulation": sim,
    }  # fmt: skip


def test_defaults_name_their_sources():
    s = Simulation()
    assert s.days == 365 and s.seeds == 1 and s.hardware.detect_s == 300
    for field in ("detect_s", "spares_fraction", "rate_scale"):
        assert Simulation.model_fields["hardware"].annotation.model_fields[field].description


@pytest.mark.parametrize(
    ("sim", "field", "needle"),
    [
        (
            {"research": {"arrivals_per_day": -3}},
            "simulation.research.arrivals_per_day",
            "greater than or equal to 0",
        ),
        (
            {"hardware": {"rate_scale": -1}},
            "simulation.hardware.rate_scale",
            "greater than or equal to 0",
        ),
        (
            {"power": {"grid_events": [{"site": "a", "start_day": 1, "hours": -2, "shed_mw": 5}]}},
            "simulation.power.grid_events.0.hours",
            "greater than 0",
        ),
        (
            {"hardware": {"detect": 5}},
            "simulation.hardware.detect",
            "unknown field; did you mean 'detect_s'",
        ),
    ],
)
def test_bad_values_name_file_line_and_field(tmp_path, sim, field, needle):
    path = write_yaml(tmp_path, doc(**sim))
    with pytest.raises(GigafleetError) as exc:
        load_scenario(path)
    text = str(exc.value)
    assert f"{path}:" in text and field in text and needle in text
    assert "\n" not in text


def test_grid_event_at_an_unknown_site(tmp_path):
    path = write_yaml(tmp_path, doc(power={"grid_events": [{"site": "nowhere", "start_day": 1,
                                                             "hours": 2, "shed_mw": 5}]}))  # fmt: skip
    scn = load_scenario(path)
    with pytest.raises(GigafleetError) as exc:
        check_simulation(scn)
    err = located(exc.value, path)
    text = str(err)
    assert "unknown site 'nowhere'" in text and "allowed: a, b" in text
    assert "simulation.power.grid_events.0.site" in text
    line = path.read_text().splitlines().index("    - site: nowhere") + 1
    assert f"{path}:{line}" in text
