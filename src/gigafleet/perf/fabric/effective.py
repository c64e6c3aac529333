"""What the flow model hands the analytic collective model: the share of a GPU's NIC line
rate a collective actually gets, by traffic pattern and by how many scale-up domains the
group spans; plus the reasons it does or does not matter for a strategy.

The collective model (:mod:`gigafleet.perf.collectives`) prices a group of ``g`` ranks per
domain over ``n`` domains with a per-GPU scale-out bandwidth ``B_out``; a
:class:`FabricProfile` attached to its :class:`~gigafleet.perf.collectives.Network`
replaces ``B_out`` by ``B_out * s(pattern, n)``, where ``s`` is the job factor of
:func:`~gigafleet.perf.fabric.solve.solve` for that pattern over ``n`` domains with every
GPU of them taking part. ``s`` is solved at ``n = 2, 4, 8, ...`` up to the largest ``n``
asked for (each point once per process, cached) and interpolated in ``log2 n``, so the
vectorised planner pays one ``np.interp`` per collective, and nothing at all when the
fabric delivers line rate at every scale (``s == 1``: the common case of adaptive routing on
a non-blocking fabric).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gigafleet.perf.collectives import group_layout
from gigafleet.perf.fabric.design import FabricSpec
from gigafleet.perf.fabric.solve import busy_cluster_factor, pattern_factor, solve
from gigafleet.perf.fabric.traffic import Job

#: Collective kinds of :mod:`gigafleet.perf.collectives` -> flow patterns.
KINDS = {"ring": "ring", "a2a": "a2a", "p2p": "p2p"}

#: Light in fibre: about 5 microseconds per kilometre (refractive index ~1.47).
FIBRE_S_PER_KM = 4.9e-6

#: A fragmented job without a known size shares a busy cluster of at most this many GPUs.
BUSY_CLUSTER_GPUS = 16384

#: All-to-all beyond this many domains is held at its last solved value: expert-parallel
#: groups stay far below it, and its flow count grows as n^2.
A2A_MAX_DOMAINS = 512


class FabricProfile:
    """Effective share of NIC line rate by collective kind and domains spanned (lazy, cached).

    Args:
        spec: the fabric design on its system.
        placement: ``packed`` (a topology-aware scheduler puts the job on consecutive
            domains of an otherwise quiet fabric) or ``fragmented`` (the job's groups land
            on random domains of a busy cluster whose other domains run the same traffic;
            see :func:`~gigafleet.perf.fabric.solve.busy_cluster_factor`).
        job_gpus: the job's size, where known: pipeline traffic crosses buildings only in
            jobs larger than one building.
        pp: pipeline stages, where known (default: one stage per building spanned).
    """

    __slots__ = ("spec", "placement", "job_gpus", "pp", "_grid")

    def __init__(
        self,
        spec: FabricSpec,
        *,
        placement: str = "packed",
        job_gpus: int | None = None,
        pp: int | None = None,
    ) -> None:
        self.spec = spec
        self.placement = placement
        self.job_gpus = job_gpus
        self.pp = pp
        self._grid: dict[tuple[str, int], float] = {}

    def _key(self):
        return (self.spec, self.placement, self.job_gpus, self.pp)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FabricProfile) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"FabricProfile({self.spec.name!r}, placement={self.placement!r}, job_gpus={self.job_gpus})"

    @property
    def cluster_domains(self) -> int:
        g = self.spec.gpus_per_domain
        return max(1, math.ceil(max(self.spec.max_gpus, self.job_gpus or 0) / g))

    def at(self, kind: str, n: int) -> float:
        """The factor of ``kind`` over ``n`` domains (solved once, then cached)."""
        n = int(min(n, self.cluster_domains))
        if kind == "a2a":
            n = min(n, A2A_MAX_DOMAINS)
        if n < 2:
            return 1.0
        key = (kind, n)
        if key not in self._grid:
            if self.placement == "fragmented":
                res = busy_cluster_factor(
                    self.spec, KINDS[kind], n, num_gpus=self.busy_cluster_gpus()
                )
            else:
                res = pattern_factor(
                    self.spec,
                    KINDS[kind],
                    n,
                    num_gpus=max(self.spec.max_gpus, self.job_gpus or 0),
                )
            self._grid[key] = res.factor
        return self._grid[key]

    def busy_cluster_gpus(self) -> int:
        """The busy cluster a fragmented job shares: the job's size where known, else the
        design's cluster up to :data:`BUSY_CLUSTER_GPUS` (the solve's cost grows with it)."""
        return self.job_gpus or min(self.spec.max_gpus, BUSY_CLUSTER_GPUS)

    def factor(self, kind: str, n) -> float | np.ndarray:
        """``s(kind, n)`` for an array of domain counts ``n`` (broadcasts like ``n``)."""
        if kind == "p2p":
            return self.p2p_factor()
        arr = np.asarray(n, dtype=float)
        finite = arr[np.isfinite(arr)]  # NaN: an infeasible strategy without a group size
        top = int(finite.max()) if finite.size else 1
        if top < 2:
            return 1.0
        pts = [2**k for k in range(1, int(math.log2(top)) + 1)]
        if pts[-1] != top:
            pts.append(top)
        vals = [self.at(kind, m) for m in pts]
        if all(v == 1.0 for v in vals):
            return 1.0
        xs = np.log2(np.array([1, *pts], dtype=float))
        ys = np.array([1.0, *vals])
        return np.interp(np.log2(np.maximum(arr, 1.0)), xs, ys)

    # -- pipeline traffic and the buildings it may cross ------------------------------------
    def buildings_spanned(self) -> int:
        b = self.spec.gpus_per_building
        if not b or not self.job_gpus:
            return 1
        return math.ceil(self.job_gpus / b)

    def p2p_factor(self) -> float:
        """A pipeline stage boundary: within a building (neighbouring domains), or, for a job
        spanning buildings, the boundary that crosses the scale-across link (every GPU of a
        stage sends to its peer at once)."""
        spans = self.buildings_spanned()
        if spans <= 1:
            return self.at("p2p", 2)
        g = self.spec.gpus_per_domain
        stages = self.pp or spans
        stage_domains = max(1, math.ceil(self.job_gpus / stages / g))
        key = ("p2p-cross", stage_domains)
        if key not in self._grid:
            per_building = self.spec.gpus_per_building // g
            first = max(0, per_building - stage_domains)
            job = Job("p2p", 2 * stage_domains, placement="packed", first_domain=first)
            res = solve(self.spec, [job], num_gpus=max(self.spec.max_gpus, self.job_gpus))[0]
            self._grid[key] = res.factor
        return self._grid[key]

    def extra_latency_s(self, kind: str) -> float:
        """Propagation over the scale-across link for pipeline traffic between buildings."""
        if kind != "p2p" or self.buildings_spanned() <= 1:
            return 0.0
        return (self.spec.scale_across_km or 0.0) * FIBRE_S_PER_KM


@dataclass(frozen=True)
class FabricEffect:
    """One parallel dimension's traffic on the fabric, and why it matters or not."""

    dimension: str  # "tp", "cp", "ep", "dp", "pp"
    pattern: str
    ranks_per_domain: float
    domains: float
    factor: float  # share of NIC line rate it gets
    exposed_s: float | None  # exposed time per step from the training breakdown
    reason: str

    def to_dict(self) -> dict:
        return {
            "dimension": self.dimension,
            "pattern": self.pattern,
            "ranks_per_domain": self.ranks_per_domain,
            "domains": self.domains,
            "factor": round(self.factor, 4),
            "exposed_s": None if self.exposed_s is None else round(self.exposed_s, 6),
            "reason": self.reason,
        }


