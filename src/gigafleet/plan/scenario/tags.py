"""Where each figure stands: ``fitted`` (the constants were fitted on this very
configuration), ``interpolated`` (the model's constants were fitted on measurements of this
hardware generation, host and precision, and the figure is a new configuration of them) or
``extrapolated`` (something it rests on was never measured: a generation that borrows
another's efficiency, announced specs, TEE tolls on a host kind never measured, an
estimated power rating, a price projected past its date or derived from other systems).

Every tag carries its reasons; a figure that rests on several inputs takes the worst tag.
"""

from __future__ import annotations

from typing import Any

from gigafleet.plan.scenario.pools import Pool

ORDER = ("fitted", "interpolated", "extrapolated")
#: CPU TEEs the GPU confidential-computing tolls were measured with, by host ISA.
TEE_MEASURED_ISA = {"x86"}


def tag(kind: str, *why: str) -> dict[str, Any]:
    return {"tag": kind, "why": [w for w in why if w]}


def worst(*tags: dict[str, Any]) -> dict[str, Any]:
    """The least certain of ``tags``, with every reason that makes it so."""
    tags = tuple(t for t in tags if t)
    if not tags:
        return tag("interpolated")
    level = max(ORDER.index(t["tag"]) for t in tags)
    why: list[str] = []
    for t in tags:
        if ORDER.index(t["tag"]) == level:
            why += [w for w in t["why"] if w not in why]
    return {"tag": ORDER[level], "why": why}


def hardware_tag(catalog: Any, pool: Pool) -> dict[str, Any]:
    """Specs: announced hardware is extrapolated from its announcement."""
    acc = catalog.accelerator(pool.accelerator)
    if acc.status == "announced":
        return tag("extrapolated", f"{acc.name}: announced specs, not measured")
    return tag("interpolated")


def training_tag(catalog: Any, pool: Pool, precision: str) -> dict[str, Any]:
    """Training: GEMM efficiency fitted on this generation and precision, or borrowed."""
    acc = catalog.accelerator(pool.accelerator)
    cal = catalog.params.calibration.training
    gen = acc.generation
    if gen in cal.gemm_efficiency and precision in cal.gemm_efficiency[gen]:
        t = tag("interpolated")
    elif gen in cal.gemm_efficiency:
        t = tag("extrapolated", f"training: no {precision} rows fitted on {gen}")
    else:
        src = cal.fallback.get(gen, "the default efficiency")
        t = tag("extrapolated", f"training: {gen} borrows {src}'s fitted GEMM efficiency")
    return worst(t, hardware_tag(catalog, pool))


def serving_tag(catalog: Any, pool: Pool, svc: Any, fit_detail: dict[str, Any]) -> dict[str, Any]:
    """Serving: the engine's kernel efficiency is fitted per release across generations;
    TEE tolls were measured with x86 CPU TEEs only; recommendation says its own."""
    tags = [hardware_tag(catalog, pool)]
    cal = str(fit_detail.get("calibration", ""))
    if cal.startswith("extrapolated"):
        tags.append(tag("extrapolated", f"{svc.name}: {cal}"))
    if getattr(svc, "tee", None) is not None:
        host = catalog.host_of(catalog.system(pool.system))
        if host.isa not in TEE_MEASURED_ISA:
            tags.append(tag(
                "extrapolated",
                f"{svc.name}: TEE tolls measured on x86 hosts (TDX, SEV-SNP), applied to "
                f"{host.name} ({host.isa}) on {pool.system}",
            ))  # fmt: skip
    return worst(*tags)


def power_tag(rating: Any, pool: Pool) -> dict[str, Any]:
    """Provisioned power: a published rating, an estimated one, or the energy model's."""
    if rating.rated_basis in ("estimated", "modelled"):
        return tag("extrapolated", f"{pool.system}: nameplate power {rating.rated_basis}")
    return tag("interpolated")


def price_tag(basis: str, what: str) -> dict[str, Any]:
    """A price: sourced at its date (fitted to it), or projected / extrapolated / assumed."""
    if basis in ("sourced", "user", "scenario cloud site"):
        return tag("fitted")
    return tag("extrapolated", f"{what}: price {basis}")
