"""End to end: the CLI on the shipped example and on bad input."""

import json
import subprocess
import sys
from pathlib import Path

from clihelp import assert_user_error, gf
from gigafleet.sweep.spec import SweepSpec


def test_unwritable_output_is_a_user_error():
    assert_user_error(
        gf("sweep", "examples/sweep-405b.yaml", "--output", "/proc/no/such/dir"), "/proc/no"
    )


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


def test_cli_sweep_and_query(tmp_path):
    f = tmp_path / "s.yaml"
    import yaml

    f.write_text(yaml.safe_dump(SMALL))
    root = Path(__file__).resolve().parents[1]

    def run(*a):
        return subprocess.run(
            [sys.executable, "-m", "gigafleet", *a], capture_output=True, text=True, cwd=root
        )

    p = run("sweep", str(f), "--output", str(tmp_path / "o"), "--workers", "1", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["ran"] == 4
    q = run(
        "results",
        "query",
        "SELECT count(*) AS n FROM results",
        "--dir",
        str(tmp_path / "o"),
        "--json",
    )
    assert json.loads(q.stdout) == [{"n": 8}]
    f.write_text(yaml.safe_dump({**SMALL, "grid": {**SMALL["grid"], "tensor": [8]}}))
    bad = run("sweep", str(f), "--output", str(tmp_path / "o2"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "tensor" in bad.stderr


def test_cli_query_prints_null_for_non_finite_numbers(tmp_path):
    import duckdb

    out = tmp_path / "bob's runs"
    out.mkdir()
    path = str(out / "shard-00000.parquet").replace("'", "''")
    duckdb.sql(f"COPY (SELECT 1 AS point_id) TO '{path}' (FORMAT parquet)")
    p = gf("results", "query", "SELECT 0.0/0.0 AS x, 1/0 AS y, 1 AS n", "--dir", out, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == [{"x": None, "y": None, "n": 1}]
    table = gf("results", "query", "SELECT 0.0/0.0 AS x", "--dir", out)
    assert table.returncode == 0 and "nan" not in table.stdout.lower()
    assert_user_error(gf("results", "query", " ", "--dir", out), "empty SQL statement")
    # a result too long to print: a table shows its head and says so (it took 15 s CPU to
    # render 100,000 rows); JSON refuses past its cap with one line
    head = gf("results", "query", "SELECT * FROM range(100000)", "--dir", out)
    assert head.returncode == 0 and "│ 999 " in head.stdout and "│ 1000 " not in head.stdout
    assert "the first 1,000 rows" in head.stdout
    long = gf("results", "query", "SELECT * FROM range(1000000)", "--dir", out, "--json")
    assert_user_error(long, "more than 200,000 rows")
