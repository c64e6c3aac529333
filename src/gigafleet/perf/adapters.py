"""Per-user LoRA adapters: how big they are, where they live, what a cold one costs.

Every user (up to 10^9) has an adapter of rank ``r`` on the attention projections (and
optionally the MLP). Requests follow a Zipf popularity ``p_i ~ i^-s`` over users. Adapters
are cached in tiers, fastest first (HBM, host memory over NVLink-C2C or PCIe, local NVMe,
remote storage); each tier is an LRU cache of ``C_k`` adapters.

* LRU hit rate of a cache of ``C`` items, Che's approximation (Che et al. 2002; Fricker et
  al. 2012): ``h(C) = sum_i p_i (1 - exp(-p_i T))`` with ``T`` solving
  ``sum_i (1 - exp(-p_i T)) = C``. The sums over 10^9 users run over log-spaced rank bins.
* With exclusive tiers a request is served by tier ``k`` with probability
  ``h(C_1 + ... + C_k) - h(C_1 + ... + C_{k-1})``; a cold adapter costs that tier's latency
  plus ``size / bandwidth``, added to the time to first token.
* Batching requests of different adapters (S-LoRA, Sheng et al. 2023; Punica, Chen et al.
  2023): each iteration reads every distinct adapter in the batch once, ``D(B) =
  sum_i (1 - (1 - p_i)^B)`` of them for a batch of ``B`` requests, and pays a kernel
  overhead per distinct adapter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gigafleet.catalog.schema import ModelArch
from gigafleet.errors import GigafleetError

#: Per distinct adapter in a batch: gather/launch overhead of the batched LoRA kernels
#: (BGMV/MBGMV). Estimate: a few microseconds per adapter segment (Punica Fig. 8 shows the
#: kernel latency growing by ~µs per distinct adapter at small ranks).
ADAPTER_KERNEL_OVERHEAD_S = 2e-6


@dataclass(frozen=True, slots=True)
class Tier:
    """One storage tier: how many adapters it holds and how fast it loads one."""

    name: str
    capacity_adapters: float
    bandwidth_bytes_per_s: float
    latency_s: float


def adapter_bytes(
    model: ModelArch, rank: int, *, mlp: bool = False, bytes_per_param: float = 2.0
) -> float:
    """Bytes of one LoRA adapter: ``r (d_in + d_out)`` per adapted matrix and layer."""
    if rank < 1:
        raise GigafleetError(f"must be a positive integer, got {rank!r}", field="adapter_rank")
    h = model.hidden_size
    q = model.num_attention_heads * model.dim_head
    kv = model.kv_heads * model.dim_head
    per_layer = rank * ((h + q) + 2 * (h + kv) + (q + h))  # q, k, v, o projections
    if mlp and model.ffn_hidden_size:
        per_layer += rank * 3 * (h + model.ffn_hidden_size)
    return float(per_layer * model.num_layers * bytes_per_param)


def _zipf_bins(num_users: int, s: float, bins: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Log-spaced rank bins: representative popularity per user and users per bin."""
    if num_users < 1:
        raise GigafleetError(f"must be positive, got {num_users!r}", field="num_users")
    if s <= 0:
        raise GigafleetError(f"must be positive, got {s!r}", field="zipf_s")
    edges = np.unique(np.round(np.logspace(0, np.log10(num_users + 1), bins)).astype(np.int64))
    edges[-1] = num_users + 1
    lo, hi = edges[:-1], edges[1:]
    count = (hi - lo).astype(float)
    # mean of i^-s over [lo, hi): integral approximation, exact for single-rank bins
    mass = np.log(hi / lo) if abs(s - 1.0) < 1e-12 else (hi ** (1 - s) - lo ** (1 - s)) / (1 - s)
    mass = np.where(count == 1, lo.astype(float) ** -s, mass)
    p = mass / count
    p = p / np.sum(p * count)
    return p, count


