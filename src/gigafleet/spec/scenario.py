"""A fleet and its work in one file: sites, the systems at each site and when they arrive and
retire, the workloads, and the policies that say which work may run where.

``gigafleet schema scenario`` prints the JSON Schema of this model (editors complete the YAML
from it); ``schemas/scenario.schema.json`` in the repository is that output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from gigafleet.catalog import load_catalog
from gigafleet.catalog.params import Climate
from gigafleet.catalog.prices import CloudKind
from gigafleet.enums import LORA_TARGETS, Cooling, Precision, TeeKind
from gigafleet.errors import GigafleetError, suggest
from gigafleet.spec.base import UserSpec
from gigafleet.spec.serving import MAX_TOKENS, Slo
from gigafleet.spec.simulation import Simulation
from gigafleet.yamlio import _line_of, read_yaml, validate_model

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_index(text: str) -> int:
    """``"2026-03"`` -> months since year 0 (2026 * 12 + 2)."""
    m = _MONTH.match(text)
    if not m:
        raise ValueError(f"expected a month as YYYY-MM, got {text!r}")
    return int(m.group(1)) * 12 + int(m.group(2)) - 1


def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


Month = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$"), Field(examples=["2026-03"])
]


class _Strict(UserSpec):
    pass


class Deployment(_Strict):
    """Systems of one catalog kind at a site, from ``arrive`` until ``retire``."""

    system: str = Field(description="catalog system, e.g. gb300-nvl72, dgx-h100, vera-rubin-nvl144")
    count: int = Field(
        gt=0, le=10_000_000, description="number of systems (racks or nodes), not GPUs"
    )
    arrive: Month = Field(default="2026-01", description="YYYY-MM the systems enter service")
    retire: Month | None = Field(default=None, description="YYYY-MM they leave (none: never)")
    fabric: str | None = Field(default=None, description="scale-out fabric (default: system's)")
    usd_per_gpu: float | None = Field(
        default=None,
        gt=0,
        le=1e8,
        description="system capital cost per GPU (default: price catalog)",
    )
    cooling: Cooling | None = Field(
        default=None,
        description="air or liquid (default: the site's; else the system's, power catalog); "
        "the system must be built for it",
    )

    @model_validator(mode="after")
    def _order(self) -> Deployment:
        if self.retire is not None and month_index(self.retire) <= month_index(self.arrive):
            raise ValueError(f"retire {self.retire} must come after arrive {self.arrive}")
        return self


class Site(_Strict):
    """An owned data center or a cloud region."""

    name: str = Field(min_length=1)
    kind: Literal["owned", "cloud"] = "owned"
    region: str = Field(default="us", description="for data-residency policies")
    power_mw: float = Field(gt=0, le=1e5, description="facility power capacity (cap), MW")
    pue: float | None = Field(
        default=None,
        ge=1.0,
        le=3.0,
        description="power usage effectiveness (default: by cooling and climate, power "
        "catalog: liquid 1.05/1.10/1.15, air 1.3/1.5/1.6 in a cool/temperate/hot climate)",
    )
    climate: Climate = Field(
        default="temperate", description="cool, temperate or hot: sets the default PUE"
    )
    # bounds far beyond real prices (spot peaks reach ~1e4 USD/MWh) and grids (~1,000 g/kWh)
    electricity_usd_per_mwh: float = Field(default=80.0, ge=0, le=1e5)
    grid_gco2_per_kwh: float = Field(
        default=400.0, ge=0, le=5000, description="grid carbon intensity"
    )
    confidential_computing: bool = Field(
        default=False, description="GPUs run in TEE mode here (attestation, encrypted links)"
    )
    cooling: Cooling | None = Field(
        default=None,
        description="air or liquid, for every fleet entry without its own (default: each "
        "system's, power catalog); every system here must be built for it",
    )
    price_usd_per_gpu_hour: float | None = Field(
        default=None,
        gt=0,
        le=1e4,
        description="cloud sites: price per GPU-hour (default: the price catalog's for the "
        "system and cloud_kind, along its trajectory)",
    )
    cloud_kind: CloudKind = Field(
        default="hyperscaler-committed",
        description="cloud sites: who rents and how (hyperscaler or neocloud, on-demand or "
        "committed): which catalog price applies",
    )
    fleet: list[Deployment] = Field(min_length=1)


class TrainingRun(_Strict):
    name: str = Field(min_length=1)
    model: str
    tokens: float = Field(gt=0, description="tokens to train on")
    start: Month = "2026-01"
    deadline_days: float = Field(gt=0, description="wall-clock days allowed, failures included")
    precision: Precision = "fp8"
    seq_len: int = Field(default=8192, gt=0)
    global_batch: int = Field(default=2048, gt=0, description="sequences per step")
    max_gpus: int | None = Field(default=None, gt=0)


class LlmService(_Strict):
    """An LLM inference service (an assistant, an API)."""

    name: str = Field(min_length=1)
    model: str
    requests_per_day: float = Field(gt=0)
    peak_to_mean: float = Field(default=1.5, ge=1.0, description="daily peak over daily mean")
    prompt_tokens: float = Field(default=1024, gt=0, le=MAX_TOKENS)
    output_tokens: float = Field(default=256, gt=0, le=MAX_TOKENS)
    precision: Precision = "fp8"
    slo: Slo = Slo(tpot_s=0.05)  # an interactive service: 20 tokens/s per user at least
    start: Month = "2026-01"
    growth_per_year: float = Field(default=0.0, ge=-0.9, description="0.5: demand x1.5 a year")


class PersonalizedService(LlmService):
    """Per-user LoRA models on a shared base: each request carries its user's adapter."""

    num_users: int = Field(gt=0, le=10**10)
    adapter_rank: int = Field(default=16, gt=0)
    zipf_s: float = Field(default=1.0, gt=0, description="popularity skew of users")


