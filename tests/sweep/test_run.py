"""Sweeps: executors, shards, resume, DuckDB queries, and bad sweep files."""

import contextlib

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sweep.run import query, run_sweep, shard_path
from gigafleet.sweep.spec import SweepSpec

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


def test_local_sweep_writes_shards_and_resumes(tmp_path):
    s = spec(executor={"kind": "local", "workers": 2})
    done = []
    out = run_sweep(s, tmp_path, on_task=done.append)
    assert out["num_tasks"] == 4 and out["ran"] == 4 and len(done) == 4
    assert out["evaluations"] > 1000
    assert all(shard_path(tmp_path, i).exists() for i in range(4))
    cols, rows, _ = query(
        tmp_path,
        "SELECT model, num_gpus, count(*) AS n, min(rank) FROM results GROUP BY 1, 2 ORDER BY 1, 2",
    )
    assert [r[:3] for r in rows] == [
        ("llama3-70b", 64, 2),
        ("llama3-70b", 128, 2),
        ("llama3-8b", 64, 2),
        ("llama3-8b", 128, 2),
    ]
    # a lost shard is the only work a re-run does
    shard_path(tmp_path, 2).unlink()
    again = run_sweep(s, tmp_path)
    assert again["ran"] == 1 and again["skipped"] == 3


def test_results_are_the_planner_best(tmp_path):
    from gigafleet.plan.training import plan_training

    run_sweep(spec(executor={"kind": "local", "workers": 1}), tmp_path)
    _, rows, _ = query(
        tmp_path,
        "SELECT step_time_s FROM results WHERE model='llama3-70b' AND num_gpus=64 AND rank=1",
    )
    p = plan_training(
        "llama3-70b", "dgx-h100", num_gpus=64, seq_len=8192, global_batch=256, precisions=("fp8",)
    )
    assert rows[0][0] == pytest.approx(p.metrics["step_time_s"][p.order[0]])


def test_another_sweep_in_the_same_folder_is_refused(tmp_path):
    run_sweep(spec(points_per_task=4), tmp_path)
    with pytest.raises(GigafleetError, match="holds another sweep"):
        run_sweep(spec(top=3, points_per_task=4), tmp_path)


@pytest.mark.parametrize(
    "grid, expect",
    [
        ({"gpu_kind": ["h100"]}, "gpu_kind"),
        ({"num_gpus": []}, "at least one value"),
        ({"num_gpus": [1000]}, "no strategy can use 1000 GPUs"),
        ({"model": ["llama-9"]}, "unknown model 'llama-9'"),
        ({"precision": ["fp4"]}, "does not support fp4"),
    ],
)
def test_bad_sweeps_fail_before_any_work(tmp_path, grid, expect):
    with pytest.raises((GigafleetError, ValueError)) as exc:
        run_sweep(spec(grid={**SMALL["grid"], **grid}), tmp_path)
    assert expect in str(exc.value)
    assert not list(tmp_path.glob("shard-*"))


def test_bad_query(tmp_path):
    with pytest.raises(GigafleetError, match="no result shards"):
        query(tmp_path, "SELECT 1")
    run_sweep(spec(points_per_task=4), tmp_path)
    with pytest.raises(GigafleetError, match="SQL error"):
        query(tmp_path, "SELEC nonsense")


def test_interrupted_task_leaves_no_partial_shard(tmp_path):
    s = spec(points_per_task=4)
    run_sweep(s, tmp_path)
    # a worker killed mid-write leaves only its temporary file, which nothing reads
    (tmp_path / ".shard-00000.12345.tmp").write_bytes(b"partial")
    shard_path(tmp_path, 0).unlink()
    again = run_sweep(s, tmp_path)
    assert again["ran"] == 1
    assert len(query(tmp_path, "SELECT * FROM results")[1]) == 8


