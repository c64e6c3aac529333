"""The simulation driver: a scenario turned into the simulation's inputs, seeds written and
resumed, the spread over seeds."""

import json

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.plan.simulate import build_inputs, result_document, simulate, spread
from gigafleet.spec.scenario import Scenario
from scenariohelp import ASSISTANT, PRIVATE, RUN_8B, site_doc


def scenario(**sim):
    return Scenario.model_validate({
        "name": "t",
        "timeline": {"start": "2026-01", "end": "2026-07", "step_months": 6},
        "sites": [
            site_doc("tee", tee=True, count=64, power_mw=20),
            site_doc("plain", count=128, power_mw=20,
                     fleet=[{"system": "dgx-h100", "count": 128},
                            {"system": "dgx-h100", "count": 32, "arrive": "2026-02"}]),
            site_doc("cloud", kind="cloud", count=32, price_usd_per_gpu_hour=4.0),
        ],
        "workloads": {"llm_services": [ASSISTANT], "private": [PRIVATE],
                      "training": [{**RUN_8B, "tokens": 2e11, "deadline_days": 10}]},
        "simulation": {"days": 10, **sim},
    })  # fmt: skip


@pytest.fixture(scope="module")
def built():
    scn = scenario(
        research={"arrivals_per_day": 50, "sizes": [{"gpus": 8, "share": 1}], "duration_median_h": 2},
        power={"grid_events": [{"site": "plain", "start_day": 3, "hours": 2, "shed_mw": 5}]},
    )  # fmt: skip
    inp, meta = build_inputs(scn)
    return scn, inp, meta


def test_inputs_from_the_scenario(built):
    scn, inp, meta = built
    names = [p.name for p in inp.pools]
    assert names == ["tee/dgx-h100", "plain/dgx-h100", "plain/dgx-h100", "cloud/dgx-h100"]
    tee, plain, late, cloud = inp.pools
    assert tee.tee and not plain.tee and cloud.cloud and cloud.price_usd_per_gpu_hour == 4.0
    assert tee.gpus_per_node == 8 and sum(tee.rate_per_gpu_s.values()) > 0
    # in service at the start: one mature cohort; arriving later: weekly batches
    assert len(plain.cohorts) == 1 and plain.cohorts[0].age0_s > 0
    assert len(late.cohorts) > 1 and sum(c.num_gpus for c in late.cohorts) == 32 * 8
    assert late.cohorts[0].arrive_s == pytest.approx(30.44 * 86400)
    assert tee.research and plain.research and not cloud.research  # training stays owned
    # the private service may only use the TEE site (no TEE in the cloud pool here)
    private = next(s for s in inp.services if s.name == "private")
    assert [names[p] for p in private.order] == ["tee/dgx-h100"]
    chat = next(s for s in inp.services if s.name == "chat")
    assert 3 in chat.order  # bursting to the cloud is allowed by default
    assert inp.training and inp.training[0].num_gpus > 0
    assert inp.grid_events[0].site == 1 and inp.grid_events[0].shed_w == 5e6
    assert inp.horizon_s == 10 * 86400


def test_private_work_never_leaves_tee_pools(built):
    _, inp, _ = built
    from gigafleet.sim.fleet.loop import FleetSim

    sim = FleetSim(inp, np.random.SeedSequence(0))
    sim.run()
    w = [s.name for s in inp.services].index("private")
    assert all(sim.services.gpus[w][p] == 0 for p in (1, 2, 3))


def test_seeds_written_resumed_and_spread(built, tmp_path):
    scn, inp, meta = built
    out = tmp_path / "sim"

    class Stop(Exception):
        pass

    def interrupted(fn, tasks):  # one seed finishes, then the run is interrupted
        yield fn(*tasks[0])
        raise Stop

    with pytest.raises(Stop):
        simulate(inp, seeds=[5, 6, 7], out_dir=out, runner=interrupted)
    assert (out / "shard-00000.parquet").exists() and not (out / "shard-00001.parquet").exists()
    ran = []

    def counting(fn, tasks):
        for t in tasks:
            ran.append(t[2])
            yield fn(*t)

    results = simulate(inp, seeds=[5, 6, 7], out_dir=out, runner=counting)
    assert ran == [6, 7]  # the finished seed is kept, not run again
    assert [r["seed"] for r in results] == [5, 6, 7]
    doc = result_document(scn, inp, results, meta)
    assert doc["seeds"] == [5, 6, 7] and doc["spread"]["goodput_share"]["num_seeds"] == 3
    s = doc["spread"]["utilization"]
    assert s["min"] <= s["mean"] <= s["max"]
    # the same seed again, without files: the same daily table bit for bit
    again = simulate(inp, seeds=[6])[0]
    assert json.dumps(again["daily"]) == json.dumps(results[1]["daily"])
    with pytest.raises(GigafleetError, match="holds another simulation"):
        simulate(inp, seeds=[1], out_dir=out)


def test_spread_keys_rows_by_name():
    rows = [{"summary": {"training": [{"workload": "a", "ettr": x}], "u": x}} for x in (0.8, 0.9)]
    s = spread(rows)
    assert s["training[a].ettr"]["mean"] == pytest.approx(0.85)
    assert s["u"]["min"] == 0.8 and s["u"]["max"] == 0.9


def test_research_job_larger_than_any_pool():
    scn = scenario(research={"arrivals_per_day": 5, "sizes": [{"gpus": 100_000, "share": 1}]})
    with pytest.raises(GigafleetError, match="larger than any pool") as exc:
        build_inputs(scn)
    assert exc.value.field == "simulation.research.sizes.0.gpus"


def test_seeds_on_a_process_pool_equal_seeds_here(built):
    """The sweep's local executor (spawned processes) gives the same tables as in process."""
    from functools import partial

    from gigafleet.sweep.executors import run_tasks
    from gigafleet.sweep.spec import Executor

    _, inp, _ = built
    pool_runs = simulate(
        inp, seeds=[3, 4], runner=partial(run_tasks, Executor(kind="local", workers=2))
    )
    here = simulate(inp, seeds=[3, 4])
    for a, b in zip(pool_runs, here, strict=True):
        assert json.dumps(a["daily"]) == json.dumps(b["daily"])
        assert json.dumps(a["summary"], sort_keys=True) == json.dumps(b["summary"], sort_keys=True)


def test_damaged_manifest_or_seed_file(built, tmp_path):
    # a damaged manifest.json raised JSONDecodeError (a traceback); a damaged seed file runs again
    from gigafleet.plan.simulate import MANIFEST, seed_path

    _, inp, _ = built
    out = tmp_path / "sim"
    out.mkdir()
    (out / MANIFEST).write_text("{bad")
    with pytest.raises(GigafleetError, match="not a simulation manifest"):
        simulate(inp, seeds=[5], out_dir=out)
    (out / MANIFEST).unlink()
    simulate(inp, seeds=[5], out_dir=out)
    seed_path(out, 0).write_text("{truncated")
    ran = []

    def counting(fn, tasks):
        for t in tasks:
            ran.append(t[2])
            yield fn(*t)

    assert simulate(inp, seeds=[5], out_dir=out, runner=counting)[0]["seed"] == 5 and ran == [5]
