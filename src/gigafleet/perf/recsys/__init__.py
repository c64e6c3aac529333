"""Recommendation models: DLRM and HSTU serving within a latency budget, embeddings beyond
HBM, and the training side.

- :mod:`.device`: one GPU's sustained clock under its power limit, per-layer rooflines,
  row gathers at the row size;
- :mod:`.dlrm`, :mod:`.hstu`: the layers, lookups and bytes of one unit of work (a DLRM
  user-item pair; an HSTU request with its history and candidates);
- :mod:`.embeddings`: tables sharded over the scale-up domain, a hot-row cache in HBM,
  cold rows in host memory (NVLink-C2C or PCIe) and a far tier, hit rates from the skew;
- :mod:`.capacity`: the latency-bounded batch, throughput per GPU, the tail latency;
- :mod:`.training`: first-order training step of a DLRM (model-parallel tables, data-
  parallel dense part, the embedding all-to-all).
"""

from __future__ import annotations

from gigafleet.catalog.schema_recsys import RecsysModel
from gigafleet.perf.recsys.capacity import (
    TABLE_HBM_SHARE,
    RecsysCapacity,
    latency_bounded_batch,
    recsys_capacity,
)
from gigafleet.perf.recsys.work import Layer, TableUse, UnitWork


def unit_work(
    m: RecsysModel,
    *,
    precision: str = "bf16",
    embedding: str = "fp16",
    candidates: int | None = None,
    history: float | None = None,
    interaction: str | None = None,
) -> UnitWork:
    """One unit of ``m``'s work: a pair (DLRM) or a request (HSTU), at these precisions."""
    from gigafleet.errors import GigafleetError
    from gigafleet.perf.recsys.device import COMPUTE_PRECISIONS, PRECISION_BYTES

    for name, value, allowed in (("precision", precision, COMPUTE_PRECISIONS),
                                 ("embedding_precision", embedding, tuple(PRECISION_BYTES))):  # fmt: skip
        if value not in allowed:
            raise GigafleetError(
                f"unknown precision {value!r}; allowed: {', '.join(allowed)}", field=name
            )
    if m.kind == "hstu":
        from gigafleet.perf.recsys.hstu import hstu_work

        return hstu_work(m, precision=precision, embedding=embedding, history=history,
                         candidates=candidates)  # fmt: skip
    from gigafleet.perf.recsys.dlrm import dlrm_work

    return dlrm_work(m, mlp=precision, interaction=interaction, embedding=embedding)


def with_hstu(m: RecsysModel, changes: dict, *, field: str = "hstu") -> RecsysModel:
    """``m`` with some HSTU fields changed (a user's configuration), validated again."""
    from pydantic import ValidationError

    from gigafleet.errors import GigafleetError

    if m.hstu is None:
        raise GigafleetError(f"{m.name} is a {m.kind}, not an HSTU model", field=field)
    if not changes:
        return m
    data = m.model_dump()
    data["hstu"] = {**data["hstu"], **changes}
    try:
        return RecsysModel.model_validate(data)
    except ValidationError as exc:
        msg = "; ".join(e["msg"] for e in exc.errors())
        raise GigafleetError(msg, field=field) from None


__all__ = [
    "TABLE_HBM_SHARE",
    "Layer",
    "RecsysCapacity",
    "TableUse",
    "UnitWork",
    "latency_bounded_batch",
    "recsys_capacity",
    "unit_work",
    "with_hstu",
]
