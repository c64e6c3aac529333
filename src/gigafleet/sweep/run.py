"""Run a sweep: validate everything first, then chunk the grid into tasks, one Parquet shard
per task, written atomically, so a re-run skips finished shards and an interrupted sweep
loses none.

DuckDB writes the shards (``COPY ... TO ... (FORMAT PARQUET)``) and queries them
(``read_parquet``); it is the ``sweep`` extra (``pip install 'gigafleet[sweep]'``, 69 MB),
so the core install stays light. Without it a sweep stops before it starts, with one
clear error.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from gigafleet.catalog import load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.parquet import duckdb_module, write_parquet
from gigafleet.plan.space import strategy_space
from gigafleet.plan.training import plan_training
from gigafleet.sweep.executors import run_tasks
from gigafleet.sweep.spec import SweepSpec

MANIFEST = "manifest.json"


def shard_path(out_dir: Path, task_id: int) -> Path:
    return out_dir / f"shard-{task_id:05d}.parquet"


def shard_done(path: Path) -> bool:
    """A finished shard: a Parquet file that starts and ends with its magic bytes. A
    truncated or overwritten one is not done: the sweep runs its task again."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
            f.seek(-4, os.SEEK_END)
            return head == b"PAR1" and f.read(4) == b"PAR1"
    except OSError:  # missing, or shorter than 4 bytes
        return False


def check_spec(spec: SweepSpec) -> None:
    """Every name resolves and every (model, GPU count, batch, sequence) has a strategy."""

    cat = load_catalog()
    g = spec.grid
    models = {m: cat.model(m) for m in g.model}
    for s in g.system:
        cat.system(s)
    for f in g.fabric:
        if f is not None:
            cat.fabric_or_design(f)
    if "cost" in g.objective and not spec.gpu_hour_usd:
        raise GigafleetError("the cost objective needs gpu_hour_usd", field="gpu_hour_usd")
    for name, m in models.items():
        for n in g.num_gpus:
            for gbs in g.global_batch:
                for seq in g.seq_len:
                    if strategy_space(m, num_gpus=n, seq_len=seq, global_batch=gbs)["tp"].size == 0:
                        raise GigafleetError(
                            f"no strategy can use {n} GPUs for {name} with global_batch {gbs} and "
                            f"seq_len {seq}", field="grid.num_gpus",
                        )  # fmt: skip
    for s in g.system:
        acc = cat.accelerator(cat.system(s).accelerator)
        for p in g.precision:
            if acc.dense_flops(p) is None:
                raise GigafleetError(
                    f"{s} ({acc.name}) does not support {p}; allowed: {', '.join(acc.precisions)}",
                    field="grid.precision",
                )


def run_task(
    spec_json: str, task_id: int, points: list[dict[str, Any]], out_dir: str
) -> dict[str, Any]:
    """Plan every point of one task and write its shard (a worker runs this)."""

    spec = SweepSpec.model_validate_json(spec_json)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    evaluated = 0
    for p in points:
        plan = plan_training(
            p["model"], p["system"], num_gpus=p["num_gpus"], seq_len=p["seq_len"],
            global_batch=p["global_batch"], precisions=(p["precision"],), objective=p["objective"],
            gpu_hour_usd=spec.gpu_hour_usd, fabric=p["fabric"], ep_dispatcher=p["ep_dispatcher"],
            top_k=spec.top,
        )  # fmt: skip
        evaluated += plan.num_considered
        base = {
            "sweep": spec.name,
            "task_id": task_id,
            "point_id": p["point_id"],
            **{k: p[k] for k in p if k != "point_id"},
        }
        base.update(num_considered=plan.num_considered, num_feasible=plan.num_feasible)
        if not plan.order.size:
            rows.append({**base, "rank": None})
        for rank, i in enumerate(plan.order[: spec.top], 1):
            row = plan.row(int(i))
            breakdown = row.pop("breakdown_s")
            row.pop("num_gpus")
            rows.append({**base, "rank": rank, **row, **breakdown})
    out = Path(out_dir)
    tmp = out / f".shard-{task_id:05d}.{os.getpid()}.tmp"
    write_parquet(rows, tmp)
    os.replace(tmp, shard_path(out, task_id))  # atomic: a shard is whole or absent
    return {
        "task_id": task_id,
        "points": len(points),
        "evaluations": evaluated,
        "seconds": time.perf_counter() - t0,
    }


