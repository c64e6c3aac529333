"""Training placement: each run on the pool where it meets its deadline, within the pool's
free GPUs, its site's power room and its retirement."""

from scenariohelp import RUN_8B, run_training, site_doc


def test_training_is_sized_for_each_pool_it_could_use():
    # 128 GPUs cannot meet the deadline; 2,048 can: the run goes to the big pool in time
    r = run_training(
        [site_doc("small", count=16, power_mw=100), site_doc("big", count=256, power_mw=100)],
        [RUN_8B],
    )
    (t,) = r.training
    assert t["site"] == "big" and t["meets_deadline"] and t["num_gpus"] > 128


def test_training_finishes_before_its_pool_retires():
    site = site_doc("a", count=256, power_mw=100)
    site["fleet"][0]["retire"] = "2026-02"
    (t,) = run_training([site], [{**RUN_8B, "tokens": 1e12, "deadline_days": 60}]).training
    assert t["days"] <= 31  # resized to finish within the month the pool has left


def test_site_power_room_limits_a_training_run():
    plenty = run_training([site_doc("a", count=256, power_mw=100)], [RUN_8B]).training[0]
    tight = run_training([site_doc("a", count=256, power_mw=1.2)], [RUN_8B])
    assert tight.unplaced or tight.training[0]["num_gpus"] < plenty["num_gpus"]
    for p in tight.periods:
        assert p["sites"][0]["facility_mw"] <= 1.2 + 1e-6 or tight.warnings


def test_runs_never_hold_more_gpus_than_the_pool():
    r1, r2 = {**RUN_8B, "name": "r1", "tokens": 1e12}, {**RUN_8B, "name": "r2", "tokens": 1e12}
    r = run_training([site_doc("a", count=32, power_mw=100)], [r1, r2])
    for p in r.periods:
        assert p["sites"][0]["gpus_used"] <= 256
    assert len(r.training) + len(r.unplaced) == 2