def explain_fabric(
    profile: FabricProfile,
    *,
    num_gpus: int,
    tp: int = 1,
    pp: int = 1,
    cp: int = 1,
    ep: int = 1,
    breakdown_s: dict[str, float] | None = None,
    step_time_s: float | None = None,
) -> list[FabricEffect]:
    """Why the fabric does or does not matter for one strategy, dimension by dimension.

    Groups are laid out as Megatron orders ranks (TP, CP, EP, DP, PP from the fastest):
    a group whose members are ``stride`` ranks apart puts ``domain / stride`` of them in
    one scale-up domain (:func:`gigafleet.perf.collectives.group_layout`). A dimension
    whose group fits one domain never touches the scale-out fabric; one that does is
    priced at the profile's factor and is "hidden" when the training model finds its
    time overlapped with compute (its ``*_comm_s`` in ``breakdown_s`` is ~0).
    """

    spec = profile.spec
    d = spec.gpus_per_domain
    dp = max(1, num_gpus // max(1, tp * pp * cp))
    dims = [
        ("tp", "ring", tp, 1),
        ("cp", "ring", cp, tp),
        ("ep", "a2a", ep, 1),
        ("dp", "ring", dp * cp, tp),
    ]
    out: list[FabricEffect] = []
    bd = breakdown_s or {}
    for name, pattern, size, stride in dims:
        if size <= 1:
            continue
        g, n = (float(x) for x in group_layout(size, stride, d))
        exposed = bd.get(f"{name}_comm_s")
        exposed = None if exposed is None else float(np.asarray(exposed).reshape(-1)[0])
        if n <= 1:
            out.append(
                FabricEffect(
                    name,
                    pattern,
                    g,
                    n,
                    1.0,
                    exposed,
                    f"{name.upper()}={size} stays inside the {d}-GPU scale-up domain: "
                    "the scale-out fabric carries none of it",
                )  # fmt: skip
            )
            continue
        s = float(np.asarray(profile.factor(pattern if pattern != "ring" else "ring", n)))
        why = (
            f"{name.upper()}={size} spans {n:g} domains ({g:g} per domain): its "
            f"{'all-to-all' if pattern == 'a2a' else 'ring'} traffic gets {100 * s:.0f}% of "
            f"NIC line rate on {spec.name} ({spec.routing} routing)"
        )
        if exposed is not None and step_time_s:
            share = exposed / step_time_s
            why += (
                f"; it is hidden behind compute (exposed {exposed:.3g} s per step)"
                if share < 0.01
                else f"; {100 * share:.0f}% of the step waits on it"
            )
        out.append(FabricEffect(name, pattern, g, n, s, exposed, why))
    if pp > 1:
        s = profile.p2p_factor()
        exposed = bd.get("pp_comm_s")
        exposed = None if exposed is None else float(np.asarray(exposed).reshape(-1)[0])
        spans = profile.buildings_spanned()
        where = (
            f"crosses {spans - 1} building boundary(ies) over "
            f"{(spec.scale_across_gbits or 0) / 1e3:g} Tb/s per building"
            if spans > 1
            else "stays between neighbouring domains"
            if profile.placement == "packed"
            else "runs between stage domains scattered over a busy cluster"
        )
        out.append(
            FabricEffect(
                "pp",
                "p2p",
                1.0,
                2.0,
                s,
                exposed,
                f"PP={pp} {where}: stage-boundary traffic gets {100 * s:.0f}% of NIC line rate",
            )  # fmt: skip
        )
    return out


def fabric_summary(
    hw,
    *,
    num_gpus: int,
    tp: int = 1,
    pp: int = 1,
    cp: int = 1,
    ep: int = 1,
    breakdown_s: dict[str, float] | None = None,
    step_time_s: float | None = None,
) -> dict:
    """The fabric of one training run as a report row: the design, its routing and the
    reasons (:func:`explain_fabric`) it matters or not for the run's strategy.

    ``hw`` is the :class:`~gigafleet.perf.hardware.Hardware` the run was estimated with.
    """
    prof = hw.net.fabric
    if prof is None:
        return {"technology": hw.fabric, "design": None, "effects": []}
    spec = prof.spec
    effects = explain_fabric(
        prof, num_gpus=num_gpus, tp=tp, pp=pp, cp=cp, ep=ep,
        breakdown_s=breakdown_s, step_time_s=step_time_s,
    )  # fmt: skip
    return {
        "technology": hw.fabric,
        "design": spec.name,
        "routing": spec.routing,
        "placement": prof.placement,
        "nic_gbits_per_gpu": spec.nic_gbits_per_gpu,
        "effects": [e.to_dict() for e in effects],
    }
