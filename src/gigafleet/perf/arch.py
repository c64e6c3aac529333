"""What a model architecture costs per token: FLOPs, bytes, parameters, activations.

All figures are per token, forward pass, for the whole model before any parallel split,
so the training and serving models can split them by TP/EP/PP as they need. FLOPs count
a multiply-add as 2. Formulas follow the standard transformer accounting (Narayanan et al.
SC21, Eq. 3; Korthikanti et al. 2022 for activations) generalised to GQA, MLA
(DeepSeek-V3, arXiv:2412.19437), top-k MoE with shared experts, Mamba-2 layers
(Dao & Gu 2024, arXiv:2405.21060) and Gated DeltaNet linear-attention layers (Yang et al.
2024, arXiv:2412.06464). A model's recurrent layers (Mamba-2 or Gated DeltaNet; one kind
per model) share the ``mamba_*`` fields and ``num_mamba``: both are an input projection, a
short causal convolution, a chunked scan with a matrix state per head, a gated norm and an
output projection, and the training and serving models cost them alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from gigafleet.catalog.schema import ModelArch

#: Mamba-2 SSD chunk length: the scan is a masked matmul within chunks of this many tokens
#: (Megatron-Core / mamba_ssm default chunk_size=128).
MAMBA_CHUNK = 128
#: Gated DeltaNet chunk length (flash-linear-attention chunk_gated_delta_rule: 64 tokens).
DELTANET_CHUNK = 64


@dataclass(frozen=True, slots=True)
class ArchCosts:
    """Per-token forward costs of one model (FLOPs, widths, parameter counts)."""

    name: str
    hidden: int
    vocab: int
    num_layers: int  # pipeline units: transformer blocks, or single layers of a hybrid pattern
    num_attn: int
    num_sliding: int  # attention layers with a sliding window
    window: int
    num_mlp: int
    num_moe: int
    num_mamba: int
    # attention (per attention layer)
    q_width: int  # columns of the query projection output (heads x qk dim)
    qkv_width: int  # output columns of all input projections (q, k, v or MLA down/up)
    attn_out_in: int  # input width of the output projection (heads x v dim)
    # the attention layer's GEMMs as (N, K, split): split 1 divides N by TP (column
    # parallel), 2 divides K (row parallel), 0 replicates it on every TP rank (MLA down
    # projections in Megatron-Core)
    attn_gemms: tuple[tuple[int, int, int], ...]
    attn_proj_flops: float
    core_flops_per_key: float  # per query token per attended key: 2*heads*(d_qk + d_v)
    kv_bytes_per_token: float  # K and V of one token, bf16, as ring attention exchanges them
    num_heads: int
    num_kv_heads: int
    mla: bool
    # MLP / MoE (per layer)
    mlp_mats: int  # 3 for gated (SwiGLU), 2 otherwise
    ffn: int
    mlp_flops: float
    top_k: int
    num_experts: int
    expert_ffn: int
    expert_width: int  # hidden size, or the LatentMoE latent size
    expert_flops: float  # all top_k routed experts of one token
    shared_ffn: int  # total ffn width of the shared experts
    shared_flops: float
    router_flops: float
    # Mamba-2 (per layer)
    mamba_in_width: int
    mamba_inner: int
    mamba_proj_flops: float
    mamba_scan_flops: float
    mamba_bytes: float  # memory-bound traffic of conv1d and gated norm (BF16)
    mamba_ssd_bytes: float  # memory traffic of the SSD scan kernels (FP32 states, x, B, C)
    # embeddings, logits, MTP
    logits_flops: float
    mtp_layers: int
    mtp_param_layers: int  # MTP blocks with weights of their own (1 when the passes share them)
    # parameters
    attn_params: float  # per attention layer
    mlp_params: float  # per dense MLP layer
    expert_params: float  # per MoE layer, all routed experts
    moe_dense_params: float  # per MoE layer: shared experts + router
    mamba_params: float  # per Mamba layer
    embed_params: float  # input embedding
    output_params: float  # untied output layer (0 when tied)

    @property
    def dense_params(self) -> float:
        """Parameters replicated across expert-parallel ranks (everything but routed experts)."""
        block = self.moe_dense_params if self.num_moe else self.mlp_params
        mtp = self.mtp_param_layers * (self.attn_params + block + 2 * self.hidden**2)
        return (
            self.num_attn * self.attn_params
            + self.num_mlp * self.mlp_params
            + self.num_moe * self.moe_dense_params
            + self.num_mamba * self.mamba_params
            + self.embed_params
            + self.output_params
            + mtp
        )

    @property
    def routed_expert_params(self) -> float:
        return (self.num_moe + self.mtp_param_layers * (self.num_moe > 0)) * self.expert_params

    @property
    def params_total(self) -> float:
        return self.dense_params + self.routed_expert_params

    @property
    def params_active(self) -> float:
        per_expert = self.expert_params / max(self.num_experts, 1)
        return self.dense_params + (self.num_moe + self.mtp_param_layers * (self.num_moe > 0)) * (
            self.top_k * per_expert
        )

    def forward_flops_per_token(self, seq_len: float) -> float:
        """Forward FLOPs of one token at context ``seq_len`` (causal: half the keys on average).

        ``F = L_attn (P_attn + c S_eff) + L_mlp P_mlp + L_moe (P_experts + P_shared + P_router)
        + L_mamba (P_proj + P_scan) + 2 h V`` with ``S_eff = S/2`` for full causal attention and
        ``min(W, S/2)`` for sliding-window layers; MTP modules add one block and one logits each.
        """
        full = self.num_attn - self.num_sliding
        keys_full = seq_len / 2
        keys_win = min(self.window, seq_len / 2) if self.num_sliding else 0.0
        moe = self.expert_flops + self.shared_flops + self.router_flops
        block = self.attn_proj_flops + self.core_flops_per_key * keys_full
        block += moe if self.num_moe else self.mlp_flops
        return (
            self.num_attn * self.attn_proj_flops
            + full * self.core_flops_per_key * keys_full
            + self.num_sliding * self.core_flops_per_key * keys_win
            + self.num_mlp * self.mlp_flops
            + self.num_moe * moe
            + self.num_mamba * (self.mamba_proj_flops + self.mamba_scan_flops)
            + self.logits_flops
            + self.mtp_layers * (block + 2 * 2 * self.hidden * self.hidden + self.logits_flops)
        )


def arch_costs(m: ModelArch) -> ArchCosts:
    """Derive per-token costs from an architecture description."""
    h = m.hidden_size
    heads = m.num_attention_heads
    kvh = m.kv_heads
    hd = m.dim_head
    att = m.attention
    if att.kind == "mla":
        dqk = att.qk_nope_head_dim + att.qk_rope_head_dim
        dv = att.v_head_dim
        q_width = heads * dqk
        if att.q_lora_rank:
            q_params = h * att.q_lora_rank + att.q_lora_rank * q_width
            q_cols = att.q_lora_rank + q_width
        else:
            q_params = h * q_width
            q_cols = q_width
        kv_down = h * (att.kv_lora_rank + att.qk_rope_head_dim)
        kv_up = att.kv_lora_rank * heads * (att.qk_nope_head_dim + dv)
        attn_out_in = heads * dv
        attn_params = q_params + kv_down + kv_up + attn_out_in * h
        kv_cols = att.kv_lora_rank + att.qk_rope_head_dim
        gemms = [
            (kv_cols, h, 0),
            (heads * (att.qk_nope_head_dim + dv), att.kv_lora_rank, 1),
            (h, attn_out_in, 2),
        ]
        if att.q_lora_rank:
            gemms += [(att.q_lora_rank, h, 0), (q_width, att.q_lora_rank, 1)]
        else:
            gemms += [(q_width, h, 1)]
        qkv_width = (
            q_cols + att.kv_lora_rank + att.qk_rope_head_dim + heads * (att.qk_nope_head_dim + dv)
        )
        kv_bytes = 2.0 * heads * (dqk + dv)
    else:
        dqk = dv = hd
        q_width = heads * hd
        qkv_width = (heads + 2 * kvh) * hd
        attn_out_in = heads * hd
        if att.output_gate:  # the query projection also yields the per-channel output gate
            qkv_width += q_width
        attn_params = h * qkv_width + attn_out_in * h
        gemms = [(qkv_width, h, 1), (h, attn_out_in, 2)]
        if att.q_lora_rank:  # low-rank query (DeepSeek-V4): h -> rank -> heads x hd
            attn_params += att.q_lora_rank * (h + q_width) - h * q_width
            qkv_width += att.q_lora_rank
            gemms = [
                (2 * kvh * hd, h, 1),
                (att.q_lora_rank, h, 0),
                (q_width, att.q_lora_rank, 1),
                (h, attn_out_in, 2),
            ]
        kv_bytes = 2.0 * 2 * kvh * hd
    attn_proj_flops = 2.0 * attn_params
    core_per_key = 2.0 * heads * (dqk + dv)

    mats = 3 if m.mlp == "swiglu" else 2
    ffn = m.ffn_hidden_size or 0
    mlp_params = mats * h * ffn

    moe = m.moe
    if moe is not None:
        f_e = moe.expert_ffn_hidden_size
        d_e = moe.latent_size or h  # width the routed experts (and the all-to-all) work in
        expert_params = moe.num_experts * mats * d_e * f_e
        shared_ffn = moe.num_shared_experts * (moe.shared_expert_ffn_hidden_size or f_e)
        latent_params = 2 * h * moe.latent_size if moe.latent_size else 0
        moe_dense_params = mats * h * shared_ffn + h * moe.num_experts + latent_params
        top_k, n_exp = moe.top_k, moe.num_experts
    else:
        f_e = shared_ffn = top_k = n_exp = d_e = 0
        expert_params = moe_dense_params = latent_params = 0.0

    mb = m.mamba
    if mb is not None:
        inner = mb.num_heads * mb.head_dim
        conv_width = inner + 2 * mb.num_groups * mb.state_size
        in_width = 2 * inner + 2 * mb.num_groups * mb.state_size + mb.num_heads
        mamba_params = (
            h * in_width + inner * h + conv_width * mb.conv_kernel + inner + 3 * mb.num_heads
        )
        mamba_proj = 2.0 * (h * in_width + inner * h) + 2.0 * conv_width * mb.conv_kernel
        # SSD: C.B^T and the masked product within a chunk (causal, half the chunk on average),
        # plus the inter-chunk state update and read-out (Dao & Gu 2024, Sec. 6).
        mamba_scan = (
            MAMBA_CHUNK * mb.num_groups * mb.state_size
            + MAMBA_CHUNK * inner
            + 4.0 * inner * mb.state_size
        )
        # Memory traffic per token. The SSD kernels (chunk_state, state_passing, chunk_scan)
        # write, pass and read the FP32 chunk states (inner x state per chunk: four passes),
        # read x four times and B, C twice (mamba_ssm ssd_combined.py); the causal conv1d
        # reads and writes x, B, C, and the gated RMSNorm reads y and z and writes its output.
        mamba_ssd_bytes = (
            4 * 4.0 * inner * mb.state_size / MAMBA_CHUNK
            + 4 * 2.0 * inner
            + 2 * 2.0 * 2 * mb.num_groups * mb.state_size
        )
        mamba_bytes = 2 * 2.0 * conv_width + 3 * 2.0 * inner
    elif m.linear_attention is not None:
        inner, in_width, mamba_params, mamba_proj, mamba_scan, mamba_bytes, mamba_ssd_bytes = (
            _gated_deltanet(m.linear_attention, h)
        )
    else:
        inner = in_width = 0
        mamba_params = mamba_proj = mamba_scan = mamba_bytes = mamba_ssd_bytes = 0.0

    if m.layer_pattern is not None:
        pat = m.layer_pattern
        n_attn, n_mlp, n_moe, n_mamba = (
            pat.count("*"),
            pat.count("-"),
            pat.count("E"),
            pat.count("M") + pat.count("G"),  # recurrent layers: Mamba-2 or Gated DeltaNet
        )
    else:
        n_attn = m.num_layers
        n_dense = moe.num_dense_layers if moe else m.num_layers
        n_mlp, n_moe, n_mamba = n_dense, m.num_layers - n_dense, 0

    sw = m.sliding_window
    n_sliding = 0
    if sw:
        n_sliding = min(sw.num_layers, n_attn) if sw.num_layers is not None else n_attn // sw.every
    # a chunk of C tokens costs what a window of C/2 does: half a chunk of keys on average
    window = (sw.size // 2 if sw.chunked else sw.size) if sw else 0
    embed = float(m.vocab_size * h)
    return ArchCosts(
        name=m.name,
        hidden=h,
        vocab=m.vocab_size,
        num_layers=m.num_layers,
        num_attn=n_attn,
        num_sliding=n_sliding,
        window=window,
        num_mlp=n_mlp,
        num_moe=n_moe,
        num_mamba=n_mamba,
        q_width=q_width,
        qkv_width=qkv_width,
        attn_out_in=attn_out_in,
        attn_gemms=tuple(gemms),
        attn_proj_flops=attn_proj_flops,
        core_flops_per_key=core_per_key,
        kv_bytes_per_token=kv_bytes,
        num_heads=heads,
        num_kv_heads=kvh,
        mla=att.kind == "mla",
        mlp_mats=mats,
        ffn=ffn,
        mlp_flops=2.0 * mlp_params,
        top_k=top_k,
        num_experts=n_exp,
        expert_ffn=f_e,
        expert_width=d_e,
        expert_flops=2.0 * top_k * mats * d_e * f_e,
        shared_ffn=shared_ffn,
        shared_flops=2.0 * mats * h * shared_ffn + 2.0 * latent_params,
        router_flops=2.0 * h * n_exp,
        mamba_in_width=in_width,
        mamba_inner=inner,
        mamba_proj_flops=mamba_proj,
        mamba_scan_flops=mamba_scan,
        mamba_bytes=mamba_bytes,
        mamba_ssd_bytes=mamba_ssd_bytes,
        logits_flops=2.0 * h * m.vocab_size,
        mtp_layers=m.mtp_layers,
        mtp_param_layers=min(m.mtp_layers, 1) if m.mtp_shared_weights else m.mtp_layers,
        attn_params=float(attn_params),
        mlp_params=float(mlp_params),
        expert_params=float(expert_params),
        moe_dense_params=float(moe_dense_params),
        mamba_params=float(mamba_params),
        embed_params=embed,
        output_params=0.0 if m.tied_embeddings else embed,
    )


def _gated_deltanet(la, h: int) -> tuple[int, int, float, float, float, float, float]:
    """Per-token costs of one Gated DeltaNet layer, in the recurrent-layer fields.

    Returns ``(inner, in_width, params, proj_flops, scan_flops, bytes, scan_bytes)``. The
    input projection yields q, k (``n_k`` heads of ``d_k``), v and the output gate z (``n_v``
    heads of ``d_v``) and the per-head decay and beta (Qwen3-Next ``in_proj_qkvz``,
    ``in_proj_ba``); a causal convolution runs over q, k, v; the output projection reads
    ``n_v d_v``. The chunked delta rule (Yang et al. 2024, arXiv:2412.06464, Sec. 3.3, the
    WY form of flash-linear-attention ``chunk_gated_delta_rule``, chunk ``C``) costs per
    token and value head ``2 (3 C d_k + 2 C d_v + 3 d_k d_v)`` FLOPs: Q K^T, K K^T and the
    WY factor W = T K within the chunk, U = T V and the masked product with U, and the
    state terms Q S, W S and the state update K^T U. Memory traffic, as for Mamba-2: the
    FP32 chunk states (``n_v d_k d_v`` per chunk) written, passed and read, q, k, v read
    about four times; the convolution and the gated norm are memory-bound.
    """
    nk, nv, dk, dv = la.num_key_heads, la.num_value_heads, la.key_head_dim, la.value_head_dim
    c = DELTANET_CHUNK
    inner = nv * dv
    conv_width = 2 * nk * dk + nv * dv
    in_width = conv_width + inner + 2 * nv  # q, k, v, z, then beta and the decay per head
    params = h * in_width + inner * h + conv_width * la.conv_kernel + 2 * nv + dv
    proj = 2.0 * (h * in_width + inner * h) + 2.0 * conv_width * la.conv_kernel
    scan = 2.0 * nv * (3 * c * dk + 2 * c * dv + 3 * dk * dv)
    scan_bytes = 4 * 4.0 * nv * dk * dv / c + 4 * 2.0 * conv_width
    ew_bytes = 2 * 2.0 * conv_width + 3 * 2.0 * inner
    return inner, in_width, float(params), proj, scan, ew_bytes, scan_bytes
