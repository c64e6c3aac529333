"""The serving simulation: :func:`simulate` checks its input, wires the replicas, pools,
router and scheduler to one event engine, runs it, and collects a :class:`ServingResult`.

The loop is :class:`gigafleet.sim.engine.Engine`: a heap of ``(time_s, seq, kind, payload)``
tuples and a dispatch table from the event kinds of :mod:`.events` straight to the bound
methods that handle them (no layer in between).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from heapq import heappush

import numpy as np

from gigafleet.enums import ROUTERS
from gigafleet.errors import GigafleetError, unknown_name
from gigafleet.sim.engine import Engine
from gigafleet.sim.serving.config import ROLES, KvTransfer, ReplicaConfig, Slo
from gigafleet.sim.serving.events import ARRIVAL, ITERATION_END, KV_ARRIVED, READY
from gigafleet.sim.serving.kv import check_fit
from gigafleet.sim.serving.replica import Replica
from gigafleet.sim.serving.requests import RequestTable
from gigafleet.sim.serving.results import ServingResult, SloMissed, slo_missed
from gigafleet.sim.serving.router import Pool, Router
from gigafleet.sim.serving.scheduler import IterationScheduler
from gigafleet.sim.serving.trace import write_trace
from gigafleet.sim.serving.workload import Workload

CHECK_EVERY_EVENTS = 10_000
"""Fewest events before the first check of ``give_up_below`` (see :meth:`_Sim.run`)."""


class _Sim:
    """One simulation run: the engine, the requests, the replicas, and the two handlers that
    belong to no replica (arrivals, and KV arriving at the decode side).

    Attributes:
        requests: The run's requests.
        replicas: The run's replicas, in ``replicas`` order.
        entry_pool: Where a request goes first (all replicas, or the prefill pool).
        decode_pool: Where a request goes once its KV moved (disaggregation), or None.
        scheduler: The iteration scheduler of every replica.
        router: Routes requests within a pool.
        route: ``router.route``, bound once (it runs per arrival).
        engine: The event loop; its dispatch table maps each event kind to its handler.
        schedule: ``engine.schedule``, bound once.
        heap: The engine's heap, and ``next_seq`` its counter (arrivals are pushed directly).
        order: Request ids in arrival order, and ``arrival_times`` their arrival times.
        num_requests: Requests in the run.
    """

    __slots__ = (
        "requests",
        "replicas",
        "entry_pool",
        "decode_pool",
        "scheduler",
        "router",
        "route",
        "engine",
        "schedule",
        "heap",
        "next_seq",
        "order",
        "arrival_times",
        "num_requests",
    )

    def __init__(
        self,
        workload: Workload,
        replicas: list[Replica],
        *,
        entry_pool: Pool,
        decode_pool: Pool | None,
        kv_transfer: KvTransfer | None,
        trace: bool,
    ) -> None:
        self.requests = RequestTable(workload)
        self.replicas = replicas
        self.entry_pool = entry_pool
        self.decode_pool = decode_pool
        self.engine = Engine()
        self.schedule = self.engine.schedule
        self.heap, self.next_seq = self.engine.pusher()
        rq = self.requests
        self.order = rq.by_arrival
        self.arrival_times = [rq.arrival_s[i] for i in rq.by_arrival]
        self.num_requests = rq.num_requests
        self.scheduler = IterationScheduler(
            self.requests,
            pusher=self.engine.pusher(),
            kv_transfer=kv_transfer,
            trace=trace,
        )
        self.router = Router(
            self.requests,
            pusher=self.engine.pusher(),
            start=self.scheduler.start,
            cut=self.scheduler.cut,
        )
        self.scheduler.assign = self.router.assign
        self.route = self.router.route
        for kind, handler in (
            (ARRIVAL, self._on_arrival),
            (ITERATION_END, self.scheduler.end_iteration),
            (READY, self.router.on_ready),
            (KV_ARRIVED, self._on_kv_arrived),
        ):
            self.engine.on(kind, handler)

    def run(self, check: Callable[[float], None] | None = None) -> None:
        """Schedule the first arrival (each arrival schedules the next) and run to the end;
        with ``check``, call ``check(now)`` (it may stop the run by raising) after
        ``max(CHECK_EVERY_EVENTS, requests / 4)`` events, then after twice as many each time
        (each check is a pass over the requests: a handful per run, a verdict at most
        twice as late as it could be)."""
        rq = self.requests
        self.schedule(rq.arrival_s[rq.by_arrival[0]], ARRIVAL, 0)
        if check is None:
            self.engine.run()
            return
        every = max(CHECK_EVERY_EVENTS, self.num_requests // 4)
        while self.engine.run(max_events=every) == every:
            check(self.engine.now)
            every *= 2

    def close(self) -> None:
        """Untie the parts that call each other (the engine's handlers bound to them, the
        scheduler and the router), so that the simulation, its request table above all, is
        freed when :func:`simulate` returns rather than at the next full garbage collection:
        simulations in a row (a scenario's SLO checks) would otherwise hold each other's
        tables, hundreds of MB for a wide expert-parallel shape."""
        for kind in (ARRIVAL, ITERATION_END, READY, KV_ARRIVED):
            self.engine.on(kind, _done)
        self.scheduler.assign = None  # type: ignore[assignment]

    def _on_arrival(self, now: float, k: int) -> None:
        """Handler of ``ARRIVAL``: route the ``k``-th request by arrival; schedule the next."""
        self.route(self.order[k], self.entry_pool, now)
        k += 1
        if k < self.num_requests:
            heappush(self.heap, (self.arrival_times[k], self.next_seq(), ARRIVAL, k))

    def _on_kv_arrived(self, now: float, rid: int) -> None:
        """Handler of ``KV_ARRIVED``: the decode side returns the first token once the KV is
        there, and the request goes to a decode replica."""
        self.requests.first_token_s[rid] = now
        self.route(rid, self.decode_pool, now)  # type: ignore[arg-type]


def simulate(
    workload: Workload,
    replicas: list[ReplicaConfig],
    *,
    router: str = "least_loaded",
    kv_transfer: KvTransfer | None = None,
    slo: Slo | None = None,
    trace_path: str | os.PathLike[str] | None = None,
    seed: int = 0,
    give_up_below: float | None = None,
) -> ServingResult:
    """Simulate serving ``workload`` on ``replicas`` (see the package docstring of
    :mod:`gigafleet.sim.serving` for the model).

    Args:
        workload: The requests.
        replicas: One config per replica.
        router: ``"least_loaded"``, ``"round_robin"`` or ``"central"``.
        kv_transfer: Enables prefill/decode disaggregation (replica roles "prefill" and
            "decode"); None serves every request on one replica.
        slo: Targets for goodput and SLO attainment.
        trace_path: Write a Chrome / Perfetto trace (JSON) of iterations and requests here.
        seed: Reserved for stochastic policies; the current model is deterministic.
        give_up_below: With ``slo``: stop as soon as so many requests have missed it that
            the SLO attainment cannot reach this (a search that only asks "is it met?").

    Returns:
        The measured :class:`ServingResult`.

    Raises:
        GigafleetError: Bad router, roles, or a request that cannot fit a replica's KV cache.
        SloMissed: The run stopped early (``give_up_below``): the attainment is below it.
    """
    del seed  # deterministic: every random draw happens in the workload generators
    if not isinstance(workload, Workload):
        raise GigafleetError("must be a Workload", field="workload")
    if not replicas:
        raise GigafleetError("needs at least one replica", field="replicas")
    for i, cfg in enumerate(replicas):
        if not isinstance(cfg, ReplicaConfig):
            raise GigafleetError(f"replica {i} must be a ReplicaConfig", field="replicas")
    if router not in ROUTERS:
        raise unknown_name("router", str(router), ROUTERS, field="router")
    reps = [Replica(i, cfg) for i, cfg in enumerate(replicas)]
    entry, decode = _pools(reps, router, disaggregated=kv_transfer is not None)
    check_fit(workload, reps)

    sim = _Sim(
        workload,
        reps,
        entry_pool=entry,
        decode_pool=decode,
        kv_transfer=kv_transfer,
        trace=trace_path is not None,
    )
    check = None
    if give_up_below is not None and slo is not None:
        check = _giving_up(sim, workload, slo, give_up_below)
    try:
        sim.run(check)
    except SloMissed:
        sim.close()
        raise
    res = _result(sim, workload, replicas, slo)
    if trace_path is not None:
        write_trace(
            os.fspath(trace_path),
            replicas=sim.replicas,
            iterations=sim.scheduler.iteration_trace or [],
            by_arrival=sim.requests.by_arrival,
            workload=workload,
            result=res,
        )
    sim.close()
    return res


def _giving_up(sim: _Sim, wl: Workload, slo: Slo, target: float) -> Callable[[float], None]:
    """``check(now)`` for :meth:`_Sim.run`: raise :class:`SloMissed` once the requests that
    miss ``slo`` whatever comes next already hold the attainment below ``target`` (the same
    float division as the finished run's mean, so the verdict is the full run's)."""
    rq = sim.requests
    n = rq.num_requests

    def check(now: float) -> None:
        missed = slo_missed(
            slo, wl.arrival_s, np.asarray(rq.first_token_s), np.asarray(rq.finish_s),
            wl.output_tokens, now,
        )  # fmt: skip
        bound = float(n - np.count_nonzero(missed)) / n
        if bound < target:
            raise SloMissed(bound, now)

    return check


def _done(now: float, payload: object) -> None:
    raise AssertionError("a closed simulation has no events")


def _pools(reps: list[Replica], router: str, *, disaggregated: bool) -> tuple[Pool, Pool | None]:
    """The entry pool and the decode pool (None without disaggregation); each replica learns
    the pools it serves (the central ones, whose queue it feeds, the decode pool first:
    finishing work frees memory; the least_loaded ones, whose loads it publishes)."""
    if not disaggregated:
        split = [r.index for r in reps if r.role != "both"]
        if split:
            raise GigafleetError(
                f"replica {split[0]} has role {reps[split[0]].role!r}, which needs kv_transfer "
                "(prefill/decode disaggregation); without it every role must be 'both'",
                field="kv_transfer",
                allowed=ROLES,
            )
        entry = Pool(reps, router)
        decode = None
    else:
        pre = [r for r in reps if r.role in ("prefill", "both")]
        dec = [r for r in reps if r.role in ("decode", "both")]
        if not pre:
            raise GigafleetError(
                "disaggregation needs a replica with role 'prefill' or 'both'",
                field="role",
                allowed=ROLES,
            )
        if not dec:
            raise GigafleetError(
                "disaggregation needs a replica with role 'decode' or 'both'",
                field="role",
                allowed=ROLES,
            )
        entry = Pool(pre, router)
        decode = Pool(dec, router)
    for pool in (decode, entry):
        if pool is not None:
            for pos, r in enumerate(pool.replicas):
                if pool.policy == "central":
                    r.central_pools.append(pool)
                if pool.use_heaps:
                    r.load_slots.append((pool.loads, pool.bounds, pos))
    return entry, decode


def _result(sim: _Sim, wl: Workload, cfgs: list[ReplicaConfig], slo: Slo | None) -> ServingResult:
    """Per-request latencies from the request table; busy time, energy and counters from the
    replicas (energy: ``busy_s x P_busy + idle_s x P_idle`` per replica)."""
    rq = sim.requests
    reps = sim.replicas
    arrival = wl.arrival_s
    finish = np.asarray(rq.finish_s)
    first = np.asarray(rq.first_token_s)
    assert finish.min() >= 0.0, "every request finishes"
    out = wl.output_tokens
    ttft = first - arrival
    e2e = finish - arrival
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (finish - first) / np.maximum(out - 1, 1), np.nan)
    queue = np.asarray(rq.admit_s) - arrival
    makespan = float(finish.max() - arrival.min())
    busy = np.array([r.busy_s for r in reps])
    util = busy / makespan if makespan > 0 else np.zeros_like(busy)
    p_busy = np.array([c.power_busy_w for c in cfgs])
    p_idle = np.array([c.power_idle_w for c in cfgs])
    energy = float(np.sum(busy * p_busy + np.maximum(makespan - busy, 0.0) * p_idle))
    num_iterations = sum(r.num_iterations for r in reps)
    caches = [r.prefix_cache for r in reps if r.prefix_cache is not None]
    met = None
    if slo is not None:
        met = ~slo_missed(slo, arrival, first, finish, out, float(finish.max()))
    return ServingResult(
        ttft_s=ttft,
        tpot_s=tpot,
        e2e_s=e2e,
        queue_s=queue,
        replica_index=np.asarray(rq.replica),
        makespan_s=makespan,
        num_output_tokens=int(out.sum()),
        busy_s=busy,
        utilization=util,
        energy_j=energy,
        num_preemptions=sim.scheduler.num_preemptions,
        prefix_lookups=sum(c.num_lookups for c in caches),
        prefix_hits=sum(c.num_hits for c in caches),
        num_kv_transfers=sim.scheduler.num_kv_transfers,
        num_events=sim.engine.num_events,
        num_iterations=num_iterations,
        num_decode_tokens=float(sum(r.num_decode_tokens for r in reps)),
        mean_decode_batch=sum(r.num_decode_seq_iterations for r in reps) / max(num_iterations, 1),
        slo=slo,
        slo_met=met,
        info={
            "iterations_per_replica": [r.num_iterations for r in reps],
            "roles": [r.role for r in reps],
        },
    )
