"""Resolve pools: every deployment of a system kind at a site (``sites[i].fleet[j]``) becomes
one pool, the unit the stages size, place and account on; and why a pool may not take a
workload (the scenario's policies) or what binds when none can."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gigafleet.catalog import Catalog
from gigafleet.spec.scenario import Scenario, check_names, month_index


@dataclass
class Pool:
    """Systems of one kind at one site."""

    index: int
    where: tuple[Any, ...]  # its place in the scenario file: ("sites", i, "fleet", j)
    site: str
    site_kind: str
    region: str
    system: str
    accelerator: str
    generation: str
    vendor: str
    gpus_per_system: int
    num_gpus: int
    arrive: int
    retire: int | None
    fabric: str | None
    pue: float
    cooling: str
    tee: bool
    price_usd_per_gpu_hour: float | None
    usd_per_gpu: float | None
    electricity_usd_per_mwh: float
    grid_gco2_per_kwh: float
    cloud_kind: str = "hyperscaler-committed"
    climate: str = "temperate"

    @property
    def num_systems(self) -> int:
        return self.num_gpus // self.gpus_per_system

    def active(self, month: int) -> bool:
        """Whether the pool is in service at ``month`` (arrived, not yet retired)."""
        return self.arrive <= month and (self.retire is None or month < self.retire)


def deployment_cooling(site: Any, dep: Any, catalog: Catalog | None = None) -> str:
    """A fleet entry's cooling: its own, else its site's, else its system's default (power
    catalog). ``spec.scenario.check_cooling`` has checked the system is built for it."""
    from gigafleet.energy.params import load_power_params

    return dep.cooling or site.cooling or load_power_params(catalog).cooling_of(dep.system)


def site_cooling(site: Any, catalog: Catalog | None = None) -> str:
    """The site's cooling: given, else that of its first fleet entry."""
    return deployment_cooling(site, site.fleet[0], catalog)


def deployment_pue(site: Any, dep: Any, catalog: Catalog | None = None) -> float:
    """A fleet entry's PUE: the site's, if given, else that of its cooling in the site's
    climate (power catalog: liquid 1.05-1.15, air 1.3-1.6)."""
    from gigafleet.energy import default_pue

    if site.pue is not None:
        return float(site.pue)
    cooling = deployment_cooling(site, dep, catalog)
    return float(default_pue(cooling, climate=site.climate, catalog=catalog))


def site_pue(site: Any, catalog: Catalog | None = None) -> float:
    """The site's PUE: given, else that of its first fleet entry."""
    return deployment_pue(site, site.fleet[0], catalog)


def resolve(scn: Scenario, catalog: Catalog) -> list[Pool]:
    """One pool per site deployment (names checked by ``check_names``)."""
    check_names(scn, catalog)
    pools = []
    for i, site in enumerate(scn.sites):
        for j, dep in enumerate(site.fleet):
            system = catalog.system(dep.system)
            acc = catalog.accelerator(system.accelerator)
            pools.append(
                Pool(
                    index=len(pools),
                    where=("sites", i, "fleet", j),
                    site=site.name,
                    site_kind=site.kind,
                    region=site.region,
                    system=system.name,
                    accelerator=acc.name,
                    generation=acc.generation,
                    vendor=getattr(acc, "vendor", "") or "",
                    gpus_per_system=system.num_gpus,
                    num_gpus=dep.count * system.num_gpus,
                    arrive=month_index(dep.arrive),
                    retire=month_index(dep.retire) if dep.retire else None,
                    fabric=dep.fabric,
                    pue=deployment_pue(site, dep, catalog),
                    cooling=deployment_cooling(site, dep, catalog),
                    tee=site.confidential_computing,
                    price_usd_per_gpu_hour=site.price_usd_per_gpu_hour,
                    usd_per_gpu=dep.usd_per_gpu,
                    electricity_usd_per_mwh=site.electricity_usd_per_mwh,
                    grid_gco2_per_kwh=site.grid_gco2_per_kwh,
                    cloud_kind=site.cloud_kind,
                    climate=site.climate,
                )  # fmt: skip
            )
    return pools


# ---- why a pool cannot take work -------------------------------------------------------------


def eligible(scn: Scenario, name: str, pool: Pool, *, private: bool, training: bool) -> str | None:
    """Why ``pool`` may not run workload ``name`` (None: it may)."""
    pol = scn.policies
    if private and not pool.tee:
        return "policy: confidential work needs a TEE-capable site"
    if name in pol.sites and pool.site not in pol.sites[name]:
        return "policy: site not allowed for this workload"
    if name in pol.residency and pool.region not in pol.residency[name]:
        return "policy: data residency"
    if pool.site_kind == "cloud":
        if training and not pol.training_in_cloud:
            return "policy: training stays on owned sites"
        if not training and not pol.cloud_bursting:
            return "policy: cloud bursting is off"
    return None


def binding(reasons: list[str]) -> str:
    """The most telling reason among the pools' (capacity limits first, then rules)."""
    if not reasons:
        return "GPUs: no pool in service"
    for key in ("GPUs", "power", "memory", "policy"):
        hits = [r for r in reasons if r.startswith(key)]
        if hits:
            return hits[0]
    return reasons[0]
