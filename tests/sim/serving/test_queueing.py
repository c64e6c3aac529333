"""Closed forms of queueing theory: Erlang C."""

from __future__ import annotations

import math

import pytest

from gigafleet.sim.serving.queueing import erlang_c_wait_s


def test_erlang_c_formula():
    # M/M/1: W_q = rho / (mu - lambda).
    assert erlang_c_wait_s(0.5, 1.0, 1) == pytest.approx(0.5 / 0.5)
    assert erlang_c_wait_s(0.9, 1.0, 1) == pytest.approx(0.9 / 0.1)
    # M/M/2 with a = 1: P_wait = 1/3, W_q = (1/3) / (2 - 1).
    assert erlang_c_wait_s(1.0, 1.0, 2) == pytest.approx(1.0 / 3.0)
    assert erlang_c_wait_s(1.0, 1.0, 1) == math.inf
