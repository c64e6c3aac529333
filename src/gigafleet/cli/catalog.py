"""``gigafleet catalog list`` and ``gigafleet catalog show``: what the catalog holds."""

from __future__ import annotations

from typing import Annotated

import typer

from gigafleet.cli.app import CatalogOpt, JsonOpt, catalog_app, console, load_catalog
from gigafleet.jsonout import dumps


@catalog_app.command("list")
def catalog_list(
    table: Annotated[
        str | None,
        typer.Argument(help="accelerators, hosts, nics, fabrics, scaleup, systems or models"),
    ] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List catalog entries (all tables, or one)."""
    from rich.table import Table

    from gigafleet.catalog.schema import TABLES
    from gigafleet.errors import unknown_name

    cat = load_catalog(catalog)
    names = [table] if table else list(TABLES)
    for n in names:
        if n not in TABLES:
            raise unknown_name("catalog table", n, TABLES, field="table")
    if as_json:
        print(dumps({n: [r.name for r in cat.tables[n]] for n in names}, indent=2))
        return
    con = console()
    for n in names:
        t = Table("name", "summary", "source", title=n)
        for row in cat.tables[n]:
            t.add_row(
                row.name,
                _row_summary(row),
                row.source[:60] + ("..." if len(row.source) > 60 else ""),
            )
        con.print(t)


def _row_summary(row) -> str:
    from gigafleet.catalog.schema import Accelerator, ModelArch, System

    if isinstance(row, Accelerator):
        return f"{row.bf16_dense_tflops:g} TFLOP/s BF16, {row.hbm_gib:g} GiB, {row.hbm_bw_tbytes_per_s:g} TB/s, {row.tdp_w:g} W"
    if isinstance(row, System):
        return f"{row.num_gpus} x {row.accelerator}, {row.scaleup}, {row.num_nics} x {row.nic}, {row.default_fabric}"
    if isinstance(row, ModelArch):
        moe = f", MoE {row.moe.num_experts}x top-{row.moe.top_k}" if row.moe else ""
        return f"{row.num_layers} layers, hidden {row.hidden_size}{moe}"
    return ", ".join(
        f"{k}={v}"
        for k, v in row.model_dump().items()
        if k not in ("name", "aliases", "source", "estimated")
    )


@catalog_app.command("show")
def catalog_show(
    name: Annotated[str, typer.Argument(help="Entry name or alias.")],
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every field of one entry, with its source."""
    from gigafleet.errors import unknown_name

    cat = load_catalog(catalog)
    for table in cat.tables.values():
        if name in table:
            row = table.get(name)
            data = {"table": table.kind, **row.model_dump(mode="json")}
            if as_json:
                print(dumps(data, indent=2))
            else:
                from rich.table import Table

                t = Table("field", "value", title=f"{table.kind}: {row.name}")
                for k, v in data.items():
                    t.add_row(k, str(v))
                console().print(t)
            return
    every = [r.name for tb in cat.tables.values() for r in tb]
    raise unknown_name("catalog entry", name, every, field="name")
