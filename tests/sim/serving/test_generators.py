"""Synthetic arrival processes and length distributions."""

from __future__ import annotations

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving.generators import (
    bursty_arrivals,
    diurnal_arrivals,
    lognormal_lengths,
    poisson_arrivals,
)


def test_arrival_generators():
    rng = np.random.default_rng(3)
    t = poisson_arrivals(10.0, 50_000, rng)
    assert np.all(np.diff(t) >= 0) and 50_000 / t[-1] == pytest.approx(10.0, rel=0.03)
    b = bursty_arrivals(10.0, 50_000, 3.0, rng)
    gaps = np.diff(b)
    assert gaps.std() / gaps.mean() == pytest.approx(3.0, rel=0.1)
    d = diurnal_arrivals(10.0, 100_000, 4.0, 1000.0, rng)
    assert len(d) == 100_000 and np.all(np.diff(d) >= 0)
    phase = np.mod(d, 1000.0)
    peak = np.sum((phase > 200) & (phase < 300))  # around sin = 1
    trough = np.sum((phase > 700) & (phase < 800))  # around sin = -1
    assert peak / trough == pytest.approx(4.0 * 0.97, rel=0.1)
    x = lognormal_lengths(500.0, 0.8, 100_000, rng)
    assert x.min() >= 1 and x.mean() == pytest.approx(500.0, rel=0.03)
    assert lognormal_lengths(500.0, 2.0, 1000, rng, max_tokens=800).max() <= 800


def test_bad_generator_input_raises_gigafleet_error():
    with pytest.raises(GigafleetError, match="rate_per_s"):
        poisson_arrivals(-1.0, 10, np.random.default_rng())
