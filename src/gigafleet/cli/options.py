"""Command-line options derived from the spec models, so that a field is written once.

A spec field (``spec/``) gives the option its type, help text and default; the command
names only the fields it exposes and the few flags that differ from the field name
(``num_gpus`` is ``--gpus``). :func:`spec_command` builds the typer command: the function
it wraps receives the options the user gave, as a nested dict keyed like the spec
(``{"traffic": {"rate_per_s": 8}}``), beside its own hand-written parameters.

Only typer is imported here: building a command costs no pydantic or numpy import.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer


@dataclass(frozen=True)
class SpecOption:
    """One option: the spec field it sets (a path into the nested model) and its flag."""

    path: tuple[str, ...]
    flag: str
    annotation: Any
    help: str
    panel: str | None = None

    @property
    def param(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


def _plain(annotation: Any) -> tuple[Any, str | None]:
    """The click-friendly type of a field annotation and, for a Literal, its choices."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _plain(args[0])
    if typing.get_origin(annotation) is typing.Literal:
        values = typing.get_args(annotation)
        kind = type(values[0])
        return kind, ", ".join(str(v) for v in values)
    if annotation in (int, float, str, bool, Path):
        return annotation, None
    raise TypeError(f"no command-line type for {annotation!r}")


def _field(model: Any, path: tuple[str, ...]) -> Any:
    """The pydantic FieldInfo at ``path`` (nested models followed through their annotation)."""
    current = model
    info = None
    for part in path:
        info = current.model_fields[part]
        ann = info.annotation
        inner = [a for a in typing.get_args(ann) if isinstance(a, type)] or [ann]
        current = next((a for a in inner if hasattr(a, "model_fields")), None)
    return info


def spec_options(
    model: Any,
    fields: Iterable[str],
    *,
    flags: dict[str, str] | None = None,
    helps: dict[str, str] | None = None,
    panel: str | None = None,
) -> list[SpecOption]:
    """Options for ``fields`` of pydantic ``model`` (dotted paths for nested fields).

    The flag is ``--field-name`` (the last path part) unless ``flags`` names another; the
    help is the field's description with its default appended as ``[default]``, unless
    ``helps`` gives the command's own (where the command's default differs).
    """
    flags, helps = flags or {}, helps or {}
    out = []
    for dotted in fields:
        path = tuple(dotted.split("."))
        info = _field(model, path)
        kind, _choices = _plain(info.annotation)
        help_text = info.description or ""
        default = info.default
        if default is not None and not info.is_required() and "[" not in help_text:
            shown = ("yes" if default else "no") if isinstance(default, bool) else f"{default:g}" if isinstance(default, float) else str(default)  # fmt: skip
            help_text = f"{help_text.rstrip('.')} [{shown}]."
        flag = flags.get(dotted, "--" + path[-1].replace("_", "-"))
        out.append(SpecOption(path, flag, kind, helps.get(dotted, help_text), panel))
    return out


def _parameter(opt: SpecOption) -> inspect.Parameter:
    name = opt.flag.removeprefix("--")
    flag = f"{opt.flag}/--no-{name}" if opt.annotation is bool else opt.flag
    info = typer.Option(flag, help=opt.help, rich_help_panel=opt.panel)
    return inspect.Parameter(
        opt.param,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[opt.annotation | None, info],
    )


def given_values(options: Iterable[SpecOption], values: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave (not None), nested by their spec path."""
    out: dict[str, Any] = {}
    for opt in options:
        value = values.pop(opt.param, None)
        if value is None:
            continue
        node = out
        for part in opt.path[:-1]:
            node = node.setdefault(part, {})
        node[opt.path[-1]] = str(value) if isinstance(value, Path) else value
    return out


def spec_command(
    group: typer.Typer, name: str | None = None, **groups: list[SpecOption]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` on ``group`` with the derived options of each named group added.

    ``fn`` keeps its own parameters; each ``groups[key]`` arrives as the keyword ``key``:
    the nested dict of what the user gave for those options.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(fn, eval_str=True)
        own_params = [p for p in own.parameters.values() if p.name not in groups]
        derived = [_parameter(o) for opts in groups.values() for o in opts]
        names = [p.name for p in own_params] + [p.name for p in derived]
        if len(set(names)) != len(names):
            raise TypeError(f"{fn.__name__}: an option is declared twice: {names}")

        @functools.wraps(fn)
        def command(**values: Any) -> Any:
            given = {key: given_values(opts, values) for key, opts in groups.items()}
            return fn(**values, **given)

        command.__signature__ = own.replace(parameters=own_params + derived)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in own_params + derived}
        group.command(name)(command)
        return command

    return register
