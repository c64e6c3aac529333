"""Sizing: the fewest GPUs that meet a training deadline, what fits no GPU count, and a
recommendation query that cannot meet its latency budget."""

import pytest

from gigafleet.plan.scenario import run_scenario
from scenariohelp import scenario_of, site_doc


def test_model_that_fits_no_gpu_count_is_a_memory_limit():
    run = {"name": "big", "model": "llama3.1-405b", "tokens": 1e9, "deadline_days": 10,
           "precision": "bf16", "max_gpus": 8}  # fmt: skip
    r = run_scenario(scenario_of([site_doc("a")], {"training": [run]}))
    (u,) = r.unplaced
    assert u["binding"].startswith("memory")


def test_training_meets_its_deadline_with_the_fewest_gpus():
    run = {"name": "r", "model": "llama3.1-8b", "tokens": 2e11, "deadline_days": 20,
           "precision": "bf16", "seq_len": 8192, "global_batch": 512}  # fmt: skip
    r = run_scenario(scenario_of([site_doc("a", count=128)], {"training": [run]}))
    (t,) = r.training
    assert t["days"] <= 20
    # the model's own numbers: days = tokens / throughput / ETT
    assert t["days"] * 86400 == pytest.approx(2e11 / t["tokens_per_s"] / t["ett"], rel=1e-6)
    # half the GPUs would miss the deadline (or not fit): the count is the smallest that works
    half = {**run, "max_gpus": t["num_gpus"] // 2}
    r2 = run_scenario(scenario_of([site_doc("a", count=128)], {"training": [half]}))
    assert r2.unplaced or r2.training[0]["days"] > 20


def test_a_query_must_fit_its_latency_budget():
    q = {"name": "rank", "queries_per_s": 10, "items_per_query": 100_000, "latency_budget_ms": 2}
    r = run_scenario(scenario_of([site_doc("a")], {"recommendation": [q]}))
    (u,) = r.unplaced
    assert u["workload"] == "rank" and "budget" in u["binding"]


@pytest.mark.parametrize(("attainments", "derates"), [([0.5, 0.98, 0.995], 2), ([0.1] * 7, 6)])
def test_derating_gives_up_early_on_every_simulation_but_the_reported_one(
    monkeypatch, attainments, derates
):
    """Each failing capacity is derated by SLO_DERATE; every simulation may stop early but
    the last one allowed, whose attainment is the one reported."""
    from gigafleet.plan.scenario import size
    from gigafleet.sim.serving import SloMissed

    calls = []

    def fake(svc, pool, f, *, load, catalog, give_up_below=None):
        a = attainments[len(calls)]
        calls.append((f.capacity_per_gpu, give_up_below))
        if give_up_below is not None and a < give_up_below:
            raise SloMissed(a, 1.0)
        return {"slo_attainment": a}

    monkeypatch.setattr(size, "slo_attainment", fake)
    f = size.derate_to_slo(None, None, size.Fit(10.0, 500.0), catalog=None)
    assert len(calls) == derates + 1
    assert f.capacity_per_gpu == pytest.approx(10.0 * size.SLO_DERATE**derates)
    assert f.detail["slo_derate"] == pytest.approx(size.SLO_DERATE**derates)
    assert f.detail["slo_attainment_at_capacity"] == attainments[derates]
    last = None if derates == size.SLO_MAX_DERATES else size.SLO_TARGET
    assert [g for _, g in calls] == [size.SLO_TARGET] * derates + [last]


def test_a_service_placed_at_its_capacity_reports_the_sizing_simulation(monkeypatch):
    """Within SLO_REUSE_LOAD_TOL of the capacity the sizing's simulation is reported (load
    1.0); further below, the load is simulated."""
    from gigafleet.plan.scenario import size

    at_capacity = {"load": 1.0, "slo_attainment": 0.995}
    f = size.Fit(10.0, 500.0, slo_at_capacity=at_capacity)
    monkeypatch.setattr(size, "slo_attainment", lambda *a, load, **k: {"load": load})
    near = 1.0 - size.SLO_REUSE_LOAD_TOL / 2
    assert size.slo_at_load(None, None, f, load=near, catalog=None) == at_capacity
    far = 1.0 - 2 * size.SLO_REUSE_LOAD_TOL
    assert size.slo_at_load(None, None, f, load=far, catalog=None) == {"load": far}
    unsized = size.Fit(10.0, 500.0)  # a what-if that reused a derating: nothing simulated
    assert size.slo_at_load(None, None, unsized, load=1.0, catalog=None) == {"load": 1.0}
