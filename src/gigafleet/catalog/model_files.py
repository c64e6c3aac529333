"""Model files: ``--model`` (and every ``model:`` field) takes a catalog name or a path.

- a Hugging Face ``config.json`` (:mod:`gigafleet.catalog.hf_config`);
- a YAML (or JSON) file in the catalog's own schema (:class:`ModelArch`): one entry, or an
  overlay-style ``models:`` list holding one entry. ``name`` defaults to the path and
  ``source`` to "user file <path>".

Relative paths are relative to the working directory.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from gigafleet.catalog.hf_config import _validated, model_from_hf_config
from gigafleet.catalog.schema import ModelArch
from gigafleet.errors import GigafleetError
from gigafleet.yamlio import read_yaml

#: File suffixes that make a ``model`` value a path rather than a catalog name.
MODEL_FILE_SUFFIXES = (".json", ".yaml", ".yml")


def is_model_file(name: str) -> bool:
    """Whether a ``model`` value names a file rather than a catalog entry."""
    return name.lower().endswith(MODEL_FILE_SUFFIXES)


def load_model_file(path: str | os.PathLike[str]) -> ModelArch:
    """The model a file describes (a Hugging Face config.json or a catalog-schema YAML).

    Cached by path, modification time and size: a sweep or scenario naming one file many
    times reads it once.
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise GigafleetError(
            "model file not found; allowed: a catalog model name, or the path of a "
            "config.json or YAML model file",
            file=str(path),
            field="model",
        ) from None
    return _load(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _load(path: str, _mtime_ns: int, _size: int) -> ModelArch:
    if path.lower().endswith(".json"):
        from gigafleet.yamlio import check_depth

        try:
            # NaN and Infinity are read (real configs hold e.g. time_step_limit: [0, Infinity]);
            # every key that sizes the model is checked to be a finite whole number
            doc = json.loads(Path(path).read_text())
            check_depth(doc, path=Path(path))
        except (OSError, UnicodeDecodeError) as exc:
            raise GigafleetError(f"cannot read: {exc}", file=path) from None
        except json.JSONDecodeError as exc:
            raise GigafleetError(
                f"malformed JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}", file=path
            ) from None
        except RecursionError:
            raise GigafleetError("values nested too deeply", file=path) from None
        # a JSON model file is a config.json unless it is written in the catalog schema
        if not (isinstance(doc, dict) and ("num_layers" in doc or "models" in doc)):
            return model_from_hf_config(doc, file=path)
        return _from_schema(doc, file=path, node=None)

    doc, root = read_yaml(path)
    return _from_schema(doc, file=path, node=root)


def _from_schema(doc: Any, *, file: str, node: Any) -> ModelArch:
    """One model in the catalog schema: the entry itself or a ``models:`` list of one."""
    if isinstance(doc, dict) and "models" in doc:
        entries = doc["models"]
        if not isinstance(entries, list) or len(entries) != 1:
            raise GigafleetError(
                f"'models' must list exactly one model, got {len(entries) if isinstance(entries, list) else entries!r}",
                file=file,
                field="models",
            )
        doc = entries[0]
        node = _first_list_item(node, "models")
    if not isinstance(doc, dict):
        raise GigafleetError(
            "a model file holds one model: a Hugging Face config.json, or a mapping of the "
            "catalog's model fields (num_layers, hidden_size, ...)",
            file=file,
        )
    entry = {"name": file, "source": f"user file {file}", **doc}
    return _validated(entry, file=file, node=node)


def _first_list_item(node: Any, key: str) -> Any:
    for k, v in getattr(node, "value", ()):
        if getattr(k, "value", None) == key and getattr(v, "value", None):
            return v.value[0]
    return None
