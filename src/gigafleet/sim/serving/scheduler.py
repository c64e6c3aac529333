"""The iteration scheduler of every replica: continuous batching, chunked prefill, admission,
preemption by recompute (the rules are in the package docstring).

Cost. No iteration touches every running request: a replica keeps ``D`` (sequences in
decode), the sum ``S = sum(p0 - E j0)`` (so their total context is ``C = S + D E j``), a
count of sequences per block phase ``(p0 - j0) mod block_tokens`` (a sequence needs a new
block at iteration ``j`` exactly when its phase is ``(1 - j) mod block_tokens``), and the
sequences by finishing iteration (a dict of lists, and a heap of its keys: sequences that
finish together cost one heap entry, not one each in a heap as deep as the batch). An iteration costs O(log n) plus O(1) per request that starts,
finishes or is preempted.

Runs. A replica whose batch is steady (decode only, nothing prefilling, and either full,
``max_num_seqs`` running, or the head of its queue waiting for KV blocks, or nothing
waiting) runs the same sequences until the next one finishes, so those iterations are one
event (a *run*): each iteration still has its own ``iteration_time`` and KV growth; the
run's end times are a running sum of the durations from its start (the same values as one
event per iteration, to floating-point rounding: a sum of small numbers added once to the
clock loses less than adding each to the clock). A full replica's run, and one whose queue
waits for KV blocks (only a finish frees them; a step that preempted is never one), goes to
the next finish (no arrival can change it: the run is *closed*); a steady run of a replica
that could admit is computed as far ahead as the mean time between requests joining its
queue (none if one iteration lasts longer: under heavy load runs would be cut at once), and
a request that joins its queue cuts it after the iteration in flight
(:meth:`IterationScheduler.cut`), the end event of the longer run being left to fall
through (its time is remembered, and the event ignored). So a lightly loaded replica costs
events per change of its batch, not per iteration, and an idle one costs none. A long run
is timed in numpy chunks where the replica gives ``decode_times`` (:meth:`_run_chunks`).

Speed. This is the hot loop: every method here runs per event or per request. Attributes
are read into locals once per call, and the steps of an iteration stay in one method
rather than one call each.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Callable

import numpy as np

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving.config import KvTransfer
from gigafleet.sim.serving.events import ITERATION_END, KV_ARRIVED
from gigafleet.sim.serving.replica import Replica
from gigafleet.sim.serving.requests import RequestTable
from gigafleet.sim.serving.router import publish
from gigafleet.sim.serving.trace import TRACE_MAX_ITERATIONS

#: ``(replica, start_s, duration_s, prefill_tokens, num_decoding, num_iterations)``.
IterationRecord = tuple[int, float, float, int, int, int]

#: Merge the iterations of a steady batch that could still admit into runs. False gives one
#: event per iteration (but for full replicas, whose runs no arrival can cut): the tests
#: check that both give the same schedule.
STEADY_RUNS = True

#: Runs longer than this many iterations are timed in numpy chunks (this many first, then
#: twice as many each, up to ``RUN_CHUNK_MAX``) where the replica gives ``decode_times``.
#: Measured (Llama-3.1-8B on an H100, 32 sequences): a scalar iteration time costs about
#: 4 us, a chunk's numpy calls about 40 us whatever its length up to thousands: from 64
#: iterations a chunk is several times cheaper, and a long run tens of times.
RUN_CHUNK_MIN = 64
RUN_CHUNK_MAX = 1 << 16

_INF = math.inf


class IterationScheduler:
    """Composes each replica's next iteration when it starts, and books it when it ends.

    One instance serves every replica of a run; the per-replica state lives on each
    :class:`~gigafleet.sim.serving.replica.Replica`, the per-request state in the
    :class:`~gigafleet.sim.serving.requests.RequestTable`. :meth:`end_iteration` is the
    handler of ``ITERATION_END`` events.

    Attributes:
        requests: The run's requests.
        assign: The router's ``assign(request, replica, now_s)``, called when a replica frees
            a slot and a pool it serves holds a central queue (set when the router is built).
        kv_transfer: KV transfer from prefill to decode replicas, or None (no
            disaggregation).
        track_adapters: The workload names adapters: keep each replica's adapter counts.
        iteration_trace: One :data:`IterationRecord` per iteration event (the first
            ``TRACE_MAX_ITERATIONS``) when a trace is written, else None.
        num_preemptions: Preemptions so far.
        num_kv_transfers: KV transfers to decode replicas so far.
        heap: The engine's event heap; with ``next_seq`` (its sequence counter) the hot
            path schedules ``ITERATION_END`` and ``KV_ARRIVED`` without the checks of
            ``Engine.schedule``.
        next_seq: The engine's sequence counter.
        steady_runs: :data:`STEADY_RUNS` when the run started.
    """

    __slots__ = (
        "requests",
        "assign",
        "kv_transfer",
        "track_adapters",
        "iteration_trace",
        "num_preemptions",
        "num_kv_transfers",
        "heap",
        "next_seq",
        "steady_runs",
    )

    def __init__(
        self,
        requests: RequestTable,
        *,
        pusher: tuple[list, Callable[[], int]],
        kv_transfer: KvTransfer | None,
        trace: bool,
    ) -> None:
        self.requests = requests
        self.heap, self.next_seq = pusher
        self.assign: Callable[[int, Replica, float], None] | None = None
        self.kv_transfer = kv_transfer
        self.track_adapters = requests.adapter_id is not None
        self.iteration_trace: list[IterationRecord] | None = [] if trace else None
        self.num_preemptions = 0
        self.num_kv_transfers = 0
        self.steady_runs = STEADY_RUNS

    # -- launching an iteration ---------------------------------------------------------

    def start(self, r: Replica, now: float) -> None:
        """Compose and launch iteration ``r.iteration + 1``, or leave ``r`` idle if it has no
        work: (1) grow the KV of every decoding sequence, preempting while it does not fit;
        (2) admit waiting requests; (3) fill the token budget with prefill chunks; (4) time
        it, summing the iterations of a full replica up to its next finish."""
        j = r.iteration + 1
        block_tokens = r.block_tokens
        preempted = False
        grow: int | float
        if r.num_decoding:
            if r.speculative:
                grow = r.num_decoding * r.tokens_per_step / block_tokens
            else:
                grow = r.block_phase_counts[(1 - j) % block_tokens]
            if grow and r.used_blocks + grow > r.kv_capacity_blocks:
                grow = self._make_room(r, j)
                preempted = True
            r.used_blocks += grow
        # vLLM admits nothing in a step that had to preempt, unless the replica emptied.
        if r.waiting and r.num_running < r.max_num_seqs and (not preempted or not r.num_running):
            self._admit(r, j, now)
        num_decoding = r.num_decoding
        prefilling = r.prefilling
        prefill_tokens = 0
        finishing = None
        if prefilling:
            budget = r.max_batched_tokens - num_decoding * r.decode_tokens_per_seq
            if budget > 0:
                left = self.requests.prefill_left_tokens
                finishing = []
                while prefilling:
                    rid = prefilling[0]
                    chunk = left[rid]
                    if chunk > budget:
                        left[rid] = chunk - budget
                        prefill_tokens += budget
                        break
                    prefill_tokens += chunk
                    budget -= chunk
                    left[rid] = 0
                    finishing.append(rid)
                    prefilling.popleft()
                    if not budget:
                        break
        if not prefill_tokens and not num_decoding:
            r.busy = False
            r.run_end_offsets_s = None
            if r.load_slots:
                publish(r)
            return
        f = r.iteration_time
        context: int | float
        if r.speculative:
            context = int(r.context_offset_sum + num_decoding * r.tokens_per_step * j)
            dt = f(prefill_tokens, num_decoding * r.decode_tokens_per_seq, context)
            if num_decoding:
                dt += r.draft_cost_factor * f(0, num_decoding, context)
        else:
            context = r.context_offset_sum + num_decoding * j
            dt = f(prefill_tokens, num_decoding, context)
        extra = (
            r.extra_iteration_time(len(r.adapter_counts))
            if r.extra_iteration_time is not None
            else 0.0
        )
        dt += extra
        if not dt >= 0.0:
            raise GigafleetError(
                f"replica {r.index}: iteration_time returned {dt!r} for "
                f"({prefill_tokens}, {num_decoding * r.decode_tokens_per_seq}, {context}); "
                "it must be a finite time >= 0",
                field="iteration_time",
            )
        ends = None
        span = 1
        closed = False
        if not prefill_tokens and not prefilling:
            # Decode only: steady until the next finish when no arrival can change the batch
            # (closed: the replica is full, or the head of its queue waits for KV blocks
            # that only a finish frees, since _admit stopped there in a step that did not
            # preempt), or while nothing waits (a request that joins the queue cuts the run).
            if r.num_running >= r.max_num_seqs or (
                r.waiting and not preempted and self.steady_runs
            ):
                horizon = _INF
                closed = True
            elif not r.waiting and self.steady_runs:
                horizon = r.join_gap_s
            else:
                horizon = 0.0
            if 4.0 * dt < horizon:
                heap, due = r.finish_heap, r.finish_due
                generation = self.requests.generation
                while True:  # the first finish iteration with a live sequence
                    fin = heap[0]
                    for rid, g in due[fin]:
                        if g == generation[rid]:
                            break
                    else:
                        del due[heapq.heappop(heap)]  # only preempted ones: stale
                        continue
                    break
                limit = fin - j + 1  # iterations to the next finish, j's included
                if limit > 1:
                    dt, ends = self._run(r, j, limit, horizon, num_decoding, context, dt, extra)
                    span = len(ends)
        end = now + dt
        r.iteration = j + span - 1
        r.busy = True
        r.iteration_start_s = now
        r.iteration_prefill_tokens = prefill_tokens
        r.iteration_num_decoding = num_decoding
        r.iteration_span = span
        r.run_end_offsets_s = ends
        r.run_closed = closed
        r.prefill_finishing = finishing
        r.num_iterations += span
        trace = self.iteration_trace
        if trace is not None:
            if len(trace) < TRACE_MAX_ITERATIONS:
                r.trace_index = len(trace)
                trace.append((r.index, now, dt, prefill_tokens, num_decoding, span))
            else:
                r.trace_index = -1
        if r.load_slots:
            publish(r)
        heapq.heappush(self.heap, (end, self.next_seq(), ITERATION_END, r))

    def _run(
        self,
        r: Replica,
        j: int,
        limit: int,
        horizon: float,
        num_decoding: int,
        context: int | float,
        end: float,
        extra: float,
    ) -> tuple[float, list[float]]:
        """Iterations ``j + 1 .. j + limit - 1`` of a steady batch after iteration ``j``
        (which lasts ``end``), stopping once the run lasts ``horizon`` seconds, or early
        where the KV would overflow (so that the one-iteration path preempts) or an
        iteration time is not a time (so that it raises). Returns the duration of the run
        and the end of each iteration, both from its start. A long run of a replica with
        ``decode_times`` (more than ``RUN_CHUNK_MIN`` iterations to go, by the limit and by
        the horizon at the first iteration's duration) is timed in chunks
        (:meth:`_run_chunks`), to the same floats."""
        if r.decode_times is not None and limit > RUN_CHUNK_MIN and horizon > RUN_CHUNK_MIN * end:
            return self._run_chunks(r, j, limit, horizon, num_decoding, context, end, extra)
        f = r.iteration_time
        block_tokens = r.block_tokens
        used, capacity = r.used_blocks, r.kv_capacity_blocks
        r.run_used_blocks = used
        ends = [end]
        s = 1
        if r.speculative:
            step = num_decoding * r.tokens_per_step
            grow = step / block_tokens
            decode_tokens, draft = num_decoding * r.decode_tokens_per_seq, r.draft_cost_factor
            base = r.context_offset_sum
            while s < limit and end < horizon:
                if used + grow > capacity:
                    break
                ctx = int(base + step * (j + s))  # as the one-iteration path rounds it
                dt = f(0, decode_tokens, ctx) + draft * f(0, num_decoding, ctx) + extra
                if not dt >= 0.0:
                    break
                used += grow
                end += dt
                ends.append(end)
                s += 1
        else:
            phase = r.block_phase_counts
            while s < limit and end < horizon:
                new_blocks = phase[(1 - j - s) % block_tokens]
                if new_blocks and used + new_blocks > capacity:
                    break
                dt = f(0, num_decoding, context + num_decoding) + extra
                if not dt >= 0.0:
                    break
                used += new_blocks
                context += num_decoding
                end += dt
                ends.append(end)
                s += 1
        r.used_blocks = used
        return end, ends

    def _run_chunks(
        self,
        r: Replica,
        j: int,
        limit: int,
        horizon: float,
        num_decoding: int,
        context: int | float,
        end: float,
        extra: float,
    ) -> tuple[float, list[float]]:
        """:meth:`_run` in numpy, a chunk of iterations at a time (``RUN_CHUNK_MIN``, then
        twice as many each chunk, up to ``RUN_CHUNK_MAX``): the same iterations and floats,
        since the KV growth and the clock are running sums in iteration order (``cumsum``
        adds in order, as the loop does) and each time is ``decode_times`` at the loop's
        contexts."""
        times = r.decode_times
        assert times is not None
        block_tokens = r.block_tokens
        used, capacity = r.used_blocks, r.kv_capacity_blocks
        r.run_used_blocks = used
        ends = [end]
        s = 1
        size = RUN_CHUNK_MIN
        if r.speculative:
            step = num_decoding * r.tokens_per_step
            grow = step / block_tokens
            decode_tokens, draft = num_decoding * r.decode_tokens_per_seq, r.draft_cost_factor
            base = r.context_offset_sum
        else:
            phase = np.asarray(r.block_phase_counts, dtype=np.int64)  # fixed during a run
        while s < limit and end < horizon:
            k = np.arange(s, min(limit, s + size), dtype=np.int64)
            if r.speculative:
                ctx = (base + step * (j + k)).astype(np.int64)  # int() of each, as the loop
                dt = times(decode_tokens, ctx) + draft * times(num_decoding, ctx) + extra
                new = np.full(len(k), grow)
                used_after = np.cumsum(np.concatenate(([used], new)))[1:]
                fits = used_after <= capacity
            else:
                dt = times(num_decoding, context + num_decoding * k) + extra
                new = phase[(1 - j - k) % block_tokens]
                used_after = used + np.cumsum(new)  # exact integers
                fits = (new == 0) | (used_after <= capacity)
            ok = fits & (dt >= 0.0)
            n = len(k) if ok.all() else int(np.argmin(ok))  # iterations before the first stop
            clock = np.cumsum(np.concatenate(([end], dt[:n])))
            if horizon != _INF:  # iteration i starts only if the run so far is under horizon
                late = clock[:n] >= horizon
                if late.any():
                    n = int(np.argmax(late))
            if n:
                ends.extend(clock[1 : n + 1].tolist())
                end = ends[-1]
                used = used_after[n - 1].item()
            s += n
            if n < len(k):
                break
            size = min(2 * size, RUN_CHUNK_MAX)
        r.used_blocks = used
        return end, ends

    def cut(self, r: Replica, now: float) -> None:
        """A request joined the queue of ``r``, busy with a steady run while it could admit:
        end the run with the iteration in flight at ``now`` (the next one admits, as it
        would have one event per iteration). The longer run's end event stays in the heap
        and is ignored when it comes (:meth:`end_iteration`)."""
        ends = r.run_end_offsets_s
        assert ends is not None  # a run is in flight
        span = len(ends)
        start_s = r.iteration_start_s
        k = bisect_right(ends, now - start_s)  # iterations over by now; the k-th is in flight
        if k >= span - 1:
            return
        keep = k + 1
        j0 = r.iteration - span + 1
        used = r.run_used_blocks  # roll the KV growth of the dropped iterations back
        if r.speculative:
            grow = r.iteration_num_decoding * r.tokens_per_step / r.block_tokens
            for _ in range(1, keep):
                used += grow
        else:
            phase, block_tokens = r.block_phase_counts, r.block_tokens
            for s in range(1, keep):
                used += phase[(1 - j0 - s) % block_tokens]
        r.used_blocks = used
        r.iteration = j0 + k
        r.num_iterations -= span - keep
        r.iteration_span = keep
        r.stale_ends_s.append(start_s + ends[-1])
        del ends[keep:]
        end = start_s + ends[k]
        if r.trace_index >= 0:
            rec = (r.index, start_s, ends[k], 0, r.iteration_num_decoding, keep)
            self.iteration_trace[r.trace_index] = rec  # type: ignore[index]
        heapq.heappush(self.heap, (end, self.next_seq(), ITERATION_END, r))

    # -- admission and preemption --------------------------------------------------------

    def _admit(self, r: Replica, j: int, now: float) -> None:
        """Admit waiting requests first come, first served while ``max_num_seqs`` and the free
        KV blocks allow; each reserves the blocks of the context it prefills. (Per admitted
        request: the running sums are kept in locals and written back once.)"""
        rq = self.requests
        waiting = r.waiting
        block_tokens, capacity = r.block_tokens, r.kv_capacity_blocks
        prompt, generated, generation = rq.prompt_tokens, rq.generated_tokens, rq.generation
        kv_arrived, join_context, admit_s = rq.kv_arrived, rq.join_context_tokens, rq.admit_s
        prefix_tokens = rq.prefix_tokens
        cache = r.prefix_cache
        stack = r.admission_stack
        speculative, step = r.speculative, r.tokens_per_step
        adapter_id = rq.adapter_id if self.track_adapters else None
        used, num_running, max_num_seqs = r.used_blocks, r.num_running, r.max_num_seqs
        need: int | float
        while waiting and num_running < max_num_seqs:
            rid = waiting[0]
            g = generated[rid]  # tokens generated before (a preemption or the KV handoff)
            if kv_arrived[rid]:
                # KV arrived from a prefill replica: join decode now, as if it had prefilled
                # at iteration j - 1; this iteration's growth was counted before admission.
                p0 = prompt[rid] + g - 1
                if speculative:
                    need = -(-p0 // block_tokens) + step / block_tokens
                else:
                    need = -(-(p0 + 1) // block_tokens)
                if used + need > capacity:
                    break
                waiting.popleft()
                kv_arrived[rid] = False
                j0 = j - 1
                join_context[rid] = p0
                rq.join_iteration[rid] = j0
                r.context_offset_sum += p0 - step * j0
                r.num_decoding += 1
                out = rq.output_tokens[rid]
                if speculative:
                    fin = j0 + math.ceil((out - g) / step)
                else:
                    r.block_phase_counts[(p0 - j0) % block_tokens] += 1
                    fin = j0 + out - g
                entries = r.finish_due.get(fin)
                if entries is None:
                    r.finish_due[fin] = [(rid, generation[rid])]
                    heapq.heappush(r.finish_heap, fin)
                else:
                    entries.append((rid, generation[rid]))
            else:
                p0 = prompt[rid] + g
                need = -(-p0 // block_tokens)
                if used + need > capacity:
                    break
                waiting.popleft()
                skip = 0
                if cache is not None and prefix_tokens is not None and prefix_tokens[rid] > 0:
                    cached = cache.lookup(rq.prefix_id[rid])  # type: ignore[index]
                    if cached:
                        skip = min(cached, prefix_tokens[rid], p0 - 1)
                        r.outstanding_tokens -= skip
                join_context[rid] = p0
                rq.prefill_left_tokens[rid] = p0 - skip
                r.prefilling.append(rid)
            used += need
            num_running += 1
            stack.append((rid, generation[rid]))
            if adapter_id is not None:
                a = adapter_id[rid]
                if a >= 0:
                    r.adapter_counts[a] = r.adapter_counts.get(a, 0) + 1
            if admit_s[rid] < 0:
                admit_s[rid] = now
        r.used_blocks = used
        r.num_running = num_running
        if len(stack) > 2 * num_running + 64:
            # Finished requests leave stale entries behind; drop them now and then.
            r.admission_stack = [e for e in stack if e[1] == generation[e[0]]]

    def _make_room(self, r: Replica, j: int) -> float:
        """Preempt the most recently admitted sequences until this iteration's KV growth
        fits; returns the growth in blocks."""
        generation, stack = self.requests.generation, r.admission_stack
        grow: int | float
        while True:
            if r.speculative:
                grow = r.num_decoding * r.tokens_per_step / r.block_tokens
            else:
                grow = r.block_phase_counts[(1 - j) % r.block_tokens]
            if r.used_blocks + grow <= r.kv_capacity_blocks:
                return grow
            rid, admitted_as = stack.pop()
            while admitted_as != generation[rid]:  # stale: it left since
                rid, admitted_as = stack.pop()
            self._preempt(r, rid, j)

    def _preempt(self, r: Replica, rid: int, j: int) -> None:
        """Free ``rid``'s blocks and send it back to the head of the queue; it will prefill
        ``prompt + generated`` again (recompute)."""
        rq = self.requests
        block_tokens = r.block_tokens
        p0 = rq.join_context_tokens[rid]
        left = rq.prefill_left_tokens[rid]
        if left > 0:
            # The newest admission: if it is still prefilling it is the last one in line.
            assert r.prefilling[-1] == rid
            r.prefilling.pop()
            r.used_blocks -= -(-p0 // block_tokens)
            r.outstanding_tokens += p0 - left
            rq.prefill_left_tokens[rid] = 0
        else:
            j0 = rq.join_iteration[rid]
            m = j - 1 - j0  # decode iterations done
            prompt = rq.prompt_tokens[rid]
            if r.speculative:
                E = r.tokens_per_step
                r.used_blocks -= -(-p0 // block_tokens) + m * E / block_tokens
                r.context_offset_sum -= p0 - E * j0
                g = min(p0 - prompt + 1 + int(m * E), rq.output_tokens[rid] - 1)
            else:
                r.used_blocks -= -(-(p0 + m) // block_tokens)
                r.context_offset_sum -= p0 - j0
                r.block_phase_counts[(p0 - j0) % block_tokens] -= 1
                g = p0 - prompt + 1 + m
            r.num_decoding -= 1
            rq.generated_tokens[rid] = g
            r.outstanding_tokens += prompt + g
        rq.generation[rid] += 1
        r.num_running -= 1
        if self.track_adapters:
            self._adapter_out(r, rid)
        r.waiting.appendleft(rid)
        self.num_preemptions += 1

    # -- booking an iteration that ended ------------------------------------------------

    def end_iteration(self, now: float, r: Replica) -> None:
        """Handler of ``ITERATION_END``: book the tokens of the iteration (or run) that ended,
        finish the sequences due, move finished prefills on, and start the next iteration.
        The end of a run that was cut is ignored."""
        stale = r.stale_ends_s
        if stale and now in stale:
            stale.remove(now)
            return
        j = r.iteration
        span = r.iteration_span
        num_decoding = r.iteration_num_decoding
        r.busy_s += now - r.iteration_start_s
        if r.run_end_offsets_s is not None:
            r.run_end_offsets_s = None  # booked below; no longer a run to cut or to read loads in
        decoded = num_decoding * r.tokens_per_step * span
        r.num_decode_tokens += decoded
        r.num_decode_seq_iterations += num_decoding * span
        r.outstanding_tokens -= r.iteration_prefill_tokens + decoded
        heap = r.finish_heap
        if heap and heap[0] <= j:
            generation, due = self.requests.generation, r.finish_due
            while heap and heap[0] <= j:
                entries = due.pop(heapq.heappop(heap))
                if len(entries) > 1:
                    entries.sort()  # by request: the order of a heap of (fin, rid, g)
                for rid, g in entries:
                    if g == generation[rid]:
                        self._finish_decode(r, rid, j, now)
        finishing = r.prefill_finishing
        if finishing:
            for rid in finishing:
                self._finish_prefill(r, rid, j, now)
            r.prefill_finishing = None
        self.start(r, now)

    def _finish_decode(self, r: Replica, rid: int, j: int, now: float) -> None:
        """``rid`` emitted its last token at iteration ``j``: release its blocks."""
        rq = self.requests
        j0 = rq.join_iteration[rid]
        p0 = rq.join_context_tokens[rid]
        m = j - j0
        block_tokens = r.block_tokens
        out = rq.output_tokens[rid]
        if r.speculative:
            E = r.tokens_per_step
            r.used_blocks -= -(-p0 // block_tokens) + m * E / block_tokens
            r.context_offset_sum -= p0 - E * j0
            # Credited m E decode tokens; it needed out - g_join of them.
            r.outstanding_tokens += m * E - (out - (p0 - rq.prompt_tokens[rid] + 1))
        else:
            r.used_blocks -= -(-(p0 + m) // block_tokens)
            r.context_offset_sum -= p0 - j0
            r.block_phase_counts[(p0 - j0) % block_tokens] -= 1
        r.num_decoding -= 1
        rq.generated_tokens[rid] = out
        rq.finish_s[rid] = now
        self._leave(r, rid, now)

    def _finish_prefill(self, r: Replica, rid: int, j: int, now: float) -> None:
        """``rid``'s prefill ended with iteration ``j``, which emitted a token: finish it, hand
        its KV to a decode replica, or let it join decode here."""
        rq = self.requests
        g = rq.generated_tokens[rid] + 1
        rq.generated_tokens[rid] = g
        r.outstanding_tokens -= 1
        p0 = rq.join_context_tokens[rid]
        prefix_tokens = rq.prefix_tokens
        cache = r.prefix_cache
        if cache is not None and prefix_tokens is not None and prefix_tokens[rid] > 0:
            cache.insert(rq.prefix_id[rid], prefix_tokens[rid])  # type: ignore[index]
        out = rq.output_tokens[rid]
        if g >= out or r.is_prefill_only:
            r.used_blocks -= -(-p0 // r.block_tokens)
            if g >= out:
                if rq.first_token_s[rid] < 0:
                    rq.first_token_s[rid] = now
                rq.finish_s[rid] = now
            else:
                rq.kv_arrived[rid] = True
                self.num_kv_transfers += 1
                arrive_s = now + self.kv_transfer.seconds(p0)  # type: ignore[union-attr]
                heapq.heappush(self.heap, (arrive_s, self.next_seq(), KV_ARRIVED, rid))
            self._leave(r, rid, now)
            return
        if rq.first_token_s[rid] < 0:
            rq.first_token_s[rid] = now
        # Join decode at iteration j (as _admit does for a KV that arrived, at j - 1).
        E = r.tokens_per_step
        rq.join_iteration[rid] = j
        r.context_offset_sum += p0 - E * j
        r.num_decoding += 1
        if r.speculative:
            fin = j + math.ceil((out - g) / E)
        else:
            r.block_phase_counts[(p0 - j) % r.block_tokens] += 1
            fin = j + out - g
        entries = r.finish_due.get(fin)
        if entries is None:
            r.finish_due[fin] = [(rid, rq.generation[rid])]
            heapq.heappush(r.finish_heap, fin)
        else:
            entries.append((rid, rq.generation[rid]))

    def _leave(self, r: Replica, rid: int, now: float) -> None:
        """``rid`` stops running on ``r`` (finished or handed to a decode replica); a central
        queue of a pool that ``r`` serves may send it the next request."""
        self.requests.generation[rid] += 1  # invalidates its admission_stack / finish_due entries
        r.num_running -= 1
        r.num_assigned -= 1
        if self.track_adapters:
            self._adapter_out(r, rid)
        for pool in r.central_pools:
            if pool.central_queue and r.num_assigned < r.max_num_seqs:
                self.assign(pool.central_queue.popleft(), r, now)  # type: ignore[misc]

    def _adapter_out(self, r: Replica, rid: int) -> None:
        a = self.requests.adapter_id[rid]  # type: ignore[index]
        if a >= 0:
            c = r.adapter_counts[a] - 1
            if c:
                r.adapter_counts[a] = c
            else:
                del r.adapter_counts[a]
