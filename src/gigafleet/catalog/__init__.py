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
    Row,
    ScaleUp,
    System,
)
from gigafleet.errors import GigafleetError, unknown_name

DATA_DIR = Path(__file__).parent / "data"
ENV_VAR = "GIGAFLEET_CATALOG"

_KIND = {
    "accelerators": "accelerator",
    "hosts": "host",
    "nics": "NIC",
    "fabrics": "fabric",
    "scaleup": "scale-up domain",
    "systems": "system",
    "models": "model",
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


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise GigafleetError(f"cannot read catalog file: {exc.strerror}", file=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise GigafleetError(f"malformed YAML: {where}{problem}", file=str(path)) from None


def _validate(table: str, raw: dict[str, Any], *, file: str) -> Row:
    from pydantic import ValidationError

    try:
        return TABLES[table].model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        entry = raw.get("name", "?")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(TABLES[table].model_fields)
            msg = f"unknown field; allowed fields: {allowed}"
        elif err["type"] == "literal_error":
            msg = f"{msg} (got {err.get('input')!r})"
        raise GigafleetError(
            msg, file=file, field=f"{table}[{entry}]" + (f".{loc}" if loc else "")
        ) from None


def _shipped_raw() -> dict[str, list[tuple[dict[str, Any], str]]]:
    raw: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for table in TABLES:
        if table == "models":
            path = DATA_DIR / "models.yaml"
            rows = _read_yaml(path) or []
        else:
            path = DATA_DIR / f"{table}.csv"
            rows = _read_csv(path)
        raw[table] = [(r, str(path)) for r in rows]
    return raw


def _apply_overlay(raw: dict[str, list[tuple[dict[str, Any], str]]], path: Path) -> None:
    doc = _read_yaml(path)
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise GigafleetError(
            "a catalog overlay must map table names to lists of entries",
            file=str(path),
            allowed=TABLES,
        )
    for table, entries in doc.items():
        if table not in TABLES:
            raise unknown_name("catalog table", str(table), TABLES, field="table")
        if not isinstance(entries, list):
            raise GigafleetError("must be a list of entries", file=str(path), field=table)
        by_name = {r["name"]: i for i, (r, _) in enumerate(raw[table])}
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("name"):
                raise GigafleetError("each entry needs a 'name'", file=str(path), field=table)
            if entry["name"] in by_name:
                i = by_name[entry["name"]]
                raw[table][i] = ({**raw[table][i][0], **entry}, str(path))
            else:
                raw[table].append((dict(entry), str(path)))


def _build(raw: dict[str, list[tuple[dict[str, Any], str]]]) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for table, entries in raw.items():
        rows: dict[str, Row] = {}
        index: dict[str, str] = {}
        loose: dict[str, str | None] = {}
        for entry, file in entries:
            row = _validate(table, entry, file=file)
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
    _check_references(tables)
    return tables


def _check_references(tables: dict[str, Table]) -> None:
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
                raise unknown_name(
                    _KIND[table], value, tables[table].rows, field=f"systems[{system.name}].{attr}"
                )


def _load_calibration() -> dict[str, Any]:
    path = DATA_DIR / "calibration.yaml"
    return _read_yaml(path) if path.exists() else {}


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
