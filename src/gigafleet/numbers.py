"""The one bound on the magnitude of any number a person writes (specs, catalog rows,
overlays), shared by ``spec/`` and ``catalog/``.

Per-field bounds (``gt=0``, ``le=...``) say what physics allows; this catches the rest in
one place, so that no model multiplies ``1e308`` into an overflow (and a numpy warning)
instead of the user getting one clear error naming the field.
"""

from __future__ import annotations

from typing import Any

#: Largest magnitude any number a person writes may have. Real inputs stay far below it
#: (tokens ~1e13-1e14, bytes per second ~1e13, prices ~1e7); products of two such numbers
#: stay far from float overflow (1.8e308).
MAX_MAGNITUDE = 1e18


def bounded(value: Any) -> Any:
    """``value`` unchanged if every number in it (a number, or a list/tuple of them) has
    magnitude at most :data:`MAX_MAGNITUDE`; else ``ValueError`` (pydantic names the field)."""
    for v in value if isinstance(value, list | tuple) else (value,):
        if isinstance(v, int | float) and not isinstance(v, bool) and abs(v) > MAX_MAGNITUDE:
            raise ValueError(f"got {v:g}; allowed: a number of magnitude at most {MAX_MAGNITUDE:g}")
    return value