class PrivateService(LlmService):
    """Private processing (e.g. messages) that must run in TEE mode on TEE-capable sites."""

    tee: TeeKind = "any"


class HstuOverride(_Strict):
    """A user's HSTU configuration over the named catalog model's (only what changes)."""

    num_layers: int | None = Field(default=None, gt=0)
    num_heads: int | None = Field(default=None, gt=0)
    attention_dim: int | None = Field(default=None, gt=0, description="dqk per head")
    linear_dim: int | None = Field(default=None, gt=0, description="dv per head")
    max_seq_len: int | None = Field(default=None, gt=0)
    history_cv: float | None = Field(default=None, ge=0, description="jagged-length spread")


class RecommendationService(_Strict):
    """A recommendation feed: its load (daily active users x requests per user per day, or
    queries per second, or items ranked per day), the funnel of each request (retrieval
    candidates scored by dot products, ``items_per_query`` ranking candidates scored by the
    ranking model) and the ranking model with its latency budget. Demand and capacity count
    items ranked."""

    name: str = Field(min_length=1)
    model: str = Field(
        default="dlrm-dcnv2",
        description="catalog recommendation model: dlrm-dcnv2, dlrm-v3, hstu-production-ranker, "
        "or one added by a catalog overlay",
    )
    hstu: HstuOverride | None = Field(default=None, description="HSTU fields that change")
    daily_active_users: float | None = Field(default=None, gt=0)
    requests_per_user_per_day: float | None = Field(default=None, gt=0)
    queries_per_s: float | None = Field(default=None, gt=0, description="daily mean")
    items_per_query: int = Field(default=1, gt=0, description="ranking candidates per request")
    retrieval_candidates: int = Field(
        default=0, ge=0, description="candidates retrieval scores per request (dot products)"
    )
    history_tokens: float | None = Field(
        default=None, gt=0, description="mean user-history tokens (HSTU; default: the model's)"
    )
    inferences_per_day: float | None = Field(default=None, gt=0, description="items ranked per day")
    peak_to_mean: float = Field(default=1.5, ge=1.0, description="daily peak over daily mean")
    latency_budget_ms: float = Field(default=100.0, gt=0, description="p99 per request")
    precision: Literal["bf16", "fp8"] = "bf16"
    embedding_precision: Literal["fp16", "bf16", "fp8", "int8"] = "fp16"
    zipf_s: float = Field(
        default=1.1, ge=0, le=3, description="Zipf exponent of row accesses (0: uniform)"
    )
    access_trace: str | None = Field(
        default=None, description="file of access counts per row (replaces zipf_s)"
    )
    far_tier: Literal["none", "ssd", "remote"] = Field(
        default="none", description="where rows beyond host memory live"
    )
    far_tb_per_node: float = Field(default=0.0, ge=0, description="far-tier capacity per node")
    start: Month = "2026-01"
    growth_per_year: float = Field(default=0.0, ge=-0.9)

    @model_validator(mode="after")
    def _load(self) -> RecommendationService:
        users = (self.daily_active_users, self.requests_per_user_per_day)
        if (users[0] is None) != (users[1] is None):
            raise ValueError("give daily_active_users and requests_per_user_per_day together")
        given = [users[0] is not None, self.queries_per_s is not None,
                 self.inferences_per_day is not None]  # fmt: skip
        if sum(given) != 1:
            raise ValueError(
                "give exactly one of queries_per_s, inferences_per_day and "
                "daily_active_users with requests_per_user_per_day"
            )
        if self.far_tier != "none" and self.far_tb_per_node <= 0:
            raise ValueError(f"far_tier {self.far_tier!r} needs far_tb_per_node > 0")
        return self

    @property
    def queries_per_day(self) -> float:
        """Ranking requests per day."""
        if self.daily_active_users is not None:
            return self.daily_active_users * float(self.requests_per_user_per_day or 0.0)
        if self.queries_per_s is not None:
            return self.queries_per_s * 86400.0
        return float(self.inferences_per_day or 0.0) / self.items_per_query

    @property
    def requests_per_day(self) -> float:
        """Items ranked per day (the demand unit)."""
        if self.inferences_per_day is not None:
            return self.inferences_per_day
        return self.queries_per_day * self.items_per_query


