"""GPU confidential computing (TEE mode): what the encrypted bounce buffers cost.

In confidential-computing mode (NVIDIA Hopper/Blackwell CC with an SEV-SNP or TDX CPU
TEE), every host-to-GPU transfer goes through an encrypted bounce buffer in shared
memory: the CPU encrypts (AES-GCM) and the GPU's copy engine decrypts. Work on the GPU
itself runs at full speed. A serving iteration therefore pays

* an iteration toll: the encrypted command submissions and input/output transfers of every
  iteration. Commands scale with the kernels launched, so the toll is per layer:
  ``layers x iteration_toll_s_per_layer``;
* a request toll, also per layer: the encrypted prompt upload and the first iteration's
  setup, added to the time to first token;
* ``bounce_bw_bytes_per_s``: bulk transfers (model load, KV swap to host) are capped by
  the CPU's encryption throughput.

The two tolls are calibrated per CPU TEE on Zhu et al. 2024 (arXiv:2409.03992), Llama-3.1-8B
rows only; the other models' rows are held out. Overheads are then predicted from the
TEE-off measurement of each row: ``overhead = x / (1 + x)`` with ``x = toll TPS_off`` for
throughput at batch 1 (one iteration per token), and ``(request toll + iteration toll) /
TTFT_off`` for the time to first token.
Layer counts: Llama-3.1 8B/70B from the catalog, Phi-3-medium 40 (Abdin et al. 2024,
arXiv:2404.14219, Sec. 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError

#: Encryption throughput of the bounce-buffer path for bulk copies (model load, KV swap):
#: a few GB/s of AES-GCM on the CPU side. Estimate: Zhu et al. 2024 report model loading as
#: the dominant CC cost for cold starts but give no bandwidth figure.
BOUNCE_BW_BYTES_PER_S = 4e9


#: Layers of the models in the confidential-computing study (for the per-layer tolls).
STUDY_LAYERS = {"Llama-3.1-8B": 32, "Llama-3.1-70B": 80, "Phi3-14B-128k": 40}


@dataclass(frozen=True, slots=True)
class TeeCosts:
    """Per-layer tolls of confidential-computing mode (seconds)."""

    iteration_toll_s_per_layer: float
    request_toll_s_per_layer: float
    bounce_bw_bytes_per_s: float = BOUNCE_BW_BYTES_PER_S

    def iteration_toll(self, num_layers: int) -> float:
        return self.iteration_toll_s_per_layer * num_layers

    def request_toll(self, num_layers: int) -> float:
        return self.request_toll_s_per_layer * num_layers

    def load_time(self, nbytes: float) -> float:
        """Seconds to move ``nbytes`` host -> GPU through the encrypted path."""
        return nbytes / self.bounce_bw_bytes_per_s


def tee_costs(cpu_tee: str = "any", catalog: Catalog | None = None) -> TeeCosts:
    """Calibrated tolls for a CPU TEE (``sev-snp``, ``tdx``); ``any`` averages them."""
    cal = (catalog or load_catalog()).calibration.get("tee", {})
    tolls = cal.get("tolls", {})
    if not tolls:
        raise GigafleetError("no TEE calibration in the catalog", field="calibration.tee")
    keys = ("iteration_toll_s_per_layer", "request_toll_s_per_layer")
    if cpu_tee == "any":
        return TeeCosts(*(sum(v[k] for v in tolls.values()) / len(tolls) for k in keys))
    if cpu_tee not in tolls:
        raise GigafleetError(
            f"unknown CPU TEE {cpu_tee!r}; allowed: any, {', '.join(tolls)}", field="cpu_tee"
        )
    return TeeCosts(*(tolls[cpu_tee][k] for k in keys))


def tee_kind(cpu: str) -> str | None:
    c = cpu.lower()
    return "sev-snp" if "sev" in c else "tdx" if "tdx" in c else None


def metric_kind(metric: str) -> str | None:
    m = metric.lower()
    if m.startswith("tps"):
        return "per_token"
    if m.startswith("itl"):
        return "per_token"
    if m.startswith("ttft"):
        return "ttft"
    return None


def predict_overhead(
    row: dict[str, str], costs: TeeCosts, tps_rows: list[dict[str, str]]
) -> float | None:
    """Predicted overhead (%) of one row; None when the row cannot be expressed."""
    kind = metric_kind(row["metric"])
    layers = STUDY_LAYERS.get(row["model"])
    try:
        off = float(row["tee_off"])
    except ValueError:
        return None
    if layers is None or kind is None or off <= 0:
        return None
    if kind == "per_token":
        # seconds per token at batch 1: TPS rows give it; ITL rows (units unclear in the
        # paper) use the same model's batch-1 TPS row
        if not row["metric"].lower().startswith("tps"):
            ref = [r for r in tps_rows if r["model"] == row["model"] and r["gpu"] == row["gpu"]]
            if not ref:
                return None
            try:
                off = float(ref[0]["tee_off"])
            except ValueError:
                return None
        # TPS_on = 1 / (1/TPS_off + toll): overhead = 1 - TPS_on/TPS_off = x / (1 + x), x = toll TPS_off
        x = costs.iteration_toll(layers) * off
        return 100.0 * x / (1.0 + x)
    return 100.0 * (costs.request_toll(layers) + costs.iteration_toll(layers)) / off


def fit_tolls(rows: list[dict[str, str]], fit_model: str) -> dict[str, dict[str, float]]:
    """Per CPU TEE: the per-layer tolls that reproduce the ``fit_model`` rows (median)."""
    layers = STUDY_LAYERS[fit_model]
    out: dict[str, dict[str, float]] = {}
    for kind in ("sev-snp", "tdx"):
        mine = [r for r in rows if tee_kind(r["cpu_tee"]) == kind and r["model"] == fit_model]
        tps = [r for r in mine if r["metric"].lower().startswith("tps")]
        ttft = [r for r in mine if r["metric"].lower().startswith("ttft")]
        if not tps or not ttft:
            continue
        # toll = 1/TPS_on - 1/TPS_off, with TPS_on = TPS_off (1 - overhead)
        its = sorted(
            (1.0 / (1.0 - float(r["overhead_pct"]) / 100.0) - 1.0) / float(r["tee_off"])
            for r in tps
        )
        it = its[len(its) // 2]
        rqs = sorted(float(r["overhead_pct"]) / 100.0 * float(r["tee_off"]) - it for r in ttft)
        out[kind] = {
            "iteration_toll_s_per_layer": round(it / layers, 8),
            "request_toll_s_per_layer": round(max(rqs[len(rqs) // 2], 0.0) / layers, 8),
        }
    return out


__all__ = [
    "STUDY_LAYERS",
    "TeeCosts",
    "fit_tolls",
    "metric_kind",
    "predict_overhead",
    "tee_costs",
    "tee_kind",
]
