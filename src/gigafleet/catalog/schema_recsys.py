"""Schemas of recommendation models: DLRM (pooled embedding tables, MLPs, a feature
interaction) and HSTU generative recommenders (a user's history as a jagged sequence of
item tokens, HSTU layers with pointwise aggregated attention, candidates scored together).

One table (``recsys``) holds both; ``kind`` says which. Every figure is per *unit of work*
the perf model prices (:mod:`gigafleet.perf.recsys`): one scored user-item pair for a DLRM,
one request (a history and its candidates) for an HSTU model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gigafleet.catalog.schema import Row

RecsysKind = Literal["dlrm", "hstu"]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class HstuTable(_Block):
    """One embedding table of an HSTU model and how often a request looks it up."""

    name: str = Field(min_length=1)
    num_rows: int = Field(gt=0)
    per_history_item: int = Field(default=0, ge=0, description="lookups per history token")
    per_candidate: int = Field(default=0, ge=0, description="lookups per candidate")
    per_request: int = Field(default=0, ge=0, description="lookups per request")


class Hstu(_Block):
    """HSTU layers (Zhai et al. 2024, arXiv:2402.17152, Eq. 1-3; meta-recsys/
    generative-recommenders ``modules/stu.py``): per head ``dqk`` query/key and ``dv``
    value/gate widths; the user history is a jagged sequence (mean ``history_mean`` tokens,
    coefficient of variation ``history_cv``, at most ``max_history``)."""

    num_layers: int = Field(gt=0)
    num_heads: int = Field(gt=0)
    attention_dim: int = Field(gt=0, description="dqk per head")
    linear_dim: int = Field(gt=0, description="dv per head")
    max_seq_len: int = Field(gt=0, description="history + candidates + contextual tokens")
    history_mean: float = Field(gt=0, description="mean user-history tokens at inference")
    history_cv: float = Field(default=0.0, ge=0, description="coefficient of variation")
    num_contextual: int = Field(default=0, ge=0, description="contextual tokens per request")
    candidates_per_request: int = Field(gt=0, description="candidates scored together")
    preprocessor_hidden_dim: int = Field(default=0, ge=0, description="input MLP width")
    num_input_features: int = Field(default=1, gt=0, description="embeddings per token in")

    @model_validator(mode="after")
    def _lengths(self) -> Hstu:
        room = self.max_seq_len - self.candidates_per_request - self.num_contextual
        if room < 1:
            raise ValueError(
                f"max_seq_len {self.max_seq_len} leaves no room for a history beside "
                f"{self.candidates_per_request} candidates"
            )
        return self

    @property
    def max_history(self) -> int:
        """History tokens a request may carry: ``max_seq_len - candidates - contextual``
        (mlcommons/inference ``recommendation/dlrm_v3/datasets/dataset.py``)."""
        return self.max_seq_len - self.candidates_per_request - self.num_contextual


class RecsysModel(Row):
    """A recommendation model: a DLRM (sparse tables pooled per feature, a bottom MLP over
    dense features, DCN-v2 cross layers, a top MLP) or an HSTU generative recommender."""

    kind: RecsysKind = "dlrm"
    embedding_dim: int = Field(gt=0)
    # DLRM
    num_dense_features: int = Field(default=0, ge=0)
    embedding_rows: tuple[int, ...] = Field(default=(), description="rows per table")
    lookups_per_table: tuple[int, ...] = Field(default=(), description="multi-hot sizes")
    bottom_mlp: tuple[int, ...] = ()
    top_mlp: tuple[int, ...] = ()
    dcn_num_layers: int = Field(default=0, ge=0)
    dcn_low_rank_dim: int = Field(default=0, ge=0)
    # HSTU
    hstu: Hstu | None = None
    tables: tuple[HstuTable, ...] = ()
    notes: str | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> RecsysModel:
        if self.kind == "dlrm":
            if not self.embedding_rows or not self.bottom_mlp or not self.top_mlp:
                raise ValueError("a dlrm needs embedding_rows, bottom_mlp and top_mlp")
            if len(self.embedding_rows) != len(self.lookups_per_table):
                raise ValueError("embedding_rows and lookups_per_table need one entry per table")
            if self.hstu is not None or self.tables:
                raise ValueError("hstu and tables are fields of kind: hstu")
        else:
            if self.hstu is None or not self.tables:
                raise ValueError("an hstu model needs an 'hstu' block and its 'tables'")
            if self.embedding_rows or self.bottom_mlp or self.top_mlp:
                raise ValueError("embedding_rows, bottom_mlp and top_mlp are fields of a dlrm")
        return self

    # ---- both kinds ----------------------------------------------------------------------

    @property
    def table_rows(self) -> tuple[int, ...]:
        """Rows of every embedding table."""
        if self.kind == "dlrm":
            return self.embedding_rows
        return tuple(t.num_rows for t in self.tables)

    @property
    def embedding_params(self) -> int:
        return sum(self.table_rows) * self.embedding_dim

    # ---- DLRM ----------------------------------------------------------------------------

    @property
    def lookups_per_inference(self) -> int:
        return sum(self.lookups_per_table)


__all__ = ["Hstu", "HstuTable", "RecsysKind", "RecsysModel"]