class AdapterRefresh(_Strict):
    """Refreshing personal models: every ``refresh_days`` each user's LoRA adapter of a shared
    base is fine-tuned again on ``tokens_per_user`` new tokens, many adapters per job
    (batched multi-adapter fine-tuning). Its demand is tokens to train per second, flat over
    the day (batch work), sized by the LoRA training model and placed like a service."""

    name: str = Field(min_length=1)
    model: str = Field(description="the shared base model")
    num_users: int = Field(gt=0, le=10**10, description="users with a personal adapter")
    tokens_per_user: float = Field(gt=0, description="new tokens per user per refresh")
    refresh_days: float = Field(default=7.0, gt=0, description="refresh period, days")
    adapter_rank: int = Field(default=16, gt=0)
    lora_targets: str = Field(
        default="qkv,o", description="weights with adapters (qkv, o, mlp, experts, all)"
    )
    adapters_per_job: int = Field(
        default=64, gt=0, description="adapters trained together in one job"
    )
    precision: Precision = "fp8"
    frozen_weights: Literal["bf16", "fp8"] = "bf16"
    seq_len: int = Field(default=4096, gt=0)
    global_batch: int = Field(default=64, gt=0, description="sequences per step, all adapters")
    start: Month = "2026-01"
    growth_per_year: float = Field(default=0.0, ge=-0.9, description="growth of the users")

    @model_validator(mode="after")
    def _targets(self) -> AdapterRefresh:
        bad = [t for t in self.lora_targets.split(",") if t.strip() not in (*LORA_TARGETS, "all")]
        if bad:
            raise ValueError(
                f"unknown LoRA target {', '.join(bad)}; allowed: {', '.join((*LORA_TARGETS, 'all'))}"
            )
        return self

    @property
    def peak_to_mean(self) -> float:
        """Batch work runs around the clock: no daily peak."""
        return 1.0

    @property
    def requests_per_day(self) -> float:
        """Tokens to train per day (the demand unit: tokens/s)."""
        return self.num_users * self.tokens_per_user / self.refresh_days


class Workloads(_Strict):
    training: list[TrainingRun] = []
    llm_services: list[LlmService] = []
    personalized: list[PersonalizedService] = []
    private: list[PrivateService] = []
    recommendation: list[RecommendationService] = []
    adapter_refresh: list[AdapterRefresh] = []


class PowerPolicy(_Strict):
    """How sites provision power for what they hold (``energy/provisioning.py``)."""

    provision_for: Literal["rated", "peak", "percentile"] = Field(
        default="rated",
        description="rated: every system at its nameplate; peak: at its expected peak; "
        "percentile: a percentile of the site's simulated draw (oversubscription, the excess "
        "capped)",
    )
    percentile: float = Field(
        default=99.0, gt=0, le=100, description="with provision_for: percentile"
    )


