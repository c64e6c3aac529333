"""DeepSeek-V3 served at scale: the serving model against DeepSeek's and SGLang's published
per-node throughput (``validate/data/deepseek_serving.yaml``, every figure sourced there).

Each row names a deployment (H800 or H100 nodes, or a GB200 NVL72 domain; expert parallel
degree with attention data parallelism over the same GPUs, redundant experts, two-micro-batch
overlap, MTP) and an operating point: a fixed batch per GPU, the batch at a per-user speed or
at an inter-token latency (decode), or a number of tokens per GPU per iteration (prefill,
with cache hits where published). The model predicts output (decode) or input (prefill)
tokens/s per GPU there, with the SGLang engine profile (DeepGEMM, FlashMLA and DeepEP
kernels: its kernel efficiency is not fitted, so the training calibration's GEMM efficiency
stands): these rows are held out from every fit. Error = predicted / measured - 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.perf.inference import ServingReplica, serving_replica
from gigafleet.validate.report import ValidationRow, error_stats
from gigafleet.yamlio import read_yaml

DATA = Path(__file__).parent / "data" / "deepseek_serving.yaml"
MODEL = "deepseek-v3"


def load_rows(path: str | Path | None = None) -> list[dict[str, Any]]:

    data, _ = read_yaml(Path(path) if path else DATA)
    return list(data["rows"])


def _replica(
    d: dict[str, Any], catalog: Catalog, hint: float, tokens_per_gpu: int
) -> ServingReplica:
    ep = int(d["ep"])
    return serving_replica(
        MODEL, d["system"], tp=1, dp=ep, ep=ep, weight_precision="fp8", kv_precision="bf16",
        redundant_experts=int(d.get("redundant_experts", 0)),
        two_batch_overlap=bool(d.get("two_batch_overlap", False)),
        expert_imbalance_override=0.0 if d.get("balanced") else None,
        prompt_tokens_hint=hint, max_batched_tokens=tokens_per_gpu, engine="sglang",
        catalog=catalog,
    )  # fmt: skip


def _decode(d: dict[str, Any], catalog: Catalog) -> tuple[float, dict[str, Any]]:
    ctx = float(d["context_tokens"])
    rep = _replica(d, catalog, ctx, 8192)
    ep = rep.dp
    k = int(d.get("draft_tokens", 0))
    kw = dict(draft_tokens=k, acceptance_rate=float(d.get("acceptance_rate", 0.0)),
              draft_fraction=rep.mtp_draft_fraction)  # fmt: skip

    def at(b: int) -> tuple[float, float, float]:
        t, n = rep.step(b * ep, ctx, 0.0, 1e12, **kw)
        return n / t / ep, t, n / (b * ep)  # tokens/s per GPU, step seconds, tokens per step

    fit = max(int(rep.kv_capacity_tokens / ep // ctx), 1)
    if "batch_per_gpu" in d:
        b = int(d["batch_per_gpu"])
    else:  # the largest batch meeting the per-user speed (or inter-token latency)

        def ok(b: int) -> bool:
            _, t, e = at(b)
            if "at_itl_s" in d:
                return t / e <= float(d["at_itl_s"])
            return e / t >= float(d["at_per_user_tokens_per_s"])

        lo, hi = 1, fit
        if ok(hi):
            lo = hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        b = lo
    tps, t, e = at(b)
    return tps, {"batch_per_gpu": b, "step_s": t, "tokens_per_step_per_seq": e,
                 "per_user_tokens_per_s": e / t, "kv_fit_per_gpu": fit,
                 "expert_imbalance": rep.expert_imbalance}  # fmt: skip


def _prefill(d: dict[str, Any], catalog: Catalog) -> tuple[float, dict[str, Any]]:
    prompt = float(d["prompt_tokens"])
    hit = float(d.get("cache_hit_fraction", 0.0))
    per_gpu = int(d["tokens_per_gpu"])
    # the uncached suffix of each prompt attends to the whole prompt: mean keys L (1 + h) / 2
    rep = _replica(d, catalog, prompt * (1.0 + hit), per_gpu)
    ep = rep.dp
    computed = int(per_gpu * (1.0 - hit)) * ep
    t = rep.iteration_time(computed, 0, 0)
    tps = computed / t / ep / (1.0 - hit)  # input tokens/s per GPU, cache hits included
    return tps, {"iteration_s": t, "computed_tokens_per_gpu": computed // ep,
                 "expert_imbalance": rep.expert_imbalance}  # fmt: skip


def validate_deepseek(
    path: str | Path | None = None, *, catalog: Catalog | None = None
) -> list[ValidationRow]:
    """One row per published figure: measured and predicted tokens/s per GPU."""
    catalog = catalog or load_catalog()
    out = []
    for d in load_rows(path):
        measured = float(d["measured_tokens_per_s_per_gpu"])
        phase = d["phase"]
        tps, info = (_decode if phase == "decode" else _prefill)(d, catalog)
        out.append(ValidationRow(
            d["id"], f"{phase}_tokens_per_s_per_gpu", measured, round(tps, 1),
            round(100.0 * (tps / measured - 1.0), 2), group="deepseek",
            details={"source": str(d["source"]), "what": d["what"], "system": d["system"],
                     "ep": d["ep"], "assumption": d.get("assumption"),
                     **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in info.items()}},
        ))  # fmt: skip
    return out


def deepseek_summary(rows: list[ValidationRow]) -> dict[str, Any]:
    """Errors overall, by phase and by source (DeepSeek's own figures first)."""
    done = [r for r in rows if r.error_pct is not None]

    def by(key) -> dict[str, Any]:
        groups: dict[str, list[float]] = {}
        for r in done:
            groups.setdefault(key(r), []).append(r.error_pct)
        return {k: error_stats(v) for k, v in sorted(groups.items())}

    return {
        "num_rows": len(rows),
        **error_stats(r.error_pct for r in done),
        "by_phase": by(lambda r: r.metric.split("_")[0]),
        "by_source": by(lambda r: "deepseek" if r.row_id[:2] in ("D6", "PD") else "sglang"),
        "rows": {r.row_id: r.error_pct for r in done},
        "error_unit": "% of published tokens/s per GPU",
    }


__all__ = ["deepseek_summary", "load_rows", "validate_deepseek"]
