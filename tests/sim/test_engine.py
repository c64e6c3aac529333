"""The discrete-event engine: ordering, ties, stop conditions."""

from __future__ import annotations

import pytest

from gigafleet.sim.engine import Engine


def recorder():
    seen: list[tuple[float, object]] = []
    return seen, lambda t, p: seen.append((t, p))


def test_events_run_in_time_order():
    seen, h = recorder()
    eng = Engine({"e": h})
    for t in (3.0, 1.0, 2.0, 0.5):
        eng.schedule(t, "e", t)
    assert eng.run() == 4
    assert [t for t, _ in seen] == [0.5, 1.0, 2.0, 3.0]
    assert eng.now == 3.0 and eng.num_events == 4 and eng.num_pending == 0


def test_ties_run_in_scheduling_order_without_comparing_payloads():
    seen, h = recorder()
    eng = Engine({"e": h})
    payloads = [{"i": i} for i in range(5)]  # dicts cannot be ordered: the seq must decide
    for p in payloads:
        eng.schedule(1.0, "e", p)
    eng.run()
    assert [p["i"] for _, p in seen] == [0, 1, 2, 3, 4]


def test_dispatch_table_and_handlers_that_schedule():
    eng = Engine()
    log: list[str] = []

    def ping(t, n):
        log.append(f"ping{n}@{t}")
        if n < 3:
            eng.schedule(t + 1.0, "pong", n)

    def pong(t, n):
        log.append(f"pong{n}@{t}")
        eng.schedule(t, "ping", n + 1)  # same time: runs after everything already due

    eng.on("ping", ping)
    eng.on("pong", pong)
    eng.schedule(0.0, "ping", 0)
    eng.run()
    assert log == [
        "ping0@0.0",
        "pong0@1.0",
        "ping1@1.0",
        "pong1@2.0",
        "ping2@2.0",
        "pong2@3.0",
        "ping3@3.0",
    ]


def test_until_stops_inclusive_and_advances_the_clock():
    seen, h = recorder()
    eng = Engine({"e": h})
    for t in (1.0, 2.0, 3.0):
        eng.schedule(t, "e", t)
    assert eng.run(until=2.0) == 2  # the event at exactly 2.0 runs
    assert eng.now == 2.0 and eng.peek_time() == 3.0
    assert eng.run(until=2.5) == 0
    assert eng.now == 2.5
    assert eng.run() == 1 and eng.now == 3.0
    assert eng.num_events == 3


def test_max_events_and_resume():
    seen, h = recorder()
    eng = Engine({"e": h})
    for t in range(10):
        eng.schedule(float(t), "e", t)
    assert eng.run(max_events=4) == 4
    assert [p for _, p in seen] == [0, 1, 2, 3] and eng.now == 3.0
    assert eng.run(max_events=0) == 0
    assert eng.run(until=6.0, max_events=100) == 3
    assert eng.run() == 3
    assert eng.num_events == 10 and eng.peek_time() is None


def test_bad_schedules_are_rejected():
    eng = Engine({"e": lambda t, p: None})
    eng.schedule(5.0, "e")
    eng.run()
    with pytest.raises(ValueError, match="before now"):
        eng.schedule(4.0, "e")
    with pytest.raises(KeyError, match="no handler"):
        eng.schedule(6.0, "unknown")


def test_handler_errors_propagate_and_count():
    def boom(t, p):
        raise RuntimeError("boom")

    eng = Engine({"x": boom})
    eng.schedule(1.0, "x")
    with pytest.raises(RuntimeError):
        eng.run()
    assert eng.num_events == 1 and eng.now == 1.0