class Policies(_Strict):
    cloud_bursting: bool = Field(default=True, description="may services use cloud sites?")
    training_in_cloud: bool = False
    residency: dict[str, list[str]] = Field(
        default_factory=dict, description="workload name -> regions it may run in"
    )
    sites: dict[str, list[str]] = Field(
        default_factory=dict, description="workload name -> sites it may run at"
    )
    power_cap_fraction: float = Field(
        default=1.0, gt=0, le=1.0, description="share of each site's power_mw that may be drawn"
    )
    power: PowerPolicy = PowerPolicy()
    rent_as: CloudKind = Field(
        default="neocloud-committed",
        description="the cloud price owned systems are set against (own or rent)",
    )


#: Periods a timeline may have: fifty years by month (a plan of five fleet generations and
#: more; a run costs a few ms per period). A fuzzed ``end: 9999-12`` asked for 16,000.
MAX_PERIODS = 600


class Timeline(_Strict):
    start: Month = "2026-01"
    end: Month = "2028-01"
    step_months: int = Field(default=6, gt=0, le=60)

    @model_validator(mode="after")
    def _order(self) -> Timeline:
        if month_index(self.end) < month_index(self.start):
            raise ValueError(f"end {self.end} comes before start {self.start}")
        n = len(self.months())
        if n > MAX_PERIODS:
            raise ValueError(
                f"{n:,} periods from {self.start} to {self.end} every {self.step_months} "
                f"months; allowed: at most {MAX_PERIODS} (bring end closer or lengthen "
                "step_months)"
            )
        return self

    def months(self) -> list[int]:
        return list(range(month_index(self.start), month_index(self.end) + 1, self.step_months))


class Scenario(_Strict):
    """One fleet, its work and its rules."""

    name: str = Field(min_length=1)
    description: str = ""
    timeline: Timeline = Timeline()
    sites: list[Site] = Field(min_length=1)
    workloads: Workloads
    policies: Policies = Policies()
    amortization_years: float = Field(default=5.0, gt=0)
    catalog: dict[str, Any] | None = Field(
        default=None,
        description="a catalog overlay of this scenario's own (tables and parameter sets, "
        "as in a --catalog file): hardware, power and prices",
    )
    simulation: Simulation | None = Field(
        default=None, description="a year of operations (gigafleet simulate; spec/simulation.py)"
    )

    @model_validator(mode="after")
    def _names(self) -> Scenario:
        sites = [s.name for s in self.sites]
        if len(set(sites)) != len(sites):
            raise ValueError(f"site names must be unique: {sites}")
        work = self.workload_names()
        if len(set(work)) != len(work):
            raise ValueError(f"workload names must be unique: {work}")
        return self

    def workload_names(self) -> list[str]:
        w = self.workloads
        return [
            x.name
            for group in (
                w.training,
                w.llm_services,
                w.personalized,
                w.private,
                w.recommendation,
                w.adapter_refresh,
            )  # fmt: skip
            for x in group
        ]


def check_names(scn: Scenario, catalog: Any) -> None:
    """Every catalog name in ``scn`` resolves; the error's ``loc`` names the field."""
    checks: list[tuple[tuple[Any, ...], Any, str]] = []
    for i, site in enumerate(scn.sites):
        for j, dep in enumerate(site.fleet):
            checks.append((("sites", i, "fleet", j, "system"), catalog.system, dep.system))
            if dep.fabric:
                checks.append(
                    (("sites", i, "fleet", j, "fabric"), catalog.fabric_or_design, dep.fabric)
                )
    w = scn.workloads
    for group in ("training", "llm_services", "personalized", "private", "adapter_refresh"):
        for k, item in enumerate(getattr(w, group)):
            checks.append((("workloads", group, k, "model"), catalog.model, item.model))
    for k, item in enumerate(w.recommendation):
        checks.append(
            (("workloads", "recommendation", k, "model"), catalog.recsys_model, item.model)
        )
    for loc, fn, name in checks:
        try:
            fn(name)
        except GigafleetError as exc:
            msg = str(exc).split(": ", 1)[-1] if exc.field else str(exc)
            err = GigafleetError(msg, field=_dotted(loc), allowed=exc.allowed)
            err.loc = loc
            raise err from None
    # a request's prompt and output fit its model's context window
    for group in ("llm_services", "personalized", "private"):
        for k, item in enumerate(getattr(w, group)):
            why = catalog.model(item.model).context_error(item.prompt_tokens, item.output_tokens)
            if why:
                loc = ("workloads", group, k, "output_tokens")
                err = GigafleetError(why, field=_dotted(loc))
                err.loc = loc
                raise err
    check_cooling(scn, catalog)
    # policies name workloads, sites and regions that exist
    work = scn.workload_names()
    sites = [x.name for x in scn.sites]
    regions = sorted({x.region for x in scn.sites})
    pol = scn.policies
    for key, table, allowed in (("residency", pol.residency, regions), ("sites", pol.sites, sites)):
        for name, values in table.items():
            if name not in work:
                hint = suggest(name, work)
                did = f"; did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
                _policy_error(("policies", key, name), f"unknown workload {name!r}{did}", work)
            for i, v in enumerate(values):
                if v not in allowed:
                    what = "region" if key == "residency" else "site"
                    _policy_error(("policies", key, name, i), f"unknown {what} {v!r}", allowed)


