"""Routing requests across the replicas of a pool.

A pool is the set of replicas that take one stage of a request: every replica without
disaggregation; the "prefill" (entry) and "decode" pools with it. Its router picks one:

* ``round_robin``: in turn;
* ``least_loaded``: the fewest outstanding tokens (prompt and output tokens routed to a
  replica and not yet processed; inside a run of summed iterations, those already over
  count as processed), the first in pool order on a tie. A small pool is scanned; a pool
  of :data:`HEAP_MIN_REPLICAS` or more keeps each replica's load in a numpy array, written
  in place when it changes (one store, no heap entry to push and pop stale later), and
  the choice is one ``argmin`` over it (C speed: about 0.4 us for 256 replicas). A
  replica in a run has no load there (``inf``) but the load it reaches at the run's end (a
  lower bound) in a second array; only those whose bound could beat the best are worked
  out exactly, smallest bound first. An idle replica costs nothing. Both ways pick the
  same replica (the tests check it);
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
from heapq import heappush

import numpy as np

from gigafleet.sim.serving.events import READY
from gigafleet.sim.serving.replica import Replica
from gigafleet.sim.serving.requests import RequestTable

_INF = math.inf

#: Pools of this many replicas or more route least_loaded through arrays of loads (fewer: a
#: scan, cheaper below about this size). The name is historical (they were heaps).
HEAP_MIN_REPLICAS = 32


class Pool:
    """Replicas that take one stage (prefill or decode) of a request, with their router.

    Attributes:
        replicas: The replicas, in ``replicas`` order.
        policy: ``"round_robin"``, ``"least_loaded"`` or ``"central"``.
        next_round_robin: Count of round-robin picks (the next replica is this modulo their
            number).
        central_queue: Requests waiting for a free slot (central router only).
        use_heaps: least_loaded through the arrays below (a pool of
            :data:`HEAP_MIN_REPLICAS` or more).
        loads: Outstanding tokens of each replica (float64 array, pool order), ``inf`` for
            one in a run (:func:`publish` keeps it).
        bounds: For a replica in a run, its load at the end of the run (a lower bound of
            its load during it); ``inf`` for the others.
    """

    __slots__ = (
        "replicas",
        "policy",
        "next_round_robin",
        "central_queue",
        "use_heaps",
        "loads",
        "bounds",
    )

    def __init__(self, replicas: list[Replica], policy: str) -> None:
        self.replicas = replicas
        self.policy = policy
        self.next_round_robin = 0
        self.central_queue: deque[int] = deque()
        self.use_heaps = policy == "least_loaded" and len(replicas) >= HEAP_MIN_REPLICAS
        self.loads = np.zeros(len(replicas))
        self.bounds = np.full(len(replicas), _INF)


def _free_slots(r: Replica) -> int:
    return r.max_num_seqs - r.num_assigned


class Router:
    """Sends each request to a replica of a pool, and hands it to the replica's queue.

    Attributes:
        requests: The run's requests.
        heap: The engine's event heap, and ``next_seq`` its sequence counter: admission
            delays are pushed directly (``READY``, without the checks of ``schedule``).
        start: The scheduler's ``start(replica, now_s)``, to wake an idle replica.
        cut: The scheduler's ``cut(replica, now_s)``, to end a steady run that a new request
            can join.
    """

    __slots__ = ("requests", "heap", "next_seq", "start", "cut")

    def __init__(
        self,
        requests: RequestTable,
        *,
        pusher: tuple[list, Callable[[], int]],
        start: Callable[[Replica, float], None],
        cut: Callable[[Replica, float], None],
    ) -> None:
        self.requests = requests
        self.heap, self.next_seq = pusher
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
                loads = pool.loads
                pos = int(loads.argmin())  # the first of the least loaded
                best = loads.item(pos)  # inf when every replica is in a run
                bounds = pool.bounds
                p = int(bounds.argmin())
                b = bounds.item(p)
                if b <= best and b != _INF:
                    # Replicas in a run whose load at the run's end could beat the best, by
                    # (bound, position): each is taken out of the array while the others
                    # are looked at, and put back after.
                    taken = []
                    while True:
                        taken.append((p, b))
                        bounds[p] = _INF
                        x = replicas[p]
                        # Inside a run of summed iterations: count those already over.
                        load = x.outstanding_tokens - (
                            x.iteration_num_decoding
                            * x.tokens_per_step
                            * bisect_right(x.run_end_offsets_s, now - x.iteration_start_s)  # type: ignore[arg-type, operator]
                        )
                        if load < best or (load == best and p < pos):
                            best, pos = load, p
                        p = int(bounds.argmin())
                        b = bounds.item(p)
                        if b == _INF or b > best or (b == best and p > pos):
                            break
                    for p, b in taken:
                        bounds[p] = b
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
                heappush(self.heap, (now + d, self.next_seq(), READY, (rid, r)))
                return
        # join(rid, r, now), inline: this runs once per request
        r.waiting.append(rid)
        gap = now - r.last_join_s
        r.last_join_s = now
        r.join_gap_s = gap if r.join_gap_s == _INF else r.join_gap_s + (gap - r.join_gap_s) * 0.125
        if not r.busy:
            self.start(r, now)
        else:
            if r.run_end_offsets_s is not None and not r.run_closed:
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
            if r.run_end_offsets_s is not None and not r.run_closed:
                self.cut(r, now)
            if r.load_slots:
                publish(r)


def publish(r: Replica) -> None:
    """Tell the least_loaded pools of ``r`` its load (its outstanding tokens), or while it
    runs summed iterations the load it reaches at the run's end."""
    if r.run_end_offsets_s is None:
        load = r.outstanding_tokens
        if r.published_run:
            r.published_run = False
            for loads, bounds, pos in r.load_slots:
                loads[pos] = load
                bounds[pos] = _INF
        else:
            for loads, _, pos in r.load_slots:
                loads[pos] = load
    else:
        bound = run_end_load(r)
        r.published_run = True
        for loads, bounds, pos in r.load_slots:
            loads[pos] = _INF
            bounds[pos] = bound


def run_end_load(r: Replica) -> float:
    """The load of ``r`` once every iteration of its run is over, as the router computes
    it: the least it reaches during the run."""
    return r.outstanding_tokens - (
        r.iteration_num_decoding * r.tokens_per_step * len(r.run_end_offsets_s)  # type: ignore[arg-type, operator]
    )