def run_sweep(
    spec: SweepSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_task: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the sweep into ``out_dir``; returns counts. Progress goes to the callbacks."""
    duckdb_module()  # before anything is planned or written
    check_spec(spec)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    points = spec.points()
    for i, p in enumerate(points):
        p["point_id"] = i
    chunks = [
        points[i : i + spec.points_per_task] for i in range(0, len(points), spec.points_per_task)
    ]
    if manifest.exists():
        try:
            old = json.loads(manifest.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            old = None
        if not isinstance(old, dict):
            raise GigafleetError(
                f"{manifest} is not a sweep manifest (damaged?); delete it to start the sweep "
                "again, or choose another output folder",
                field="output",
            )
        if old.get("digest") != spec.digest():
            raise GigafleetError(
                f"{out} holds another sweep ({old.get('name')}, {old.get('digest')}); choose another output folder",
                field="output",
            )
    else:
        manifest.write_text(json.dumps({"name": spec.name, "digest": spec.digest(), "num_tasks": len(chunks),
                                        "num_points": len(points)}, indent=2))  # fmt: skip
    todo = [
        (spec.model_dump_json(), i, c, str(out))
        for i, c in enumerate(chunks)
        if not shard_done(shard_path(out, i))
    ]
    if on_start:
        on_start(len(chunks), len(chunks) - len(todo))
    evaluations = 0
    t0 = time.perf_counter()
    for result in run_tasks(spec.executor, run_task, todo):
        evaluations += result["evaluations"]
        if on_task:
            on_task(result)
    return {
        "output": str(out),
        "num_tasks": len(chunks),
        "skipped": len(chunks) - len(todo),
        "ran": len(todo),
        "evaluations": evaluations,
        "seconds": time.perf_counter() - t0,
    }


#: Most rows :func:`query` returns: it is for looking at results; a bulk export reads the
#: Parquet shards themselves (DuckDB, pandas), without going through Python rows or JSON.
QUERY_MAX_ROWS = 200_000


class QueryResult(NamedTuple):
    """What :func:`query` found: column names, rows, and whether more rows were left off."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    more: bool


def query(
    out_dir: str | os.PathLike[str], sql: str, *, max_rows: int = QUERY_MAX_ROWS
) -> QueryResult:
    """Run SQL over the shards of a sweep; the table is called ``results``. At most
    ``max_rows`` rows are fetched (``more`` says whether the statement had others).

    The shard paths go to DuckDB as values (a list), never pasted into SQL, so any folder
    name works and none can inject SQL. An unreadable shard or a statement that returns no
    rows (empty, a comment, DDL) is one clear error.
    """
    duckdb = duckdb_module()

    out = Path(out_dir)
    shards = sorted(str(p) for p in out.glob("shard-*.parquet")) if out.is_dir() else []
    if not shards:
        raise GigafleetError(f"no result shards in {out}", field="--dir")
    if not _statement(sql):
        raise GigafleetError(
            "empty SQL statement; e.g. 'SELECT * FROM results LIMIT 10'", field="query"
        )
    con = duckdb.connect()
    # a damaged shard surfaces as duckdb.Error, or as RuntimeError / UnicodeError when its
    # metadata does not decode (a flipped byte in a column name)
    damaged = (duckdb.Error, RuntimeError, UnicodeError)
    try:
        con.read_parquet(shards, union_by_name=True).create_view("results")
    except damaged as exc:
        raise GigafleetError(
            f"cannot read the result shards ({str(exc).splitlines()[0]}); delete the damaged "
            "shard and re-run the sweep to recompute it",
            field="--dir",
        ) from None
    try:
        rel = con.execute(sql)
        if rel.description is None:
            raise GigafleetError(
                "the statement returns no rows; use a SELECT over `results`", field="query"
            )
        rows = rel.fetchmany(max_rows + 1)
        more = len(rows) > max_rows
        return QueryResult([d[0] for d in rel.description], rows[:max_rows], more)
    except damaged as exc:
        raise GigafleetError(f"SQL error: {str(exc).splitlines()[0]}", field="query") from None


def _statement(sql: str) -> str:
    """``sql`` without comments and blanks: empty when there is no statement to run."""
    text = re.sub(r"--[^\n]*|/\*.*?(\*/|$)", " ", sql, flags=re.S)
    return text.replace(";", " ").strip()
