"""What every user-written spec shares: no unknown fields, no NaN or infinity, and no
number of absurd magnitude (:mod:`gigafleet.numbers`, the bound catalog rows share)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from gigafleet.numbers import MAX_MAGNITUDE, bounded

__all__ = ["MAX_MAGNITUDE", "UserSpec"]


class UserSpec(BaseModel):
    """Base of the specs users write: strict fields, finite numbers of sane magnitude."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        return bounded(value)
