"""Constants of the training model: bytes per element, efficiencies, overlaps, reserves.

Arrays indexed by precision follow :class:`gigafleet.perf.training.codes.Precision` (the
order of :data:`gigafleet.enums.PRECISIONS`: bf16, fp8, fp4).
"""

from __future__ import annotations

import numpy as np

#: Bytes per element of GEMM operands at each training precision (FP4 carries block scales).
OPERAND_BYTES = np.array([2.0, 1.0, 0.5625])

#: HBM bytes per element to quantize a GEMM operand from BF16. FP8: read BF16 (2), write FP8
#: (1). NVFP4 (NVIDIA, arXiv:2509.25149, Sec. 4; Transformer Engine NVFP4 recipe): the
#: per-tensor FP32 scale needs the tensor's amax before the block scales, an extra read (2);
#: then read (2) and write FP4 with E4M3 block scales per 16 values (0.5625) twice, row-wise
#: and column-wise, because the backward GEMMs use the transposes and the 16x16 Hadamard
#: transform of the weight-gradient operands applies to one of them only.
CAST_BYTES = np.array([0.0, 3.0, 2.0 + 2.0 + 2 * 0.5625])

#: Fraction of peak HBM bandwidth that fused elementwise kernels reach. Estimate: a pure copy
#: reaches ~0.92 (Azure ND GB200 v6, 7.35 of 8 TB/s, shared/groundtruth/hardware.csv);
#: kernels that read several tensors reach less.
MEMORY_EFFICIENCY = 0.8
#: FlashAttention efficiency relative to GEMM efficiency: FlashAttention-3 reaches ~75% of
#: H100 BF16 peak in the forward pass against ~80-85% for large GEMMs (Shah et al. 2024,
#: arXiv:2407.08608, Fig. 5); the backward pass is slower, so we take 0.75 overall.
ATTENTION_EFFICIENCY_RATIO = 0.75
#: Backward FLOPs of attention relative to forward: dQ, dK, dV plus recomputing the scores.
ATTENTION_BACKWARD_RATIO = 2.5
#: Selective recomputation with fused attention (Megatron-Core recompute_modules such as
#: layernorm, moe_act, mla_up_proj): the norms and activation functions are recomputed in
#: the backward pass, about half the forward memory-bound time, and their outputs (about
#: 30% of the saved bytes of a layer) are not kept. Estimates from the module structure.
SELECTIVE_RECOMPUTE_TIME = 0.5
SELECTIVE_RECOMPUTE_MEMORY = 0.7
#: Tile edge of tensor-core GEMM kernels (CUTLASS / cuBLAS on Hopper and Blackwell).
GEMM_TILE = 128.0
#: Per-tile overhead of a GEMM in units of its reduction dimension K: the prologue (pipeline
#: fill) and epilogue (writing the output tile) cost as much as ~445 more K elements, so a
#: GEMM reaches ``K / (K + 445)`` of its rate. Fitted (least squares in log) on DeepGEMM's
#: published FP8 GEMM rates on H800 (github.com/deepseek-ai/DeepGEMM README @327ec92,
#: "Normal GEMMs", M = 4096: N x K = 2112x7168 1127, 24576x1536 1212, 32768x512 775,
#: 7168x16384 1520, 4096x7168 1410, 7168x2048 1168 TFLOPS) with the M and N tile terms below
#: (rms error 7.6%; research/training/gemm_efficiency.md). Measured on one GPU and one
#: precision; taken for every generation and precision (an estimate there).
GEMM_K_OVERHEAD = 445.0
#: Fraction of tensor-parallel communication hidden behind GEMMs by communication-overlap
#: kernels (Megatron-Core tp_comm_overlap / userbuffers). Assumption, not fitted.
TP_OVERLAP = 0.5
#: HBM held by the CUDA context, NCCL buffers and allocator fragmentation: 2 GiB plus 2%.
#: Estimate from common practice (PyTorch reserves beyond allocated memory).
RESERVED_FIXED_BYTES = 2 * 2**30
RESERVED_FRACTION = 0.02
#: Adam with FP32 master weights: bytes touched per parameter in the optimizer step
#: (read grad, master, m, v; write master, m, v and the BF16 copy).
OPTIMIZER_BYTES_PER_PARAM = 30.0
#: Bytes per parameter: BF16 weights, FP32 main gradients, FP32 master + Adam m and v.
WEIGHT_BYTES, GRAD_BYTES, OPTIMIZER_BYTES = 2.0, 4.0, 12.0
#: Gradients are reduced in BF16 (Megatron-Core default, grad_reduce_in_fp32=False).
GRAD_COMM_BYTES = 2.0
