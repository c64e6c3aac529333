"""Power as data centers are built: what a system is rated at and expected to peak at, the
distribution of a site's draw, the power provisioned for it, and what capping costs.

A site's capacity (its grid connection and power plant, MW) is set against the power
*provisioned* for what it holds, not against its average draw; the average draw is the
energy bill. Three policies:

- ``rated``: every system at its nameplate (maximum input; ``systems.csv`` or
  ``power.yaml: provisioning.rated_kw``), plus its share of the scale-out switches;
- ``peak``: every system at its expected peak in service (``provisioning.peak_kw`` where a
  figure is published, else the energy model at full load: every GPU compute-bound, hosts
  fully loaded);
- ``percentile``: a percentile of the site's simulated draw (oversubscription). Fan,
  Weber and Barroso (ISCA 2007) found the aggregate peak of thousands of servers 7-16%
  below their theoretical peak (almost 40% for whole data centers); Dynamo (ISCA 2016),
  Thunderbolt (OSDI 2020) and POLCA (ASPLOS 2024) provision above the observed draw and
  cap the excess (9-30% more servers in the same power).

Draw samples: each hour of the day (services follow their daily demand), crossed with the
state of each training run (absent, in its compute-bound phase at peak power, or in its
other phases), weighted by their probabilities. Capping holds every sample at the limit by
lowering the clock of the busy GPUs: the busy (cappable) power ``B`` above the idle floor
scales as ``f^a`` (the DVFS exponent of ``power.yaml``), so

    f = ((B - (D - L)) / B)^(1/a)      (at least min_clock_fraction)

in a sample drawing ``D`` over the limit ``L``; compute-bound work runs at ``f``. The
throughput capping costs is ``sum w B (1 - f) / sum w B`` over the samples (work weighted
by its busy power).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gigafleet.catalog import Catalog, load_catalog
from gigafleet.energy.params import PowerParams, load_power_params
from gigafleet.energy.power import accelerator_power_w, system_power_w
from gigafleet.errors import GigafleetError

#: The provisioning policies (module docstring).
POLICIES = ("rated", "peak", "percentile")
#: Training runs whose phase states are enumerated per site; more are taken at their mean.
MAX_ENUMERATED_RUNS = 6


@dataclass(frozen=True, slots=True)
class SystemRating:
    """Power of one system (W, IT): its nameplate and expected peak with their basis, its
    share of the scale-out switches, and its draw at full load by the energy model."""

    rated_w: float
    rated_basis: str
    peak_w: float
    peak_basis: str
    switch_w: float
    full_load_w: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rated_kw": self.rated_w / 1e3,
            "rated_basis": self.rated_basis,
            "peak_kw": self.peak_w / 1e3,
            "peak_basis": self.peak_basis,
            "switch_kw": self.switch_w / 1e3,
            "full_load_kw": self.full_load_w / 1e3,
        }


def system_rating(
    system: str, *, cooling: str | None = None, params: PowerParams | None = None,
    catalog: Catalog | None = None,
) -> SystemRating:  # fmt: skip
    """Nameplate and expected peak of ``system`` (a catalog name), each with its basis:
    ``sourced`` (a published figure), ``modelled`` (the energy model at full load)."""
    cat = catalog or load_catalog()
    p = params or load_power_params(cat)
    row = cat.system(system)
    acc = cat.accelerator(row.accelerator)
    full_gpu = accelerator_power_w(acc, compute_frac=1.0, memory_frac=0.0, comm_frac=0.0,
                                   params=p, catalog=cat)  # fmt: skip
    full = system_power_w(row, gpu_power_w=full_gpu, host_load=1.0, include_scaleout=False,
                          cooling=cooling, params=p, catalog=cat)  # fmt: skip
    with_switches = system_power_w(row, gpu_power_w=full_gpu, host_load=1.0, cooling=cooling,
                                   params=p, catalog=cat)  # fmt: skip
    full_w = float(full.total_w)
    switch_w = float(with_switches.total_w) - full_w
    prov = p.provisioning
    if row.name in prov.rated_kw:
        rated, rated_basis = prov.rated_kw[row.name].kw * 1e3, "sourced"
    elif row.system_power_kw:
        rated = row.system_power_kw * 1e3
        rated_basis = "estimated" if _estimated(row.estimated, "system_power_kw") else "sourced"
    else:
        rated, rated_basis = full_w, "modelled"
    if row.name in prov.peak_kw:
        peak, peak_basis = prov.peak_kw[row.name].kw * 1e3, "sourced"
    else:
        peak, peak_basis = min(full_w, rated), "modelled"
    return SystemRating(rated, rated_basis, peak, peak_basis, switch_w, full_w)


def _estimated(note: str | None, field: str) -> bool:
    """Whether a catalog row's ``estimated`` note marks ``field`` an ESTIMATE (the notes
    read ``field: ESTIMATE ...; other: ...``)."""
    for part in (note or "").split(";"):
        if part.strip().startswith(f"{field}:"):
            return "ESTIMATE" in part
    return False


# ---- the distribution of a site's draw -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunDraw:
    """A training run's draw over the site's idle floor (facility W): ``share`` of the
    period it runs, ``peak_w`` in its compute-bound phase (a share ``p_peak`` of its
    time), ``low_w`` in the others."""

    share: float
    peak_w: float
    low_w: float
    p_peak: float

    @classmethod
    def from_mean(cls, *, share: float, mean_w: float, peak_w: float, low_w: float) -> RunDraw:
        """The two levels that average to ``mean_w``: at ``peak_w`` a share
        ``(mean - low) / (peak - low)`` of the time (``low`` is lowered to the mean if the
        run averages below it)."""
        low = min(low_w, mean_w)
        span = peak_w - low
        p = 0.0 if span <= 0 else min(max((mean_w - low) / span, 0.0), 1.0)
        return cls(share=min(max(share, 0.0), 1.0), peak_w=max(peak_w, mean_w), low_w=low,
                   p_peak=p)  # fmt: skip

    @property
    def mean_w(self) -> float:
        return self.share * (self.p_peak * self.peak_w + (1 - self.p_peak) * self.low_w)


@dataclass(frozen=True)
class Draw:
    """Samples of a site's facility draw (W) with their probabilities, and the busy power
    in each (above the idle floor: what capping can take away)."""

    w: np.ndarray
    weight: np.ndarray
    busy_w: np.ndarray

    @property
    def mean_w(self) -> float:
        return float(np.sum(self.w * self.weight))

    @property
    def peak_w(self) -> float:
        return float(self.w.max(initial=0.0))

    def percentile_w(self, q: float) -> float:
        """The ``q``-th percentile (0-100) of the draw, weighted by probability."""
        return weighted_percentile(self.w, self.weight, q)


def weighted_percentile(values: Any, weights: Any, q: float) -> float:
    """The smallest value whose cumulative weight reaches ``q`` percent of the total."""
    if not 0 < q <= 100:
        raise GigafleetError(f"got {q}; allowed: a percentile in (0, 100]", field="percentile")
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if v.size == 0:
        return 0.0
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    i = int(np.searchsorted(cum, q / 100.0 * cum[-1] * (1 - 1e-12)))
    return float(v[order][min(i, v.size - 1)])


def site_draw(idle_w: float, hourly_w: Sequence[float], runs: Sequence[RunDraw]) -> Draw:
    """Samples of a site's draw: ``idle_w`` (installed GPUs, always drawn), services by hour
    of the day (``hourly_w`` over idle, equally likely hours), each training run in one of
    its states (module docstring). Runs past ``MAX_ENUMERATED_RUNS`` are taken at their mean."""
    hours = np.asarray(hourly_w, dtype=float)
    if hours.size == 0:
        hours = np.zeros(1)
    enum, rest = list(runs[:MAX_ENUMERATED_RUNS]), runs[MAX_ENUMERATED_RUNS:]
    steady = sum(r.mean_w for r in rest)
    states = []
    for r in enum:
        states.append(
            [
                (0.0, 1 - r.share),
                (r.peak_w, r.share * r.p_peak),
                (r.low_w, r.share * (1 - r.p_peak)),
            ]
        )
    combos = [(sum(x for x, _ in c), float(np.prod([p for _, p in c]))) for c in itertools.product(*states)]  # fmt: skip
    combos = [(x, p) for x, p in combos if p > 0] or [(0.0, 1.0)]
    train = np.array([x for x, _ in combos])
    p_train = np.array([p for _, p in combos])
    busy = (hours[:, None] + train[None, :] + steady).ravel()
    weight = (np.full(hours.size, 1.0 / hours.size)[:, None] * p_train[None, :]).ravel()
    return Draw(w=idle_w + busy, weight=weight / weight.sum(), busy_w=busy)


# ---- capping ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capping:
    """What holding a site's draw at ``limit_w`` costs."""

    limit_w: float
    time_capped: float  # share of the time the draw would exceed the limit
    throughput_loss: float  # share of the busy work lost to lower clocks
    unmet_w: float  # the most the draw stays above the limit at the lowest clock (0: held)

    def to_dict(self) -> dict[str, float]:
        return {
            "limit_mw": self.limit_w / 1e6,
            "time_capped": self.time_capped,
            "throughput_loss": self.throughput_loss,
            "unmet_mw": self.unmet_w / 1e6,
        }


