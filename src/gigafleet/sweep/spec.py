"""The sweep file: a grid of planning problems, how much to keep, where and how to run."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from gigafleet.enums import Dispatcher, Precision
from gigafleet.spec.base import UserSpec
from gigafleet.spec.options import MAX_USD_PER_GPU_HOUR
from gigafleet.spec.training import MAX_GPUS


class Grid(UserSpec):
    """Every axis is a list; the sweep runs their full product. Unknown axes are rejected."""

    model: list[str]
    system: list[str]
    num_gpus: list[Annotated[int, Field(le=MAX_GPUS)]]
    seq_len: list[Annotated[int, Field(le=2**30)]] = [8192]
    global_batch: list[Annotated[int, Field(le=2**30)]] = [1024]
    precision: list[Precision] = ["bf16"]
    objective: list[Literal["time", "energy", "cost"]] = ["time"]
    fabric: list[str | None] = [None]
    ep_dispatcher: list[Dispatcher] = ["alltoall"]

    @field_validator("*")
    @classmethod
    def _not_empty(cls, v: list[Any]) -> list[Any]:
        if not v:
            raise ValueError("an axis needs at least one value (the grid would be empty)")
        return v

    @field_validator("num_gpus", "seq_len", "global_batch")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(x <= 0 for x in v):
            raise ValueError("values must be positive")
        return v


class Executor(UserSpec):
    kind: Literal["local", "dask", "ray"] = "local"
    workers: int = Field(default=2, gt=0, le=4096, description="local processes")
    address: str | None = Field(default=None, description="Dask scheduler or Ray cluster address")


class SweepSpec(UserSpec):
    """A sweep file (YAML)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    grid: Grid
    top: int = Field(default=5, gt=0, le=1000, description="strategies kept per grid point")
    points_per_task: int = Field(default=4, gt=0, le=1_000_000)
    gpu_hour_usd: float | None = Field(default=None, gt=0, le=MAX_USD_PER_GPU_HOUR)
    executor: Executor = Executor()

    def points(self) -> list[dict[str, Any]]:
        axes = self.grid.model_dump()
        keys = list(axes)
        return [
            dict(zip(keys, values, strict=True)) for values in itertools.product(*axes.values())
        ]

    def digest(self) -> str:
        """Identifies the work (not how it runs): a re-run may only resume the same sweep."""
        work = self.model_dump(exclude={"executor"})
        return hashlib.sha256(json.dumps(work, sort_keys=True).encode()).hexdigest()[:16]
