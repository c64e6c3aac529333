"""Synthetic request streams: arrival processes (Poisson, bursty, diurnal) and length
distributions (fixed, lognormal), each returning one numpy value per request."""

from __future__ import annotations

import math

import numpy as np

from gigafleet.errors import GigafleetError


def _check_rate(rate: float, name: str) -> None:
    if not (isinstance(rate, int | float | np.number) and math.isfinite(rate) and rate > 0):
        raise GigafleetError(f"must be a positive number, got {rate!r}", field=name)


def _check_n(n: int) -> None:
    if not isinstance(n, int | np.integer) or n < 1:
        raise GigafleetError(f"must be a positive integer, got {n!r}", field="num_requests")


def poisson_arrivals(rate_per_s: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` arrival times of a Poisson process: exponential gaps of mean ``1 / rate_per_s``."""
    _check_rate(rate_per_s, "rate_per_s")
    _check_n(n)
    return np.cumsum(rng.exponential(1.0 / rate_per_s, size=n))


def bursty_arrivals(rate_per_s: float, n: int, cv: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` arrivals with gamma-distributed gaps of mean ``1 / rate_per_s`` and coefficient of
    variation ``cv``: shape ``1 / cv^2``, scale ``cv^2 / rate`` (``cv = 1`` is Poisson; larger
    is burstier)."""
    _check_rate(rate_per_s, "rate_per_s")
    _check_rate(cv, "cv")
    _check_n(n)
    shape = 1.0 / (cv * cv)
    return np.cumsum(rng.gamma(shape, 1.0 / (rate_per_s * shape), size=n))


def diurnal_arrivals(
    mean_rate_per_s: float,
    n: int,
    peak_to_trough: float,
    period_s: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n`` arrivals of a non-homogeneous Poisson process with rate
    ``lambda(t) = mean (1 + A sin(2 pi t / period_s))``, ``A = (r - 1) / (r + 1)`` so that
    peak / trough is ``r = peak_to_trough``; sampled by thinning (Lewis and Shedler 1979):
    candidates at ``lambda_max = mean (1 + A)``, each kept with probability
    ``lambda(t) / lambda_max``."""
    _check_rate(mean_rate_per_s, "mean_rate_per_s")
    _check_rate(period_s, "period_s")
    _check_n(n)
    if not (math.isfinite(peak_to_trough) and peak_to_trough >= 1.0):
        raise GigafleetError(f"must be >= 1, got {peak_to_trough!r}", field="peak_to_trough")
    amp = (peak_to_trough - 1.0) / (peak_to_trough + 1.0)
    lam_max = mean_rate_per_s * (1.0 + amp)
    out: list[np.ndarray] = []
    have, t0 = 0, 0.0
    while have < n:
        m = int((n - have) * (1.0 + amp) * 1.2) + 16
        t = t0 + np.cumsum(rng.exponential(1.0 / lam_max, size=m))
        t0 = float(t[-1])
        keep = rng.random(m) * (1.0 + amp) < 1.0 + amp * np.sin(2.0 * math.pi * t / period_s)
        out.append(t[keep])
        have += int(keep.sum())
    return np.concatenate(out)[:n]


def fixed_lengths(tokens: int, n: int) -> np.ndarray:
    """``n`` copies of ``tokens``."""
    _check_n(n)
    if not isinstance(tokens, int | np.integer) or tokens < 1:
        raise GigafleetError(f"must be a positive integer, got {tokens!r}", field="tokens")
    return np.full(n, int(tokens), dtype=np.int64)


def lognormal_lengths(
    mean_tokens: float, sigma: float, n: int, rng: np.random.Generator, *, max_tokens: int = 32768
) -> np.ndarray:
    """``n`` lognormal lengths of mean ``mean_tokens`` (``mu = ln(mean) - sigma^2 / 2``), rounded
    and clipped to ``[1, max_tokens]`` (clipping lowers the mean slightly for large sigma)."""
    _check_rate(mean_tokens, "mean_tokens")
    _check_n(n)
    if not (math.isfinite(sigma) and sigma >= 0):
        raise GigafleetError(f"must be >= 0, got {sigma!r}", field="sigma")
    if not isinstance(max_tokens, int | np.integer) or max_tokens < 1:
        raise GigafleetError(f"must be a positive integer, got {max_tokens!r}", field="max_tokens")
    x = rng.lognormal(math.log(mean_tokens) - 0.5 * sigma * sigma, sigma, size=n)
    return np.clip(np.rint(x), 1, max_tokens).astype(np.int64)
