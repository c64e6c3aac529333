"""The one error type for bad user input.

Every message names where the problem is (file, field), what was given, and what is
allowed, with a "did you mean" suggestion for names. The CLI prints it without a
traceback and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Iterable


class GigafleetError(ValueError):
    """Bad user input: names the field, the value and what is allowed."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        file: str | None = None,
        allowed: Iterable[str] | None = None,
    ) -> None:
        self.message = message
        self.field = field
        self.file = file
        self.allowed = list(allowed) if allowed is not None else None
        where = ": ".join(p for p in (file, field) if p)
        super().__init__(f"{where}: {message}" if where else message)


def suggest(name: str, choices: Iterable[str], *, n: int = 3) -> list[str]:
    """The closest names to ``name`` among ``choices`` (case-insensitive)."""
    import difflib  # only when a name is wrong: every command imports this module

    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[h] for h in hits]


def unknown_name(kind: str, name: str, choices: Iterable[str], *, field: str) -> GigafleetError:
    """An error for a name that is not in the catalog, with suggestions and the allowed list."""
    choices = sorted(set(choices))
    hint = suggest(name, choices)
    msg = f"unknown {kind} {name!r}"
    if hint:
        msg += f"; did you mean {', '.join(repr(h) for h in hint)}?"
    shown = choices if len(choices) <= 30 else choices[:30] + ["..."]
    msg += f"; allowed: {', '.join(shown)}"
    return GigafleetError(msg, field=field, allowed=choices)
