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
rows only, by ``gigafleet.validate.tee.fit_tolls``; the other models' rows are held out.
"""

from __future__ import annotations

from dataclasses import dataclass

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.errors import GigafleetError

#: Encryption throughput of the bounce-buffer path for bulk copies (model load, KV swap):
#: a few GB/s of AES-GCM on the CPU side. Estimate: Zhu et al. 2024 report model loading as
#: the dominant CC cost for cold starts but give no bandwidth figure.
BOUNCE_BW_BYTES_PER_S = 4e9


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
    tolls = (catalog or load_catalog()).params.calibration.tee.tolls
    keys = ("iteration_toll_s_per_layer", "request_toll_s_per_layer")
    if cpu_tee == "any":
        return TeeCosts(*(sum(getattr(v, k) for v in tolls.values()) / len(tolls) for k in keys))
    if cpu_tee not in tolls:
        raise GigafleetError(
            f"unknown CPU TEE {cpu_tee!r}; allowed: any, {', '.join(tolls)}", field="cpu_tee"
        )
    return TeeCosts(*(getattr(tolls[cpu_tee], k) for k in keys))


__all__ = ["BOUNCE_BW_BYTES_PER_S", "TeeCosts", "tee_costs"]
