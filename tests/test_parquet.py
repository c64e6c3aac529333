"""Parquet through DuckDB (no pyarrow): types, missing keys, columns."""

from __future__ import annotations

import pytest

duckdb = pytest.importorskip("duckdb")


def test_parquet_shards_keep_types_and_missing_keys(tmp_path):
    """The DuckDB writer: ints stay BIGINT, a column with a float is DOUBLE, a key missing
    from a row is NULL, columns in the order they first appear."""
    from gigafleet.parquet import write_parquet

    path = tmp_path / "t.parquet"
    write_parquet([{"a": 1, "b": "x", "c": 2}, {"a": 2, "c": 2.5, "d": True}, {"a": 3}], path)
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{path}')")
    assert rel.columns == ["a", "b", "c", "d"]
    assert [str(t) for t in rel.types] == ["BIGINT", "VARCHAR", "DOUBLE", "BOOLEAN"]
    assert rel.fetchall() == [(1, "x", 2.0, None), (2, None, 2.5, True), (3, None, None, None)]


def test_columns_are_written_row_by_row(tmp_path):
    from gigafleet.parquet import write_columns

    path = tmp_path / "c.parquet"
    write_columns({"day": [0, 1], "mw": [1.5, 2.0], "site": ["a", "b"]}, path)
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{path}')")
    assert [str(t) for t in rel.types] == ["BIGINT", "DOUBLE", "VARCHAR"]
    assert rel.fetchall() == [(0, 1.5, "a"), (1, 2.0, "b")]
