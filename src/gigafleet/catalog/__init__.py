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
A model may also be given as a file (``Catalog.model("path/config.json")``): a Hugging Face
``config.json`` or a YAML model in this schema (:mod:`gigafleet.catalog.model_files`).

The same files change the parameter sets (``catalog.params``: ``calibration``, ``power``,
``prices``, ``failure_rates``; see :mod:`gigafleet.catalog.params`): a top-level key of the
set's name maps to the fields that change, and nested fields merge::

    power:
      facility: {pue: {air: 1.4}}
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gigafleet.catalog.params import SETS, Params, deep_merge, references, shipped_params
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
from gigafleet.yamlio import node_at, read_yaml, validation_error

DATA_DIR = Path(__file__).parent / "data"
#: Parameter sets an overlay may change beside the tables.
PARAM_SETS = tuple(SETS)
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
    """All tables, resolved and cross-checked, and the parameter sets (``params``)."""

    tables: Mapping[str, Table]
    params: Params

    def with_params(self, **sets: Any) -> Catalog:
        """This catalog with some parameter sets replaced (typed objects, e.g. for fits)."""
        return replace(self, params=replace(self.params, **sets))

    def with_param_file(self, name: str, path: str | os.PathLike[str]) -> Catalog:
        """This catalog with a YAML file of changes to one set (``--prices FILE``) applied."""
        doc, node = read_yaml(path)
        if doc is None:
            return self
        layer = (name, doc, str(path), node)
        params = self.params.overlay(name, doc, file=str(path), node=node)
        _check_param_references(self.tables, params, [layer])
        return replace(self, params=params)

    def with_overlay(self, doc: Any, *, file: str, node: Any = None) -> Catalog:
        """This catalog with an overlay given as data (e.g. a scenario's ``catalog:`` key):
        tables and parameter sets as in an overlay file; errors name ``file`` and, with the
        YAML ``node`` of ``doc``, the line."""
        if not doc:
            return self
        raw: Raw = {
            t: [(row.model_dump(), "catalog", None) for row in table]
            for t, table in self.tables.items()
        }
        params = self.params
        layers = _apply_overlay_doc(raw, doc, node, file)
        for name, part, f, n in layers:
            params = params.overlay(name, part, file=f, node=n)
        tables = _build(raw)
        _check_param_references(tables, params, layers)
        return Catalog(tables=tables, params=params)

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
        """A catalog model by name, or the model a file describes (a Hugging Face
        ``config.json`` or a YAML model file: :mod:`gigafleet.catalog.model_files`)."""
        if isinstance(name, str) and name.lower().endswith((".json", ".yaml", ".yml")):
            # only when a model is given as a file: hf_config is not needed otherwise
            from gigafleet.catalog.model_files import load_model_file

            return load_model_file(name)
        return self.tables["models"].get(name, field="model")

    def recsys_model(self, name: str) -> RecsysModel:
        return self.tables["recsys"].get(name, field="model")

    def fabric(self, name: str) -> Fabric:
        return self.tables["fabrics"].get(name, field="fabric")

    def fabric_or_design(self, name: str, *, field: str = "fabric") -> str:
        """``name`` if it is a fabric technology or a fabric design, else an error with
        suggestions from both (what a user's ``fabric:`` field may name)."""
        if name in self.tables["fabrics"] or name in self.tables["fabric_designs"]:
            return name
        allowed = [*self.tables["fabrics"].rows, *self.tables["fabric_designs"].rows]
        raise unknown_name("fabric or fabric design", name, allowed, field=field)

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


#: A parameter-set overlay: (set name, the changes, file, YAML node of the changes).
Layer = tuple[str, Any, str, Any]


def _apply_overlay(raw: Raw, path: Path) -> list[Layer]:
    """Apply the table entries of one overlay file to ``raw``; return its parameter-set parts."""
    doc, root = read_yaml(path)
    return _apply_overlay_doc(raw, doc, root, str(path))


def _apply_overlay_doc(raw: Raw, doc: Any, root: Any, path: str) -> list[Layer]:
    """Apply the table entries of an overlay ``doc`` (with its YAML node ``root``, if any,
    for line numbers) to ``raw``; return its parameter-set parts."""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        line = f":{root.start_mark.line + 1}" if root is not None else ""
        raise GigafleetError(
            "a catalog overlay must map table names to lists of entries (or parameter sets "
            "to their fields)",
            file=f"{path}{line}",
            allowed=(*TABLES, *PARAM_SETS),
        )
    layers: list[Layer] = []
    for table, entries in doc.items():
        if table in PARAM_SETS:
            layers.append((table, entries, str(path), node_at(root, table)))
            continue
        if table not in TABLES:
            err = unknown_name(
                "catalog table or parameter set", str(table), (*TABLES, *PARAM_SETS), field="table"
            )
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
            node = node_at(root, table, pos)  # composed only if the entry is bad
            i = index.get(name_key(entry["name"]))
            if i is not None:  # an existing entry (by name or alias): only the given fields change
                base = raw[table][i][0]
                merged = deep_merge(base, {**entry, "name": base["name"]})
                raw[table][i] = (merged, str(path), node)
            else:
                raw[table].append((dict(entry), str(path), node))
    return layers


def _names(row: dict[str, Any]) -> list[str]:
    aliases = row.get("aliases") or []
    if isinstance(aliases, str):
        aliases = aliases.split(";")
    if not isinstance(aliases, list | tuple):
        aliases = []  # not names: the row's validation reports it
    return [row["name"], *(a.strip() for a in aliases if isinstance(a, str) and a.strip())]


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


def _key_line(node: Any, path: tuple[str, ...]) -> int | None:
    """1-based line of the key at ``path`` under a YAML mapping node, if it is there."""
    line = None
    for part in path:
        hit = next((kv for kv in getattr(node, "value", ()) if _is_key(kv, part)), None)
        if hit is None:
            return None
        line, node = hit[0].start_mark.line + 1, hit[1]
    return line


def _is_key(kv: Any, part: str) -> bool:
    return isinstance(kv, tuple) and str(kv[0].value) == str(part)


def _check_param_references(
    tables: Mapping[str, Table], params: Params, layers: list[Layer]
) -> None:
    """Every accelerator, host, NIC, system and generation a parameter set names exists."""
    known = {t: tables[t].rows for t in ("accelerators", "hosts", "nics", "systems")}
    known["generations"] = {a.generation: a for a in tables["accelerators"]}
    kinds = {**_KIND, "generations": "generation"}
    for table, path, value in references(params):
        if value in known[table]:
            continue
        err = unknown_name(kinds[table], value, known[table], field=".".join(path))
        where = str(DATA_DIR / f"{path[0]}.yaml")
        for name, _, file, node in reversed(layers):
            line = _key_line(node, path[1:]) if name == path[0] else None
            if line is not None:
                where = f"{file}:{line}"
                break
        raise GigafleetError(str(err), file=where) from None


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
    params = shipped_params()
    layers: list[Layer] = []
    for p in paths:
        for layer in _apply_overlay(raw, Path(p)):
            name, doc, file, node = layer
            params = params.overlay(name, doc, file=file, node=node)
            layers.append(layer)
    tables = _build(raw)
    _check_param_references(tables, params, layers)
    return Catalog(tables=tables, params=params)


__all__ = [
    "Accelerator",
    "Catalog",
    "Fabric",
    "Host",
    "ModelArch",
    "Nic",
    "Params",
    "ScaleUp",
    "System",
    "load_catalog",
    "name_key",
]
