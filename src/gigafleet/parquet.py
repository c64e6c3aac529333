"""Parquet files without pyarrow: DuckDB writes them (``COPY ... TO ... (FORMAT PARQUET)``)
and queries them (``read_parquet``). Sweep results and the fleet simulation's daily shards
use it.

DuckDB is the ``parquet`` extra (``pip install 'gigafleet[parquet]'``, about 70 MB; the
``sweep`` extra names it too), so the core install stays light: a command that writes
Parquet without it stops before it starts, with one clear error.
"""

from __future__ import annotations

import os
from typing import Any

from gigafleet.errors import GigafleetError


def duckdb_module() -> Any:
    """The ``duckdb`` module, or one clear error saying how to install it."""
    try:
        import duckdb
    except ImportError:
        raise GigafleetError(
            "sweep results and simulation shards are Parquet files written and queried with "
            "DuckDB, an optional dependency: pip install 'gigafleet[parquet]'",
            field="duckdb",
        ) from None
    return duckdb


#: SQL type of a Python value in a shard (bool before int: a bool is an int).
_SQL_TYPES = ((bool, "BOOLEAN"), (int, "BIGINT"), (float, "DOUBLE"), (str, "VARCHAR"))


def write_parquet(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write ``rows`` (dicts of plain values; keys missing from a row are NULL) as one
    Parquet file, with DuckDB's own writer (no pyarrow).

    Columns come in the order they first appear; each gets the SQL type of its values
    (BIGINT for whole numbers, DOUBLE as soon as one is a float, VARCHAR for text).
    """
    duckdb = duckdb_module()
    columns: dict[str, str] = {}
    for row in rows:
        for key, value in row.items():
            if value is None:
                columns.setdefault(key, "")
                continue
            kind = next((t for py, t in _SQL_TYPES if isinstance(value, py)), None)
            if kind is None:
                raise TypeError(f"column {key!r}: no Parquet type for {type(value).__name__}")
            have = columns.get(key, "")
            if not have or (have == "BIGINT" and kind == "DOUBLE"):
                columns[key] = kind
            elif have != kind and not (have == "DOUBLE" and kind == "BIGINT"):
                raise TypeError(f"column {key!r} mixes {have} and {kind}")
    names = list(columns)
    types = [columns[n] or "VARCHAR" for n in names]  # only NULLs: any type will do
    con = duckdb.connect()
    try:
        cols = ", ".join(f'"{n}" {t}' for n, t in zip(names, types, strict=True))
        con.execute(f"CREATE TABLE shard ({cols})")
        if rows:
            marks = ", ".join("?" * len(names))
            con.executemany(
                f"INSERT INTO shard VALUES ({marks})", [[r.get(n) for n in names] for r in rows]
            )
        target = os.fspath(path).replace("'", "''")
        con.execute(f"COPY shard TO '{target}' (FORMAT PARQUET)")
    finally:
        con.close()


def write_columns(columns: dict[str, list[Any]], path: str | os.PathLike[str]) -> None:
    """Write ``columns`` (name -> equally long lists of plain values) as one Parquet file."""
    names = list(columns)
    num_rows = len(columns[names[0]]) if names else 0
    write_parquet([{n: columns[n][i] for n in names} for i in range(num_rows)], path)
