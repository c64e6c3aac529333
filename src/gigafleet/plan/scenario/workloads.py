"""The scenario's services as the stages see them: their order, kind and demand unit, and
their demand over the timeline and over a day."""

from __future__ import annotations

from typing import Any

import numpy as np

from gigafleet.spec.scenario import (
    AdapterRefresh,
    PersonalizedService,
    PrivateService,
    RecommendationService,
    Scenario,
    month_index,
)


def services_of(scn: Scenario) -> list[Any]:
    """Every service of ``scn`` in placement order: LLM, personalized, private, recommendation,
    then the adapter refreshes (continuous training work placed like a service)."""
    w = scn.workloads
    return [*w.llm_services, *w.personalized, *w.private, *w.recommendation, *w.adapter_refresh]


def service_kind(svc: Any) -> str:
    """``llm``, ``personalized``, ``private``, ``recommendation`` or ``adapter_refresh``."""
    if isinstance(svc, AdapterRefresh):
        return "adapter_refresh"
    if isinstance(svc, RecommendationService):
        return "recommendation"
    if isinstance(svc, PrivateService):
        return "private"
    if isinstance(svc, PersonalizedService):
        return "personalized"
    return "llm"


def demand_unit(svc: Any) -> str:
    """The unit of a service's demand and capacity."""
    if isinstance(svc, AdapterRefresh):
        return "tokens/s"
    return "inferences/s" if isinstance(svc, RecommendationService) else "requests/s"


def daily_profile(peak_to_mean: float, *, peak_hour: float = 14.0) -> np.ndarray:
    """Demand over the 24 hours of a day relative to the daily mean: a raised cosine
    ``1 + a cos(2 pi (h - peak_hour) / 24)`` with ``a = peak_to_mean - 1``, so its peak over
    its mean is ``peak_to_mean``; past 2 it is clipped at zero and rescaled to mean 1."""
    h = np.arange(24) + 0.5
    shape = np.maximum(1.0 + (peak_to_mean - 1.0) * np.cos(2 * np.pi * (h - peak_hour) / 24), 0.0)
    return shape / shape.mean()


def peak_demand(svc: Any, month: int) -> float:
    """Peak-hour demand in requests (or inferences) per second at ``month``."""
    start = month_index(svc.start)
    if month < start:
        return 0.0
    per_day = svc.requests_per_day  # inferences (items scored) for recommendation services
    growth = (1.0 + svc.growth_per_year) ** ((month - start) / 12.0)
    return per_day / 86400.0 * svc.peak_to_mean * growth
