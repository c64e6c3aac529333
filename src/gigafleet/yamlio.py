"""YAML files and pydantic validation with errors that name the file, line and field.

Shared by every layer that reads what users write (catalog overlays, job and sweep files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gigafleet.errors import GigafleetError, suggest

M = TypeVar("M", bound=BaseModel)


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (a pydantic error location), if found."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


#: Deepest nesting of mappings and lists a user file may have. The deepest schema
#: (scenario -> sites -> fleet -> deployment -> ...) needs under ten; deeper input would
#: only reach recursive code (validation, line lookup) and exhaust Python's stack.
MAX_DEPTH = 64


def check_depth(data: Any, *, path: Path) -> None:
    """Raise a clear error when ``data`` nests deeper than :data:`MAX_DEPTH` (walked without recursion)."""
    seen: set[int] = set()
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, dict | list) or id(value) in seen:
            continue  # aliases share one object: walk it once
        if depth >= MAX_DEPTH:
            raise GigafleetError(
                f"values nested too deeply (at most {MAX_DEPTH} levels)", file=str(path)
            )
        seen.add(id(value))
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children)


def read_yaml(path: str | Path) -> tuple[Any, Any]:
    """The parsed document and its node tree (for line numbers); one clear error on bad input."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise GigafleetError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise GigafleetError("not a text (UTF-8) file", file=str(path)) from None
    try:
        data, node = yaml.safe_load(text), yaml.compose(text)
        check_depth(data, path=path)
        return data, node
    except RecursionError:
        # PyYAML builds nested values recursively: ~1,000 levels exhaust Python's stack
        raise GigafleetError(
            f"values nested too deeply (at most {MAX_DEPTH} levels)", file=str(path)
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise GigafleetError(f"malformed YAML: {where}{problem}", file=str(path)) from None


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Parse ``path`` as YAML and validate it as ``model``; one clear error on bad input."""
    data, node = read_yaml(path)
    if not isinstance(data, dict):
        raise GigafleetError("expected a mapping of fields at the top level", file=str(path))
    return validate_model(data, model, source=str(path), node=node)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``: what an unknown key could have been."""
    import typing

    def inner(tp: Any) -> Any:
        # list[M], dict[str, M], M | None: the model inside
        for arg in typing.get_args(tp):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
            found = inner(arg)
            if found is not None:
                return found
        return None

    current: Any = model
    for part in loc:
        if isinstance(part, int) or not hasattr(current, "model_fields"):
            continue  # a list index (or a dict key): the element model is already current
        field = current.model_fields.get(part)
        if field is None:
            break
        ann = field.annotation
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else inner(ann)
        if current is None:
            break
    return list(getattr(current, "model_fields", model.model_fields))


def validate_model(
    data: dict[str, Any], model: type[M], *, source: str, node: Any = None, prefix: str = ""
) -> M:
    """Validate ``data`` as ``model``; the error names the source (with line) and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, model, source=source, node=node, prefix=prefix) from None


def validation_error(
    exc: ValidationError, model: type[BaseModel], *, source: str, node: Any = None, prefix: str = ""
) -> GigafleetError:
    """One :class:`GigafleetError` for a pydantic error: file:line, field path, allowed fields."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    line = _line_of(node, loc) if node is not None else None
    field = prefix + ".".join(str(p) for p in loc) if loc else prefix.rstrip(".")
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        hint = suggest(str(loc[-1]), allowed) if loc else []
        msg = "unknown field" + (f"; did you mean {', '.join(map(repr, hint))}?" if hint else "")
        msg += f"; allowed fields: {', '.join(allowed)}"
    elif "input" in err and err["type"] != "missing":
        msg = f"{msg} (got {err['input']!r})"
    where = f"{source}:{line}" if line else source
    return GigafleetError(msg, file=where, field=field or None)
