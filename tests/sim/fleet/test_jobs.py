"""A job's progress in closed form: segments of compute and checkpoint, what a stop keeps."""

import pytest

from gigafleet.sim.fleet.jobs import DONE, RUNNING, Job


def job(work=1000.0, tau=100.0, delta=10.0, speed=1.0):
    return Job(1, name="j", n=8, work=work, tau=tau, delta=delta, restore=5.0, speed=speed)


def test_end_time_has_one_checkpoint_per_full_segment():
    j = job()
    end = j.run_from(50.0)
    assert j.status == RUNNING and j.k == 9
    assert end == pytest.approx(50.0 + 1000.0 + 9 * 10.0)


@pytest.mark.parametrize(
    ("t", "kept", "lost", "ckpt"),
    [
        (50.0, 0.0, 50.0, 0.0),  # in the first compute piece
        (105.0, 0.0, 100.0, 5.0),  # while writing the first checkpoint: the piece is lost
        (110.0, 100.0, 0.0, 10.0),  # just after it
        (345.0, 300.0, 15.0, 30.0),
        (1089.0, 900.0, 99.0, 90.0),  # the last piece has no checkpoint after it
    ],
)
def test_stop_keeps_the_checkpointed_segments(t, kept, lost, ckpt):
    j = job()
    j.run_from(0.0)
    got = j.stop(t)
    assert got == pytest.approx((kept, lost, ckpt))
    assert j.left == pytest.approx(1000.0 - kept)
    j.run_from(t)  # the rest, from the last checkpoint
    assert j.k == max(int(-(-(1000.0 - kept) // 100.0)) - 1, 0)


def test_finish_and_straggler_speed():
    j = job(speed=0.5)
    assert j.left == pytest.approx(2000.0)  # twice the wall time
    end = j.run_from(0.0)
    kept, ckpt = j.finish(end)
    assert j.status == DONE and kept == pytest.approx(2000.0) and ckpt == pytest.approx(19 * 10.0)


def test_keep_partial_at_the_horizon():
    j = job()
    j.run_from(0.0)
    assert j.stop(345.0, keep_partial=True) == pytest.approx((315.0, 0.0, 30.0))