def check_cooling(scn: Scenario, catalog: Any) -> None:
    """Every fleet entry's cooling (its own, else its site's) is one its system is built for
    (``power.system.cooling`` in the catalog): an air-cooled GB300 NVL72 does not exist."""
    power = catalog.params.power
    for i, site in enumerate(scn.sites):
        for j, dep in enumerate(site.fleet):
            want = dep.cooling or site.cooling
            allowed = power.cooling_options(catalog.system(dep.system).name)
            if want is None or want in allowed:
                continue
            loc: tuple[Any, ...] = (
                ("sites", i, "fleet", j, "cooling") if dep.cooling else ("sites", i, "cooling")
            )
            built = " or ".join(allowed)
            err = GigafleetError(
                f"{want}-cooled {dep.system} (sites.{i}.fleet.{j}) is not built: it is "
                f"{built}-cooled; allowed: {', '.join(allowed)} (a catalog overlay can add a "
                "variant: power: {system: {cooling: {...}}})",
                field=_dotted(loc),
                allowed=list(allowed),
            )
            err.loc = loc
            raise err


def _policy_error(loc: tuple[Any, ...], what: str, allowed: list[str]) -> None:
    err = GigafleetError(f"{what}; allowed: {', '.join(allowed)}", field=_dotted(loc),
                         allowed=allowed)  # fmt: skip
    err.loc = loc
    raise err


def _dotted(loc: tuple[Any, ...]) -> str:
    """``("sites", 0, "fleet", 1, "system")`` -> ``sites.0.fleet.1.system`` (pydantic's style)."""
    return ".".join(str(p) for p in loc)


def load_scenario(path: str | Path, catalog: Any = None) -> Scenario:
    """Read, validate and resolve a scenario file; errors name the file, line and field."""

    data, node = read_yaml(path)
    if not isinstance(data, dict):
        raise GigafleetError("expected a mapping of fields at the top level", file=str(path))
    scn = validate_model(data, Scenario, source=str(path), node=node)
    cat = scenario_catalog(scn, catalog or load_catalog(), file=str(path), node=node)
    try:
        check_names(scn, cat)
    except GigafleetError as exc:
        raise located(exc, path, node) from None
    return scn


def scenario_catalog(scn: Scenario, catalog: Any, *, file: str | None = None,
                     node: Any = None) -> Any:  # fmt: skip
    """``catalog`` with the scenario's own overlay (its ``catalog:`` key) applied; errors
    name ``file`` and the line (from the scenario's YAML ``node``)."""
    if not scn.catalog:
        return catalog
    from gigafleet.yamlio import node_at

    sub = node_at(node, "catalog")  # lazy: composed only if the overlay is bad
    return catalog.with_overlay(scn.catalog, file=file or f"scenario {scn.name}: catalog", node=sub)


def located(exc: GigafleetError, path: str | Path, node: Any = None) -> GigafleetError:
    """``exc`` with the file and line of its field (``exc.loc``, a key path) prepended."""

    loc = getattr(exc, "loc", None)
    if loc is None:
        return exc
    if node is None:
        node = read_yaml(path)[1]
    line = _line_of(node, loc)
    where = f"{path}:{line}" if line else str(path)
    msg = str(exc).split(": ", 1)[-1] if exc.field else str(exc)
    return GigafleetError(msg, file=where, field=exc.field, allowed=exc.allowed)


def scenario_json_schema() -> dict[str, Any]:
    """The published JSON Schema (``schemas/scenario.schema.json``)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gigafleet scenario"
    return schema
