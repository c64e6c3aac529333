"""Which GPU phase each term of a step's time breakdown is, so that other models (the
energy model turns phases into watts) need not know the terms."""

from __future__ import annotations

from typing import Any

import numpy as np

from gigafleet.enums import PHASE_NAMES, Phase

#: The phase of each term of ``breakdown_s``: GEMMs, attention, fixed kernel times and
#: recomputation are compute-bound; memory-bound operators and the optimizer step stream
#: HBM; exposed communication (TP, CP, EP, PP, DP, activation offload) waits on links; the
#: pipeline bubble is idle. ``comm_interference_s`` (compute slowed by overlapped
#: communication) is not a term of this model; a breakdown that carries it counts it as
#: compute.
PHASES: dict[str, Phase] = {
    "gemm_s": "compute",
    "attention_s": "compute",
    "moe_fixed_s": "compute",
    "recompute_s": "compute",
    "memory_bound_s": "memory",
    "optimizer_s": "memory",
    "tp_comm_s": "comm",
    "cp_comm_s": "comm",
    "ep_comm_s": "comm",
    "pp_comm_s": "comm",
    "dp_comm_s": "comm",
    "offload_s": "comm",
    "bubble_s": "idle",
    "comm_interference_s": "compute",
}


def phase_seconds(breakdown_s: dict[str, Any]) -> dict[str, Any]:
    """Seconds per phase (``compute``, ``memory``, ``comm``, ``idle``): the terms of
    ``breakdown_s`` summed in their order by :data:`PHASES`."""
    out: dict[str, Any] = dict.fromkeys(PHASE_NAMES, 0.0)
    for k, v in breakdown_s.items():
        out[PHASES[k]] = out[PHASES[k]] + np.asarray(v, dtype=float)
    return out
