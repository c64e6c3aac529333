"""The iteration scheduler: a naive reference that touches every request every iteration,
exact single-request timelines, chunked prefill, batching, preemption, speculative decoding,
adapters and admission delays."""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict, deque

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving import ReplicaConfig, SpecDecode, Workload, poisson_arrivals, simulate
from servinghelp import linear, workload


def reference(wl: Workload, cfgs: list[ReplicaConfig], router: str):
    """The same scheduling rules written the slow, obvious way (no spec, no disaggregation)."""
    n = wl.num_requests
    prompt, out = wl.prompt_tokens.tolist(), wl.output_tokens.tolist()
    arrival = wl.arrival_s.tolist()
    pid = wl.prefix_id.tolist() if wl.prefix_id is not None else [-1] * n
    ptok = wl.prefix_tokens.tolist() if wl.prefix_tokens is not None else [0] * n
    generated = [0] * n
    first, finish, admit = [-1.0] * n, [-1.0] * n, [-1.0] * n
    stats = {"preempt": 0, "lookups": 0, "hits": 0, "iterations": 0}

    class Req:
        def __init__(self, rid):
            self.rid, self.decoding, self.left, self.kv = rid, False, 0, 0

    class Rep:
        def __init__(self, cfg):
            self.cfg = cfg
            self.cap = cfg.kv_capacity_tokens // cfg.block_tokens
            self.waiting, self.running = deque(), []
            self.busy, self.assigned, self.load = False, 0, 0.0
            self.lru, self.lru_tokens = OrderedDict(), 0
            self.pending = None

    reps = [Rep(c) for c in cfgs]
    queue: deque[int] = deque()
    heap: list = []
    seq = [0]
    rr = [0]

    def push(t, kind, payload):
        seq[0] += 1
        heapq.heappush(heap, (t, seq[0], kind, payload))

    def blocks(q, B):
        return -(-q.kv // B)

    def assign(rid, r, now):
        r.assigned += 1
        r.load += prompt[rid] + out[rid]
        r.waiting.append(Req(rid))
        if not r.busy:
            start(r, now)

    def route(rid, now):
        if router == "round_robin":
            r = reps[rr[0] % len(reps)]
            rr[0] += 1
        elif router == "least_loaded":
            r = min(reps, key=lambda x: x.load)
        else:
            r = max(reps, key=lambda x: x.cfg.max_num_seqs - x.assigned)
            if r.assigned >= r.cfg.max_num_seqs:
                queue.append(rid)
                return
        assign(rid, r, now)

    def leave(r, now):
        r.assigned -= 1
        if queue and r.assigned < r.cfg.max_num_seqs:
            assign(queue.popleft(), r, now)

    def start(r, now):
        cfg, B = r.cfg, r.cfg.block_tokens
        preempted = False
        while True:
            dec = [q for q in r.running if q.decoding]
            grow = sum(-(-(q.kv + 1) // B) - -(-q.kv // B) for q in dec)
            if sum(blocks(q, B) for q in r.running) + grow <= r.cap:
                break
            v = r.running.pop()
            preempted = True
            stats["preempt"] += 1
            if v.decoding:
                r.load += prompt[v.rid] + generated[v.rid]
            else:
                r.load += (prompt[v.rid] + generated[v.rid]) - v.left
            r.waiting.appendleft(Req(v.rid))
        for q in r.running:
            if q.decoding:
                q.kv += 1
        if not preempted or not r.running:
            while r.waiting and len(r.running) < cfg.max_num_seqs:
                q = r.waiting[0]
                p0 = prompt[q.rid] + generated[q.rid]
                if sum(blocks(x, B) for x in r.running) + -(-p0 // B) > r.cap:
                    break
                r.waiting.popleft()
                skip = 0
                if cfg.prefix_cache_tokens and ptok[q.rid] > 0:
                    stats["lookups"] += 1
                    if pid[q.rid] in r.lru:
                        stats["hits"] += 1
                        r.lru.move_to_end(pid[q.rid])
                        skip = min(r.lru[pid[q.rid]], ptok[q.rid], p0 - 1)
                        r.load -= skip
                q.kv, q.left = p0, p0 - skip
                r.running.append(q)
                if admit[q.rid] < 0:
                    admit[q.rid] = now
        dec = [q for q in r.running if q.decoding]
        budget = cfg.max_batched_tokens - len(dec)
        P, done = 0, []
        for q in r.running:
            if budget <= 0:
                break
            if not q.decoding and q.left > 0:
                c = min(q.left, budget)
                q.left -= c
                budget -= c
                P += c
                if q.left == 0:
                    done.append(q)
        if not P and not dec:
            r.busy = False
            return
        dt = cfg.iteration_time(P, len(dec), sum(q.kv for q in dec))
        r.busy = True
        r.pending = (P, dec, done)
        stats["iterations"] += 1
        push(now + dt, "end", r)

    def end(r, now):
        P, dec, done = r.pending
        r.load -= P + len(dec)
        for q in sorted(dec, key=lambda q: q.rid):
            generated[q.rid] += 1
            if generated[q.rid] >= out[q.rid]:
                finish[q.rid] = now
                r.running.remove(q)
                leave(r, now)
        for q in done:
            rid = q.rid
            generated[rid] += 1
            r.load -= 1
            if first[rid] < 0:
                first[rid] = now
            if r.cfg.prefix_cache_tokens and ptok[rid] > 0 and pid[rid] not in r.lru:
                if ptok[rid] <= r.cfg.prefix_cache_tokens:
                    r.lru[pid[rid]] = ptok[rid]
                    r.lru_tokens += ptok[rid]
                    while r.lru_tokens > r.cfg.prefix_cache_tokens:
                        r.lru_tokens -= r.lru.popitem(last=False)[1]
            elif r.cfg.prefix_cache_tokens and ptok[rid] > 0:
                r.lru.move_to_end(pid[rid])
            if generated[rid] >= out[rid]:
                finish[rid] = now
                r.running.remove(q)
                leave(r, now)
            else:
                q.decoding = True
        start(r, now)

    for rid in np.argsort(wl.arrival_s, kind="stable").tolist():
        push(arrival[rid], "arrival", rid)
    while heap:
        t, _, kind, payload = heapq.heappop(heap)
        if kind == "arrival":
            route(payload, t)
        else:
            end(payload, t)
    a = np.asarray(arrival)
    return {
        "ttft": np.asarray(first) - a,
        "e2e": np.asarray(finish) - a,
        "queue": np.asarray(admit) - a,
        **stats,
    }


CASES = {
    "plain": dict(kv=200_000, seqs=8, batched=512, prefix=0),
    "preempting": dict(kv=1_200, seqs=16, batched=256, prefix=0),
    "chunked_prefix": dict(kv=4_000, seqs=6, batched=96, prefix=600),
    "full_replicas": dict(kv=100_000, seqs=2, batched=4096, prefix=0),
    "full_then_idle": dict(kv=100_000, seqs=1, batched=4096, prefix=0, rate=4.0),
}


@pytest.mark.parametrize("router", ["round_robin", "least_loaded", "central"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_naive_reference(case, router):
    """The aggregate bookkeeping (running sums, block phases, finish heap, full-replica spans)
    gives the same schedule as touching every request every iteration."""
    c = CASES[case]
    rng = np.random.default_rng(7)
    n = 400
    prefix_kw = {}
    prompt = rng.integers(1, 300, n)
    if c["prefix"]:
        pid = rng.integers(-1, 4, n)
        ptok = np.where(pid >= 0, np.minimum(prompt, 50 + 20 * np.maximum(pid, 0)), 0)
        prefix_kw = dict(prefix_id=pid, prefix_tokens=ptok)
    wl = Workload(
        poisson_arrivals(c.get("rate", 40.0), n, rng), prompt, rng.integers(1, 120, n), **prefix_kw
    )
    f = linear(0.004, 2e-5, 3e-8)
    cfgs = [
        ReplicaConfig(
            f,
            c["kv"],
            max_num_seqs=c["seqs"],
            max_batched_tokens=c["batched"],
            block_tokens=16,
            prefix_cache_tokens=c["prefix"],
        )
        for _ in range(2)
    ]
    got = simulate(wl, cfgs, router=router)
    ref = reference(wl, cfgs, router)
    np.testing.assert_allclose(got.ttft_s, ref["ttft"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.e2e_s, ref["e2e"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.queue_s, ref["queue"], rtol=1e-9, atol=1e-9)
    assert got.num_preemptions == ref["preempt"]
    assert (got.prefix_lookups, got.prefix_hits) == (ref["lookups"], ref["hits"])
    assert got.num_iterations == ref["iterations"]
    if case == "preempting":
        assert got.num_preemptions > 0
    if case == "chunked_prefix":
        assert got.prefix_hits > 0


def test_single_request_timeline_is_exact():
    f = linear(0.01, 1e-4, 1e-6)
    wl = Workload([1.0], [100], [5])
    res = simulate(wl, [ReplicaConfig(f, 10_000)])
    t_prefill = f(100, 0, 0)
    decode = [f(0, 1, 100 + m) for m in range(1, 5)]
    assert res.ttft_s[0] == pytest.approx(t_prefill)
    assert res.e2e_s[0] == pytest.approx(t_prefill + sum(decode))
    assert res.tpot_s[0] == pytest.approx(sum(decode) / 4)
    assert res.num_iterations == 5
    assert res.mean_decode_batch == pytest.approx(4 / 5)
    assert res.queue_s[0] == 0.0


def test_chunked_prefill_splits_a_long_prompt():
    f = linear(0.01, 1e-4, 0.0)
    wl = Workload([0.0], [10_000], [3])
    res = simulate(wl, [ReplicaConfig(f, 20_000, max_batched_tokens=2048)])
    chunks = [2048] * 4 + [10_000 - 4 * 2048]
    assert res.num_iterations == len(chunks) + 2
    assert res.ttft_s[0] == pytest.approx(sum(f(c, 0, 0) for c in chunks))
    whole = simulate(wl, [ReplicaConfig(f, 20_000, max_batched_tokens=16_384)])
    assert whole.num_iterations == 3


def test_throughput_rises_with_max_num_seqs():
    wl = workload(3000, 200.0, 200, 100)
    tps = [
        simulate(wl, [ReplicaConfig(linear(), 10**6, max_num_seqs=s)]).output_tokens_per_s
        for s in (1, 8, 64)
    ]
    assert tps[0] < tps[1] < tps[2]
    assert tps[2] > 5 * tps[0]


def test_preemption_only_when_kv_is_short():
    wl = workload(500, 50.0, 300, 300)
    small = simulate(wl, [ReplicaConfig(linear(), 3_000, max_num_seqs=64)])
    large = simulate(wl, [ReplicaConfig(linear(), 10**6, max_num_seqs=64)])
    assert small.num_preemptions > 0
    assert large.num_preemptions == 0
    assert small.summary()["num_preemptions"] == small.num_preemptions


def test_speculative_decoding_lowers_tpot():
    wl = workload(400, 20.0, 200, 200)
    f = linear(0.02, 1e-5, 1e-7)
    base = simulate(wl, [ReplicaConfig(f, 10**6)])
    spec = SpecDecode(num_draft_tokens=4, acceptance_rate=0.7, draft_cost_fraction=0.05)
    fast = simulate(wl, [ReplicaConfig(f, 10**6, speculative=spec)])
    none = simulate(
        wl, [ReplicaConfig(f, 10**6, speculative=SpecDecode(4, 0.0, draft_cost_fraction=0.05))]
    )
    assert spec.tokens_per_step == pytest.approx((1 - 0.7**5) / 0.3)
    assert np.nanmean(fast.tpot_s) < 0.6 * np.nanmean(base.tpot_s)
    assert np.nanmean(none.tpot_s) > np.nanmean(base.tpot_s)  # drafts that never land cost


@pytest.mark.parametrize("max_num_seqs", [256, 1])  # 1: a full replica sums its iterations
def test_speculative_single_request_timeline(max_num_seqs):
    f = linear(0.01, 1e-4, 1e-6)
    spec = SpecDecode(num_draft_tokens=3, acceptance_rate=0.5, draft_cost_fraction=0.1)
    e = (1 - 0.5**4) / 0.5  # 1.875 tokens per step
    cfg = ReplicaConfig(f, 10**4, max_num_seqs=max_num_seqs, speculative=spec)
    res = simulate(Workload([0.0], [100], [10]), [cfg])
    steps = math.ceil(9 / e)  # 9 tokens after the first
    ctx = [int(100 + m * e) for m in range(1, steps + 1)]
    decode = sum(f(0, 4, c) + 3 * 0.1 * f(0, 1, c) for c in ctx)
    assert res.num_iterations == 1 + steps
    assert res.e2e_s[0] == pytest.approx(f(100, 0, 0) + decode)


def test_speculative_decoding_with_preemption_finishes():
    wl = workload(300, 40.0, 300, 300)
    spec = SpecDecode(num_draft_tokens=3, acceptance_rate=0.6)
    res = simulate(wl, [ReplicaConfig(linear(), 4_000, max_num_seqs=32, speculative=spec)])
    assert res.num_preemptions > 0
    assert np.all(np.isfinite(res.e2e_s))


def test_adapters_and_admission_delay():
    wl = workload(50, 5.0, 100, 20, adapter_id=np.arange(50) % 5)
    f = linear()
    base = simulate(wl, [ReplicaConfig(f, 10**5)])
    seen = []

    def extra(k):
        seen.append(k)
        return 0.001 * k

    slow = simulate(wl, [ReplicaConfig(f, 10**5, extra_iteration_time=extra)])
    assert max(seen) >= 2 and slow.e2e_s.mean() > base.e2e_s.mean()
    cold = simulate(wl, [ReplicaConfig(f, 10**5, admission_delay=lambda i, r, t: 0.5 * (i == 0))])
    assert cold.ttft_s[0] >= base.ttft_s[0] + 0.5  # plus waiting for the running iteration
    one = Workload([0.0], [100], [20])
    alone = simulate(one, [ReplicaConfig(f, 10**5)])
    loaded = simulate(one, [ReplicaConfig(f, 10**5, admission_delay=lambda i, r, t: 0.5)])
    assert loaded.ttft_s[0] == pytest.approx(alone.ttft_s[0] + 0.5)
    assert loaded.queue_s[0] == pytest.approx(0.5)


def test_a_negative_iteration_time_is_refused():
    ok = workload(5, 1.0, 10, 10)
    with pytest.raises(GigafleetError, match="iteration_time"):
        simulate(ok, [ReplicaConfig(lambda p, d, c: -1.0, 1000)])


def assert_runs_match_one_event_per_iteration(monkeypatch, wl, reps, router):
    """Simulate with steady runs off and on: the same replicas, iterations and preemptions,
    the times to floating-point rounding, and far fewer events with runs."""
    from gigafleet.sim.serving import scheduler

    results = []
    for steady in (False, True):
        monkeypatch.setattr(scheduler, "STEADY_RUNS", steady)
        results.append(simulate(wl, reps, router=router))
    one, runs = results
    np.testing.assert_array_equal(one.replica_index, runs.replica_index)
    for name in ("ttft_s", "e2e_s", "queue_s", "busy_s"):
        np.testing.assert_allclose(getattr(runs, name), getattr(one, name), rtol=1e-12, atol=1e-12)
    assert runs.num_iterations == one.num_iterations
    assert runs.num_preemptions == one.num_preemptions
    assert runs.num_events < 0.3 * one.num_events


@pytest.mark.parametrize("router", ["least_loaded", "round_robin", "central"])
@pytest.mark.parametrize("speculative", [False, True])
def test_steady_runs_give_the_schedule_of_one_event_per_iteration(monkeypatch, router, speculative):
    """Merging a steady batch's iterations into runs (cut when a request joins) moves no
    request: the same replicas and iterations, the times to floating-point rounding (a run
    adds its iterations' durations before adding them to the clock), and far fewer events."""
    if speculative and router == "least_loaded":
        # With drafts a step emits a fractional E tokens: loads booked per run or per
        # iteration differ in the last bits, enough to break a tie the other way.
        pytest.skip("least_loaded ties on fractional loads break on rounding")
    rng = np.random.default_rng(11)
    n = 1500
    wl = Workload(poisson_arrivals(6.0, n, rng), rng.integers(1, 500, n), rng.integers(1, 400, n))
    spec = SpecDecode(3, 0.6, draft_cost_fraction=0.1) if speculative else None
    f = linear(0.004, 2e-5, 3e-8)
    reps = [ReplicaConfig(f, 30_000, max_num_seqs=16, speculative=spec) for _ in range(3)]
    assert_runs_match_one_event_per_iteration(monkeypatch, wl, reps, router)


@pytest.mark.parametrize("router", ["least_loaded", "central"])
def test_runs_while_the_queue_waits_for_kv_give_the_same_schedule(monkeypatch, router):
    """A replica whose queue waits for KV blocks runs its batch to the next finish in one
    event (no arrival can change it): the same schedule as one event per iteration."""
    rng = np.random.default_rng(5)
    n = 600
    wl = Workload(
        poisson_arrivals(20.0, n, rng), rng.integers(100, 900, n), rng.integers(50, 600, n)
    )
    f = linear(0.004, 2e-5, 3e-8)
    reps = [ReplicaConfig(f, 6_000, max_num_seqs=64) for _ in range(2)]  # the KV binds first
    assert_runs_match_one_event_per_iteration(monkeypatch, wl, reps, router)


@pytest.mark.parametrize(
    ("rate", "kv_tokens", "max_seqs", "speculative"),
    [
        (50.0, 40_000, 256, False),  # the queue waits for KV: closed runs to each finish
        (50.0, 10**6, 8, False),  # full replicas
        (0.5, 10**6, 256, False),  # light load: runs up to the next join
        (50.0, 40_000, 256, True),  # drafts: fractional KV growth and contexts
    ],
)
def test_runs_timed_in_chunks_give_the_same_floats(rate, kv_tokens, max_seqs, speculative):
    """A replica with ``decode_times`` times its long runs in numpy chunks: every latency,
    busy time and count is the same float as with one scalar call per iteration."""
    from gigafleet.perf.inference import serving_replica

    rep = serving_replica("llama3.1-8b", "dgx-h100", engine="vllm")
    rng = np.random.default_rng(2)
    n = 300
    wl = Workload(
        poisson_arrivals(rate, n, rng), rng.integers(50, 2000, n), rng.integers(200, 3000, n)
    )
    spec = SpecDecode(3, 0.7, draft_cost_fraction=0.05) if speculative else None
    results = []
    for times in (None, rep.decode_times):
        cfg = ReplicaConfig(rep.iteration_time, kv_tokens, max_num_seqs=max_seqs,
                            speculative=spec, decode_times=times)  # fmt: skip
        results.append(simulate(wl, [cfg, cfg]))
    scalar, chunked = results
    for name in ("ttft_s", "tpot_s", "e2e_s", "queue_s", "busy_s", "replica_index"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(scalar, name))
    assert (chunked.num_iterations, chunked.num_preemptions, chunked.num_events) == (
        scalar.num_iterations, scalar.num_preemptions, scalar.num_events,
    )  # fmt: skip
