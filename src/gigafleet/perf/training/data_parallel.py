"""Data parallelism and the optimizer: parameters per GPU, ZeRO sharding, the gradient and
parameter traffic that is not overlapped, FSDP's per-micro-batch gathers, the optimizer
step (memory-bound)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.perf import collectives as coll
from gigafleet.perf.arch import ArchCosts
from gigafleet.perf.hardware import Hardware
from gigafleet.perf.training.constants import (
    GRAD_COMM_BYTES,
    MEMORY_EFFICIENCY,
    OPTIMIZER_BYTES_PER_PARAM,
    WEIGHT_BYTES,
)
from gigafleet.perf.training.passes import Passes
from gigafleet.perf.training.strategy import Strategy


@dataclass(frozen=True, slots=True)
class DataParallel:
    """Parameters and data-parallel times of one GPU."""

    dense_gpu: Any  # dense parameters on this GPU before ZeRO sharding
    expert_gpu: Any  # routed-expert parameters on this GPU before ZeRO sharding
    shard_dense: Any  # ZeRO shards of the dense optimizer state (1: none)
    shard_expert: Any
    local_params: Any  # parameters whose optimizer state this GPU holds
    trained: float  # 0 for LoRA (the base weights are frozen), else 1
    dp_exposed: Any  # gradient reduction and parameter gathers not overlapped, per step
    fsdp_mb: Any  # FSDP gathers and scatters not overlapped, per micro-batch
    t_opt: Any  # optimizer step


def data_parallel(arch: ArchCosts, *, s: Strategy, ps: Passes, hw: Hardware) -> DataParallel:
    """Dense parameters reduce over ``dp x cp`` ranks (stride ``tp``), routed experts over
    ``tp x dp x cp / ep`` ranks (stride ``ep``)."""
    tp, pp, ep, zero, net = s.tp, s.pp, s.ep, s.zero, hw.net
    dense_gpu = arch.dense_params / (tp * pp)
    expert_gpu = arch.routed_expert_params / (ep * pp)
    dp_dense = s.dp * s.cp
    dp_expert = np.maximum(1.0, tp * s.dp * s.cp / ep)
    g_dp, n_dp = coll.group_layout(dp_dense, tp, net.domain_size)
    g_edp, n_edp = coll.group_layout(dp_expert, ep, net.domain_size)
    trained = 0.0 if s.lora else 1.0
    gb_dense = dense_gpu * GRAD_COMM_BYTES * trained
    gb_expert = expert_gpu * GRAD_COMM_BYTES * trained
    rs = coll.reduce_scatter_time(gb_dense, g_dp, n_dp, net) + coll.reduce_scatter_time(
        gb_expert, g_edp, n_edp, net
    )
    ar = coll.all_reduce_time(gb_dense, g_dp, n_dp, net) + coll.all_reduce_time(
        gb_expert, g_edp, n_edp, net
    )
    ag_w = coll.all_gather_time(dense_gpu * WEIGHT_BYTES, g_dp, n_dp, net) + coll.all_gather_time(
        expert_gpu * WEIGHT_BYTES, g_edp, n_edp, net
    )
    fwd_mb = (ps.gemm_f + ps.core_f + ps.ew_f) / pp
    bwd_mb = (ps.gemm_b + ps.core_b + ps.ew_b) / pp
    # Gradient reduction overlaps the last backward pass; the parameter all-gather the
    # first forward pass (Megatron-Core overlap_grad_reduce / overlap_param_gather).
    dp_exposed = np.where(
        zero == 0,
        np.maximum(0.0, ar - bwd_mb),
        np.where(
            zero < 3,
            np.maximum(0.0, rs - bwd_mb) + np.maximum(0.0, ag_w * trained - fwd_mb),
            0.0,
        ),
    )
    # FSDP gathers weights for forward and backward and scatters gradients every micro-batch.
    fsdp_mb = np.where(zero == 3, np.maximum(0.0, 2 * ag_w + rs - (fwd_mb + bwd_mb)), 0.0)
    shard_dense = np.where(zero >= 1, dp_dense, 1.0)
    shard_expert = np.where(zero >= 1, dp_expert, 1.0)
    local_params = dense_gpu / shard_dense + expert_gpu / shard_expert
    return DataParallel(
        dense_gpu=dense_gpu,
        expert_gpu=expert_gpu,
        shard_dense=shard_dense,
        shard_expert=shard_expert,
        local_params=local_params,
        trained=trained,
        dp_exposed=dp_exposed,
        fsdp_mb=fsdp_mb,
        t_opt=local_params * OPTIMIZER_BYTES_PER_PARAM / (hw.hbm_bw * MEMORY_EFFICIENCY) * trained,
    )
