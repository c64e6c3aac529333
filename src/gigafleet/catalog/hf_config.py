"""A model from its Hugging Face ``config.json`` (files are opened by
:mod:`gigafleet.catalog.model_files`).

The families are :data:`FAMILIES`, keyed by ``model_type``; multimodal wrappers are read
through their ``text_config``, and only the text model is costed. Every key that changes the cost is read. Keys known not to change it (token ids, norm
epsilons, RoPE settings, router loss coefficients, dtypes, quantisation, ...) are ignored.
A key that is neither and whose name says it may size the model (layers, experts, heads,
widths, windows, ...) is an error: the file names something this reader would silently
miss. A missing key that matters, a value that is not a number, an unknown ``model_type``:
one :class:`GigafleetError` naming the file, the key and what is allowed.

Key meanings follow the transformers configuration classes of each family (LlamaConfig,
MixtralConfig, Qwen2/Qwen3/Qwen3MoeConfig, DeepseekV2/V3Config, GptOssConfig,
Llama4TextConfig, Qwen3NextConfig, NemotronHConfig) as summarised, with the published
configs, in ``research/training/configs/KEYS.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gigafleet.catalog.schema import ModelArch
from gigafleet.errors import GigafleetError
from gigafleet.yamlio import validation_error

#: Keys that cannot change the cost of a model (the twin prices precision as a strategy
#: choice, so ``quantization_config`` is one of them; routing groups and loss coefficients
#: change which experts a token picks, not how many).
NEUTRAL_KEYS = frozenset(
    [
        "architectures",
        "model_type",
        "auto_map",
        "torch_dtype",
        "dtype",
        "transformers_version",
        "_name_or_path",
        "bos_token_id",
        "eos_token_id",
        "pad_token_id",
        "image_token_id",
        "video_token_id",
        "vision_start_token_id",
        "vision_end_token_id",
        "initializer_range",
        "rms_norm_eps",
        "layer_norm_epsilon",
        "norm_eps",
        "rope_theta",
        "rope_scaling",
        "rope_parameters",
        "partial_rotary_factor",
        "use_cache",
        "attention_dropout",
        "hidden_dropout",
        "hidden_act",
        "mlp_hidden_act",
        "mlp_bias",
        "attention_bias",
        "output_router_logits",
        "router_aux_loss_coef",
        "aux_loss_alpha",
        "seq_aux",
        "norm_topk_prob",
        "routed_scaling_factor",
        "scoring_func",
        "topk_method",
        "n_group",
        "topk_group",
        "ep_size",
        "quantization_config",
        "pretraining_tp",
        "use_mrope",
        "initial_context_length",
        "swiglu_limit",
        "time_step_floor",
        "time_step_max",
        "time_step_min",
        "time_step_limit",
        "time_step_rank",
        "use_conv_bias",
        "use_bias",
        "mamba_proj_bias",
        "use_mamba_kernels",
        "mamba_hidden_act",
        "mamba_ssm_cache_dtype",
        "mamba_ssm_dtype",
        "residual_in_fp32",
        "rescale_prenorm_residual",
        "num_logits_to_keep",
        "chunk_size",
        "expand",
        "moe_shared_expert_overlap",
        "use_qk_norm",
        "attn_temperature_tuning",
        "floor_scale",
        "no_rope_layers",
        "no_rope_layer_interval",
        "mtp_use_dedicated_embeddings",
        "mscale",
        "max_position_embeddings",
        "tie_word_embeddings",
        "max_window_layers",
        "sliding_window",
        "use_sliding_window",
        "qkv_bias",
        "attn_scale",
        "vision_config",
        "max_seq_len",
        "is_decoder",
        "use_return_dict",
        "torchscript",
    ]
)

#: An unread key whose name matches this may size the model: refuse to ignore it.
_COST_WORDS = re.compile(
    r"layer|expert|head|hidden|intermediate|size|dim|rank|window|chunk|interval|step|moe|mtp|"
    r"nextn|vocab|^num_|^n_|ffn|lora|pattern|group|kv"
)


class _Keys:
    """Typed reads of a config dict that remember what was read (for the unread-key check)."""

    def __init__(self, doc: dict[str, Any], *, file: str, prefix: str = "") -> None:
        self.doc, self.file, self.prefix = doc, file, prefix
        self.read: set[str] = set()

    def _error(self, key: str, message: str, allowed: str) -> GigafleetError:
        return GigafleetError(
            f"{message}; allowed: {allowed}", file=self.file, field=self.prefix + key
        )

    def has(self, key: str) -> bool:
        return self.doc.get(key) is not None

    def raw(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self.doc.get(key, default)

    def int(self, key: str, default: int | None = None, *, why: str, minimum: int = 1) -> int:
        """A whole number >= ``minimum``; ``default`` when absent (an error if None)."""
        self.read.add(key)
        v = self.doc.get(key)
        if v is None:
            if default is None:
                raise self._error(
                    key, f"missing key {key!r} ({why})", f"a whole number >= {minimum}"
                )
            return default
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not math.isfinite(v)
            or v != int(v)
            or v < minimum
        ):
            raise self._error(
                key, f"{key!r} must be a whole number, got {v!r}", f"a whole number >= {minimum}"
            )
        return int(v)

    def opt_int(self, key: str, *, why: str, minimum: int = 1) -> int | None:
        """A whole number, or None when absent, null or 0 (transformers' "not used")."""
        self.read.add(key)
        if not self.doc.get(key):
            return None
        return self.int(key, why=why, minimum=minimum)

    def bool(self, key: str, default: bool) -> bool:
        self.read.add(key)
        v = self.doc.get(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self._error(key, f"{key!r} must be true or false, got {v!r}", "true, false")
        return v

    def strings(self, key: str, *, allowed: tuple[str, ...]) -> list[str] | None:
        self.read.add(key)
        v = self.doc.get(key)
        if v is None:
            return None
        if not isinstance(v, list) or any(x not in allowed for x in v):
            raise self._error(key, f"{key!r} must be a list of layer types", ", ".join(allowed))
        return v

    def ints(self, key: str) -> list[int] | None:
        self.read.add(key)
        v = self.doc.get(key)
        if v is None:
            return None
        if not isinstance(v, list) or any(isinstance(x, bool) or not isinstance(x, int) for x in v):
            raise self._error(
                key, f"{key!r} must be a list of layer indices, got {v!r}", "whole numbers"
            )
        return v

    def check_unread(self, model_type: str) -> None:
        """Refuse keys this reader does not know and whose name says they may size the model."""
        for key, value in self.doc.items():
            if key in self.read or key in NEUTRAL_KEYS or key.startswith("vision_"):
                continue
            if value in (None, False, 0, [], {}, "") or not _COST_WORDS.search(key):
                continue
            raise GigafleetError(
                f"key {key!r} = {value!r} is not understood for model_type {model_type!r} and may "
                "change the cost; remove it if it does not, or describe the model as a YAML "
                "model file (catalog schema)",
                file=self.file,
                field=self.prefix + key,
            )


def _attention_dims(k: _Keys, *, head_dim_key: str = "head_dim") -> dict[str, Any]:
    h = k.int("hidden_size", why="model width")
    heads = k.int("num_attention_heads", why="attention heads")
    kv = k.int("num_key_value_heads", heads, why="KV heads (GQA)")
    hd = k.int(head_dim_key, h // heads, why="head dimension")
    if heads % kv:
        raise k._error(
            "num_key_value_heads",
            f"num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}",
            "a divisor of num_attention_heads",
        )
    return {"hidden_size": h, "num_attention_heads": heads, "num_kv_heads": kv, "head_dim": hd}


def _common(k: _Keys, family: str, *, tied_default: bool = False) -> dict[str, Any]:
    return {
        "family": family,
        "vocab_size": k.int("vocab_size", why="embedding and logits size"),
        "max_seq_len": k.opt_int("max_position_embeddings", why="context length"),
        "tied_embeddings": k.bool("tie_word_embeddings", tied_default),
    }


def _sliding(k: _Keys, num_layers: int) -> dict[str, Any] | None:
    """Mistral/Qwen2 style: a window on every layer (Qwen2: on the layers from
    ``max_window_layers`` on, when ``use_sliding_window``)."""
    window = k.opt_int("sliding_window", why="attention window")
    if window is None:
        return None
    if "use_sliding_window" in k.doc and not k.bool("use_sliding_window", False):
        return None
    first = k.int("max_window_layers", 0, why="layers below use full attention", minimum=0)
    n = max(num_layers - first, 0) if "max_window_layers" in k.doc else num_layers
    return {"size": window, "num_layers": n} if n else None


def _dense(k: _Keys, mt: str) -> dict[str, Any]:
    """Llama, Mistral, Qwen2, Qwen3 (dense decoders with a gated SiLU MLP)."""
    layers = k.int("num_hidden_layers", why="decoder layers")
    out = {
        **_common(k, mt),
        **_attention_dims(k),
        "num_layers": layers,
        "ffn_hidden_size": k.int("intermediate_size", why="MLP width"),
        "mlp": "swiglu",
    }
    sw = _sliding(k, layers)
    if sw:
        out["sliding_window"] = sw
    return out


def _mixtral(k: _Keys, mt: str) -> dict[str, Any]:
    out = _dense(k, mt)
    ffn = out["ffn_hidden_size"]
    out["moe"] = {
        "num_experts": k.int("num_local_experts", why="routed experts"),
        "top_k": k.int("num_experts_per_tok", why="experts per token"),
        "expert_ffn_hidden_size": ffn,
    }
    return out


def _sparse_layers(k: _Keys, layers: int) -> int:
    """Qwen MoE: layer i is MoE unless in ``mlp_only_layers`` or off the ``decoder_sparse_step``."""
    step = k.int("decoder_sparse_step", 1, why="MoE every n-th layer")
    dense_only = set(k.ints("mlp_only_layers") or [])
    return sum(1 for i in range(layers) if i not in dense_only and (i + 1) % step == 0)


def _qwen_moe(k: _Keys, mt: str) -> dict[str, Any]:
    """Qwen2-MoE and Qwen3-MoE: routed experts, and (Qwen2-MoE) one shared expert."""
    layers = k.int("num_hidden_layers", why="decoder layers")
    n_moe = _sparse_layers(k, layers)
    out = {
        **_common(k, mt),
        **_attention_dims(k),
        "num_layers": layers,
        "mlp": "swiglu",
    }
    expert = k.int("moe_intermediate_size", why="expert MLP width")
    out["ffn_hidden_size"] = k.int("intermediate_size", expert, why="dense MLP width")
    shared = k.opt_int("shared_expert_intermediate_size", why="shared expert width")
    out["moe"] = {
        "num_experts": k.int("num_experts", why="routed experts"),
        "top_k": k.int("num_experts_per_tok", why="experts per token"),
        "expert_ffn_hidden_size": expert,
        "num_shared_experts": 1 if shared else 0,
        "shared_expert_ffn_hidden_size": shared,
        "num_dense_layers": layers - n_moe,
    }
    sw = _sliding(k, layers)
    if sw:
        out["sliding_window"] = sw
    return out


def _deepseek(k: _Keys, mt: str) -> dict[str, Any]:
    """DeepSeek-V2/V3 and Kimi K2: MLA, a dense prefix, shared + routed experts, MTP."""
    layers = k.int("num_hidden_layers", why="decoder layers")
    h = k.int("hidden_size", why="model width")
    heads = k.int("num_attention_heads", why="MLA heads")
    k.int("num_key_value_heads", heads, why="KV heads (MLA: one per query head)")
    out = {
        **_common(k, mt),
        "num_layers": layers,
        "hidden_size": h,
        "num_attention_heads": heads,
        "num_kv_heads": heads,
        "ffn_hidden_size": k.int("intermediate_size", why="dense MLP width"),
        "mlp": "swiglu",
        "attention": {
            "kind": "mla",
            "q_lora_rank": k.opt_int("q_lora_rank", why="query compression rank (null: none)"),
            "kv_lora_rank": k.int("kv_lora_rank", why="KV latent width"),
            "qk_nope_head_dim": k.int("qk_nope_head_dim", why="query/key head, no RoPE part"),
            "qk_rope_head_dim": k.int("qk_rope_head_dim", why="query/key head, RoPE part"),
            "v_head_dim": k.int("v_head_dim", why="value head"),
        },
        "mtp_layers": k.int("num_nextn_predict_layers", 0, why="MTP modules", minimum=0),
    }
    n_routed = k.opt_int("n_routed_experts", why="routed experts")
    if n_routed:
        first_dense = k.int("first_k_dense_replace", 0, why="dense prefix layers", minimum=0)
        freq = k.int("moe_layer_freq", 1, why="MoE every n-th layer after the prefix")
        n_moe = sum(1 for i in range(first_dense, layers) if i % freq == 0)
        expert = k.int("moe_intermediate_size", why="expert MLP width")
        n_shared = k.int("n_shared_experts", 0, why="shared experts", minimum=0)
        out["moe"] = {
            "num_experts": n_routed,
            "top_k": k.int("num_experts_per_tok", why="experts per token"),
            "expert_ffn_hidden_size": expert,
            "num_shared_experts": n_shared,
            "shared_expert_ffn_hidden_size": expert if n_shared else None,
            "num_dense_layers": layers - n_moe,
        }
    return out


_GPT_OSS_LAYERS = ("sliding_attention", "full_attention")


def _gpt_oss(k: _Keys, mt: str) -> dict[str, Any]:
    """gpt-oss: every layer MoE (no shared expert), alternating sliding and full attention."""
    layers = k.int("num_hidden_layers", why="decoder layers")
    expert = k.int("intermediate_size", why="expert MLP width")
    top_k_key = "num_experts_per_tok" if k.has("num_experts_per_tok") else "experts_per_token"
    k.read.update(("num_experts_per_tok", "experts_per_token"))
    out = {
        **_common(k, mt),
        **_attention_dims(k),
        "num_layers": layers,
        "ffn_hidden_size": expert,
        "mlp": "swiglu",
        "moe": {
            "num_experts": k.int("num_local_experts", why="routed experts"),
            "top_k": k.int(top_k_key, why="experts per token"),
            "expert_ffn_hidden_size": expert,
        },
    }
    types = k.strings("layer_types", allowed=_GPT_OSS_LAYERS)
    window = k.opt_int("sliding_window", why="attention window")
    if window:
        n = types.count("sliding_attention") if types else layers // 2
        out["sliding_window"] = {"size": window, "num_layers": n}
    return out


def _llama4(k: _Keys, mt: str) -> dict[str, Any]:
    """Llama 4 text model: MoE every ``interleave_moe_layer_step``-th layer (one shared
    expert each), a dense MLP of ``intermediate_size_mlp`` elsewhere; chunked attention on
    the RoPE layers (three of every four, ``no_rope_layer_interval`` 4 in transformers'
    Llama4TextConfig), global attention on the rest."""
    layers = k.int("num_hidden_layers", why="decoder layers")
    step = k.int("interleave_moe_layer_step", 1, why="MoE every n-th layer")
    moe_layers = k.ints("moe_layers")
    n_moe = len(moe_layers) if moe_layers is not None else len(range(step - 1, layers, step))
    expert = k.int("intermediate_size", why="expert and shared-expert width")
    out = {
        **_common(k, mt),
        **_attention_dims(k),
        "num_layers": layers,
        "ffn_hidden_size": k.int("intermediate_size_mlp", expert, why="dense MLP width"),
        "mlp": "swiglu",
        "moe": {
            "num_experts": k.int("num_local_experts", why="routed experts"),
            "top_k": k.int("num_experts_per_tok", why="experts per token"),
            "expert_ffn_hidden_size": expert,
            "num_shared_experts": 1,
            "shared_expert_ffn_hidden_size": expert,
            "num_dense_layers": layers - n_moe,
        },
    }
    chunk = k.opt_int("attention_chunk_size", why="chunked attention length")
    if chunk:
        nope = k.raw("no_rope_layers")
        n_chunked = sum(1 for x in nope if x) if isinstance(nope, list) else layers - layers // 4
        out["sliding_window"] = {"size": chunk, "num_layers": n_chunked, "chunked": True}
    return out


_QWEN_NEXT_LAYERS = ("linear_attention", "full_attention")


def _qwen_next(k: _Keys, mt: str) -> dict[str, Any]:
    """Qwen3-Next / Qwen3.5 MoE: Gated DeltaNet and gated full-attention layers (one in
    ``full_attention_interval``), each followed by an MoE (or, in ``mlp_only_layers``, a
    dense MLP). The pattern has two codes per decoder layer (mixer, then MLP)."""
    layers = k.int("num_hidden_layers", why="decoder layers")
    types = k.strings("layer_types", allowed=_QWEN_NEXT_LAYERS)
    interval = k.int("full_attention_interval", 4, why="one full-attention layer in n")
    if types is None:
        types = [
            "full_attention" if (i + 1) % interval == 0 else "linear_attention"
            for i in range(layers)
        ]
    if len(types) != layers:
        raise k._error(
            "layer_types",
            f"layer_types has {len(types)} entries for {layers} layers",
            "one entry per layer",
        )
    step = k.int("decoder_sparse_step", 1, why="MoE every n-th layer")
    dense_only = set(k.ints("mlp_only_layers") or [])
    mlp = ["E" if i not in dense_only and (i + 1) % step == 0 else "-" for i in range(layers)]
    pattern = "".join(
        ("*" if t == "full_attention" else "G") + m for t, m in zip(types, mlp, strict=True)
    )
    expert = k.int("moe_intermediate_size", why="expert MLP width")
    shared = k.opt_int("shared_expert_intermediate_size", why="shared expert width")
    mtp = k.int("mtp_num_hidden_layers", 0, why="MTP layers", minimum=0)
    k.read.add("num_nextn_predict_layers")
    out = {
        **_common(k, mt),
        **_attention_dims(k),
        "num_layers": len(pattern),
        "ffn_hidden_size": k.int("intermediate_size", expert, why="dense MLP width"),
        "mlp": "swiglu",
        "attention": {"kind": "gqa", "output_gate": k.bool("attn_output_gate", True)},
        "layer_pattern": pattern,
        "linear_attention": {
            "num_key_heads": k.int("linear_num_key_heads", why="Gated DeltaNet query/key heads"),
            "num_value_heads": k.int("linear_num_value_heads", why="Gated DeltaNet value heads"),
            "key_head_dim": k.int("linear_key_head_dim", why="Gated DeltaNet key head"),
            "value_head_dim": k.int("linear_value_head_dim", why="Gated DeltaNet value head"),
            "conv_kernel": k.int("linear_conv_kernel_dim", 4, why="convolution width"),
        },
        "moe": {
            "num_experts": k.int("num_experts", why="routed experts"),
            "top_k": k.int("num_experts_per_tok", why="experts per token"),
            "expert_ffn_hidden_size": expert,
            "num_shared_experts": 1 if shared else 0,
            "shared_expert_ffn_hidden_size": shared,
        },
        "mtp_layers": mtp,
    }
    return out


def _nemotron_h(k: _Keys, mt: str) -> dict[str, Any]:
    """NVIDIA Nemotron-H / Nemotron 3: ``hybrid_override_pattern`` of Mamba-2 (M),
    attention (*), squared-ReLU MLP (-) and MoE (E) layers (LatentMoE where
    ``moe_latent_size`` is set); MTP blocks share one set of weights."""
    pattern = k.raw("hybrid_override_pattern")
    if not isinstance(pattern, str) or not pattern:
        raise k._error(
            "hybrid_override_pattern",
            f"missing or empty key 'hybrid_override_pattern' (the layer pattern), got {pattern!r}",
            "a string of M * - E",
        )
    layers = k.int("num_hidden_layers", len(pattern), why="layers")
    if layers != len(pattern):
        raise k._error(
            "num_hidden_layers",
            f"num_hidden_layers {layers} differs from the {len(pattern)} layers of hybrid_override_pattern",
            "the pattern's length",
        )
    dims = _attention_dims(
        k, head_dim_key="head_dim" if k.has("head_dim") else "attention_head_dim"
    )
    k.read.update(("head_dim", "attention_head_dim"))
    out = {
        **_common(k, mt),
        **dims,
        "num_layers": layers,
        "ffn_hidden_size": k.int("intermediate_size", why="MLP width"),
        "mlp": "relu2",
        "layer_pattern": pattern,
        "mamba": {
            "num_heads": k.int("mamba_num_heads", why="Mamba-2 heads"),
            "head_dim": k.int("mamba_head_dim", why="Mamba-2 head"),
            "state_size": k.int("ssm_state_size", why="Mamba-2 state"),
            "num_groups": k.int("n_groups", why="Mamba-2 B/C groups"),
            "conv_kernel": k.int("conv_kernel", 4, why="convolution width"),
        },
    }
    if "E" in pattern:
        shared = k.opt_int("moe_shared_expert_intermediate_size", why="shared expert width")
        out["moe"] = {
            "num_experts": k.int("n_routed_experts", why="routed experts"),
            "top_k": k.int("num_experts_per_tok", why="experts per token"),
            "expert_ffn_hidden_size": k.int("moe_intermediate_size", why="expert MLP width"),
            "num_shared_experts": k.int(
                "n_shared_experts", 1 if shared else 0, why="shared experts", minimum=0
            ),
            "shared_expert_ffn_hidden_size": shared,
            "latent_size": k.opt_int("moe_latent_size", why="LatentMoE width"),
        }
    mtp = k.int("num_nextn_predict_layers", 0, why="MTP modules", minimum=0)
    k.read.add("mtp_hybrid_override_pattern")
    if mtp:
        out["mtp_layers"] = mtp
        out["mtp_shared_weights"] = True
    return out


#: ``model_type`` -> reader. Multimodal wrappers (``llama4``, ``qwen3_5_moe``) are read
#: through their ``text_config``.
FAMILIES: dict[str, Callable[[_Keys, str], dict[str, Any]]] = {
    "llama": _dense,
    "mistral": _dense,
    "qwen2": _dense,
    "qwen3": _dense,
    "mixtral": _mixtral,
    "qwen2_moe": _qwen_moe,
    "qwen3_moe": _qwen_moe,
    "deepseek_v2": _deepseek,
    "deepseek_v3": _deepseek,
    "kimi_k2": _deepseek,
    "gpt_oss": _gpt_oss,
    "llama4": _llama4,
    "llama4_text": _llama4,
    "qwen3_next": _qwen_next,
    "qwen3_5_moe": _qwen_next,
    "qwen3_5_moe_text": _qwen_next,
    "nemotron_h": _nemotron_h,
}

#: ``architectures[0]`` -> ``model_type``, for configs that omit ``model_type``.
_ARCHITECTURES = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3",
    "MixtralForCausalLM": "mixtral",
    "Qwen2MoeForCausalLM": "qwen2_moe",
    "Qwen3MoeForCausalLM": "qwen3_moe",
    "DeepseekV2ForCausalLM": "deepseek_v2",
    "DeepseekV3ForCausalLM": "deepseek_v3",
    "GptOssForCausalLM": "gpt_oss",
    "Llama4ForConditionalGeneration": "llama4",
    "Llama4ForCausalLM": "llama4_text",
    "Qwen3NextForCausalLM": "qwen3_next",
    "Qwen3_5MoeForConditionalGeneration": "qwen3_5_moe",
    "NemotronHForCausalLM": "nemotron_h",
}


def model_from_hf_config(doc: Any, *, file: str, name: str | None = None) -> ModelArch:
    """The :class:`ModelArch` a Hugging Face ``config.json`` (parsed) describes."""
    if not isinstance(doc, dict):
        raise GigafleetError("a config.json must hold one JSON object", file=file)
    mt = doc.get("model_type")
    if mt is None:
        archs = doc.get("architectures") or [None]
        mt = _ARCHITECTURES.get(archs[0]) if isinstance(archs, list) and archs else None
    if mt not in FAMILIES:
        got = f"model_type {mt!r}" if mt else "no model_type (nor a known architectures entry)"
        raise GigafleetError(
            f"{got}: not a family this reader knows; allowed: {', '.join(sorted(FAMILIES))} "
            "(or describe the model as a YAML model file in the catalog schema)",
            file=file,
            field="model_type",
            allowed=sorted(FAMILIES),
        )
    outer = _Keys(doc, file=file)
    text = doc.get("text_config")
    if isinstance(text, dict):  # multimodal wrapper: the language model is in text_config
        outer.read.update(("text_config", "model_type", "architectures"))
        outer.read.update(k for k in doc if k in NEUTRAL_KEYS or "token" in k)
        k = _Keys(
            {**{"tie_word_embeddings": doc.get("tie_word_embeddings")}, **text},
            file=file,
            prefix="text_config.",
        )
        outer.check_unread(mt)
    else:
        k = outer
    k.read.update(("model_type", "architectures"))
    fields = FAMILIES[mt](k, mt)
    k.check_unread(mt)
    notes = f"read from {Path(file).name} (model_type {mt})"
    if isinstance(text, dict):
        notes += "; text model only (the vision encoder is not costed)"
    fields = _drop_none(fields)
    return _validated(
        {"name": name or file, "source": f"config.json {file}", "notes": notes, **fields},
        file=file,
    )


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _drop_none(v) if isinstance(v, dict) else v for key, v in d.items() if v is not None
    }


def _validated(entry: dict[str, Any], *, file: str, node: Any = None) -> ModelArch:
    from pydantic import ValidationError

    try:
        return ModelArch.model_validate(entry)
    except ValidationError as exc:
        raise validation_error(exc, ModelArch, source=file, node=node) from None
