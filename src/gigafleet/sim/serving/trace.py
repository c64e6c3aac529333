"""A Chrome / Perfetto trace of a serving run: iterations per replica, spans per request."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gigafleet.errors import GigafleetError

if TYPE_CHECKING:
    from gigafleet.sim.serving.replica import Replica
    from gigafleet.sim.serving.results import ServingResult
    from gigafleet.sim.serving.workload import Workload

#: Request spans written to a trace (the first ones by arrival); keeps big runs' traces small.
TRACE_MAX_REQUESTS = 10_000
#: Iteration events written to a trace (the first ones); a full-replica run of iterations
#: summed into one event counts once.
TRACE_MAX_ITERATIONS = 100_000


def write_trace(
    path: str,
    *,
    replicas: list[Replica],
    iterations: Sequence[tuple[int, float, float, int, int, int]],
    by_arrival: list[int],
    workload: Workload,
    result: ServingResult,
) -> None:
    """Chrome trace-event JSON (Perfetto and chrome://tracing read it), times in microseconds:
    an "X" event per iteration on its replica's track, async "b"/"e" spans per request.

    Args:
        path: The JSON file to write (atomically: a temporary file, then a rename).
        replicas: The run's replicas (one track each).
        iterations: ``(replica, start_s, duration_s, prefill_tokens, num_decoding,
            num_iterations)`` per iteration event, at most :data:`TRACE_MAX_ITERATIONS`.
        by_arrival: Request ids in arrival order (the first :data:`TRACE_MAX_REQUESTS` get
            spans).
        workload: The requests.
        result: What the run measured.

    Raises:
        GigafleetError: The folder cannot be created or written.
    """
    us = 1e6
    wl, res = workload, result
    ev: list[dict[str, Any]] = []
    for r in replicas:
        ev.append(
            {
                "name": "process_name",
                "ph": "M",
                "pid": r.index,
                "args": {"name": f"replica {r.index} ({r.role})"},
            }
        )
    req_pid = len(replicas)
    ev.append({"name": "process_name", "ph": "M", "pid": req_pid, "args": {"name": "requests"}})
    for idx, t, dt, p, d, span in iterations:
        name = f"prefill {p} + decode {d}" if span == 1 else f"decode {d} x {span} iterations"
        ev.append(
            {
                "name": name,
                "ph": "X",
                "pid": idx,
                "tid": 0,
                "ts": t * us,
                "dur": dt * us,
                "args": {"prefill_tokens": p, "decode_seqs": d, "iterations": span},
            }
        )
    arrival = wl.arrival_s
    first = arrival + res.ttft_s
    finish = arrival + res.e2e_s
    admit = arrival + res.queue_s
    for rid in by_arrival[:TRACE_MAX_REQUESTS]:
        base = {"cat": "request", "id": rid, "pid": req_pid, "tid": 0}
        args = {
            "prompt_tokens": int(wl.prompt_tokens[rid]),
            "output_tokens": int(wl.output_tokens[rid]),
            "replica": int(res.replica_index[rid]),
        }
        spans = (
            ("request", arrival[rid], finish[rid]),
            ("queued", arrival[rid], admit[rid]),
            ("to first token", admit[rid], first[rid]),
        )
        for name, t0, t1 in spans:
            ev.append(base | {"name": name, "ph": "b", "ts": float(t0) * us, "args": args})
            ev.append(base | {"name": name, "ph": "e", "ts": float(max(t1, t0)) * us})
    doc = {
        "traceEvents": ev,
        "displayTimeUnit": "ms",
        "metadata": {
            "num_requests": res.num_requests,
            "request_spans": min(res.num_requests, TRACE_MAX_REQUESTS),
            "iteration_events": len(iterations),
            "iteration_events_truncated": len(iterations) >= TRACE_MAX_ITERATIONS,
        },
    }
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".trace-", suffix=".json", dir=folder)
    except OSError as exc:
        raise GigafleetError(
            f"cannot write the trace: {exc.strerror}", file=str(path), field="trace"
        ) from None
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
