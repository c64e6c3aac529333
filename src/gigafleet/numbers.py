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
#: Smallest non-zero magnitude (5e-324 as a bandwidth or an interval overflowed divisions).
#: Real inputs stay far above it (failure rates ~1e-6 per hour, epsilons ~1e-6).
MIN_MAGNITUDE = 1e-30


def sane(v: float, *, max_magnitude: float = MAX_MAGNITUDE) -> bool:
    """``v`` is 0 or has magnitude :data:`MIN_MAGNITUDE` to ``max_magnitude`` (NaN is not)."""
    return v == 0 or MIN_MAGNITUDE <= abs(v) <= max_magnitude


def bounded(value: Any) -> Any:
    """``value`` unchanged if every number in it (a number, or a list/tuple of them) is 0 or
    has magnitude :data:`MIN_MAGNITUDE` to :data:`MAX_MAGNITUDE`; else ``ValueError``
    (pydantic names the field)."""
    for v in value if isinstance(value, list | tuple) else (value,):
        number = isinstance(v, int | float) and not isinstance(v, bool)
        if number and not sane(v):
            raise ValueError(
                f"got {v:g}; allowed: 0 or a number of magnitude {MIN_MAGNITUDE:g} to "
                f"{MAX_MAGNITUDE:g}"
            )
    return value
