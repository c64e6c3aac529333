"""``gigafleet recsys serve``: one recommendation service on one system. The fields are
those of the scenario's :class:`~gigafleet.spec.scenario.RecommendationService` (its feed,
funnel, ranking model and latency budget) plus the system; the load is optional (without it
the answer is per GPU)."""

from __future__ import annotations

from pydantic import Field, model_validator

from gigafleet.spec.scenario import RecommendationService


class RecsysJob(RecommendationService):
    """One recommendation deployment: a feed on one system kind."""

    name: str = Field(default="recommendation", min_length=1)
    system: str = Field(description="catalog system, e.g. gb200-nvl72, dgx-b200, dgx-h100")

    @model_validator(mode="after")
    def _load(self) -> RecsysJob:  # at most one load: none sizes one GPU
        users = (self.daily_active_users, self.requests_per_user_per_day)
        if (users[0] is None) != (users[1] is None):
            raise ValueError("give daily_active_users and requests_per_user_per_day together")
        given = [users[0] is not None, self.queries_per_s is not None,
                 self.inferences_per_day is not None]  # fmt: skip
        if sum(given) > 1:
            raise ValueError(
                "give at most one of queries_per_s, inferences_per_day and "
                "daily_active_users with requests_per_user_per_day"
            )
        if self.far_tier != "none" and self.far_tb_per_node <= 0:
            raise ValueError(f"far_tier {self.far_tier!r} needs far_tb_per_node > 0")
        return self

    @property
    def has_load(self) -> bool:
        return any(x is not None for x in (self.daily_active_users, self.queries_per_s,
                                           self.inferences_per_day))  # fmt: skip


__all__ = ["RecsysJob"]
