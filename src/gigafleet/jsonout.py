"""JSON text for what gigafleet prints or writes: every number finite, or an explicit null.

``json.dumps`` writes ``NaN`` and ``Infinity`` by default, which is not JSON and which no
user should see as a figure. Every face goes through :func:`dumps`: a non-finite float
(Python or numpy) becomes ``null``; the model that produced it says why where it can
(e.g. a ``*_note`` field beside a cost that has no price).
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(obj: Any) -> Any:
    """``obj`` with every NaN/inf float (nested in dicts, lists, tuples) replaced by None."""
    if isinstance(obj, float):  # numpy.float64 is a float subclass
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    if hasattr(obj, "dtype") and getattr(obj, "shape", None) == ():  # numpy scalars
        return finite(obj.item())
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy arrays
        return finite(obj.tolist())
    return obj


def _default(fallback: Any):
    def default(obj: Any) -> Any:
        return finite(obj if hasattr(obj, "dtype") else fallback(obj))  # numpy: finite's own

    return default


def dumps(obj: Any, *, default: Any = float, **kwargs: Any) -> str:
    """``json.dumps`` with non-finite numbers as null; ``default`` converts other objects."""
    return json.dumps(finite(obj), default=_default(default), allow_nan=False, **kwargs)
