"""HSTU generative recommenders: the layers of one ranking request.

A request carries a user's history of ``L`` item tokens (a jagged sequence: each request
its own length, no padding), ``c`` contextual tokens and ``C`` candidates scored together
in the same pass (M-FALCON: candidates attend to the history and to themselves, not to
each other; Zhai et al. 2024, arXiv:2402.17152, Sec. 3.4). An HSTU layer (Eq. 1-3;
meta-recsys/generative-recommenders ``modules/stu.py``) projects each token of width ``d``
to ``U, V, Q, K`` (``h`` heads of ``dv, dv, dqk, dqk``), applies pointwise aggregated
attention ``SiLU(Q K^T + rab) V`` (no softmax) and projects ``Norm(A V) * U`` back with an
output weight of ``3 h dv x d``. Per layer (2 FLOP per multiply-add, ``N = L + c + C``):

    projections   N [2 d h (2 dv + 2 dqk) + 2 (3 h dv) d]
    history       h (dqk + dv) E[(L + c)^2]         (causal: half of 2 h (dqk + dv) n^2)
    candidates    2 C (L + c + 1) h (dqk + dv)      (each attends the history and itself)

plus a preprocessor MLP per token (``f`` input embeddings of ``d`` -> hidden ``p`` -> ``d``:
``2 (f d p + p d)``). The jagged history enters the attention through ``E[L^2] =
mean^2 (1 + cv^2)``. For MLPerf DLRM-v3 (d 512, h 4, dqk = dv = 128, 5 layers, L ~ 6,615,
C 2,048) this gives ~0.53 TFLOP per request: the benchmark blog's "260 GFLOP" figure is of
that order per request, not per candidate.
"""

from __future__ import annotations

from gigafleet.catalog.schema_recsys import Hstu, RecsysModel
from gigafleet.errors import GigafleetError
from gigafleet.perf.recsys.device import PRECISION_BYTES
from gigafleet.perf.recsys.work import Layer, TableUse, UnitWork

#: Bytes the host sends per token: an INT64 item id and an INT64 timestamp (the DLRM-v3
#: loader's jagged id and action_timestamp features). Estimate from the feature list.
TOKEN_INPUT_BYTES = 16.0


def history_moments(h: Hstu, *, mean: float | None = None, cv: float | None = None
                    ) -> tuple[float, float]:  # fmt: skip
    """Mean and mean square of the history length, capped at ``max_history``."""
    m = min(h.history_mean if mean is None else mean, h.max_history)
    c = h.history_cv if cv is None else cv
    return m, min(m * m * (1.0 + c * c), float(h.max_history) ** 2)


def hstu_flops(m: RecsysModel, *, history: float | None = None, candidates: int | None = None
               ) -> dict[str, float]:  # fmt: skip
    """FLOP per request by part (module docstring)."""
    return {k: v for k, v in _parts(m, history=history, candidates=candidates).items()}


def _parts(m: RecsysModel, *, history: float | None, candidates: int | None) -> dict[str, float]:
    h = _block(m)
    d, nh, dqk, dv = m.embedding_dim, h.num_heads, h.attention_dim, h.linear_dim
    c = h.num_contextual
    cand = h.candidates_per_request if candidates is None else candidates
    if cand < 1:
        raise GigafleetError("must be at least 1", field="candidates")
    lm, lsq = history_moments(h, mean=history)
    n = lm + c + cand
    ctx_sq = lsq + 2 * c * lm + c * c  # E[(L + c)^2]
    per_layer_proj = n * (2.0 * d * nh * (2 * dv + 2 * dqk) + 2.0 * (3 * nh * dv) * d)
    f, p = h.num_input_features, h.preprocessor_hidden_dim
    return {
        "tokens": n,
        "history_tokens": lm,
        "candidates": float(cand),
        "preprocessor": n * 2.0 * (f * d * p + p * d),
        "projections": h.num_layers * per_layer_proj,
        "history_attention": h.num_layers * nh * (dqk + dv) * ctx_sq,
        "candidate_attention": h.num_layers * 2.0 * cand * (lm + c + 1) * nh * (dqk + dv),
    }


def _block(m: RecsysModel) -> Hstu:
    if m.hstu is None:
        raise GigafleetError(f"{m.name} is a {m.kind}, not an HSTU model", field="model")
    return m.hstu


def hstu_work(
    m: RecsysModel,
    *,
    precision: str = "bf16",
    embedding: str = "fp16",
    history: float | None = None,
    candidates: int | None = None,
) -> UnitWork:
    """One request of ``m``: its layers at ``precision`` and its ``embedding``-precision
    rows; ``history`` (mean tokens) and ``candidates`` replace the model's."""
    h = _block(m)
    parts = _parts(m, history=history, candidates=candidates)
    n, lm, cand = parts["tokens"], parts["history_tokens"], parts["candidates"]
    d, nh, dqk, dv = m.embedding_dim, h.num_heads, h.attention_dim, h.linear_dim
    b = PRECISION_BYTES[precision]
    uvqk = nh * (2 * dv + 2 * dqk)
    layers = [
        Layer(
            "preprocessor",
            parts["preprocessor"],
            n * (h.num_input_features * d + 2 * h.preprocessor_hidden_dim + d) * b,
            precision,
        )
    ]
    attn = (parts["history_attention"] + parts["candidate_attention"]) / h.num_layers
    for i in range(h.num_layers):
        layers.append(Layer(f"hstu{i}.uvqk", n * 2.0 * d * uvqk, n * (d + uvqk) * b, precision))
        # Q, K, V and U read once (tiles of K and V stay on chip), A V written
        layers.append(Layer(f"hstu{i}.attention", attn, n * (uvqk + nh * dv) * b, precision,
                            attention=True))  # fmt: skip
        layers.append(Layer(f"hstu{i}.out", n * 2.0 * 3 * nh * dv * d,
                            n * (3 * nh * dv + 2 * d) * b, precision))  # fmt: skip
    row = d * PRECISION_BYTES[embedding]
    tables = tuple(
        TableUse(
            t.name, t.num_rows, t.per_history_item * lm + t.per_candidate * cand + t.per_request
        )  # fmt: skip
        for t in m.tables
    )
    lookups = sum(t.lookups for t in tables)
    weights = (h.num_layers * (d * uvqk + 3 * nh * dv * d)
               + h.num_input_features * d * h.preprocessor_hidden_dim
               + h.preprocessor_hidden_dim * d) * b  # fmt: skip
    return UnitWork(
        kind="hstu",
        items=cand,
        layers=tuple(layers),
        tables=tables,
        row_bytes=row,
        pooled_bytes=lookups * row,  # rows are not pooled: each is a token's input
        input_bytes=n * TOKEN_INPUT_BYTES,
        weight_bytes=weights,
        activation_bytes=n * (2 * d + uvqk + 3 * nh * dv) * b,
    )


__all__ = ["TOKEN_INPUT_BYTES", "history_moments", "hstu_flops", "hstu_work"]
