"""YAML files and pydantic validation with errors that name the file, line and field.

Shared by every layer that reads what users write (catalog overlays, job and sweep files).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gigafleet.errors import GigafleetError, suggest

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound="BaseModel")


class LazyNode:
    """The YAML node tree of a document (or of one node in it), composed only when asked.

    Line numbers are needed only to explain an error, and composing the node tree costs
    as much as parsing the document again in pure Python: :func:`read_yaml` parses once
    with libyaml's C loader and hands out this stand-in. :meth:`get` (or any attribute,
    e.g. ``.value``, ``.start_mark``) composes the tree with the pure-Python composer, the
    only one that keeps marks, and walks to the node.
    """

    __slots__ = ("_text", "_parent", "_path", "_node")

    def __init__(self, text: str | None = None, *, parent: LazyNode | None = None,
                 path: tuple[Any, ...] = ()) -> None:  # fmt: skip
        self._text = text
        self._parent = parent
        self._path = path
        self._node: Any = None

    def at(self, *path: Any) -> LazyNode:
        """The node at ``path`` (mapping keys and sequence indexes) under this one, lazily."""
        return LazyNode(parent=self, path=path)

    def get(self) -> Any:
        """The composed ``yaml.Node`` (None for an empty document or a missing path)."""
        if self._node is None:
            import yaml

            if self._parent is None:
                self._node = yaml.compose(self._text or "", Loader=yaml.SafeLoader)
            else:
                node = self._parent.get()
                for part in self._path:
                    node = _child(node, part)
                self._node = node
        return self._node

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def _child(node: Any, part: Any) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == str(part)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def node_at(node: Any, *path: Any) -> Any:
    """The YAML node at ``path`` (mapping keys, sequence indexes) under ``node``: a
    :class:`LazyNode` stays lazy, a composed node is walked, None stays None."""
    if node is None or isinstance(node, LazyNode):
        return node.at(*path) if node is not None else None
    for part in path:
        node = _child(node, part)
    return node


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc`` (a pydantic error location), if found."""
    import yaml

    if isinstance(node, LazyNode):
        node = node.get()
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
            raise _too_deep(path)
        seen.add(id(value))
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children)


def _too_deep(path: Path) -> GigafleetError:
    # also raised when PyYAML recurses: ~1,000 levels exhaust Python's stack
    return GigafleetError(f"values nested too deeply (at most {MAX_DEPTH} levels)", file=str(path))


def read_yaml(path: str | Path) -> tuple[Any, LazyNode]:
    """The parsed document and its node tree (for line numbers, composed only when an error
    asks for one: a :class:`LazyNode`); one clear error on bad input.

    The document is parsed with libyaml's C loader when PyYAML has it (the same resolver
    and constructor as the pure-Python safe loader, so the same values, about ten times
    faster); a malformed file is parsed again in pure Python so that the message is the
    same wherever it runs.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise GigafleetError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise GigafleetError("not a text (UTF-8) file", file=str(path)) from None
    fast = getattr(yaml, "CSafeLoader", None)  # None: PyYAML built without libyaml
    try:
        data = yaml.load(text, Loader=fast or yaml.SafeLoader)
        check_depth(data, path=path)
        return data, LazyNode(text)
    except RecursionError:
        raise _too_deep(path) from None
    except yaml.YAMLError as fast_exc:
        exc = fast_exc
        if fast is not None:
            try:
                yaml.load(text, Loader=yaml.SafeLoader)
            except yaml.YAMLError as slow_exc:
                exc = slow_exc
            except RecursionError:  # newer libyaml refuses deep flows; Python then recurses
                raise _too_deep(path) from None
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

    from pydantic import BaseModel

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
    from pydantic import ValidationError

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
