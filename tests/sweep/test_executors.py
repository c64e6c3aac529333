"""Sweeps: executors, shards, resume, DuckDB queries, and bad sweep files."""

import importlib.util

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sweep.executors import run_tasks
from gigafleet.sweep.run import query, run_sweep
from gigafleet.sweep.spec import Executor, SweepSpec
from sweephelp import fail, square

SMALL = {
    "name": "small",
    "grid": {
        "model": ["llama3-8b", "llama3-70b"],
        "system": ["dgx-h100"],
        "num_gpus": [64, 128],
        "global_batch": [256],
        "precision": ["fp8"],
    },
    "top": 2,
    "points_per_task": 1,
}


def spec(**over):
    return SweepSpec.model_validate({**SMALL, **over})


def test_dask_executor_in_process(tmp_path):
    pytest.importorskip("distributed")
    out = run_sweep(spec(executor={"kind": "dask", "workers": 2}), tmp_path)
    assert out["ran"] == 4
    assert len(query(tmp_path, "SELECT * FROM results")[1]) == 8


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is an optional extra")
def test_ray_executor_local(tmp_path):
    out = run_sweep(spec(executor={"kind": "ray", "workers": 2}), tmp_path)
    assert out["ran"] == 4


@pytest.mark.parametrize("kind", ["local", "dask"])
def test_every_task_runs_once_and_results_come_back(kind):
    if kind == "dask":
        pytest.importorskip("distributed")
    ex = Executor(kind=kind, workers=2)
    got = sorted(run_tasks(ex, square, [(i, 1) for i in range(7)]))
    assert got == [i * i + 1 for i in range(7)]


def test_no_tasks_starts_no_workers():
    assert list(run_tasks(Executor(kind="local", workers=2), square, [])) == []


def test_afailing_task_raises_its_error():
    with pytest.raises(ValueError, match="task 3 failed"):
        list(run_tasks(Executor(kind="local", workers=1), fail, [(3,)]))


def test_missing_extra_is_a_user_error(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("no ray here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(GigafleetError, match="pip install 'gigafleet\\[ray\\]'"):
        list(run_tasks(Executor(kind="ray", workers=1), square, [(1,)]))
