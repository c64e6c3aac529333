"""The hardware and model catalog: shipped data with sources, plus user overlays.

The package ships one file per table in ``data/`` (CSV for hardware, YAML for models).
Users add or override entries without editing the package: pass YAML files to
:func:`load_catalog` (``--catalog FILE`` on the CLI) or list them in the
``GIGAFLEET_CATALOG`` environment variable (separated by ``os.pathsep``). An overlay file
maps table names to lists of entries::

    accelerators:
      - name: h100-sxm          # an existing name: only the given fields change
        hbm_gib: 96
        source: "my lab's board"
    models:
      - name: my-model          # a new name: every required field must be given
        ...

Names resolve case-insensitively, ignoring punctuation and a parenthesised suffix, so
``LLAMA3.1_405B`` and ``DeepSeekV3 (dropless)`` find ``llama3.1-405b`` and ``deepseek-v3``.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gigafleet.catalog.schema import (
    TABLES,
    Accelerator,
    Fabric,
    Host,
    ModelArch,
    Nic,
    RecsysModel,
    Row,
    ScaleUp,
    System,
)
from gigafleet.errors import GigafleetError, unknown_name
from gigafleet.yamlio import read_yaml, validation_error

DATA_DIR = Path(__file__).parent / "data"
ENV_VAR = "GIGAFLEET_CATALOG"

_KIND = {
    "accelerators": "accelerator",
    "hosts": "host",
    "nics": "NIC",
    "fabrics": "fabric",
    "fabric_designs": "fabric design",
    "scaleup": "scale-up domain",
    "systems": "system",
    "models": "model",
    "recsys": "recommendation model",
}


def name_key(name: str, *, strip_parens: bool = False) -> str:
    """The lookup key of a name: lowercase, letters/digits/dots only (optionally without
    parenthesised parts, so ``DeepSeekV3 (dropless)`` finds ``deepseek-v3``)."""
    if strip_parens:
        name = re.sub(r"\(.*?\)", "", name)
    return re.sub(r"[^a-z0-9.]", "", name.lower())


@dataclass(frozen=True)
class Table:
    """Rows of one kind by name, with an index of every alias."""

    kind: str
    rows: Mapping[str, Row]
    index: Mapping[str, str] = field(repr=False)
    loose: Mapping[str, str | None] = field(
        repr=False
    )  # keys without parentheses; None if ambiguous

    def _find(self, name: str) -> Row | None:
        hit = self.rows.get(name) or self.rows.get(self.index.get(name_key(name), ""))
        if hit is None:
            hit = self.rows.get(self.loose.get(name_key(name, strip_parens=True)) or "")
        return hit

    def get(self, name: str, *, field: str | None = None) -> Any:
        hit = self._find(name)
        if hit is None:
            raise unknown_name(_KIND[self.kind], name, self.rows, field=field or self.kind)
        return hit

    def __iter__(self):
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, name: str) -> bool:
        return self._find(name) is not None


@dataclass(frozen=True)
class Catalog:
    """All tables, resolved and cross-checked."""

    tables: Mapping[str, Table]
    calibration: Mapping[str, Any]

    def __getattr__(self, table: str) -> Table:
        try:
            return self.tables[table]
        except KeyError:
            raise AttributeError(table) from None

    def accelerator(self, name: str) -> Accelerator:
        return self.tables["accelerators"].get(name, field="accelerator")

    def system(self, name: str) -> System:
        return self.tables["systems"].get(name, field="system")

    def model(self, name: str) -> ModelArch:
        return self.tables["models"].get(name, field="model")

    def recsys_model(self, name: str) -> RecsysModel:
        return self.tables["recsys"].get(name, field="model")

    def fabric(self, name: str) -> Fabric:
        return self.tables["fabrics"].get(name, field="fabric")

    def scaleup_of(self, system: System) -> ScaleUp:
        return self.tables["scaleup"].get(system.scaleup)

    def host_of(self, system: System) -> Host:
        return self.tables["hosts"].get(system.host)

    def nic_of(self, system: System) -> Nic:
        return self.tables["nics"].get(system.nic)


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in r.items()} for r in csv.DictReader(fh)]


Raw = dict[str, list[tuple[dict[str, Any], str, Any]]]  # table -> (entry, file, YAML node)


def _validate(table: str, raw: dict[str, Any], *, file: str, node: Any) -> Row:
    from pydantic import ValidationError

    try:
        return TABLES[table].model_validate(raw)
    except ValidationError as exc:
        prefix = f"{table}[{raw.get('name', '?')}]."
        raise validation_error(exc, TABLES[table], source=file, node=node, prefix=prefix) from None


#: Tables with nested fields live in YAML; the flat ones in CSV.
YAML_TABLES = ("models", "recsys")


def _shipped_raw() -> Raw:
    raw: Raw = {}
    for table in TABLES:
        if table in YAML_TABLES:
            path = DATA_DIR / f"{table}.yaml"
            rows, _ = read_yaml(path)
        else:
            path = DATA_DIR / f"{table}.csv"
            rows = _read_csv(path)
        raw[table] = [(r, str(path), None) for r in rows or []]
    return raw


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; nested mappings (``moe``, ``attention``) merge too."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _apply_overlay(raw: Raw, path: Path) -> None:
    doc, root = read_yaml(path)
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise GigafleetError(
            "a catalog overlay must map table names to lists of entries",
            file=str(path),
            allowed=TABLES,
        )
    tables = {key.value: value for key, value in root.value}
    for table, entries in doc.items():
        if table not in TABLES:
            err = unknown_name("catalog table", str(table), TABLES, field="table")
            raise GigafleetError(str(err), file=str(path)) from None
        if not isinstance(entries, list):
            raise GigafleetError("must be a list of entries", file=str(path), field=table)
        index = {name_key(a): i for i, (r, _, _) in enumerate(raw[table]) for a in _names(r)}
        for pos, entry in enumerate(entries):
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("name"), str)
                or not entry["name"]
            ):
                raise GigafleetError(
                    "each entry needs a 'name' (text)", file=str(path), field=f"{table}[{pos}]"
                )
            node = tables[table].value[pos]
            i = index.get(name_key(entry["name"]))
            if i is not None:  # an existing entry (by name or alias): only the given fields change
                base = raw[table][i][0]
                raw[table][i] = (_merge(base, {**entry, "name": base["name"]}), str(path), node)
            else:
                raw[table].append((dict(entry), str(path), node))


def _names(row: dict[str, Any]) -> list[str]:
    aliases = row.get("aliases") or []
    if isinstance(aliases, str):
        aliases = aliases.split(";")
    return [row["name"], *(a.strip() for a in aliases if a and a.strip())]


def _build(raw: Raw) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    files = {(t, e.get("name")): f for t, entries in raw.items() for e, f, _ in entries}
    for table, entries in raw.items():
        rows: dict[str, Row] = {}
        index: dict[str, str] = {}
        loose: dict[str, str | None] = {}
        for entry, file, node in entries:
            row = _validate(table, entry, file=file, node=node)
            if row.name in rows:
                raise GigafleetError(
                    f"duplicate name {row.name!r}", file=file, field=f"{table}.name"
                )
            rows[row.name] = row
            for alias in (row.name, *row.aliases):
                key = name_key(alias)
                if index.get(key, row.name) != row.name:
                    raise GigafleetError(
                        f"alias {alias!r} of {row.name!r} already names {index[key]!r}",
                        file=file,
                        field=f"{table}[{row.name}].aliases",
                    )
                index[key] = row.name
                lkey = name_key(alias, strip_parens=True)
                loose[lkey] = row.name if loose.get(lkey, row.name) == row.name else None
        tables[table] = Table(table, rows, index, loose)
    _check_references(tables, files)
    return tables


def _check_references(tables: dict[str, Table], files: dict[tuple[str, Any], str]) -> None:
    refs = {
        "accelerator": "accelerators",
        "scaleup": "scaleup",
        "host": "hosts",
        "nic": "nics",
        "default_fabric": "fabrics",
    }
    for system in tables["systems"]:
        for attr, table in refs.items():
            value = getattr(system, attr)
            if value not in tables[table].rows:
                err = unknown_name(
                    _KIND[table], value, tables[table].rows, field=f"systems[{system.name}].{attr}"
                )
                raise GigafleetError(str(err), file=files.get(("systems", system.name))) from None


def _load_calibration() -> dict[str, Any]:
    path = DATA_DIR / "calibration.yaml"
    return read_yaml(path)[0] if path.exists() else {}


def overlay_paths_from_env() -> list[Path]:
    value = os.environ.get(ENV_VAR, "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def load_catalog(overlays: Iterable[str | os.PathLike[str]] = ()) -> Catalog:
    """The shipped catalog with user overlays applied (from ``overlays`` and ``$GIGAFLEET_CATALOG``)."""
    paths = tuple(str(p) for p in (*overlay_paths_from_env(), *overlays))
    return _load_cached(paths)


@functools.lru_cache(maxsize=8)
def _load_cached(paths: tuple[str, ...]) -> Catalog:
    raw = _shipped_raw()
    for p in paths:
        _apply_overlay(raw, Path(p))
    return Catalog(tables=_build(raw), calibration=_load_calibration())


__all__ = [
    "Accelerator",
    "Catalog",
    "Fabric",
    "Host",
    "ModelArch",
    "Nic",
    "ScaleUp",
    "System",
    "load_catalog",
    "name_key",
]
