"""Routing requests across the replicas of a pool.

A pool is the set of replicas that take one stage of a request: every replica without
disaggregation; the "prefill" (entry) and "decode" pools with it. Its router picks one:

* ``round_robin``: in turn;
* ``least_loaded``: the fewest outstanding tokens (prompt and output tokens routed to a
  replica and not yet processed; inside a run of summed iterations, those already over
  count as processed);
* ``central``: one FIFO queue; a request is dispatched when a replica has fewer than
  ``max_num_seqs`` requests (with ``max_num_seqs=1`` and exponential service this is the
  M/M/c queue, checked against :func:`~gigafleet.sim.serving.queueing.erlang_c_wait_s`).

Routing ignores prefix locality.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable

from gigafleet.sim.serving.events import READY
from gigafleet.sim.serving.replica import Replica
from gigafleet.sim.serving.requests import RequestTable


class Pool:
    """Replicas that take one stage (prefill or decode) of a request, with their router.

    Attributes:
        replicas: The replicas, in ``replicas`` order.
        policy: ``"round_robin"``, ``"least_loaded"`` or ``"central"``.
        next_round_robin: Count of round-robin picks (the next replica is this modulo their
            number).
        central_queue: Requests waiting for a free slot (central router only).
    """

    __slots__ = ("replicas", "policy", "next_round_robin", "central_queue")

    def __init__(self, replicas: list[Replica], policy: str) -> None:
        self.replicas = replicas
        self.policy = policy
        self.next_round_robin = 0
        self.central_queue: deque[int] = deque()


def _free_slots(r: Replica) -> int:
    return r.max_num_seqs - r.num_assigned


class Router:
    """Sends each request to a replica of a pool, and hands it to the replica's queue.

    Attributes:
        requests: The run's requests.
        schedule: The engine's ``schedule(time_s, kind, payload)`` (for admission delays).
        start: The scheduler's ``start(replica, now_s)``, to wake an idle replica.
    """

    __slots__ = ("requests", "schedule", "start")

    def __init__(
        self,
        requests: RequestTable,
        *,
        schedule: Callable[[float, int, object], None],
        start: Callable[[Replica, float], None],
    ) -> None:
        self.requests = requests
        self.schedule = schedule
        self.start = start

    def route(self, rid: int, pool: Pool, now: float) -> None:
        """Pick a replica of ``pool`` for ``rid`` (or queue it centrally) and assign it."""
        replicas = pool.replicas
        policy = pool.policy
        if policy == "least_loaded":
            r = replicas[0]
            if len(replicas) > 1:
                best = math.inf
                for x in replicas:
                    load = x.outstanding_tokens
                    ends = x.span_end_offsets_s
                    if ends is not None:
                        # Inside a run of summed iterations: count those already over.
                        load -= (
                            x.iteration_num_decoding
                            * x.tokens_per_step
                            * bisect.bisect_right(ends, now - x.iteration_start_s)
                        )
                    if load < best:
                        r, best = x, load
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
                self.schedule(now + d, READY, (rid, r))
                return
        r.waiting.append(rid)
        if not r.busy:
            self.start(r, now)

    def on_ready(self, now: float, payload: tuple[int, Replica]) -> None:
        """Handler of ``READY``: the admission delay is over; the request joins the queue."""
        rid, r = payload
        r.waiting.append(rid)
        if not r.busy:
            self.start(r, now)
