"""A ground-truth row's model: the catalog's by name, else built from the row's own
architecture columns.

Published tables often give the architecture beside a name the catalog does not know
(``layers, hidden, ffn_hidden, heads, kv_heads, vocab, seq_len, params_total_B``). Such a
row is still predictable: :func:`row_model` builds a dense decoder from those columns and
says so. What the columns leave open is chosen against the published parameter count: a
gated (SwiGLU, three matrices) or plain (GELU, two) MLP, tied or untied embeddings; the
candidate whose parameters come closest to ``params_total_B`` wins. Without an
``ffn_hidden`` the MLP is 4 x hidden (the GPT convention). A row whose active parameters
are well below its total is a mixture of experts, which these columns cannot describe: an
error.
"""

from __future__ import annotations

import re
from typing import Any

from gigafleet.catalog import Catalog
from gigafleet.catalog.schema import ModelArch
from gigafleet.errors import GigafleetError

#: Columns a row must fill for its model to be built from them.
ARCH_COLUMNS = ("layers", "hidden", "heads", "vocab")
#: Active parameters below this share of the total mean experts (not a dense model).
MOE_ACTIVE_SHARE = 0.9

_CELL = re.compile(r"\s*~?([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*(?:\(.*\))?\s*$")


def _cell(row: dict[str, str], column: str) -> float | None:
    text = (row.get(column) or "").strip()
    if text.lower() in ("", "n/a", "na", "-"):
        return None
    m = _CELL.match(text)
    if not m:
        raise GigafleetError(f"cannot read {text!r} as a number", field=column)
    return float(m.group(1))


def _whole(row: dict[str, str], column: str) -> int | None:
    v = _cell(row, column)
    if v is None:
        return None
    if v < 1 or v != int(v):
        raise GigafleetError(
            f"must be a positive whole number, got {row.get(column)!r}", field=column
        )
    return int(v)


def row_model(catalog: Catalog, row: dict[str, str]) -> tuple[ModelArch, str | None]:
    """The row's model and, when it was built from the row's columns, a sentence saying so
    (for the row's ``assumed`` list); ``None`` when the catalog knows the name."""
    name = row.get("model") or ""
    if name in catalog.models:
        return catalog.model(name), None
    missing = [c for c in ARCH_COLUMNS if _cell(row, c) is None]
    if missing:
        try:
            catalog.model(name)  # the catalog's error, with its suggestions
        except GigafleetError as exc:
            raise GigafleetError(
                f"{exc.message}; and the row cannot describe the model itself (architecture "
                f"columns missing: {', '.join(missing)})",
                field="model",
                allowed=exc.allowed,
            ) from None
    total_b, active_b = _cell(row, "params_total_B"), _cell(row, "params_active_B")
    if total_b and active_b and active_b < MOE_ACTIVE_SHARE * total_b:
        raise GigafleetError(
            f"{name!r} is not in the catalog and is a mixture of experts ({active_b:g}B active "
            f"of {total_b:g}B): the row's columns cannot describe its experts; add it to the "
            "catalog (--catalog FILE) or give a config.json",
            field="model",
        )
    arch = _build(name, row, total_b)
    return arch, _describe(arch, total_b)


def _build(name: str, row: dict[str, str], total_b: float | None) -> ModelArch:
    from gigafleet.perf.arch import arch_costs

    h, layers, heads, vocab = (_whole(row, c) for c in ("hidden", "layers", "heads", "vocab"))
    kv = _whole(row, "kv_heads") or heads
    ffn = _whole(row, "ffn_hidden")
    seq = _whole(row, "seq_len")
    base: dict[str, Any] = {
        "name": name,
        "source": "the row's architecture columns (layers, hidden, ffn_hidden, heads, kv_heads, vocab)",
        "family": "from-row",
        "num_layers": layers,
        "hidden_size": h,
        "num_attention_heads": heads,
        "num_kv_heads": kv,
        "vocab_size": vocab,
        "max_seq_len": seq,
    }
    # without a published total, the common choice: SwiGLU untied, or GELU when the MLP
    # is 4 x hidden or not given (GPT)
    plain = ffn is None or ffn == 4 * h
    candidates = [
        ModelArch.model_validate(
            {**base, "ffn_hidden_size": ffn or 4 * h, "mlp": mlp, "tied_embeddings": tied}
        )
        for mlp in (("gelu", "swiglu") if plain else ("swiglu", "gelu"))
        for tied in (False, True)
    ]
    if not total_b:
        return candidates[0]
    return min(candidates, key=lambda m: abs(arch_costs(m).params_total - total_b * 1e9))


def _describe(arch: ModelArch, total_b: float | None) -> str:
    from gigafleet.perf.arch import arch_costs

    params = arch_costs(arch).params_total / 1e9
    against = f" against {total_b:g}B published" if total_b else " (no published total)"
    return (
        f"model built from the row's architecture columns (not in the catalog): "
        f"{arch.num_layers} layers, hidden {arch.hidden_size}, ffn {arch.ffn_hidden_size} "
        f"({arch.mlp}, {'tied' if arch.tied_embeddings else 'untied'} embeddings), "
        f"{arch.num_attention_heads} heads, {arch.kv_heads} KV heads, vocab {arch.vocab_size}; "
        f"{params:.1f}B parameters{against}"
    )