def lru_hit_rate(num_users: int, zipf_s: float, capacity: float | np.ndarray) -> np.ndarray:
    """Che's approximation of the LRU hit rate of ``capacity`` adapters (array-friendly)."""
    p, n = _zipf_bins(num_users, zipf_s)
    caps = np.atleast_1d(np.asarray(capacity, dtype=float))
    out = np.empty_like(caps)
    for j, c in enumerate(caps):
        if c >= num_users:
            out[j] = 1.0
            continue
        if c <= 0:
            out[j] = 0.0
            continue
        lo, hi = 0.0, 1.0
        while np.sum(n * -np.expm1(-p * hi)) < c:
            hi *= 2
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if np.sum(n * -np.expm1(-p * mid)) < c:
                lo = mid
            else:
                hi = mid
        t = 0.5 * (lo + hi)
        out[j] = float(np.sum(n * p * -np.expm1(-p * t)))
    return out if np.ndim(capacity) else out[0]


def distinct_in_batch(num_users: int, zipf_s: float, batch: int) -> float:
    """Expected distinct adapters among ``batch`` requests: ``sum_i 1 - (1 - p_i)^B``."""
    p, n = _zipf_bins(num_users, zipf_s)
    return float(np.sum(n * -np.expm1(batch * np.log1p(-p))))


@dataclass(frozen=True)
class AdapterPlan:
    """Where requests find their adapter, and what a miss adds to TTFT."""

    adapter_bytes: float
    tiers: tuple[Tier, ...]
    probability: tuple[float, ...]  # per tier, sums to 1
    load_s: tuple[float, ...]  # per tier (0 for HBM)

    def latency_quantile(self, q: float) -> float:
        """The added TTFT at quantile ``q`` of requests (a discrete mixture)."""
        cum = np.cumsum(self.probability)
        i = int(np.searchsorted(cum, q - 1e-12))
        return self.load_s[min(i, len(self.load_s) - 1)]

    @property
    def mean_load_s(self) -> float:
        return float(np.dot(self.probability, self.load_s))

    def sample_load_s(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Per-request added TTFT for a simulation (steady-state tier draws)."""
        idx = rng.choice(
            len(self.tiers), size=n, p=np.asarray(self.probability) / sum(self.probability)
        )
        return np.asarray(self.load_s)[idx]


def plan_adapters(
    *, num_users: int, zipf_s: float, size_bytes: float, tiers: list[Tier]
) -> AdapterPlan:
    """Hit probability per tier (exclusive LRU tiers) and each tier's load time."""
    if not tiers:
        raise GigafleetError("needs at least one tier", field="tiers")
    cum, prev, probs, loads = 0.0, 0.0, [], []
    for t in tiers:
        if t.capacity_adapters < 0 or t.bandwidth_bytes_per_s <= 0 or t.latency_s < 0:
            raise GigafleetError(
                f"tier {t.name!r} needs capacity >= 0, bandwidth > 0, latency >= 0", field="tiers"
            )
        cum += t.capacity_adapters
        h = float(lru_hit_rate(num_users, zipf_s, cum))
        probs.append(max(h - prev, 0.0))
        prev = h
        loads.append(0.0 if not loads else t.latency_s + size_bytes / t.bandwidth_bytes_per_s)
    probs[-1] += max(1.0 - sum(probs), 0.0)  # the last tier (remote storage) holds everything
    return AdapterPlan(size_bytes, tuple(tiers), tuple(probs), tuple(loads))


def batch_overhead_s(distinct: float, size_bytes: float, hbm_bw_bytes_per_s: float) -> float:
    """Extra iteration time for ``distinct`` adapters in a batch: read each once, plus the
    per-adapter kernel overhead."""
    return distinct * (size_bytes / hbm_bw_bytes_per_s + ADAPTER_KERNEL_OVERHEAD_S)


def sample_users(num_users: int, zipf_s: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` user ids (0-based) drawn from the bounded Zipf popularity, via the rank bins
    (a bin by its mass, then a user uniformly within it)."""
    if n < 1:
        raise GigafleetError(f"must be positive, got {n!r}", field="num_requests")
    p, count = _zipf_bins(num_users, zipf_s)
    mass = p * count
    edges = np.concatenate([[1], 1 + np.cumsum(count)]).astype(np.int64)
    b = rng.choice(len(p), size=n, p=mass / mass.sum())
    offset = np.floor(rng.random(n) * count[b]).astype(np.int64)
    return edges[b] - 1 + offset
