"""Per-request inputs and scheduling state of one run, as plain lists indexed by request."""

from __future__ import annotations

import numpy as np

from gigafleet.sim.serving.workload import Workload


class RequestTable:
    """Every request of one run, one list entry per request id (the workload's order).

    Plain lists, not numpy arrays: indexing a list is the cheapest access in the hot loop.
    In the formulas of the package docstring, ``p0`` is :attr:`join_context_tokens` and ``j0``
    :attr:`join_iteration`.

    Attributes:
        num_requests: Requests in the run.
        arrival_s: Arrival time, seconds.
        prompt_tokens: Prompt length.
        output_tokens: Output length (the first token included).
        adapter_id: Adapter (-1: the base model), or None when the workload names none.
        prefix_id: Shared-prefix id (-1: none), or None when the workload names none.
        prefix_tokens: Length of that shared prefix, or None with ``prefix_id``.
        by_arrival: Request ids in arrival order (ties in workload order).
        generated_tokens: Tokens generated so far, booked when a prefill ends, on preemption
            and at the finish (not at every iteration: decode progress follows from
            ``join_iteration``).
        prefill_left_tokens: Tokens the current admission still has to prefill.
        join_context_tokens: ``p0``: the context the request has when it joins decode, i.e.
            the tokens its current admission prefills (prompt + tokens generated before a
            preemption), or holds on arrival of its KV from a prefill replica.
        join_iteration: ``j0``: the iteration of its replica at which it joined decode; its
            context at iteration ``j`` is ``p0 + E (j - j0)``.
        generation: Bumped whenever the request stops running on a replica (finished,
            preempted, handed to a decode replica); entries in a replica's admission stack
            or finish heap that carry an older value are stale and skipped.
        kv_arrived: Its KV cache came from a prefill replica and it waits for a decode
            replica, which admits it straight into decode.
        first_token_s: Time of the first token, -1 until then.
        finish_s: Time of the last token, -1 until then.
        admit_s: Time of the first admission on a replica (start of prefill), -1 until then.
        replica: Index of the replica the request was last routed to.
    """

    __slots__ = (
        "num_requests",
        "arrival_s",
        "prompt_tokens",
        "output_tokens",
        "adapter_id",
        "prefix_id",
        "prefix_tokens",
        "by_arrival",
        "generated_tokens",
        "prefill_left_tokens",
        "join_context_tokens",
        "join_iteration",
        "generation",
        "kv_arrived",
        "first_token_s",
        "finish_s",
        "admit_s",
        "replica",
    )

    def __init__(self, workload: Workload) -> None:
        wl = workload
        n = wl.num_requests
        self.num_requests = n
        self.arrival_s: list[float] = wl.arrival_s.tolist()
        self.prompt_tokens: list[int] = wl.prompt_tokens.tolist()
        self.output_tokens: list[int] = wl.output_tokens.tolist()
        self.adapter_id: list[int] | None = (
            wl.adapter_id.tolist() if wl.adapter_id is not None else None
        )
        self.prefix_id: list[int] | None = (
            wl.prefix_id.tolist() if wl.prefix_id is not None else None
        )
        self.prefix_tokens: list[int] | None = (
            wl.prefix_tokens.tolist() if wl.prefix_tokens is not None else None
        )
        self.by_arrival: list[int] = np.argsort(wl.arrival_s, kind="stable").tolist()
        self.generated_tokens = [0] * n
        self.prefill_left_tokens = [0] * n
        self.join_context_tokens = [0] * n
        self.join_iteration = [0] * n
        self.generation = [0] * n
        self.kv_arrived = [False] * n
        self.first_token_s = [-1.0] * n
        self.finish_s = [-1.0] * n
        self.admit_s = [-1.0] * n
        self.replica = [-1] * n
