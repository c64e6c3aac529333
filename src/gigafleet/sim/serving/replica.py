"""The mutable state of one serving replica during a run.

A slotted object, not a dataclass of numpy arrays: the scheduler reads and writes a few of
its attributes per event, and slot access is the cheapest there is. The scheduler
(:mod:`.scheduler`) and the router (:mod:`.router`) act on it; it has no behaviour of its own.

In the formulas of the package docstring, ``D`` is :attr:`Replica.num_decoding`, ``S``
:attr:`Replica.context_offset_sum`, ``E`` :attr:`Replica.tokens_per_step`, ``j``
:attr:`Replica.iteration`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from gigafleet.sim.serving.config import DecodeTimes, IterationTime, ReplicaConfig
from gigafleet.sim.serving.kv import PrefixCache

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from gigafleet.sim.serving.router import Pool


class Replica:
    """One replica: its settings, queues, KV accounting, iteration in flight and statistics.

    The attributes come in five groups, in this order: settings (read once from its
    :class:`~gigafleet.sim.serving.config.ReplicaConfig`), queues, running sums (so that no
    iteration touches every running request), the iteration in flight (one event may sum a
    run of iterations of a full replica), statistics and wiring.

    Attributes:
        index: Position in the ``replicas`` list of :func:`~gigafleet.sim.serving.simulate`.
        role: ``"both"``, ``"prefill"`` or ``"decode"``.
        is_prefill_only: Role ``"prefill"``: after its prefill a request moves to a decode
            replica instead of decoding here.
        iteration_time: ``f(prefill_tokens, decode_tokens, decode_context_tokens) -> s``.
        decode_times: ``f(0, D, c)`` over an array of contexts ``c``, or None.
        extra_iteration_time: ``g(num_distinct_adapters) -> s`` added per iteration, or None.
        admission_delay: ``h(request, replica, now_s) -> s`` before a routed request may
            start, or None.
        speculative: Speculative decoding is on.
        decode_tokens_per_seq: Tokens each decoding sequence puts through the target model
            per iteration: ``k + 1`` with ``k`` draft tokens, else 1.
        draft_cost_factor: ``k * draft_cost_fraction``: the drafts of a step cost this many
            decode-only iterations (0 without speculation).
        tokens_per_step: ``E``: tokens a decoding sequence gains per iteration; the integer 1
            without speculation, which keeps contexts and block counts exact integers.
        block_tokens: Tokens per KV block.
        kv_capacity_blocks: KV-cache capacity, blocks.
        max_num_seqs: Most sequences running at once.
        max_batched_tokens: Token budget of one iteration (prefill chunks + decode tokens).
        prefix_cache: Its prefix cache, or None when off.

        waiting: Requests routed here and not running, first come first served (a preempted
            request goes back to the head).
        prefilling: Admitted requests still prefilling, in admission order.
        admission_stack: ``(request, generation)`` of every admission, oldest first;
            preemption pops the newest live entry (stale ones are skipped and, now and then,
            dropped).
        finish_due: ``finish iteration -> [(request, generation), ...]`` of decoding
            sequences (entries whose generation has changed since are stale).
        finish_heap: The keys of :attr:`finish_due` (a heap of ints, each once).
        block_phase_counts: Decoding sequences per block phase ``(p0 - j0) mod block_tokens``:
            a sequence needs a new block at iteration ``j`` exactly when its phase is
            ``(1 - j) mod block_tokens`` (without speculation).
        adapter_counts: Running requests per adapter id (adapters in use only).

        num_decoding: ``D``: sequences in decode.
        context_offset_sum: ``S = sum(p0 - E j0)`` over decoding sequences: their total
            context at iteration ``j`` is ``C = S + D E j``.
        used_blocks: KV blocks reserved or grown (fractional with speculation).
        num_running: Requests admitted and not finished, preempted or handed off
            (prefilling + decoding).
        num_assigned: Requests routed here and not yet gone (delayed, waiting or running);
            the central router keeps it under ``max_num_seqs``.
        outstanding_tokens: Prompt and output tokens routed here and not yet processed (what
            the least_loaded router compares); booked at the end of each iteration.

        iteration: ``j`` of the last iteration launched (the last of a run).
        busy: An iteration is in flight.
        iteration_start_s: When the iteration (or run) in flight started.
        stale_ends_s: End times of the ``ITERATION_END`` events of runs that were cut, still
            in the heap: ignored when they come. One at the same time as the live event was
            scheduled before it, so it comes first: taking the first match is exact.
        iteration_prefill_tokens: Prefill tokens of the iteration in flight.
        iteration_num_decoding: Decoding sequences of each iteration in flight.
        iteration_span: Iterations in flight in this event (1 unless a run).
        run_end_offsets_s: End time of each iteration of the run in flight, from the start
            of the run (a running sum of their durations, which keeps the precision of small
            numbers), or None for a single iteration. The least_loaded router counts the ones
            already over; a request that joins the queue of a replica that could admit it
            cuts the run after the iteration in flight.
        run_used_blocks: ``used_blocks`` after the first iteration of the run (to roll the
            KV growth back when a run is cut).
        run_closed: No request that joins the queue can change the run in flight (the
            replica is full, or the head of its queue waits for KV blocks): it is not cut.
        join_gap_s: Mean time between requests joining the queue (an exponentially weighted
            average; ``inf`` before the second): a steady run of a replica that could admit
            is computed this far ahead, and not at all if one iteration lasts longer, so
            that iterations computed and then cut stay a fraction of those used.
        last_join_s: When a request last joined the queue.
        trace_index: Position of the in-flight event's record in the iteration trace, or -1.
        prefill_finishing: Requests whose prefill ends with the iteration in flight, or None.

        busy_s: Time spent running iterations, seconds.
        num_iterations: Iterations run.
        num_decode_tokens: Tokens emitted by decode iterations (``E`` per sequence per step).
        num_decode_seq_iterations: Decoding sequences summed over iterations (the mean
            decode batch is this over :attr:`num_iterations`).
        central_pools: The pools with a central router that this replica serves, the
            decode pool first (finishing work frees memory): a slot it frees takes the
            head of their queue.
        load_slots: ``(loads, bounds, position)`` in each least_loaded pool it serves: the
            pool's arrays of outstanding tokens (``inf`` while in a run, whose load the
            router works out) and of run-end loads (:class:`~.router.Pool`).
        published_run: The pools were last told a run's end load (its ``bounds`` entries
            are set), not a load.
    """

    __slots__ = (
        # settings
        "index",
        "role",
        "is_prefill_only",
        "iteration_time",
        "decode_times",
        "extra_iteration_time",
        "admission_delay",
        "speculative",
        "decode_tokens_per_seq",
        "draft_cost_factor",
        "tokens_per_step",
        "block_tokens",
        "kv_capacity_blocks",
        "max_num_seqs",
        "max_batched_tokens",
        "prefix_cache",
        # queues
        "waiting",
        "prefilling",
        "admission_stack",
        "finish_due",
        "finish_heap",
        "block_phase_counts",
        "adapter_counts",
        # running sums
        "num_decoding",
        "context_offset_sum",
        "used_blocks",
        "num_running",
        "num_assigned",
        "outstanding_tokens",
        # the iteration in flight
        "iteration",
        "busy",
        "iteration_start_s",
        "stale_ends_s",
        "iteration_prefill_tokens",
        "iteration_num_decoding",
        "iteration_span",
        "run_end_offsets_s",
        "run_used_blocks",
        "run_closed",
        "join_gap_s",
        "last_join_s",
        "trace_index",
        "prefill_finishing",
        # statistics and wiring
        "busy_s",
        "num_iterations",
        "num_decode_tokens",
        "num_decode_seq_iterations",
        "central_pools",
        "load_slots",
        "published_run",
    )

    def __init__(self, index: int, cfg: ReplicaConfig) -> None:
        self.index = index
        self.role = cfg.role
        self.is_prefill_only = cfg.role == "prefill"
        self.iteration_time: IterationTime = cfg.iteration_time
        self.decode_times: DecodeTimes | None = cfg.decode_times
        self.extra_iteration_time: Callable[[int], float] | None = cfg.extra_iteration_time
        self.admission_delay: Callable[[int, int, float], float] | None = cfg.admission_delay
        sp = cfg.speculative
        self.speculative = sp is not None
        self.decode_tokens_per_seq = sp.num_draft_tokens + 1 if sp else 1
        self.draft_cost_factor = sp.num_draft_tokens * sp.draft_cost_fraction if sp else 0.0
        self.tokens_per_step: int | float = sp.tokens_per_step if sp else 1
        self.block_tokens = int(cfg.block_tokens)
        self.kv_capacity_blocks = int(cfg.kv_capacity_tokens) // self.block_tokens
        self.max_num_seqs = int(cfg.max_num_seqs)
        self.max_batched_tokens = int(cfg.max_batched_tokens)
        prefix_tokens = int(cfg.prefix_cache_tokens)
        self.prefix_cache = PrefixCache(prefix_tokens) if prefix_tokens else None

        self.waiting: deque[int] = deque()
        self.prefilling: deque[int] = deque()
        self.admission_stack: list[tuple[int, int]] = []
        self.finish_due: dict[int, list[tuple[int, int]]] = {}
        self.finish_heap: list[int] = []
        self.block_phase_counts = [0] * self.block_tokens
        self.adapter_counts: dict[int, int] = {}

        self.num_decoding = 0
        self.context_offset_sum: int | float = 0
        self.used_blocks: int | float = 0
        self.num_running = 0
        self.num_assigned = 0
        self.outstanding_tokens = 0.0

        self.iteration = 0
        self.busy = False
        self.iteration_start_s = 0.0
        self.stale_ends_s: list[float] = []
        self.iteration_prefill_tokens = 0
        self.iteration_num_decoding = 0
        self.iteration_span = 1
        self.run_end_offsets_s: list[float] | None = None
        self.run_used_blocks: int | float = 0
        self.run_closed = False
        self.join_gap_s = math.inf
        self.last_join_s = 0.0
        self.trace_index = -1
        self.prefill_finishing: list[int] | None = None

        self.busy_s = 0.0
        self.num_iterations = 0
        self.num_decode_tokens = 0.0
        self.num_decode_seq_iterations = 0
        self.central_pools: list[Pool] = []
        self.load_slots: list[tuple[np.ndarray, np.ndarray, int]] = []
        self.published_run = False
