"""LLM training step time, memory and throughput, vectorised over strategies.

One call evaluates any number of strategies at once: every degree (``tp``, ``pp``, ``cp``,
``ep``, ``vp``, ``dp``), ``micro_batch``, ``zero``, ``recompute`` and ``precision`` may be
a numpy array, and all outputs broadcast to their common shape.

The step (Narayanan et al. SC21, Sec. 2-3; Korthikanti et al. 2022) is

    t_step = (m + (pp - 1) / vp) * t_mb + t_dp + t_opt

with ``m = global_batch / (dp * micro_batch)`` micro-batches per pipeline, ``t_mb`` the time
of one micro-batch on one pipeline stage (forward, backward and recompute of its layers,
plus the communication that is not hidden behind them), ``(pp-1)/vp`` micro-batches of
pipeline bubble (interleaved 1F1B), ``t_dp`` the data-parallel gradient and parameter
traffic that is not overlapped, and ``t_opt`` the memory-bound optimizer step.

Each operator is timed on its own roofline: a GEMM takes
``max(F / (P * e * s(M, N, K)), bytes / (B * e_mem))`` where ``P`` is the dense peak at the
training precision, ``e`` the calibrated GEMM efficiency of the hardware generation and
precision, and ``s = M/(M+128) N/(N+128) K/(K+445)`` the shape efficiency (small M and N
fill fewer 128-wide tiles; each tile's prologue and epilogue cost as much as 445 more K
elements, fitted on DeepGEMM's published per-shape rates). Attention and the Mamba scan run
in BF16 at ``ATTENTION_EFFICIENCY_RATIO`` of the BF16 GEMM efficiency. Norms, residuals,
activations, rotary embeddings, FP8 casts and MoE token permutation are memory-bound and
take their bytes over ``e_mem`` of HBM bandwidth (quantising a GEMM operand costs
:data:`CAST_BYTES` per element). Dropless MoE layers add a fixed time per local expert
(``moe_expert_fixed_s``, calibrated; three times per layer for forward and backward): the
host reads the routed token counts back before it can size the expert GEMMs, so their
per-expert launches are not hidden; whole-iteration CUDA graphs remove it, and token
dropping (``capacity_factor``: every expert padded to a static capacity) needs no such
sync, so the launches hide behind the GPU's work. Mamba-2 layers
add a fixed time per layer (``mamba_fixed_s``, calibrated) for the chain of small SSD kernels.

The package runs the model as a sequence of stages over numpy arrays of strategies:

- :mod:`.strategy`: the strategies as float arrays, and the structural constraints
  (:class:`.codes.Reason`, with the messages in :mod:`.codes`);
- :mod:`.roofline`: GEMM, attention and memory-bound times on one GPU;
- :mod:`.layers`: one micro-batch forward through one layer of each type (attention, dense
  MLP, MoE, Mamba-2) and the head (logits, loss, MTP);
- :mod:`.passes`: all layers, forward, backward and recomputation;
- :mod:`.pipeline`: one pipeline stage, its exposed TP, CP, EP and PP communication, the
  bubble; :mod:`.data_parallel`: gradient and parameter traffic, the optimizer step;
- :mod:`.memory`: HBM per GPU; :mod:`.step`: :func:`training_step`, which runs them and
  returns the step time by term (``breakdown_s``) and by GPU phase (``phase_s``,
  :data:`.phases.PHASES`), from which the energy model computes power;
- :mod:`.estimate`: :func:`estimate_training` (catalog names in, :class:`TrainingEstimate`
  out).

Constants with their sources are in :mod:`.constants`, calibrated efficiencies in
:mod:`.efficiency`.
"""

from __future__ import annotations

from gigafleet.perf.training.codes import REASONS, Precision, Reason, Recompute
from gigafleet.perf.training.constants import (
    ATTENTION_BACKWARD_RATIO,
    ATTENTION_EFFICIENCY_RATIO,
    CAST_BYTES,
    GEMM_K_OVERHEAD,
    GEMM_TILE,
    GRAD_BYTES,
    GRAD_COMM_BYTES,
    MEMORY_EFFICIENCY,
    OPERAND_BYTES,
    OPTIMIZER_BYTES,
    OPTIMIZER_BYTES_PER_PARAM,
    RESERVED_FIXED_BYTES,
    RESERVED_FRACTION,
    SELECTIVE_RECOMPUTE_MEMORY,
    SELECTIVE_RECOMPUTE_TIME,
    TP_OVERLAP,
    WEIGHT_BYTES,
)
from gigafleet.perf.training.efficiency import Efficiency, efficiency_for
from gigafleet.perf.training.estimate import TrainingEstimate, estimate_training
from gigafleet.perf.training.phases import PHASES, phase_seconds
from gigafleet.perf.training.step import training_step

__all__ = [
    "ATTENTION_BACKWARD_RATIO",
    "ATTENTION_EFFICIENCY_RATIO",
    "CAST_BYTES",
    "GEMM_K_OVERHEAD",
    "GEMM_TILE",
    "GRAD_BYTES",
    "GRAD_COMM_BYTES",
    "MEMORY_EFFICIENCY",
    "OPERAND_BYTES",
    "OPTIMIZER_BYTES",
    "OPTIMIZER_BYTES_PER_PARAM",
    "PHASES",
    "REASONS",
    "RESERVED_FIXED_BYTES",
    "RESERVED_FRACTION",
    "SELECTIVE_RECOMPUTE_MEMORY",
    "SELECTIVE_RECOMPUTE_TIME",
    "TP_OVERLAP",
    "WEIGHT_BYTES",
    "Efficiency",
    "Precision",
    "Reason",
    "Recompute",
    "TrainingEstimate",
    "efficiency_for",
    "estimate_training",
    "phase_seconds",
    "training_step",
]
