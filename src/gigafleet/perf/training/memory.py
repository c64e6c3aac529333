"""HBM per GPU: weights, gradients and optimizer state (ZeRO), FSDP buffers, saved
activations (Korthikanti et al. 2022), logits, and what the runtime reserves."""

from __future__ import annotations

import numpy as np

from gigafleet.perf.arch import ArchCosts
from gigafleet.perf.training.codes import Precision, Recompute
from gigafleet.perf.training.constants import (
    GRAD_BYTES,
    OPTIMIZER_BYTES,
    RESERVED_FIXED_BYTES,
    RESERVED_FRACTION,
    SELECTIVE_RECOMPUTE_MEMORY,
    WEIGHT_BYTES,
)
from gigafleet.perf.training.data_parallel import DataParallel
from gigafleet.perf.training.strategy import Strategy


def saved_activation_bytes(arch: ArchCosts, *, s: Strategy, t):
    """Activations one micro-batch of ``t`` tokens per rank saves on one stage for its
    backward pass (BF16 layer inputs and the GEMM inputs of each block, per token)."""
    h, tp, mtp = float(arch.hidden), s.tp, arch.mtp_layers
    act_attn = 2.0 * (2 * h + arch.qkv_width + arch.q_width) / tp
    mlp_w = (arch.mlp_mats - 1) * arch.ffn + arch.ffn
    act_mlp = 2.0 * (2 * h + mlp_w) / tp
    act_moe = 2.0 * (
        2 * h / tp
        + arch.top_k * (2 * arch.expert_width + arch.mlp_mats * arch.expert_ffn) / tp
        + arch.mlp_mats * arch.shared_ffn / tp
    )
    act_mamba = 2.0 * (2 * h + arch.mamba_in_width + 2 * arch.mamba_inner) / tp
    act_tok = (
        arch.num_attn * act_attn
        + arch.num_mlp * act_mlp
        + arch.num_moe * act_moe
        + arch.num_mamba * act_mamba
        + mtp * (act_attn + (act_moe if arch.num_moe else act_mlp))
    )
    # With full recomputation a layer keeps only its input.
    full_tok = 2.0 * h / tp * (arch.num_layers + mtp)
    # FP8/FP4 recipes keep the saved GEMM inputs in low precision (Transformer Engine), about
    # half of the saved bytes: estimate.
    act_tok = act_tok * np.where(s.pidx > Precision.BF16, 0.75, 1.0)
    full, selective = s.rec == Recompute.FULL, s.rec == Recompute.SELECTIVE
    if s.flash_attention:
        act_tok = np.where(
            full, full_tok, np.where(selective, act_tok * SELECTIVE_RECOMPUTE_MEMORY, act_tok)
        )
    else:
        # Unfused attention keeps the score matrix (5 a s^2 b / t bytes per layer) unless
        # selective recomputation recomputes it.
        scores_tok = arch.num_attn * 5.0 * arch.num_heads * s.seq / tp
        act_tok = np.where(full, full_tok, np.where(selective, act_tok, act_tok + scores_tok))
    return act_tok / s.pp * t


def memory_per_gpu(
    arch: ArchCosts, *, s: Strategy, dpar: DataParallel, act_mb_bytes, t, hbm_bytes: float
):
    """Bytes of HBM one GPU of the first pipeline stage holds at its peak."""
    zero, pp = s.zero, s.pp
    dense_gpu, expert_gpu = dpar.dense_gpu, dpar.expert_gpu
    params_gpu = dense_gpu + expert_gpu
    # ZeRO-3 (FSDP) shards the weights, ZeRO-2 and up the gradients, ZeRO-1 and up the
    # optimizer state (``local_params``).
    w_shard = np.where(zero == 3, dpar.shard_dense, 1.0)
    w_shard_e = np.where(zero == 3, dpar.shard_expert, 1.0)
    weights = WEIGHT_BYTES * (dense_gpu / w_shard + expert_gpu / w_shard_e)
    g_shard = np.where(zero >= 2, dpar.shard_dense, 1.0)
    g_shard_e = np.where(zero >= 2, dpar.shard_expert, 1.0)
    grads = GRAD_BYTES * (dense_gpu / g_shard + expert_gpu / g_shard_e) * dpar.trained
    optim = OPTIMIZER_BYTES * dpar.local_params * dpar.trained
    # FSDP keeps two layers gathered (current and prefetched).
    fsdp_buf = np.where(
        zero == 3, 2 * WEIGHT_BYTES * params_gpu / np.maximum(arch.num_layers / pp, 1), 0.0
    )
    # 1F1B keeps pp micro-batches in flight on the first stage; interleaving adds the
    # factor (1 + (pp-1)/(pp vp)) (Korthikanti et al. 2022, Sec. 4.2.3).
    interleave = np.where(s.vp > 1, 1 + (pp - 1) / (pp * s.vp), 1.0)
    in_flight = np.where(pp > 1, np.minimum(pp, s.num_micro) * interleave, 1.0)
    acts = act_mb_bytes * in_flight * (1 - s.offload)
    logits_mem = t * float(arch.vocab) / s.tp * 4.0 * 2
    reserved = RESERVED_FIXED_BYTES + RESERVED_FRACTION * hbm_bytes
    return weights + grads + optim + fsdp_buf + acts + logits_mem + reserved
