"""Closed forms of queueing theory that the simulator is checked against."""

from __future__ import annotations

import math

from gigafleet.errors import GigafleetError


def erlang_c_wait_s(
    arrival_rate_per_s: float, service_rate_per_s: float, num_servers: int
) -> float:
    """Mean waiting time in queue of the M/M/c queue (Erlang C; Kleinrock, Queueing Systems
    Vol. 1, 1975, the M/M/m queue):

        a = lambda / mu,  rho = a / c,
        P_wait = (a^c / c!) / (1 - rho) / (sum_{k<c} a^k / k! + (a^c / c!) / (1 - rho)),
        W_q = P_wait / (c mu - lambda).

    For ``c = 1`` this is ``rho / (mu - lambda)``. Infinite when ``rho >= 1``.
    """
    lam, mu, c = float(arrival_rate_per_s), float(service_rate_per_s), int(num_servers)
    if lam <= 0 or mu <= 0 or c < 1:
        raise GigafleetError("rates must be > 0 and num_servers >= 1", field="erlang_c")
    a = lam / mu
    rho = a / c
    if rho >= 1.0:
        return math.inf
    term, total = 1.0, 0.0  # a^k / k!, accumulated iteratively to avoid big factorials
    for k in range(c):
        total += term
        term *= a / (k + 1)
    top = term / (1.0 - rho)
    return top / (total + top) / (c * mu - lam)
