"""Running a scenario: the stages in order, told to the progress callback."""

from gigafleet.plan.scenario import run_scenario
from scenariohelp import ASSISTANT, scenario_of, site_doc


def test_stages_report_progress_in_order():
    run = {"name": "r", "model": "llama3.1-8b", "tokens": 1e10, "deadline_days": 20,
           "precision": "bf16", "seq_len": 4096, "global_batch": 256}  # fmt: skip
    said = []
    scn = scenario_of([site_doc("a")], {"training": [run], "llm_services": [ASSISTANT]})
    r = run_scenario(scn, progress=said.append)
    kinds = [m.split()[0] for m in said]
    first = {k: kinds.index(k) for k in ("sizing", "placing", "simulating")}
    # training is sized before the services, both before placement; simulation comes last
    assert said[0] == "sizing r on dgx-h100"
    assert "sizing chat on dgx-h100" in said
    assert first["sizing"] < first["placing"] < first["simulating"]
    assert said.index("sizing chat on dgx-h100") < first["placing"]
    assert said[-1] == "simulating chat"
    assert said.count("placing 2026-01") == 1
    (t,) = r.training
    (s,) = r.services
    assert t["site"] == "a" and s["demand_met"] > 0.99