def test_without_duckdb_a_sweep_stops_before_it_starts(tmp_path, monkeypatch):
    """DuckDB is the sweep extra: without it, one clear error and nothing written."""
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb raises ImportError
    with pytest.raises(GigafleetError, match=r"gigafleet\[parquet\]"):
        run_sweep(spec(), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(GigafleetError, match=r"gigafleet\[parquet\]"):
        query(tmp_path, "SELECT 1")


def _shards(folder, n=2):
    """``n`` small result shards in ``folder`` (written by DuckDB, as a sweep would)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = str(folder / f"shard-{i:05d}.parquet").replace("'", "''")
        duckdb.sql(f"COPY (SELECT {i} AS point_id, 0.5 AS mfu) TO '{path}' (FORMAT parquet)")
    return folder


def test_query_folder_names_are_values_not_sql(tmp_path):
    # the folder path was pasted into SQL: a quote broke the parser (and could inject SQL)
    for name in ("bob's runs", "x') UNION SELECT 1 --", "a[1]*"):
        out = _shards(tmp_path / name)
        assert query(out, "SELECT count(*) AS n FROM results") == (["n"], [(2,)], False)


def test_query_fetches_at_most_max_rows_and_says_more_were_left(tmp_path):
    out = _shards(tmp_path / "o")
    assert query(out, "SELECT * FROM range(5)", max_rows=5) == (
        ["range"],
        [(i,) for i in range(5)],
        False,
    )
    cols, rows, more = query(
        out, "SELECT * FROM range(1000000000000)", max_rows=3
    )  # never fetched whole
    assert rows == [(0,), (1,), (2,)] and more


@pytest.mark.parametrize("sql", ["", "  ", "-- only a comment", "/* c */ ;", ";"])
def test_query_without_a_statement_is_a_user_error(tmp_path, sql):
    with pytest.raises(GigafleetError, match="empty SQL statement"):
        query(_shards(tmp_path / "o"), sql)


def test_query_corrupt_or_truncated_shard_is_a_user_error(tmp_path):
    out = _shards(tmp_path / "o")
    shard = out / "shard-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:40])
    with pytest.raises(GigafleetError, match="re-run the sweep"):
        query(out, "SELECT * FROM results")
    shard.write_bytes(b"PAR1" + b"\x00garbage" * 20 + b"PAR1")
    with pytest.raises(GigafleetError, match="--dir"):
        query(out, "SELECT count(*) FROM results")


def test_a_truncated_shard_is_run_again(tmp_path):
    s = spec(points_per_task=1)
    run_sweep(s, tmp_path)
    shard = shard_path(tmp_path, 1)
    shard.write_bytes(shard.read_bytes()[:100])  # a disk that filled up, a copy cut short
    again = run_sweep(s, tmp_path)
    assert again["ran"] == 1 and again["skipped"] == 3
    assert len(query(tmp_path, "SELECT * FROM results")[1]) == 8


@pytest.mark.parametrize("text", ["{bad", "[1, 2]", "\xff\xfe"])
def test_a_damaged_manifest_is_a_user_error(tmp_path, text):
    (tmp_path / "manifest.json").write_text(text, encoding="latin-1")
    with pytest.raises(GigafleetError, match="not a sweep manifest"):
        run_sweep(spec(), tmp_path)


def test_every_flipped_byte_of_a_shard_gives_rows_or_one_clear_error(tmp_path):
    # a flipped byte in a column name raised RuntimeError (nanobind str conversion), not
    # duckdb.Error: a traceback
    import duckdb

    out = tmp_path / "o"
    out.mkdir()
    path = out / "shard-00000.parquet"
    duckdb.sql(
        f"COPY (SELECT 1 AS point_id, 0.5 AS mfu, 'x' AS model) TO '{path}' (FORMAT parquet)"
    )
    good = path.read_bytes()
    for i in range(len(good)):
        path.write_bytes(good[:i] + bytes([good[i] ^ 0xFF]) + good[i + 1 :])
        with contextlib.suppress(GigafleetError):  # rows, or one clear error
            query(out, "SELECT * FROM results")
