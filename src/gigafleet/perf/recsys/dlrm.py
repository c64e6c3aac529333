"""DLRM-DCNv2 (MLPerf DLRM-v2): the layers of one scored user-item pair.

Per pair (``d`` embedding width, ``T`` tables, ``X = (T + 1) d`` interaction width, ``r``
DCN low rank; Wang et al. 2021, DCN-v2, arXiv:2008.13535, the low-rank cross layer):

* bottom MLP over the dense features: GEMMs ``2 n_in n_out`` FLOP each;
* embedding bags: ``L`` row gathers (``L`` = the multi-hot sizes summed), pooled per table
  into ``T`` vectors of ``d``;
* DCN-v2, per cross layer ``x_{l+1} = x_0 (U (V x_l) + b) + x_l``: ``V`` (``X -> r``) and
  ``U`` (``r -> X``), ``2 X r`` FLOP each; the epilogue reads ``x_0`` and ``x_l``;
* top MLP over ``X``.

HBM bytes per GEMM: its input and output activations at the layer's precision (weights are
read once per batch, ``weight_bytes``). MLPerf's harness runs every layer and the tables in
INT8 and, for the 99.9% accuracy target, the DCN interaction in FP16 (mlcommons/
inference_results_v4.1 ``closed/*/configs/dlrm-v2``: ``GPUBaseConfig`` sets every layer
precision to int8; the ``HighAccuracy`` configs set ``interaction_op_precision = 'fp16'``).
"""

from __future__ import annotations

from gigafleet.catalog.schema_recsys import RecsysModel
from gigafleet.perf.recsys.device import PRECISION_BYTES
from gigafleet.perf.recsys.work import Layer, TableUse, UnitWork

#: Bytes the host sends per pair: FP16 dense features and one INT32 index per lookup (the
#: harness's day_23 dense/fp16 and sparse/int32 tensors).
DENSE_FEATURE_BYTES = 2.0
INDEX_BYTES = 4.0


def dlrm_layers(
    m: RecsysModel, *, mlp: str = "bf16", interaction: str | None = None, top: str | None = None
) -> list[Layer]:
    """The GEMMs of one pair: bottom MLP, DCN-v2 cross layers, top MLP (module docstring)."""
    interaction = interaction or mlp
    top = top or mlp
    layers: list[Layer] = []
    b = PRECISION_BYTES[mlp]
    width = m.num_dense_features
    for i, n in enumerate(m.bottom_mlp):
        layers.append(Layer(f"bottom{i}", 2.0 * width * n, (width + n) * b, mlp))
        width = n
    x = (len(m.embedding_rows) + 1) * m.embedding_dim
    r = m.dcn_low_rank_dim
    bi = PRECISION_BYTES[interaction]
    for i in range(m.dcn_num_layers):
        layers.append(Layer(f"dcn{i}.V", 2.0 * x * r, (x + r) * bi, interaction))
        # U's epilogue reads x_0 and x_l and writes x_{l+1}
        layers.append(Layer(f"dcn{i}.U", 2.0 * r * x, (r + 3 * x) * bi, interaction))
    bt = PRECISION_BYTES[top]
    width = x
    for i, n in enumerate(m.top_mlp):
        layers.append(Layer(f"top{i}", 2.0 * width * n, (width + n) * bt, top))
        width = n
    return layers


def dlrm_work(
    m: RecsysModel,
    *,
    mlp: str = "bf16",
    interaction: str | None = None,
    top: str | None = None,
    embedding: str = "fp16",
) -> UnitWork:
    """One pair of ``m``: its layers at these precisions and its ``embedding``-precision
    rows."""
    layers = dlrm_layers(m, mlp=mlp, interaction=interaction, top=top)
    row = m.embedding_dim * PRECISION_BYTES[embedding]
    pooled = len(m.embedding_rows) * row  # one pooled vector per table crosses the domain
    weights = sum(x.flops / 2.0 * PRECISION_BYTES[x.precision] for x in layers)
    x = (len(m.embedding_rows) + 1) * m.embedding_dim
    return UnitWork(
        kind="dlrm",
        items=1.0,
        layers=tuple(layers),
        tables=tuple(
            TableUse(f"t{i}", n, float(k))
            for i, (n, k) in enumerate(zip(m.embedding_rows, m.lookups_per_table, strict=True))
        ),
        row_bytes=row,
        pooled_bytes=pooled,
        input_bytes=m.num_dense_features * DENSE_FEATURE_BYTES
        + m.lookups_per_inference * INDEX_BYTES,
        weight_bytes=weights,
        activation_bytes=4.0 * x * PRECISION_BYTES[interaction or mlp],
    )


__all__ = ["dlrm_layers", "dlrm_work"]
