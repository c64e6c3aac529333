"""The request-level serving simulator: closed forms, a naive reference, behaviours, bad input."""

from __future__ import annotations

import heapq
import json
import math
from collections import OrderedDict, deque

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving import (
    KvTransfer,
    ReplicaConfig,
    Slo,
    SpecDecode,
    Workload,
    bursty_arrivals,
    diurnal_arrivals,
    erlang_c_wait_s,
    fixed_lengths,
    lognormal_lengths,
    poisson_arrivals,
    simulate,
    trace_workload,
)


def linear(a: float = 0.01, b: float = 1e-5, c: float = 1e-7):
    """A memory-bound iteration: fixed weight read, then per-token and per-context costs."""
    return lambda p, d, ctx: a + b * (p + d) + c * ctx


def workload(n: int, rate: float, prompt: int, output: int, seed: int = 0, **kw) -> Workload:
    rng = np.random.default_rng(seed)
    return Workload(
        poisson_arrivals(rate, n, rng), fixed_lengths(prompt, n), fixed_lengths(output, n), **kw
    )


# ---- closed forms: M/M/c -----------------------------------------------------------------


def fcfs_waits(arrival: np.ndarray, service: np.ndarray, c: int) -> np.ndarray:
    """Exact FCFS waiting times of a c-server queue (Kiefer-Wolfowitz recursion)."""
    free = [0.0] * c
    w = np.empty(len(arrival))
    for i, (a, s) in enumerate(zip(arrival.tolist(), service.tolist(), strict=True)):
        start = max(a, heapq.heappop(free))
        w[i] = start - a
        heapq.heappush(free, start + s)
    return w


def test_erlang_c_formula():
    # M/M/1: W_q = rho / (mu - lambda).
    assert erlang_c_wait_s(0.5, 1.0, 1) == pytest.approx(0.5 / 0.5)
    assert erlang_c_wait_s(0.9, 1.0, 1) == pytest.approx(0.9 / 0.1)
    # M/M/2 with a = 1: P_wait = 1/3, W_q = (1/3) / (2 - 1).
    assert erlang_c_wait_s(1.0, 1.0, 2) == pytest.approx(1.0 / 3.0)
    assert erlang_c_wait_s(1.0, 1.0, 1) == math.inf


@pytest.mark.parametrize("num_servers", [1, 4])
def test_central_router_is_an_mmc_queue(num_servers):
    """max_num_seqs=1, free prefill, a constant time per decode token and geometric output
    lengths: each replica is one server with (nearly) exponential service."""
    p = 0.05  # output_tokens ~ Geometric(p): service = (n - 1) * tok, mean 1 s
    tok = p / (1.0 - p)
    rho = 0.5
    lam = rho * num_servers
    n = 200_000
    rng = np.random.default_rng(0)
    arrival = poisson_arrivals(lam, n, rng)
    out = rng.geometric(p, n)
    wl = Workload(arrival, np.ones(n, dtype=int), out)
    reps = [
        ReplicaConfig(lambda pt, d, ctx: tok * d, 10**6, max_num_seqs=1) for _ in range(num_servers)
    ]
    res = simulate(wl, reps, router="central")
    # Exactly the FCFS queue on these samples...
    np.testing.assert_allclose(
        res.queue_s, fcfs_waits(arrival, (out - 1) * tok, num_servers), atol=1e-9
    )
    # ...and within a few percent of Erlang C. Geometric service has CV^2 = 1 / (1 - p), so
    # scale by (1 + CV^2) / 2 (Pollaczek-Khinchine for c = 1; Allen-Cunneen for c > 1).
    expected = erlang_c_wait_s(lam, 1.0, num_servers) * (1.0 + 1.0 / (1.0 - p)) / 2.0
    assert res.queue_s.mean() == pytest.approx(expected, rel=0.05)
    assert res.utilization.mean() == pytest.approx(rho, rel=0.03)


# ---- a naive reference: touches every request every iteration ------------------------------


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


# ---- behaviours -----------------------------------------------------------------------------


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


