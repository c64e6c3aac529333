"""Shared helpers of the serving simulator tests (tests/sim/serving/)."""

from __future__ import annotations

import numpy as np

from gigafleet.sim.serving import Workload, fixed_lengths, poisson_arrivals


def linear(a: float = 0.01, b: float = 1e-5, c: float = 1e-7):
    """A memory-bound iteration: fixed weight read, then per-token and per-context costs."""
    return lambda p, d, ctx: a + b * (p + d) + c * ctx


def workload(n: int, rate: float, prompt: int, output: int, seed: int = 0, **kw) -> Workload:
    rng = np.random.default_rng(seed)
    return Workload(
        poisson_arrivals(rate, n, rng), fixed_lengths(prompt, n), fixed_lengths(output, n), **kw
    )
