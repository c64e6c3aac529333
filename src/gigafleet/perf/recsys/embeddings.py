"""Embeddings beyond HBM: where a replica's tables live and which tier serves each lookup.

A replica of ``n`` GPUs of one scale-up (NVLink) domain shards its tables over their HBM
(model parallel, as TorchRec and HugeCTR deploy them). Tables larger than that keep their
hottest rows in HBM as a cache and the cold rows in host memory, reached over NVLink-C2C
(Grace, Vera) or PCIe (x86 hosts); past host memory, a far tier (NVMe SSD, or remote memory
over the scale-out NICs) holds the rest. Which tier serves a lookup follows from the access
skew:

* **Zipf** with exponent ``s``: row ``k`` of a table of ``N`` rows is looked up with
  probability ``k^-s / H(N, s)`` (``H``: generalized harmonic number), so caching its top
  ``K`` rows serves ``H(K, s) / H(N, s)`` of its lookups. Capacity goes to the rows looked
  up most often over all tables (equal marginal frequency: table ``t`` with ``l_t`` lookups
  per unit caches its rows above a common threshold ``theta``, ``K_t = (l_t / (theta
  H(N_t, s)))^(1/s)``). ``s = 0`` is uniform access.
* **A trace**: access counts per row; caching a fraction ``f`` of every table's rows serves
  the share of the counts its top ``f`` rows hold.

Published skew (research notes, recsys.md section 4): production DLRM inputs have "a few
embedding entries being accessed up to 10000x more" (Adnan et al., VLDB 2022, FAE); HugeCTR's
synthetic power-law presets use alpha 0.9-1.3; MLPerf's DLRM-v2 multi-hot ids are uniform
extensions of Criteo, and DLRM-v3's items are uniform within a category. No production Zipf
exponent or hit-rate curve was found in text: the default exponent is an estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gigafleet.errors import GigafleetError
from gigafleet.perf.recsys.work import UnitWork

#: Default Zipf exponent of row accesses: HugeCTR's "Medium" synthetic preset (alpha 1.1,
#: NVIDIA-Merlin/HugeCTR docs, DataGeneratorParams). Estimate: no production value published.
DEFAULT_ZIPF_S = 1.1
#: Rows summed exactly before the integral tail of a harmonic number.
_EXACT = 2048


def harmonic(n: float, s: float) -> float:
    """``H(n, s) = sum_{k=1..n} k^-s``: exact up to 2,048 terms, then the midpoint integral
    ``int_{K+1/2}^{n+1/2} x^-s dx`` (relative error below 1e-6 for the tail)."""
    n = float(n)
    if n <= 0:
        return 0.0
    k = min(int(n), _EXACT)
    head = float(np.sum(np.arange(1, k + 1, dtype=float) ** -s))
    if n <= k:
        return head
    a, b = k + 0.5, n + 0.5
    tail = math.log(b / a) if abs(s - 1.0) < 1e-12 else (b ** (1 - s) - a ** (1 - s)) / (1 - s)
    return head + tail


def zipf_hit_rate(num_rows: float, cached_rows: float, s: float) -> float:
    """Share of a Zipf(``s``) table's lookups that fall on its ``cached_rows`` hottest rows."""
    if cached_rows >= num_rows:
        return 1.0
    if cached_rows <= 0:
        return 0.0
    if s == 0:
        return cached_rows / num_rows
    return harmonic(cached_rows, s) / harmonic(num_rows, s)