def test_prefix_caching_lowers_ttft_and_reports_hits():
    n = 200
    rng = np.random.default_rng(1)
    # Spaced arrivals: the shared 900-token system prompt is cached after the first request.
    kw = dict(prefix_id=np.zeros(n, dtype=int), prefix_tokens=np.full(n, 900))
    wl = Workload(np.arange(n) * 1.0, np.full(n, 1000), np.full(n, 10), **kw)
    f = linear(0.01, 1e-4, 0.0)
    cold = simulate(wl, [ReplicaConfig(f, 10**5)])
    warm = simulate(wl, [ReplicaConfig(f, 10**5, prefix_cache_tokens=4096)])
    assert warm.prefix_hit_rate == pytest.approx((n - 1) / n)
    assert cold.prefix_hit_rate == 0.0
    assert warm.ttft_s[1:].mean() == pytest.approx(f(100, 0, 0))
    assert warm.ttft_s.mean() < 0.5 * cold.ttft_s.mean()
    assert warm.summary()["prefix_hit_rate"] == warm.prefix_hit_rate
    del rng
    # A cache smaller than the prefix never hits.
    tiny = simulate(wl, [ReplicaConfig(f, 10**5, prefix_cache_tokens=512)])
    assert tiny.prefix_hits == 0


def test_disaggregation_adds_the_kv_transfer_to_ttft():
    f = linear(0.01, 1e-4, 1e-6)
    wl = Workload([0.0], [2000], [10])
    kv = KvTransfer(bytes_per_token=131072, bandwidth_bytes_per_s=50e9, latency_s=0.002)
    transfer = 2000 * 131072 / 50e9 + 0.002
    colocated = simulate(wl, [ReplicaConfig(f, 10**5)])
    split = simulate(
        wl,
        [ReplicaConfig(f, 10**5, role="prefill"), ReplicaConfig(f, 10**5, role="decode")],
        kv_transfer=kv,
    )
    assert split.ttft_s[0] == pytest.approx(colocated.ttft_s[0] + transfer)
    # The decode side then runs the same 9 decode iterations.
    assert split.e2e_s[0] - split.ttft_s[0] == pytest.approx(
        colocated.e2e_s[0] - colocated.ttft_s[0]
    )
    assert split.num_kv_transfers == 1
    assert split.replica_index[0] == 1


def test_disaggregation_under_load_keeps_prefill_out_of_decode():
    wl = workload(2000, 60.0, 1500, 150)
    f = linear(0.01, 2e-5, 1e-7)
    kv = KvTransfer(bytes_per_token=131072, bandwidth_bytes_per_s=50e9)
    res = simulate(
        wl,
        [ReplicaConfig(f, 10**6, role="prefill")] + [ReplicaConfig(f, 10**6, role="decode")] * 2,
        kv_transfer=kv,
        router="least_loaded",
    )
    assert res.num_kv_transfers == 2000
    assert set(res.replica_index.tolist()) == {1, 2}
    assert np.all(res.tpot_s > 0) and np.all(np.isfinite(res.e2e_s))


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


def test_energy_utilization_and_slo():
    wl = Workload([0.0, 10.0], [100, 100], [2, 2])
    f = lambda p, d, c: 1.0  # noqa: E731
    cfg = ReplicaConfig(f, 10**4, power_busy_w=700.0, power_idle_w=100.0)
    res = simulate(wl, [cfg], slo=Slo(ttft_s=0.5, tpot_s=2.0))
    # Each request: prefill 1 s (first token), one decode 1 s. Makespan 12 s, busy 4 s.
    assert res.makespan_s == pytest.approx(12.0)
    assert res.utilization[0] == pytest.approx(4.0 / 12.0)
    assert res.energy_j == pytest.approx(4 * 700.0 + 8 * 100.0)
    assert res.energy_j_per_output_token == pytest.approx(res.energy_j / 4)
    assert res.slo_attainment == 0.0 and res.goodput_requests_per_s == 0.0
    ok = simulate(wl, [cfg], slo=Slo(ttft_s=1.5, tpot_s=2.0))
    assert ok.slo_attainment == 1.0
    assert ok.summary()["goodput_requests_per_s"] == pytest.approx(2 / 12.0)


def test_trace_file_is_valid_chrome_json(tmp_path):
    path = tmp_path / "trace.json"
    wl = workload(30, 20.0, 100, 20)
    simulate(wl, [ReplicaConfig(linear(), 10**5)] * 2, trace_path=path)
    doc = json.loads(path.read_text())
    phases = [e["ph"] for e in doc["traceEvents"]]
    assert phases.count("X") > 10
    assert phases.count("b") == phases.count("e") == 3 * 30
    assert all(e["dur"] >= 0 for e in doc["traceEvents"] if e["ph"] == "X")
    assert not list(tmp_path.glob(".trace-*"))  # the temp file was renamed


# ---- workloads ------------------------------------------------------------------------------


