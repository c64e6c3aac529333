"""What every user-written spec shares: no unknown fields, no NaN or infinity, and no
number of absurd magnitude.

Per-field bounds (``gt=0``, ``le=...``) say what physics allows; this base catches the
rest in one place, so that no model ever multiplies ``1e308`` into an overflow (and a
numpy warning) instead of the user getting one clear error naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

#: Largest magnitude any number a user writes may have. Real inputs stay far below it
#: (tokens ~1e13-1e14, bytes per second ~1e13, prices ~1e7); products of two such
#: numbers stay far from float overflow (1.8e308).
MAX_MAGNITUDE = 1e18


class UserSpec(BaseModel):
    """Base of the specs users write: strict fields, finite numbers of sane magnitude."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        for v in value if isinstance(value, list | tuple) else (value,):
            if isinstance(v, int | float) and not isinstance(v, bool) and abs(v) > MAX_MAGNITUDE:
                raise ValueError(
                    f"got {v:g}; allowed: a number of magnitude at most {MAX_MAGNITUDE:g}"
                )
        return value
