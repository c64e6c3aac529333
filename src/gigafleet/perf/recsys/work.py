"""What one unit of recommendation work costs: the layers it runs (FLOP and HBM bytes at a
precision), the embedding rows it gathers, what it exchanges and what it reads from the host.

A unit is one scored user-item pair for a DLRM and one request (a user's history and its
candidates, scored together) for an HSTU model; ``items`` says how many items a unit ranks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Layer:
    """One kernel (or a fused group of them): FLOP, HBM bytes, compute precision."""

    name: str
    flops: float
    nbytes: float
    precision: str
    attention: bool = False  # HSTU pointwise attention: its own kernel efficiency


@dataclass(frozen=True, slots=True)
class TableUse:
    """One embedding table: its rows and how many of them a unit looks up."""

    name: str
    num_rows: int
    lookups: float


@dataclass(frozen=True, slots=True)
class UnitWork:
    """The cost of one unit of work (module docstring)."""

    kind: str  # "dlrm" or "hstu"
    items: float  # items ranked per unit
    layers: tuple[Layer, ...]
    tables: tuple[TableUse, ...]
    row_bytes: float  # bytes of one embedding row
    pooled_bytes: (
        float  # embedding-stage output per unit: written to HBM, sent across a sharded domain
    )
    input_bytes: float  # bytes of inputs (indices, dense features) the host sends per unit
    weight_bytes: float  # dense weights, read once per batch
    activation_bytes: float  # live activations per unit (bounds the batch by HBM)

    @property
    def flops(self) -> float:
        return sum(x.flops for x in self.layers)

    @property
    def lookups(self) -> float:
        return sum(t.lookups for t in self.tables)

    @property
    def table_bytes(self) -> float:
        return sum(t.num_rows for t in self.tables) * self.row_bytes


__all__ = ["Layer", "TableUse", "UnitWork"]