def test_arrival_generators():
    rng = np.random.default_rng(3)
    t = poisson_arrivals(10.0, 50_000, rng)
    assert np.all(np.diff(t) >= 0) and 50_000 / t[-1] == pytest.approx(10.0, rel=0.03)
    b = bursty_arrivals(10.0, 50_000, 3.0, rng)
    gaps = np.diff(b)
    assert gaps.std() / gaps.mean() == pytest.approx(3.0, rel=0.1)
    d = diurnal_arrivals(10.0, 100_000, 4.0, 1000.0, rng)
    assert len(d) == 100_000 and np.all(np.diff(d) >= 0)
    phase = np.mod(d, 1000.0)
    peak = np.sum((phase > 200) & (phase < 300))  # around sin = 1
    trough = np.sum((phase > 700) & (phase < 800))  # around sin = -1
    assert peak / trough == pytest.approx(4.0 * 0.97, rel=0.1)
    x = lognormal_lengths(500.0, 0.8, 100_000, rng)
    assert x.min() >= 1 and x.mean() == pytest.approx(500.0, rel=0.03)
    assert lognormal_lengths(500.0, 2.0, 1000, rng, max_tokens=800).max() <= 800


def test_trace_workload_roundtrip_and_errors(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(
        "arrival_s,prompt_tokens,output_tokens,prefix_id,prefix_tokens,note\n"
        "0.5,100,10,1,50,x\n0.1,200,20,-1,0,y\n"
    )
    wl = trace_workload(good)
    assert wl.num_requests == 2 and wl.prompt_tokens.tolist() == [100, 200]
    res = simulate(wl, [ReplicaConfig(linear(), 10**4, prefix_cache_tokens=100)])
    assert res.e2e_s.shape == (2,)

    missing = tmp_path / "missing.csv"
    missing.write_text("arrival_s,prompt_token,output_tokens\n0,1,1\n")
    with pytest.raises(
        GigafleetError, match="missing.csv.*prompt_tokens.*did you mean 'prompt_token'"
    ):
        trace_workload(missing)
    bad = tmp_path / "bad.csv"
    bad.write_text("arrival_s,prompt_tokens,output_tokens\n0,abc,1\n")
    with pytest.raises(GigafleetError, match="bad.csv: prompt_tokens: row 2"):
        trace_workload(bad)
    neg = tmp_path / "neg.csv"
    neg.write_text("arrival_s,prompt_tokens,output_tokens\n0,10,-3\n")
    with pytest.raises(GigafleetError, match="neg.csv: output_tokens"):
        trace_workload(neg)
    with pytest.raises(GigafleetError, match="nope.csv"):
        trace_workload(tmp_path / "nope.csv")


# ---- bad input ------------------------------------------------------------------------------


def test_bad_inputs_raise_gigafleet_error():
    f = linear()
    ok = workload(5, 1.0, 10, 10)
    with pytest.raises(GigafleetError, match="no requests"):
        Workload([], [], [])
    with pytest.raises(GigafleetError, match="prompt_tokens"):
        Workload([0.0], [-5], [1])
    with pytest.raises(GigafleetError, match="output_tokens"):
        Workload([0.0], [5], [0])
    with pytest.raises(GigafleetError, match="prefix_tokens"):
        Workload([0.0], [5], [1], prefix_id=[0], prefix_tokens=[6])
    with pytest.raises(GigafleetError, match="rate_per_s"):
        poisson_arrivals(-1.0, 10, np.random.default_rng())
    with pytest.raises(GigafleetError, match="replicas"):
        simulate(ok, [])
    with pytest.raises(GigafleetError, match="router.*round_robin"):
        simulate(ok, [ReplicaConfig(f, 1000)], router="round-robin")
    with pytest.raises(GigafleetError, match="decode"):
        simulate(
            ok,
            [ReplicaConfig(f, 1000, role="prefill")],
            kv_transfer=KvTransfer(1.0, 1e9),
        )
    with pytest.raises(GigafleetError, match="kv_transfer"):
        simulate(
            ok, [ReplicaConfig(f, 1000, role="prefill"), ReplicaConfig(f, 1000, role="decode")]
        )
    with pytest.raises(GigafleetError, match="role.*did you mean 'decode'"):
        ReplicaConfig(f, 1000, role="decoder")
    with pytest.raises(GigafleetError, match="max_num_seqs"):
        ReplicaConfig(f, 1000, max_num_seqs=0)
    with pytest.raises(GigafleetError, match="kv_capacity_tokens"):
        simulate(ok, [ReplicaConfig(f, 16)])  # 20 tokens cannot fit in 16
    with pytest.raises(GigafleetError, match="acceptance_rate"):
        SpecDecode(2, 1.5)
    with pytest.raises(GigafleetError, match="iteration_time"):
        simulate(ok, [ReplicaConfig(lambda p, d, c: -1.0, 1000)])
