"""One-dimensional search for the calibration fits (no optimisation library for a handful
of smooth, bounded, one- or two-constant fits)."""

from __future__ import annotations

import math
from collections.abc import Callable

#: The golden ratio's conjugate: each step keeps this share of the bracket.
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def golden_section(loss: Callable[[float], float], lo: float, hi: float, *, steps: int) -> float:
    """The midpoint of the bracket left after ``steps`` golden-section steps on a unimodal
    ``loss`` over ``[lo, hi]`` (one new evaluation per step; the bracket shrinks by
    ``GOLDEN`` each step: Kiefer 1953)."""
    a, b = lo, hi
    c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(steps):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = loss(d)
    return 0.5 * (a + b)