def read_trace(path: str | Path) -> np.ndarray:
    """Access counts per row from a text file (one number per line, or comma-separated; a
    header line is skipped): sorted hottest first."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise GigafleetError(f"cannot read: {exc.strerror}", file=str(p)) from None
    values = []
    for line in text.replace(",", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            values.append(float(line))
        except ValueError:
            if values:
                raise GigafleetError(
                    f"not a number: {line!r} (an access trace holds one count per row)",
                    file=str(p),
                ) from None
    counts = np.asarray(values, dtype=float)
    if counts.size == 0 or np.any(counts < 0) or counts.sum() <= 0:
        raise GigafleetError("an access trace needs non-negative counts, not all zero", file=str(p))
    return np.sort(counts)[::-1]


def trace_hit_rate(counts: np.ndarray, fraction: float) -> float:
    """Share of the accesses on the hottest ``fraction`` of the rows (interpolated)."""
    if fraction >= 1:
        return 1.0
    if fraction <= 0:
        return 0.0
    cum = np.concatenate([[0.0], np.cumsum(counts)]) / counts.sum()
    x = fraction * counts.size
    i = int(x)
    return float(cum[i] + (x - i) * (cum[min(i + 1, counts.size)] - cum[i]))


def cached_share(work: UnitWork, capacity_bytes: float, *, zipf_s: float,
                 trace: np.ndarray | None = None) -> float:  # fmt: skip
    """Share of a unit's lookups served by a cache of ``capacity_bytes`` holding the most
    often looked-up rows over all tables (module docstring)."""
    tables = [t for t in work.tables if t.lookups > 0]
    total = sum(t.lookups for t in tables)
    if total == 0:
        return 1.0
    rows_fit = capacity_bytes / work.row_bytes
    all_rows = sum(t.num_rows for t in tables)
    if rows_fit >= all_rows:
        return 1.0
    if rows_fit <= 0:
        return 0.0
    if trace is not None:
        return trace_hit_rate(trace, rows_fit / all_rows)
    if zipf_s == 0:  # uniform: fill the densest tables (lookups per row) first
        left, hit = rows_fit, 0.0
        for t in sorted(tables, key=lambda t: t.lookups / t.num_rows, reverse=True):
            k = min(left, t.num_rows)
            hit += t.lookups * k / t.num_rows
            left -= k
        return hit / total
    hs = [harmonic(t.num_rows, zipf_s) for t in tables]

    def rows_at(log_theta: float) -> list[float]:
        theta = math.exp(log_theta)
        return [min(float(t.num_rows), (t.lookups / (theta * h)) ** (1 / zipf_s))
                for t, h in zip(tables, hs, strict=True)]  # fmt: skip

    lo, hi = -200.0, 200.0  # log threshold: hi caches nothing, lo everything
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(rows_at(mid)) > rows_fit:
            lo = mid
        else:
            hi = mid
    ks = rows_at(hi)
    hit = sum(t.lookups * zipf_hit_rate(t.num_rows, k, zipf_s)
              for t, k in zip(tables, ks, strict=True))  # fmt: skip
    return hit / total


@dataclass(frozen=True, slots=True)
class Tiers:
    """Where a replica's tables live and the share of lookups each tier serves."""

    gpus: int
    table_bytes: float
    hbm_bytes: float  # bytes of table held in HBM (whole replica)
    host_bytes: float
    far_bytes: float
    hit_hbm: float
    hit_host: float
    hit_far: float
    skew: str

    def to_dict(self) -> dict[str, float | int | str]:
        return {k: getattr(self, k) for k in self.__slots__}


def place_tables(
    work: UnitWork,
    *,
    gpus: int,
    hbm_per_gpu: float,
    host_per_gpu: float,
    far_per_gpu: float = 0.0,
    zipf_s: float = DEFAULT_ZIPF_S,
    trace: np.ndarray | None = None,
    what: str = "the model",
) -> Tiers:
    """Tables of ``work`` on a replica of ``gpus``: HBM first (``hbm_per_gpu`` bytes of
    each GPU for tables), then host memory, then the far tier; an error when they do not
    fit even there."""
    total = work.table_bytes
    hbm = gpus * max(hbm_per_gpu, 0.0)
    host = gpus * max(host_per_gpu, 0.0)
    far = gpus * max(far_per_gpu, 0.0)
    skew = "trace" if trace is not None else f"zipf s={zipf_s:g}"
    if total <= hbm:
        return Tiers(gpus, total, total, 0.0, 0.0, 1.0, 0.0, 0.0, "all in HBM")
    if total > hbm + host + far:
        raise GigafleetError(
            f"{what}'s {total / 1e12:.2f} TB of embedding tables do not fit a replica of "
            f"{gpus} GPUs: {hbm / 1e12:.2f} TB of HBM, {host / 1e12:.2f} TB of host memory "
            f"and {far / 1e12:.2f} TB of far tier (SSD or remote memory)",
            field="model",
        )
    h1 = cached_share(work, hbm, zipf_s=zipf_s, trace=trace)
    in_host = min(total - hbm, host)
    h2 = cached_share(work, hbm + in_host, zipf_s=zipf_s, trace=trace)
    in_far = total - hbm - in_host
    return Tiers(gpus, total, hbm, in_host, in_far, h1, h2 - h1, 1.0 - h2, skew)


__all__ = [
    "DEFAULT_ZIPF_S",
    "Tiers",
    "cached_share",
    "harmonic",
    "place_tables",
    "read_trace",
    "trace_hit_rate",
    "zipf_hit_rate",
]
