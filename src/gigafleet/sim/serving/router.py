"""Routing requests across the replicas of a pool.

A pool is the set of replicas that take one stage of a request: every replica without
disaggregation; the "prefill" (entry) and "decode" pools with it. Its router picks one:

* ``round_robin``: in turn;
* ``least_loaded``: the fewest outstanding tokens (prompt and output tokens routed to a
  replica and not yet processed; inside a run of summed iterations, those already over
  count as processed), the first in pool order on a tie. A small pool is scanned; a pool
  of :data:`HEAP_MIN_REPLICAS` or more keeps each replica's load in a list and a heap of
  ``(load, position)`` (entries whose load has changed since are skipped when they
  surface), so the choice costs O(log n), not a look at every replica. A replica in a run
  has no load there but the load it reaches at the run's end (a lower bound) in a second
  heap; only those whose bound could beat the best are worked out exactly. An idle replica
  costs nothing. Both ways pick the same replica (the tests check it);
* ``central``: one FIFO queue; a request is dispatched when a replica has fewer than
  ``max_num_seqs`` requests (with ``max_num_seqs=1`` and exponential service this is the
  M/M/c queue, checked against :func:`~gigafleet.sim.serving.queueing.erlang_c_wait_s`).

Routing ignores prefix locality.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from heapq import heapify, heappop, heappush

from gigafleet.sim.serving.events import READY
from gigafleet.sim.serving.replica import Replica
from gigafleet.sim.serving.requests import RequestTable

_INF = math.inf

#: Pools of this many replicas or more route least_loaded through heaps (fewer: a scan,
#: cheaper below about this size).
HEAP_MIN_REPLICAS = 32


class Pool:
    """Replicas that take one stage (prefill or decode) of a request, with their router.

    Attributes:
        replicas: The replicas, in ``replicas`` order.
        policy: ``"round_robin"``, ``"least_loaded"`` or ``"central"``.
        next_round_robin: Count of round-robin picks (the next replica is this modulo their
            number).
        central_queue: Requests waiting for a free slot (central router only).
        use_heaps: least_loaded through the heaps below (a pool of
            :data:`HEAP_MIN_REPLICAS` or more).
        loads: Outstanding tokens of each replica, in pool order, ``inf`` for one in a run
            (heaps only; :func:`publish` keeps it and the heaps).
        bounds: For a replica in a run, its load at the end of the run (a lower bound of
            its load during it); ``inf`` for the others.
        load_heap: ``(load, position)`` entries, some stale (their load changed since).
        bound_heap: ``(bound, position)`` entries, some stale.
    """

    __slots__ = (
        "replicas",
        "policy",
        "next_round_robin",
        "central_queue",
        "use_heaps",
        "loads",
        "bounds",
        "load_heap",
        "bound_heap",
    )

    def __init__(self, replicas: list[Replica], policy: str) -> None:
        self.replicas = replicas
        self.policy = policy
        self.next_round_robin = 0
        self.central_queue: deque[int] = deque()
        self.use_heaps = policy == "least_loaded" and len(replicas) >= HEAP_MIN_REPLICAS
        self.loads = [0.0] * len(replicas)
        self.bounds = [_INF] * len(replicas)
        self.load_heap = [(0.0, pos) for pos in range(len(replicas))]  # sorted: a heap
        self.bound_heap: list[tuple[float, int]] = []


def _free_slots(r: Replica) -> int:
    return r.max_num_seqs - r.num_assigned


class Router:
    """Sends each request to a replica of a pool, and hands it to the replica's queue.

    Attributes:
        requests: The run's requests.
        schedule: The engine's ``schedule(time_s, kind, payload)`` (for admission delays).
        start: The scheduler's ``start(replica, now_s)``, to wake an idle replica.
        cut: The scheduler's ``cut(replica, now_s)``, to end a steady run that a new request
            can join.
    """

    __slots__ = ("requests", "schedule", "start", "cut")

    def __init__(
        self,
        requests: RequestTable,
        *,
        schedule: Callable[[float, int, object], None],
        start: Callable[[Replica, float], None],
        cut: Callable[[Replica, float], None],
    ) -> None:
        self.requests = requests
        self.schedule = schedule
        self.start = start
        self.cut = cut

    def route(self, rid: int, pool: Pool, now: float) -> None:
        """Pick a replica of ``pool`` for ``rid`` (or queue it centrally) and assign it."""
        replicas = pool.replicas
        policy = pool.policy
        if policy == "least_loaded":
            r = replicas[0]
            if not pool.use_heaps:
                if len(replicas) > 1:
                    best = _INF
                    for x in replicas:
                        load = x.outstanding_tokens
                        ends = x.run_end_offsets_s
                        if ends is not None:
                            # Inside a run of summed iterations: count those already over.
                            load -= (
                                x.iteration_num_decoding
                                * x.tokens_per_step
                                * bisect_right(ends, now - x.iteration_start_s)
                            )
                        if load < best:
                            r, best = x, load
            else:
                best, pos = _INF, 0
                heap, loads = pool.load_heap, pool.loads
                while heap:
                    best, pos = heap[0]
                    if loads[pos] == best:
                        break
                    heappop(heap)  # stale: that replica's load changed since
                else:
                    best, pos = _INF, 0  # every replica is in a run
                bheap = pool.bound_heap
                if bheap:
                    # Replicas in a run whose load at the run's end could beat the best.
                    bounds, popped = pool.bounds, []
                    while bheap:
                        b, p = bheap[0]
                        if bounds[p] != b:
                            heappop(bheap)  # stale
                            continue
                        if b > best or (b == best and p > pos):
                            break
                        popped.append(heappop(bheap))
                        x = replicas[p]
                        # Inside a run of summed iterations: count those already over.
                        load = x.outstanding_tokens - (
                            x.iteration_num_decoding
                            * x.tokens_per_step
                            * bisect_right(x.run_end_offsets_s, now - x.iteration_start_s)  # type: ignore[arg-type]
                        )
                        if load < best or (load == best and p < pos):
                            best, pos = load, p
                    for e in popped:
                        heappush(bheap, e)
                r = replicas[pos]
        elif policy == "round_robin":
            r = replicas[pool.next_round_robin % len(replicas)]
            pool.next_round_robin += 1
        else:
            r = max(replicas, key=_free_slots)
            if r.num_assigned >= r.max_num_seqs:
                pool.central_queue.append(rid)
                return
        self.assign(rid, r, now)

    def assign(self, rid: int, r: Replica, now: float) -> None:
        """Book ``rid`` on ``r``; after its admission delay (if any) it joins ``r``'s queue,
        and an idle ``r`` starts an iteration."""
        rq = self.requests
        r.num_assigned += 1
        rq.replica[rid] = r.index
        if rq.kv_arrived[rid]:
            r.outstanding_tokens += rq.output_tokens[rid] - rq.generated_tokens[rid]
        elif r.is_prefill_only:
            r.outstanding_tokens += rq.prompt_tokens[rid] + 1
        else:
            r.outstanding_tokens += rq.prompt_tokens[rid] + rq.output_tokens[rid]
        if r.admission_delay is not None:
            d = r.admission_delay(rid, r.index, now)
            if d > 0.0:
                if r.load_slots:
                    publish(r)
                self.schedule(now + d, READY, (rid, r))
                return
        # join(rid, r, now), inline: this runs once per request
        r.waiting.append(rid)
        gap = now - r.last_join_s
        r.last_join_s = now
        r.join_gap_s = gap if r.join_gap_s == _INF else r.join_gap_s + (gap - r.join_gap_s) * 0.125
        if not r.busy:
            self.start(r, now)
        else:
            if r.run_end_offsets_s is not None and r.num_running < r.max_num_seqs:
                self.cut(r, now)
            if r.load_slots:
                publish(r)

    def on_ready(self, now: float, payload: tuple[int, Replica]) -> None:
        """Handler of ``READY``: the admission delay is over; the request joins the queue."""
        rid, r = payload
        self.join(rid, r, now)

    def join(self, rid: int, r: Replica, now: float) -> None:
        """``rid`` joins ``r``'s queue: an idle ``r`` starts an iteration; a steady run of an
        ``r`` that could admit it is cut after the iteration in flight."""
        r.waiting.append(rid)
        gap = now - r.last_join_s
        r.last_join_s = now
        r.join_gap_s = gap if r.join_gap_s == _INF else r.join_gap_s + (gap - r.join_gap_s) * 0.125
        if not r.busy:
            self.start(r, now)
        else:
            if r.run_end_offsets_s is not None and r.num_running < r.max_num_seqs:
                self.cut(r, now)
            if r.load_slots:
                publish(r)


def publish(r: Replica) -> None:
    """Tell the least_loaded pools of ``r`` its load (its outstanding tokens), or while it
    runs summed iterations the load it reaches at the run's end."""
    if r.run_end_offsets_s is None:
        load = r.outstanding_tokens
        for pool, pos in r.load_slots:
            loads = pool.loads
            if loads[pos] != load:
                loads[pos] = load
                _push(pool, pool.load_heap, load, pos)
            if pool.bounds[pos] != _INF:
                pool.bounds[pos] = _INF
    else:
        bound = run_end_load(r)
        for pool, pos in r.load_slots:
            pool.loads[pos] = _INF
            bounds = pool.bounds
            if bounds[pos] != bound:
                bounds[pos] = bound
                _push(pool, pool.bound_heap, bound, pos)


def _push(pool: Pool, heap: list[tuple[float, int]], value: float, pos: int) -> None:
    heappush(heap, (value, pos))
    if len(heap) > 4 * len(pool.loads) + 64:
        # Mostly stale entries: rebuild from the lists (amortised O(1) per push).
        values = pool.loads if heap is pool.load_heap else pool.bounds
        heap[:] = [(v, p) for p, v in enumerate(values) if v != _INF]
        heapify(heap)


def run_end_load(r: Replica) -> float:
    """The load of ``r`` once every iteration of its run is over, as the router computes
    it: the least it reaches during the run."""
    return r.outstanding_tokens - (
        r.iteration_num_decoding * r.tokens_per_step * len(r.run_end_offsets_s)  # type: ignore[arg-type]
    )