def capping(draw: Draw, limit_w: float, *, params: PowerParams | None = None,
            catalog: Catalog | None = None) -> Capping:  # fmt: skip
    """Hold every sample of ``draw`` at ``limit_w`` by lowering the busy GPUs' clock (module
    docstring): the share of time capped and the throughput it costs."""
    p = params or load_power_params(catalog)
    a, fmin = p.dvfs.exponent, p.dvfs.min_clock_fraction
    excess = np.maximum(draw.w - limit_w, 0.0)
    busy = draw.busy_w
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = np.where(busy > 0, (busy - excess) / busy, 1.0)
    f = np.where(excess > 0, np.maximum(np.clip(keep, 0.0, 1.0) ** (1.0 / a), fmin), 1.0)
    unmet = np.maximum(excess - busy * (1 - f**a), 0.0)
    work = float(np.sum(draw.weight * busy))
    loss = float(np.sum(draw.weight * busy * (1 - f)) / work) if work > 0 else 0.0
    return Capping(
        limit_w=float(limit_w),
        time_capped=float(np.sum(draw.weight[excess > 0])),
        throughput_loss=loss,
        unmet_w=float(unmet.max(initial=0.0)),
    )


def provisioned_w(policy: str, *, rated_w: float, peak_w: float, draw: Draw,
                  percentile: float) -> float:  # fmt: skip
    """The facility power a site provisions for what it holds, by ``policy`` (rated, peak
    or percentile of the simulated draw)."""
    if policy == "rated":
        return rated_w
    if policy == "peak":
        return peak_w
    if policy == "percentile":
        return draw.percentile_w(percentile)
    raise GigafleetError(f"unknown policy {policy!r}; allowed: {', '.join(POLICIES)}",
                         field="provision_for", allowed=POLICIES)  # fmt: skip


__all__ = [
    "MAX_ENUMERATED_RUNS",
    "POLICIES",
    "Capping",
    "Draw",
    "RunDraw",
    "SystemRating",
    "capping",
    "provisioned_w",
    "site_draw",
    "system_rating",
    "weighted_percentile",
]
