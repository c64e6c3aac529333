"""Training a DLRM, first order: model-parallel tables, a data-parallel dense part and the
embedding all-to-all between them (Naumov et al. 2019, arXiv:1906.00091, Sec. 4
"Parallelism": "model parallelism for the embeddings ... data parallelism for the MLPs";
Mudigere et al. 2022, arXiv:2104.05158, the same layout on ZionEX with the all-to-all as
the network's main load).

One step of a global batch of ``G`` samples on ``N`` GPUs (scale-up domains of ``n``):

    dense       3 x (per-sample forward time of the layers) x G / N     (fwd + 2 x bwd)
    tables      G L / N x (g(r) gather + 2 g(r) gradient scatter + 4 r optimizer) / B_hbm
    all-to-all  2 x all_to_all(G T d b_a / N)       (perf/collectives: NVLink, then the NICs)
    all-reduce  all_reduce(W b_a)                   (dense gradients; NVLS and SHARP where present)

(``L`` lookups and ``T`` tables per sample, ``r`` row bytes, row-wise Adagrad reading and
writing the row and its accumulator; forward pooled embeddings and their gradients cross the
network once each; ``B_up``/``B_out``: scale-up and scale-out bandwidth per GPU.) The terms
add (no overlap): an upper bound on the step of a tuned implementation, which overlaps the
all-to-all with the dense part. Compared with MLPerf Training DLRM-dcnv2 rates derived from
the submitters' logs (``gigafleet recsys train``; research notes recsys.md, section 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError
from gigafleet.perf.collectives import all_reduce_time, all_to_all_time, group_layout
from gigafleet.perf.hardware import resolve_hardware
from gigafleet.perf.recsys.device import PRECISION_BYTES, device_for, granule_bytes

#: MLPerf Training DLRM-dcnv2 (closed) throughput derived from the submitters' MLLOG files
#: (mlcommons/training_results_v4.0 @6fe95437, v4.1 @b87b9e39, v5.0 @0fdc28f0): median over
#: training intervals of (delta epoch x 4,195,197,692 samples) / interval time. Derived by
#: the research notes (recsys.md section 6), not published figures.
MLPERF_TRAINING_DLRM = (
    {"round": "v4.0", "system": "dgx-h100", "num_gpus": 8, "global_batch": 55296, "samples_per_s": 1.567e7},
    {"round": "v4.0", "system": "dgx-h100", "num_gpus": 64, "global_batch": 135168, "samples_per_s": 5.614e7},
    {"round": "v4.0", "system": "dgx-h100", "num_gpus": 128, "global_batch": 135168, "samples_per_s": 7.443e7},
    {"round": "v4.0", "system": "hgx-h200", "num_gpus": 8, "global_batch": 55296, "samples_per_s": 1.705e7},
    {"round": "v4.0", "system": "dgx-a100", "num_gpus": 64, "global_batch": 135168, "samples_per_s": 2.677e7},
    {"round": "v4.1", "system": "dgx-b200", "num_gpus": 8, "global_batch": 55296, "samples_per_s": 2.542e7},
    {"round": "v5.0", "system": "gb200-nvl72", "num_gpus": 8, "global_batch": 55296, "samples_per_s": 2.667e7},
    {"round": "v5.0", "system": "gb200-nvl72", "num_gpus": 64, "global_batch": 135168, "samples_per_s": 9.424e7},
)  # fmt: skip


@dataclass(frozen=True)
class RecsysTrainingStep:
    model: str
    system: str
    num_gpus: int
    global_batch: int
    step_s: float
    samples_per_s: float
    parts_s: dict[str, float]
    status: str = "first-order (no overlap): an upper bound on the step"

    def to_dict(self) -> dict[str, Any]:
        import dataclasses

        return dataclasses.asdict(self)


def recsys_training_step(
    model: str,
    system: str,
    *,
    num_gpus: int,
    global_batch: int,
    precision: str = "bf16",
    embedding_precision: str = "fp32",
    catalog: Catalog | None = None,
) -> RecsysTrainingStep:
    """One training step of a DLRM (module docstring)."""
    from gigafleet.perf.recsys.dlrm import dlrm_layers

    catalog = catalog or load_catalog()
    m = catalog.recsys_model(model)
    if m.kind != "dlrm":
        raise GigafleetError(
            f"{m.name} is an HSTU model; the first-order training model covers DLRMs",
            field="model",
        )
    if num_gpus < 1 or global_batch < num_gpus:
        raise GigafleetError("needs at least one sample per GPU", field="global_batch")
    hw = resolve_hardware(catalog, system, flow=False)
    dev = device_for(hw.accelerator, catalog)
    table_bytes = sum(m.embedding_rows) * m.embedding_dim * PRECISION_BYTES[embedding_precision]
    per_gpu_tables = table_bytes / num_gpus
    if per_gpu_tables > 0.8 * dev.hbm_bytes:
        raise GigafleetError(
            f"{table_bytes / 1e9:.0f} GB of tables over {num_gpus} GPUs leave "
            f"{per_gpu_tables / 1e9:.0f} GB per GPU, more than its HBM holds",
            field="num_gpus",
        )
    per_sample = sum(dev.layer_time(x.flops, x.nbytes, x.precision)
                     for x in dlrm_layers(m, mlp=precision))  # fmt: skip
    local = global_batch / num_gpus
    row = m.embedding_dim * PRECISION_BYTES[embedding_precision]
    lookups = m.lookups_per_inference
    tables = local * lookups * (3 * granule_bytes(row) + 4 * row) / dev.hbm_bw
    act = PRECISION_BYTES[precision]
    pooled = local * len(m.embedding_rows) * m.embedding_dim * act
    g, nd = group_layout(num_gpus, 1, hw.net.domain_size)
    a2a = 2 * float(all_to_all_time(pooled, g, nd, hw.net))
    dense_params = sum(x.flops for x in dlrm_layers(m)) / 2.0
    allreduce = float(all_reduce_time(dense_params * act, g, nd, hw.net))
    parts = {"dense": 3 * per_sample * local, "tables": tables, "all_to_all": a2a,
             "allreduce": allreduce}  # fmt: skip
    step = sum(parts.values()) + catalog.params.calibration.recsys.batch_overhead_s
    return RecsysTrainingStep(m.name, hw.system, num_gpus, global_batch, step,
                              global_batch / step, parts)  # fmt: skip


def compare_mlperf_training(catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """The first-order model against the MLPerf Training DLRM-dcnv2 rates."""
    catalog = catalog or load_catalog()
    out = []
    for r in MLPERF_TRAINING_DLRM:
        s = recsys_training_step("dlrm-dcnv2", r["system"], num_gpus=r["num_gpus"],
                                 global_batch=r["global_batch"], catalog=catalog)  # fmt: skip
        out.append({**r, "predicted_samples_per_s": s.samples_per_s,
                    "error_pct": 100 * (s.samples_per_s / r["samples_per_s"] - 1),
                    "parts_s": s.parts_s})  # fmt: skip
    return out


__all__ = [
    "MLPERF_TRAINING_DLRM",
    "RecsysTrainingStep",
    "compare_mlperf_training",
    "recsys_training_step",
]
