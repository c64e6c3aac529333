"""Request-level LLM serving simulator: continuous batching, chunked prefill, paged KV cache.

The simulator does not know the model. Each replica brings a plain callable
``iteration_time(prefill_tokens, decode_tokens, decode_context_tokens) -> seconds`` (from the
roofline model in :mod:`gigafleet.perf.inference`, or a closed form in tests) and its KV-cache
capacity in tokens. Requests are then scheduled as vLLM does (Kwon et al., SOSP'23, "Efficient
Memory Management for LLM Serving with PagedAttention"; Orca, Yu et al., OSDI'22):

* **Continuous batching.** A replica runs iterations back to back while it has work. At the
  start of iteration ``j`` it (1) grows the KV cache of every decoding sequence by one token,
  preempting the most recently admitted sequence while the blocks do not fit; (2) if nothing
  was preempted, admits waiting requests first-come first-served while ``max_num_seqs`` and
  the free KV blocks allow (a request reserves ``ceil((prompt + generated) / block_tokens)``
  blocks); (3) fills the token budget ``max_batched_tokens - D`` with prefill chunks in
  admission order (chunked prefill, Agrawal et al., OSDI'24, Sarathi-Serve). The iteration
  lasts ``iteration_time(P, D, C)`` (+ ``extra_iteration_time(adapters)``), with ``P`` prefill
  tokens, ``D`` decoding sequences and ``C`` the sum of their contexts.
* **Tokens.** The iteration that finishes a request's prefill emits its first token
  (``TTFT = end of that iteration - arrival``); every later iteration emits one more, so a
  request joining decode at iteration ``j0`` with ``g`` tokens finishes at iteration
  ``j0 + (output_tokens - g)``, and its context at iteration ``j`` is ``p0 + (j - j0)``
  (``p0`` the tokens it prefilled). ``TPOT = (finish - first token) / (output_tokens - 1)``.
* **Preemption by recompute.** A preempted sequence frees its blocks, goes back to the head
  of the waiting queue and later prefills ``prompt + generated`` tokens again (vLLM's default
  for single-sequence requests).
* **Prefix caching.** Each replica keeps an LRU of prefix ids up to ``prefix_cache_tokens``
  (inserted when a request with that prefix finishes its prefill); a request whose prefix is
  cached skips ``min(prefix_tokens, context - 1)`` prefill tokens. The cache is a separate
  pool: a hit saves compute, and the request still reserves its whole context.
* **Speculative decoding** (Leviathan et al., ICML'23, eq. 1): with ``k`` draft tokens of
  acceptance rate ``a``, a verification step emits on average ``E = (1 - a^(k+1)) / (1 - a)``
  tokens; we emit ``E`` deterministically. The step costs ``iteration_time(P, D (k+1), C)`` plus
  ``k * draft_cost_fraction * iteration_time(0, D, C)`` for the drafts.
* **Disaggregation** (DistServe, Zhong et al., OSDI'24; Splitwise, Patel et al., ISCA'24):
  with ``kv_transfer``, requests prefill on "prefill" replicas; their KV then moves in
  ``prompt_tokens * bytes_per_token / bandwidth + latency`` seconds to a "decode" replica,
  which returns the first token when the KV has arrived (so the transfer counts in TTFT).
* **Routers.** ``round_robin``; ``least_loaded`` (fewest outstanding tokens: prompt and output
  tokens routed to a replica and not yet processed); ``central`` (one FIFO queue; a request is
  dispatched when a replica has fewer than ``max_num_seqs`` requests: with ``max_num_seqs=1``
  and exponential service this is the M/M/c queue, checked against :func:`erlang_c_wait_s`).

Cost. No iteration touches every running request: a replica keeps ``D``, the sum
``S = sum(p0 - j0)`` (so ``C = S + D j``), a count of sequences per block phase
``(p0 - j0) mod block_tokens`` (a sequence needs a new block at iteration ``j`` exactly when
its phase is ``(1 - j) mod block_tokens``), and a heap of finishing iterations. An iteration
costs O(log n) plus O(1) per request that starts, finishes or is preempted. When a replica is
full (``max_num_seqs`` running, none prefilling) nothing can change until its next request
finishes, so those iterations are summed in one event.

Simplified: transfers do not contend for bandwidth; the prefix cache is per replica and
separate from the KV pool; with speculative decoding the KV is counted in fractional blocks
(``E / block_tokens`` per sequence per iteration) and ``E`` is deterministic; routing ignores
prefix locality; the power is two levels (busy, idle) per replica.
"""

from __future__ import annotations

import bisect
import csv
import heapq
import json
import math
import os
import tempfile
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gigafleet.enums import ROUTERS
from gigafleet.errors import GigafleetError, suggest, unknown_name
from gigafleet.sim.engine import Engine

ROLES = ("both", "prefill", "decode")
#: Request spans written to a trace (the first ones by arrival); keeps big runs' traces small.
TRACE_MAX_REQUESTS = 10_000
#: Iteration events written to a trace (the first ones); a full-replica run of iterations
#: summed into one event counts once.
TRACE_MAX_ITERATIONS = 100_000

# Event kinds (small ints: the dispatch table is a dict lookup per event).
_ARRIVAL, _ITER_END, _READY, _KV_DONE = range(4)

IterationTime = Callable[[int, int, int], float]


# ---- configuration ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecDecode:
    """Speculative decoding: ``num_draft_tokens`` drafts per step, each accepted with
    probability ``acceptance_rate``; a draft step costs ``draft_cost_fraction`` of a decode
    iteration of the target model."""

    num_draft_tokens: int
    acceptance_rate: float
    draft_cost_fraction: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.num_draft_tokens, int | np.integer) or self.num_draft_tokens < 1:
            raise GigafleetError(
                f"must be a positive integer, got {self.num_draft_tokens!r}",
                field="speculative.num_draft_tokens",
            )
        if not 0.0 <= self.acceptance_rate <= 1.0:
            raise GigafleetError(
                f"must be in [0, 1], got {self.acceptance_rate!r}",
                field="speculative.acceptance_rate",
            )
        if not self.draft_cost_fraction >= 0.0:
            raise GigafleetError(
                f"must be >= 0, got {self.draft_cost_fraction!r}",
                field="speculative.draft_cost_fraction",
            )

    @property
    def tokens_per_step(self) -> float:
        """Mean tokens per verification step, ``E = (1 - a^(k+1)) / (1 - a)`` (Leviathan et al.
        2023, eq. 1); ``k + 1`` when every draft is accepted."""
        a, k = self.acceptance_rate, self.num_draft_tokens
        return float(k + 1) if a >= 1.0 else (1.0 - a ** (k + 1)) / (1.0 - a)


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """One serving replica: its iteration-time model, KV capacity and scheduler limits.

    Attributes:
        iteration_time: ``f(prefill_tokens, decode_tokens, decode_context_tokens) -> s``.
        kv_capacity_tokens: KV-cache capacity of the replica, tokens.
        max_num_seqs: Most sequences running at once (vLLM ``max_num_seqs``).
        max_batched_tokens: Token budget of one iteration (prefill chunks + decode tokens).
        block_tokens: Tokens per KV block (vLLM ``block_size``).
        prefix_cache_tokens: Capacity of the LRU prefix cache, tokens (0: off).
        role: ``"both"``, or ``"prefill"`` / ``"decode"`` with disaggregation.
        power_busy_w: Replica power while it runs iterations, watts.
        power_idle_w: Replica power while idle, watts.
        extra_iteration_time: ``g(num_distinct_adapters) -> s`` added to each iteration
            (per-user LoRA adapters in the batch).
        admission_delay: ``h(request_index, replica_index, now_s) -> s`` before a request
            routed to this replica may start prefill (e.g. a cold adapter load).
        speculative: Speculative decoding settings, or None.
    """

    iteration_time: IterationTime
    kv_capacity_tokens: int
    max_num_seqs: int = 256
    max_batched_tokens: int = 8192
    block_tokens: int = 16
    prefix_cache_tokens: int = 0
    role: str = "both"
    power_busy_w: float = 0.0
    power_idle_w: float = 0.0
    extra_iteration_time: Callable[[int], float] | None = None
    admission_delay: Callable[[int, int, float], float] | None = None
    speculative: SpecDecode | None = None

    def __post_init__(self) -> None:
        if not callable(self.iteration_time):
            raise GigafleetError("must be callable(P, D, C) -> seconds", field="iteration_time")
        for name in ("max_num_seqs", "max_batched_tokens", "block_tokens"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or v < 1:
                raise GigafleetError(f"must be a positive integer, got {v!r}", field=name)
        v = self.kv_capacity_tokens
        if not isinstance(v, int | np.integer) or v < self.block_tokens:
            raise GigafleetError(
                f"must be an integer >= block_tokens ({self.block_tokens}), got {v!r}",
                field="kv_capacity_tokens",
            )
        if (
            not isinstance(self.prefix_cache_tokens, int | np.integer)
            or self.prefix_cache_tokens < 0
        ):
            raise GigafleetError(
                f"must be a non-negative integer, got {self.prefix_cache_tokens!r}",
                field="prefix_cache_tokens",
            )
        if self.role not in ROLES:
            raise unknown_name("replica role", str(self.role), ROLES, field="role")
        for name in ("power_busy_w", "power_idle_w"):
            if not getattr(self, name) >= 0.0:
                raise GigafleetError(f"must be >= 0, got {getattr(self, name)!r}", field=name)
        for name in ("extra_iteration_time", "admission_delay"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise GigafleetError("must be callable or None", field=name)


@dataclass(frozen=True, slots=True)
class KvTransfer:
    """KV-cache transfer from a prefill to a decode replica:
    ``t = tokens * bytes_per_token / bandwidth_bytes_per_s + latency_s``."""

    bytes_per_token: float
    bandwidth_bytes_per_s: float
    latency_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.bytes_per_token >= 0.0:
            raise GigafleetError(
                f"must be >= 0, got {self.bytes_per_token!r}", field="kv_transfer.bytes_per_token"
            )
        if not self.bandwidth_bytes_per_s > 0.0:
            raise GigafleetError(
                f"must be > 0, got {self.bandwidth_bytes_per_s!r}",
                field="kv_transfer.bandwidth_bytes_per_s",
            )
        if not self.latency_s >= 0.0:
            raise GigafleetError(
                f"must be >= 0, got {self.latency_s!r}", field="kv_transfer.latency_s"
            )

    def seconds(self, tokens: int) -> float:
        return tokens * self.bytes_per_token / self.bandwidth_bytes_per_s + self.latency_s


@dataclass(frozen=True, slots=True)
class Slo:
    """Service-level objective: a request meets it when ``TTFT <= ttft_s`` and
    ``TPOT <= tpot_s`` (a one-token request has no TPOT and meets the second part)."""

    ttft_s: float
    tpot_s: float

    def __post_init__(self) -> None:
        for name in ("ttft_s", "tpot_s"):
            if not getattr(self, name) > 0.0:
                raise GigafleetError(
                    f"must be > 0, got {getattr(self, name)!r}", field=f"slo.{name}"
                )


# ---- workloads ---------------------------------------------------------------------------


def _int_array(values: Any, name: str, n: int | None, *, minimum: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise GigafleetError(f"must be a 1-D array, got shape {arr.shape}", field=name)
    if n is not None and len(arr) != n:
        raise GigafleetError(f"has {len(arr)} values, expected {n} (one per request)", field=name)
    if arr.dtype.kind not in "iuf" and len(arr):
        raise GigafleetError(f"must be numbers, got dtype {arr.dtype}", field=name)
    if (
        arr.dtype.kind == "f"
        and len(arr)
        and (not np.all(np.isfinite(arr)) or np.any(arr != np.floor(arr)))
    ):
        raise GigafleetError("must be whole numbers", field=name)
    arr = arr.astype(np.int64)
    if len(arr) and arr.min() < minimum:
        i = int(np.argmin(arr))
        raise GigafleetError(f"must be >= {minimum}; request {i} has {int(arr[i])}", field=name)
    return arr


@dataclass(frozen=True, slots=True)
class Workload:
    """All requests up front, as numpy arrays of one value per request.

    Attributes:
        arrival_s: Arrival times, seconds (any order).
        prompt_tokens: Prompt lengths (>= 1).
        output_tokens: Output lengths (>= 1, the first token included).
        user_id: Optional user of each request (passed through, e.g. to ``admission_delay``).
        adapter_id: Optional adapter of each request (-1: the base model).
        prefix_id: Optional shared-prefix id of each request (-1: none).
        prefix_tokens: Optional length of that shared prefix (<= prompt_tokens).
    """

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    user_id: np.ndarray | None = None
    adapter_id: np.ndarray | None = None
    prefix_id: np.ndarray | None = None
    prefix_tokens: np.ndarray | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.arrival_s, dtype=float)
        if arr.ndim != 1 or len(arr) == 0:
            raise GigafleetError("the workload has no requests", field="arrival_s")
        if not np.all(np.isfinite(arr)) or arr.min() < 0:
            raise GigafleetError("must be finite and >= 0", field="arrival_s")
        n = len(arr)
        object.__setattr__(self, "arrival_s", arr)
        object.__setattr__(
            self, "prompt_tokens", _int_array(self.prompt_tokens, "prompt_tokens", n, minimum=1)
        )
        object.__setattr__(
            self, "output_tokens", _int_array(self.output_tokens, "output_tokens", n, minimum=1)
        )
        for name in ("user_id", "adapter_id", "prefix_id"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _int_array(getattr(self, name), name, n, minimum=-1))
        if self.prefix_tokens is not None:
            pt = _int_array(self.prefix_tokens, "prefix_tokens", n, minimum=0)
            bad = np.nonzero(pt > self.prompt_tokens)[0]
            if len(bad):
                i = int(bad[0])
                raise GigafleetError(
                    f"must be <= prompt_tokens; request {i} has {int(pt[i])} > "
                    f"{int(self.prompt_tokens[i])}",
                    field="prefix_tokens",
                )
            object.__setattr__(self, "prefix_tokens", pt)
        if (self.prefix_id is None) != (self.prefix_tokens is None):
            raise GigafleetError(
                "prefix_id and prefix_tokens go together: give both or neither",
                field="prefix_tokens" if self.prefix_tokens is None else "prefix_id",
            )

    @property
    def num_requests(self) -> int:
        return len(self.arrival_s)


def _check_rate(rate: float, name: str) -> None:
    if not (isinstance(rate, int | float | np.number) and math.isfinite(rate) and rate > 0):
        raise GigafleetError(f"must be a positive number, got {rate!r}", field=name)


def _check_n(n: int) -> None:
    if not isinstance(n, int | np.integer) or n < 1:
        raise GigafleetError(f"must be a positive integer, got {n!r}", field="num_requests")


def poisson_arrivals(rate_per_s: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` arrival times of a Poisson process: exponential gaps of mean ``1 / rate_per_s``."""
    _check_rate(rate_per_s, "rate_per_s")
    _check_n(n)
    return np.cumsum(rng.exponential(1.0 / rate_per_s, size=n))


def bursty_arrivals(rate_per_s: float, n: int, cv: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` arrivals with gamma-distributed gaps of mean ``1 / rate_per_s`` and coefficient of
    variation ``cv``: shape ``1 / cv^2``, scale ``cv^2 / rate`` (``cv = 1`` is Poisson; larger
    is burstier)."""
    _check_rate(rate_per_s, "rate_per_s")
    _check_rate(cv, "cv")
    _check_n(n)
    shape = 1.0 / (cv * cv)
    return np.cumsum(rng.gamma(shape, 1.0 / (rate_per_s * shape), size=n))


def diurnal_arrivals(
    mean_rate_per_s: float,
    n: int,
    peak_to_trough: float,
    period_s: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n`` arrivals of a non-homogeneous Poisson process with rate
    ``lambda(t) = mean (1 + A sin(2 pi t / period_s))``, ``A = (r - 1) / (r + 1)`` so that
    peak / trough is ``r = peak_to_trough``; sampled by thinning (Lewis and Shedler 1979):
    candidates at ``lambda_max = mean (1 + A)``, each kept with probability
    ``lambda(t) / lambda_max``."""
    _check_rate(mean_rate_per_s, "mean_rate_per_s")
    _check_rate(period_s, "period_s")
    _check_n(n)
    if not (math.isfinite(peak_to_trough) and peak_to_trough >= 1.0):
        raise GigafleetError(f"must be >= 1, got {peak_to_trough!r}", field="peak_to_trough")
    amp = (peak_to_trough - 1.0) / (peak_to_trough + 1.0)
    lam_max = mean_rate_per_s * (1.0 + amp)
    out: list[np.ndarray] = []
    have, t0 = 0, 0.0
    while have < n:
        m = int((n - have) * (1.0 + amp) * 1.2) + 16
        t = t0 + np.cumsum(rng.exponential(1.0 / lam_max, size=m))
        t0 = float(t[-1])
        keep = rng.random(m) * (1.0 + amp) < 1.0 + amp * np.sin(2.0 * math.pi * t / period_s)
        out.append(t[keep])
        have += int(keep.sum())
    return np.concatenate(out)[:n]


def fixed_lengths(tokens: int, n: int) -> np.ndarray:
    """``n`` copies of ``tokens``."""
    _check_n(n)
    if not isinstance(tokens, int | np.integer) or tokens < 1:
        raise GigafleetError(f"must be a positive integer, got {tokens!r}", field="tokens")
    return np.full(n, int(tokens), dtype=np.int64)


def lognormal_lengths(
    mean_tokens: float, sigma: float, n: int, rng: np.random.Generator, *, max_tokens: int = 32768
) -> np.ndarray:
    """``n`` lognormal lengths of mean ``mean_tokens`` (``mu = ln(mean) - sigma^2 / 2``), rounded
    and clipped to ``[1, max_tokens]`` (clipping lowers the mean slightly for large sigma)."""
    _check_rate(mean_tokens, "mean_tokens")
    _check_n(n)
    if not (math.isfinite(sigma) and sigma >= 0):
        raise GigafleetError(f"must be >= 0, got {sigma!r}", field="sigma")
    if not isinstance(max_tokens, int | np.integer) or max_tokens < 1:
        raise GigafleetError(f"must be a positive integer, got {max_tokens!r}", field="max_tokens")
    x = rng.lognormal(math.log(mean_tokens) - 0.5 * sigma * sigma, sigma, size=n)
    return np.clip(np.rint(x), 1, max_tokens).astype(np.int64)


_TRACE_REQUIRED = ("arrival_s", "prompt_tokens", "output_tokens")
_TRACE_OPTIONAL = ("user_id", "adapter_id", "prefix_id", "prefix_tokens")


def trace_workload(csv_path: str | os.PathLike[str]) -> Workload:
    """Read a request trace: a CSV with columns ``arrival_s, prompt_tokens, output_tokens`` and
    optionally ``user_id, adapter_id, prefix_id, prefix_tokens`` (other columns are ignored).

    Raises:
        GigafleetError: The file is missing or empty, a column is missing, or a value is bad;
            the message names the file, the column and the row.
    """
    path = os.fspath(csv_path)
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            rows = [r for r in reader if r and any(c.strip() for c in r)]
    except OSError as e:
        raise GigafleetError(f"cannot read the trace: {e.strerror or e}", file=path) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise GigafleetError(f"not a readable CSV trace: {e}", file=path) from None
    if not header:
        raise GigafleetError("the trace is empty (no header row)", file=path)
    cols: dict[str, np.ndarray] = {}
    for name in _TRACE_REQUIRED + _TRACE_OPTIONAL:
        if name not in header:
            if name in _TRACE_REQUIRED:
                hint = suggest(name, header)
                msg = f"missing column {name!r}"
                if hint:
                    msg += f"; did you mean {', '.join(repr(h) for h in hint)}?"
                msg += f" Required: {', '.join(_TRACE_REQUIRED)}; optional: {', '.join(_TRACE_OPTIONAL)}"
                raise GigafleetError(msg, file=path, field=name, allowed=_TRACE_REQUIRED)
            continue
        k = header.index(name)
        values = []
        for i, row in enumerate(rows):
            cell = row[k].strip() if k < len(row) else ""
            try:
                values.append(float(cell))
            except ValueError:
                raise GigafleetError(
                    f"row {i + 2}: {cell!r} is not a number", file=path, field=name
                ) from None
        cols[name] = np.asarray(values, dtype=float)
    if not rows:
        raise GigafleetError("the trace has no requests", file=path)
    try:
        return Workload(
            arrival_s=cols["arrival_s"],
            prompt_tokens=cols["prompt_tokens"],
            output_tokens=cols["output_tokens"],
            **{k: cols.get(k) for k in _TRACE_OPTIONAL},
        )
    except GigafleetError as e:
        raise GigafleetError(str(e), file=path, field=e.field, allowed=e.allowed) from None


def erlang_c_wait_s(
    arrival_rate_per_s: float, service_rate_per_s: float, num_servers: int
) -> float:
    """Mean waiting time in queue of the M/M/c queue (Erlang C; Kleinrock, Queueing Systems
    Vol. 1, 1975, the M/M/m queue):

        a = lambda / mu,  rho = a / c,
        P_wait = (a^c / c!) / (1 - rho) / (sum_{k<c} a^k / k! + (a^c / c!) / (1 - rho)),
        W_q = P_wait / (c mu - lambda).

    For ``c = 1`` this is ``rho / (mu - lambda)``. Infinite when ``rho >= 1``.
    """
    lam, mu, c = float(arrival_rate_per_s), float(service_rate_per_s), int(num_servers)
    if lam <= 0 or mu <= 0 or c < 1:
        raise GigafleetError("rates must be > 0 and num_servers >= 1", field="erlang_c")
    a = lam / mu
    rho = a / c
    if rho >= 1.0:
        return math.inf
    term, total = 1.0, 0.0  # a^k / k!, accumulated iteratively to avoid big factorials
    for k in range(c):
        total += term
        term *= a / (k + 1)
    top = term / (1.0 - rho)
    return top / (total + top) / (c * mu - lam)


# ---- results -----------------------------------------------------------------------------


def _stats(x: np.ndarray, name: str, out: dict[str, float]) -> None:
    x = x[~np.isnan(x)]
    if len(x) == 0:
        for s in ("mean", "p50", "p90", "p99"):
            out[f"{name}_{s}_s"] = math.nan
        return
    out[f"{name}_mean_s"] = float(x.mean())
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    out[f"{name}_p50_s"], out[f"{name}_p90_s"], out[f"{name}_p99_s"] = (
        float(p50),
        float(p90),
        float(p99),
    )


@dataclass
class ServingResult:
    """What :func:`simulate` measured. Per-request arrays are in workload order; per-replica
    arrays in ``replicas`` order. Rates are over the makespan (first arrival to last finish).
    """

    ttft_s: np.ndarray
    tpot_s: np.ndarray  # NaN for one-token outputs
    e2e_s: np.ndarray
    queue_s: np.ndarray  # arrival to first admission (start of prefill) on a replica
    replica_index: np.ndarray  # replica that finished the request
    makespan_s: float
    num_output_tokens: int
    busy_s: np.ndarray
    utilization: np.ndarray
    energy_j: float
    num_preemptions: int
    prefix_lookups: int
    prefix_hits: int
    num_kv_transfers: int
    num_events: int
    num_iterations: int
    num_decode_tokens: float  # tokens emitted by decode iterations (E per step with drafts)
    mean_decode_batch: float  # decoding sequences per iteration
    slo: Slo | None = None
    slo_met: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_requests(self) -> int:
        return len(self.ttft_s)

    @property
    def prefix_hit_rate(self) -> float:
        return self.prefix_hits / self.prefix_lookups if self.prefix_lookups else 0.0

    def _rate(self, x: float) -> float:
        return x / self.makespan_s if self.makespan_s > 0 else math.nan

    @property
    def output_tokens_per_s(self) -> float:
        return self._rate(self.num_output_tokens)

    @property
    def requests_per_s(self) -> float:
        return self._rate(self.num_requests)

    @property
    def goodput_requests_per_s(self) -> float:
        """Requests per second that meet the SLO (all requests when there is no SLO)."""
        n = self.num_requests if self.slo_met is None else int(self.slo_met.sum())
        return self._rate(n)

    @property
    def slo_attainment(self) -> float:
        return 1.0 if self.slo_met is None else float(self.slo_met.mean())

    @property
    def energy_j_per_output_token(self) -> float:
        return self.energy_j / self.num_output_tokens

    def summary(self) -> dict[str, float]:
        """Plain numbers: means and percentiles, rates, utilization, energy, counters."""
        out: dict[str, float] = {"num_requests": float(self.num_requests)}
        for name in ("ttft", "tpot", "e2e", "queue"):
            _stats(getattr(self, f"{name}_s"), name, out)
        out |= {
            "makespan_s": self.makespan_s,
            "output_tokens_per_s": self.output_tokens_per_s,
            "requests_per_s": self.requests_per_s,
            "goodput_requests_per_s": self.goodput_requests_per_s,
            "slo_attainment": self.slo_attainment,
            "utilization_mean": float(self.utilization.mean()),
            "energy_j": self.energy_j,
            "energy_j_per_output_token": self.energy_j_per_output_token,
            "num_preemptions": float(self.num_preemptions),
            "prefix_hit_rate": self.prefix_hit_rate,
            "num_kv_transfers": float(self.num_kv_transfers),
            "num_events": float(self.num_events),
            "num_iterations": float(self.num_iterations),
            "mean_decode_batch": self.mean_decode_batch,
        }
        return out


# ---- the simulator -------------------------------------------------------------------------


class _Rep:
    """Mutable state of one replica (slotted: attribute access in the hot loop)."""

    __slots__ = (
        "index",
        "role",
        "f",
        "extra",
        "delay",
        "spec",
        "k1",
        "draft",
        "E",
        "B",
        "cap",
        "max_seqs",
        "max_batched",
        "pfx_cap",
        "lru",
        "lru_tokens",
        "waiting",
        "prefilling",
        "stack",
        "fheap",
        "phase",
        "adapters",
        "D",
        "S",
        "blocks",
        "num_running",
        "assigned",
        "load",
        "it",
        "busy",
        "t_start",
        "P",
        "D_it",
        "span",
        "span_ends",
        "done",
        "busy_s",
        "num_iterations",
        "decode_tokens",
        "decode_seqs",
        "pools",
        "is_prefill_only",
    )

    def __init__(self, index: int, cfg: ReplicaConfig) -> None:
        self.index = index
        self.role = cfg.role
        self.is_prefill_only = cfg.role == "prefill"
        self.f = cfg.iteration_time
        self.extra = cfg.extra_iteration_time
        self.delay = cfg.admission_delay
        sp = cfg.speculative
        self.spec = sp is not None
        self.k1 = sp.num_draft_tokens + 1 if sp else 1
        self.draft = sp.num_draft_tokens * sp.draft_cost_fraction if sp else 0.0
        # Integer 1 without speculation keeps contexts and block counts exact integers.
        self.E = sp.tokens_per_step if sp else 1
        self.B = int(cfg.block_tokens)
        self.cap = int(cfg.kv_capacity_tokens) // self.B
        self.max_seqs = int(cfg.max_num_seqs)
        self.max_batched = int(cfg.max_batched_tokens)
        self.pfx_cap = int(cfg.prefix_cache_tokens)
        self.lru: OrderedDict[int, int] = OrderedDict()
        self.lru_tokens = 0
        self.waiting: deque[int] = deque()
        self.prefilling: deque[int] = deque()
        self.stack: list[tuple[int, int]] = []  # (request, generation) in admission order
        self.fheap: list[tuple[int, int, int]] = []  # (finish iteration, request, generation)
        self.phase = [0] * self.B
        self.adapters: dict[int, int] = {}
        self.D = 0
        self.S = 0
        self.blocks = 0
        self.num_running = 0
        self.assigned = 0
        self.load = 0.0
        self.it = 0
        self.busy = False
        self.t_start = 0.0
        self.P = 0
        self.D_it = 0
        self.span = 1
        self.span_ends: list[float] | None = None
        self.done: list[int] | None = None
        self.busy_s = 0.0
        self.num_iterations = 0
        self.decode_tokens = 0.0
        self.decode_seqs = 0
        self.pools: list[_Pool] = []


class _Pool:
    """Replicas that take one stage (prefill or decode) of a request, with their router."""

    __slots__ = ("reps", "router", "rr", "queue")

    def __init__(self, reps: list[_Rep], router: str) -> None:
        self.reps = reps
        self.router = router
        self.rr = 0
        self.queue: deque[int] = deque()


def _free_slots(r: _Rep) -> int:
    return r.max_seqs - r.assigned


class _Sim:
    """One simulation run: per-request state in plain lists indexed by request."""

    def __init__(
        self,
        wl: Workload,
        reps: list[_Rep],
        entry: _Pool,
        decode: _Pool | None,
        kv: KvTransfer | None,
        trace: bool,
    ) -> None:
        n = wl.num_requests
        self.n = n
        self.arrival = wl.arrival_s.tolist()
        self.prompt = wl.prompt_tokens.tolist()
        self.out = wl.output_tokens.tolist()
        self.adapter = wl.adapter_id.tolist() if wl.adapter_id is not None else None
        self.pfx_id = wl.prefix_id.tolist() if wl.prefix_id is not None else None
        self.pfx_tok = wl.prefix_tokens.tolist() if wl.prefix_tokens is not None else None
        self.order = np.argsort(wl.arrival_s, kind="stable").tolist()
        self.generated = [0] * n
        self.prefill_left = [0] * n
        self.p0 = [0] * n
        self.j0 = [0] * n
        self.gen = [0] * n
        self.kv_ready = [False] * n
        self.first_t = [-1.0] * n
        self.finish_t = [-1.0] * n
        self.admit_t = [-1.0] * n
        self.where = [-1] * n
        self.reps = reps
        self.entry = entry
        self.decode_pool = decode
        self.kv = kv
        self.num_preemptions = 0
        self.prefix_lookups = 0
        self.prefix_hits = 0
        self.num_transfers = 0
        self.track_adapters = self.adapter is not None
        self.exact_load = entry.router == "least_loaded"
        self.iter_trace: list[tuple[int, float, float, int, int, int]] | None = (
            [] if trace else None
        )
        self.engine = Engine(
            {
                _ARRIVAL: self._on_arrival,
                _ITER_END: self._end,
                _READY: self._on_ready,
                _KV_DONE: self._on_kv_done,
            }
        )
        self.schedule = self.engine.schedule

    # -- routing ------------------------------------------------------------------------

    def _on_arrival(self, t: float, k: int) -> None:
        order = self.order
        self._route(order[k], self.entry, t)
        k += 1
        if k < self.n:
            self.schedule(self.arrival[order[k]], _ARRIVAL, k)

    def _on_kv_done(self, t: float, rid: int) -> None:
        self.first_t[rid] = t  # the decode side returns the first token once the KV is there
        self._route(rid, self.decode_pool, t)

    def _route(self, rid: int, pool: _Pool, now: float) -> None:
        reps = pool.reps
        router = pool.router
        if router == "least_loaded":
            r = reps[0]
            if len(reps) > 1:
                best = math.inf
                for x in reps:
                    load = x.load
                    ends = x.span_ends
                    if ends is not None:
                        # Inside a run of summed iterations: count those already over.
                        load -= x.D_it * x.E * bisect.bisect_right(ends, now - x.t_start)
                    if load < best:
                        r, best = x, load
        elif router == "round_robin":
            r = reps[pool.rr % len(reps)]
            pool.rr += 1
        else:
            r = max(reps, key=_free_slots)
            if r.assigned >= r.max_seqs:
                pool.queue.append(rid)
                return
        self._assign(rid, r, now)

    def _assign(self, rid: int, r: _Rep, now: float) -> None:
        r.assigned += 1
        self.where[rid] = r.index
        if self.kv_ready[rid]:
            r.load += self.out[rid] - self.generated[rid]
        elif r.is_prefill_only:
            r.load += self.prompt[rid] + 1
        else:
            r.load += self.prompt[rid] + self.out[rid]
        if r.delay is not None:
            d = r.delay(rid, r.index, now)
            if d > 0.0:
                self.schedule(now + d, _READY, (rid, r))
                return
        r.waiting.append(rid)
        if not r.busy:
            self._start(r, now)

    def _on_ready(self, t: float, payload: tuple[int, _Rep]) -> None:
        rid, r = payload
        r.waiting.append(rid)
        if not r.busy:
            self._start(r, t)

    def _leave(self, r: _Rep, rid: int, now: float) -> None:
        """``rid`` stops running on ``r`` (finished or handed to a decode replica)."""
        self.gen[rid] += 1  # invalidates its entries in r.stack and r.fheap
        r.num_running -= 1
        r.assigned -= 1
        if self.track_adapters:
            self._adapter_out(r, rid)
        for pool in r.pools:
            if pool.queue and r.assigned < r.max_seqs:
                self._assign(pool.queue.popleft(), r, now)

    def _adapter_out(self, r: _Rep, rid: int) -> None:
        a = self.adapter[rid]
        if a >= 0:
            c = r.adapters[a] - 1
            if c:
                r.adapters[a] = c
            else:
                del r.adapters[a]

    # -- one replica's iteration loop ---------------------------------------------------

    def _start(self, r: _Rep, now: float) -> None:
        """Compose and launch iteration ``r.it + 1``, or leave ``r`` idle if it has no work."""
        j = r.it + 1
        B = r.B
        preempted = False
        if r.D:
            grow = r.D * r.E / B if r.spec else r.phase[(1 - j) % B]
            if grow and r.blocks + grow > r.cap:
                grow = self._make_room(r, j, now)
                preempted = True
            r.blocks += grow
        # vLLM admits nothing in a step that had to preempt, unless the replica emptied.
        if r.waiting and r.num_running < r.max_seqs and (not preempted or not r.num_running):
            self._admit(r, j, now)
        D = r.D
        pf = r.prefilling
        P = 0
        done = None
        if pf:
            budget = r.max_batched - D * r.k1
            if budget > 0:
                left = self.prefill_left
                done = []
                while pf:
                    rid = pf[0]
                    x = left[rid]
                    if x > budget:
                        left[rid] = x - budget
                        P += budget
                        break
                    P += x
                    budget -= x
                    left[rid] = 0
                    done.append(rid)
                    pf.popleft()
                    if not budget:
                        break
        if not P and not D:
            r.busy = False
            return
        E = r.E
        if r.spec:
            C = int(r.S + D * E * j)
            dt = r.f(P, D * r.k1, C)
            if D:
                dt += r.draft * r.f(0, D, C)
        else:
            C = r.S + D * j
            dt = r.f(P, D, C)
        extra = r.extra(len(r.adapters)) if r.extra is not None else 0.0
        dt += extra
        span = 1
        r.span_ends = None
        if not P and not pf and r.num_running >= r.max_seqs:
            # Full and nothing prefilling: the batch is fixed until the next finish.
            fh = r.fheap
            gen = self.gen
            while fh[0][2] != gen[fh[0][1]]:
                heapq.heappop(fh)
            n = fh[0][0] - j + 1
            if n > 1:
                dt, span = self._extend(r, j, n, D, C, dt, extra)
        if not dt >= 0.0:
            raise GigafleetError(
                f"replica {r.index}: iteration_time returned {dt!r} for "
                f"({P}, {D * r.k1}, {C}); it must be a finite time >= 0",
                field="iteration_time",
            )
        r.it = j + span - 1
        r.busy = True
        r.t_start = now
        r.P = P
        r.D_it = D
        r.span = span
        r.done = done
        r.num_iterations += span
        if self.iter_trace is not None and len(self.iter_trace) < TRACE_MAX_ITERATIONS:
            self.iter_trace.append((r.index, now, dt, P, D, span))
        self.schedule(now + dt, _ITER_END, r)

    def _extend(
        self, r: _Rep, j: int, n: int, D: int, C: float, dt: float, extra: float
    ) -> tuple[float, int]:
        """Sum iterations ``j + 1 .. j + n - 1`` of a full replica (stopping early if the KV
        would overflow, so that the normal path preempts). Returns (seconds, iterations)."""
        f = r.f
        B = r.B
        blocks, cap = r.blocks, r.cap
        s = 1
        # least_loaded needs the tokens done at any moment inside the run: keep end times.
        ends = [dt] if self.exact_load else None
        if r.spec:
            step = D * r.E
            grow = step / B
            dtok, draft = D * r.k1, r.draft
            base = r.S
            while s < n:
                if blocks + grow > cap:
                    break
                blocks += grow
                ci = int(base + step * (j + s))  # as the one-iteration path rounds it
                dt += f(0, dtok, ci) + draft * f(0, D, ci) + extra
                s += 1
                if ends is not None:
                    ends.append(dt)
        else:
            phase = r.phase
            while s < n:
                g = phase[(1 - j - s) % B]
                if g and blocks + g > cap:
                    break
                blocks += g
                C += D
                dt += f(0, D, C) + extra
                s += 1
                if ends is not None:
                    ends.append(dt)
        r.blocks = blocks
        r.span_ends = ends
        return dt, s

    def _end(self, now: float, r: _Rep) -> None:
        j = r.it
        r.busy_s += now - r.t_start
        r.span_ends = None  # the whole run is booked below
        decoded = r.D_it * r.E * r.span
        r.decode_tokens += decoded
        r.decode_seqs += r.D_it * r.span
        r.load -= r.P + decoded
        fh = r.fheap
        if fh and fh[0][0] <= j:
            gen = self.gen
            while fh and fh[0][0] <= j:
                _, rid, g = heapq.heappop(fh)
                if g == gen[rid]:
                    self._finish_decode(r, rid, j, now)
        done = r.done
        if done:
            for rid in done:
                self._prefill_done(r, rid, j, now)
            r.done = None
        self._start(r, now)

    def _finish_decode(self, r: _Rep, rid: int, j: int, now: float) -> None:
        j0 = self.j0[rid]
        p0 = self.p0[rid]
        m = j - j0
        if r.spec:
            E = r.E
            r.blocks -= -(-p0 // r.B) + m * E / r.B
            r.S -= p0 - E * j0
            # Credited m E decode tokens; it needed out - g_join of them.
            r.load += m * E - (self.out[rid] - (p0 - self.prompt[rid] + 1))
        else:
            r.blocks -= -(-(p0 + m) // r.B)
            r.S -= p0 - j0
            r.phase[(p0 - j0) % r.B] -= 1
        r.D -= 1
        self.generated[rid] = self.out[rid]
        self.finish_t[rid] = now
        self._leave(r, rid, now)

    def _prefill_done(self, r: _Rep, rid: int, j: int, now: float) -> None:
        g = self.generated[rid] + 1
        self.generated[rid] = g
        r.load -= 1
        p0 = self.p0[rid]
        if r.pfx_cap and self.pfx_tok is not None and self.pfx_tok[rid] > 0:
            self._prefix_insert(r, self.pfx_id[rid], self.pfx_tok[rid])
        out = self.out[rid]
        if g >= out or r.is_prefill_only:
            r.blocks -= -(-p0 // r.B)
            if g >= out:
                if self.first_t[rid] < 0:
                    self.first_t[rid] = now
                self.finish_t[rid] = now
            else:
                self.kv_ready[rid] = True
                self.num_transfers += 1
                self.schedule(now + self.kv.seconds(p0), _KV_DONE, rid)
            self._leave(r, rid, now)
            return
        if self.first_t[rid] < 0:
            self.first_t[rid] = now
        E = r.E
        self.j0[rid] = j
        r.S += p0 - E * j
        r.D += 1
        if r.spec:
            fin = j + math.ceil((out - g) / E)
        else:
            r.phase[(p0 - j) % r.B] += 1
            fin = j + out - g
        heapq.heappush(r.fheap, (fin, rid, self.gen[rid]))

    def _prefix_insert(self, r: _Rep, pid: int, tokens: int) -> None:
        lru = r.lru
        if pid in lru:
            lru.move_to_end(pid)
            return
        if tokens > r.pfx_cap:
            return
        lru[pid] = tokens
        r.lru_tokens += tokens
        while r.lru_tokens > r.pfx_cap:
            r.lru_tokens -= lru.popitem(last=False)[1]

    def _admit(self, r: _Rep, j: int, now: float) -> None:
        waiting = r.waiting
        B, cap = r.B, r.cap
        prompt, generated, gen = self.prompt, self.generated, self.gen
        pfx_tok = self.pfx_tok
        while waiting and r.num_running < r.max_seqs:
            rid = waiting[0]
            g = generated[rid]
            if self.kv_ready[rid]:
                # KV arrived from a prefill replica: join decode now, as if it had prefilled
                # at iteration j - 1; this iteration's growth was counted before admission.
                p0 = prompt[rid] + g - 1
                need = -(-p0 // B) + r.E / B if r.spec else -(-(p0 + 1) // B)
                if r.blocks + need > cap:
                    break
                waiting.popleft()
                self.kv_ready[rid] = False
                j0 = j - 1
                self.p0[rid] = p0
                self.j0[rid] = j0
                r.S += p0 - r.E * j0
                r.D += 1
                out = self.out[rid]
                if r.spec:
                    fin = j0 + math.ceil((out - g) / r.E)
                else:
                    r.phase[(p0 - j0) % B] += 1
                    fin = j0 + out - g
                heapq.heappush(r.fheap, (fin, rid, gen[rid]))
            else:
                p0 = prompt[rid] + g
                need = -(-p0 // B)
                if r.blocks + need > cap:
                    break
                waiting.popleft()
                skip = 0
                if r.pfx_cap and pfx_tok is not None and pfx_tok[rid] > 0:
                    self.prefix_lookups += 1
                    cached = r.lru.get(self.pfx_id[rid])
                    if cached is not None:
                        self.prefix_hits += 1
                        r.lru.move_to_end(self.pfx_id[rid])
                        skip = min(cached, pfx_tok[rid], p0 - 1)
                        r.load -= skip
                self.p0[rid] = p0
                self.prefill_left[rid] = p0 - skip
                r.prefilling.append(rid)
            r.blocks += need
            r.num_running += 1
            r.stack.append((rid, gen[rid]))
            if self.track_adapters:
                a = self.adapter[rid]
                if a >= 0:
                    r.adapters[a] = r.adapters.get(a, 0) + 1
            if self.admit_t[rid] < 0:
                self.admit_t[rid] = now
        if len(r.stack) > 2 * r.num_running + 64:
            # Finished requests leave stale entries behind; drop them now and then.
            r.stack = [e for e in r.stack if e[1] == gen[e[0]]]

    def _make_room(self, r: _Rep, j: int, now: float) -> float:
        """Preempt the most recently admitted sequences until this iteration's KV growth
        fits; returns the growth in blocks."""
        gen, stack = self.gen, r.stack
        while True:
            grow = r.D * r.E / r.B if r.spec else r.phase[(1 - j) % r.B]
            if r.blocks + grow <= r.cap:
                return grow
            rid, g = stack.pop()
            while g != gen[rid]:
                rid, g = stack.pop()
            self._preempt(r, rid, j)

    def _preempt(self, r: _Rep, rid: int, j: int) -> None:
        B = r.B
        p0 = self.p0[rid]
        if self.prefill_left[rid] > 0:
            # The newest admission: if it is still prefilling it is the last one in line.
            assert r.prefilling[-1] == rid
            r.prefilling.pop()
            r.blocks -= -(-p0 // B)
            r.load += p0 - self.prefill_left[rid]
            self.prefill_left[rid] = 0
        else:
            j0 = self.j0[rid]
            m = j - 1 - j0
            prompt = self.prompt[rid]
            if r.spec:
                r.blocks -= -(-p0 // B) + m * r.E / B
                r.S -= p0 - r.E * j0
                g = min(p0 - prompt + 1 + int(m * r.E), self.out[rid] - 1)
            else:
                r.blocks -= -(-(p0 + m) // B)
                r.S -= p0 - j0
                r.phase[(p0 - j0) % B] -= 1
                g = p0 - prompt + 1 + m
            r.D -= 1
            self.generated[rid] = g
            r.load += prompt + g
        self.gen[rid] += 1
        r.num_running -= 1
        if self.track_adapters:
            self._adapter_out(r, rid)
        r.waiting.appendleft(rid)
        self.num_preemptions += 1


def _validate_fit(wl: Workload, reps: list[_Rep], kv: KvTransfer | None) -> None:
    """A request alone on a replica must fit in its KV cache, or it would be preempted forever."""
    total = wl.prompt_tokens + wl.output_tokens
    for r in reps:
        need = wl.prompt_tokens if r.is_prefill_only else total
        extra = (r.B + math.ceil(r.E)) if r.spec else 0
        i = int(np.argmax(need))
        if -(-(int(need[i]) + extra) // r.B) > r.cap:
            what = "prompt" if r.is_prefill_only else "prompt + output"
            raise GigafleetError(
                f"request {i} needs {int(need[i])} KV tokens ({what}), more than replica "
                f"{r.index}'s capacity of {r.cap * r.B} tokens",
                field="kv_capacity_tokens",
            )


def simulate(
    workload: Workload,
    replicas: list[ReplicaConfig],
    *,
    router: str = "least_loaded",
    kv_transfer: KvTransfer | None = None,
    slo: Slo | None = None,
    trace_path: str | os.PathLike[str] | None = None,
    seed: int = 0,
) -> ServingResult:
    """Simulate serving ``workload`` on ``replicas`` (see the module docstring for the model).

    Args:
        workload: The requests.
        replicas: One config per replica.
        router: ``"least_loaded"``, ``"round_robin"`` or ``"central"``.
        kv_transfer: Enables prefill/decode disaggregation (replica roles "prefill" and
            "decode"); None serves every request on one replica.
        slo: Targets for goodput and SLO attainment.
        trace_path: Write a Chrome / Perfetto trace (JSON) of iterations and requests here.
        seed: Reserved for stochastic policies; the current model is deterministic.

    Returns:
        The measured :class:`ServingResult`.

    Raises:
        GigafleetError: Bad router, roles, or a request that cannot fit a replica's KV cache.
    """
    del seed  # deterministic: every random draw happens in the workload generators
    if not isinstance(workload, Workload):
        raise GigafleetError("must be a Workload", field="workload")
    if not replicas:
        raise GigafleetError("needs at least one replica", field="replicas")
    for i, cfg in enumerate(replicas):
        if not isinstance(cfg, ReplicaConfig):
            raise GigafleetError(f"replica {i} must be a ReplicaConfig", field="replicas")
    if router not in ROUTERS:
        raise unknown_name("router", str(router), ROUTERS, field="router")
    reps = [_Rep(i, cfg) for i, cfg in enumerate(replicas)]
    if kv_transfer is None:
        split = [r.index for r in reps if r.role != "both"]
        if split:
            raise GigafleetError(
                f"replica {split[0]} has role {reps[split[0]].role!r}, which needs kv_transfer "
                "(prefill/decode disaggregation); without it every role must be 'both'",
                field="kv_transfer",
                allowed=ROLES,
            )
        entry = _Pool(reps, router)
        decode = None
    else:
        pre = [r for r in reps if r.role in ("prefill", "both")]
        dec = [r for r in reps if r.role in ("decode", "both")]
        if not pre:
            raise GigafleetError(
                "disaggregation needs a replica with role 'prefill' or 'both'",
                field="role",
                allowed=ROLES,
            )
        if not dec:
            raise GigafleetError(
                "disaggregation needs a replica with role 'decode' or 'both'",
                field="role",
                allowed=ROLES,
            )
        entry = _Pool(pre, router)
        decode = _Pool(dec, router)
    # A replica in both pools serves its decode queue first: finishing work frees memory.
    for pool in (decode, entry):
        if pool is not None:
            for r in pool.reps:
                r.pools.append(pool)
    _validate_fit(workload, reps, kv_transfer)

    sim = _Sim(workload, reps, entry, decode, kv_transfer, trace_path is not None)
    eng = sim.engine
    eng.schedule(float(workload.arrival_s[sim.order[0]]), _ARRIVAL, 0)
    eng.run()
    return _result(sim, workload, replicas, slo, trace_path)


def _result(
    sim: _Sim,
    wl: Workload,
    cfgs: list[ReplicaConfig],
    slo: Slo | None,
    trace_path: str | os.PathLike[str] | None,
) -> ServingResult:
    arrival = wl.arrival_s
    finish = np.asarray(sim.finish_t)
    first = np.asarray(sim.first_t)
    assert finish.min() >= 0.0, "every request finishes"
    out = wl.output_tokens
    ttft = first - arrival
    e2e = finish - arrival
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (finish - first) / np.maximum(out - 1, 1), np.nan)
    queue = np.asarray(sim.admit_t) - arrival
    makespan = float(finish.max() - arrival.min())
    busy = np.array([r.busy_s for r in sim.reps])
    util = busy / makespan if makespan > 0 else np.zeros_like(busy)
    p_busy = np.array([c.power_busy_w for c in cfgs])
    p_idle = np.array([c.power_idle_w for c in cfgs])
    energy = float(np.sum(busy * p_busy + np.maximum(makespan - busy, 0.0) * p_idle))
    num_iterations = sum(r.num_iterations for r in sim.reps)
    met = None
    if slo is not None:
        met = (ttft <= slo.ttft_s) & (np.isnan(tpot) | (tpot <= slo.tpot_s))
    res = ServingResult(
        ttft_s=ttft,
        tpot_s=tpot,
        e2e_s=e2e,
        queue_s=queue,
        replica_index=np.asarray(sim.where),
        makespan_s=makespan,
        num_output_tokens=int(out.sum()),
        busy_s=busy,
        utilization=util,
        energy_j=energy,
        num_preemptions=sim.num_preemptions,
        prefix_lookups=sim.prefix_lookups,
        prefix_hits=sim.prefix_hits,
        num_kv_transfers=sim.num_transfers,
        num_events=sim.engine.num_events,
        num_iterations=num_iterations,
        num_decode_tokens=float(sum(r.decode_tokens for r in sim.reps)),
        mean_decode_batch=sum(r.decode_seqs for r in sim.reps) / max(num_iterations, 1),
        slo=slo,
        slo_met=met,
        info={
            "iterations_per_replica": [r.num_iterations for r in sim.reps],
            "roles": [r.role for r in sim.reps],
        },
    )
    if trace_path is not None:
        _write_trace(os.fspath(trace_path), sim, wl, res)
    return res


def _write_trace(path: str, sim: _Sim, wl: Workload, res: ServingResult) -> None:
    """Chrome trace-event JSON (Perfetto and chrome://tracing read it), times in microseconds:
    an "X" event per iteration on its replica's track, async "b"/"e" spans per request."""
    us = 1e6
    reps = sim.reps
    ev: list[dict[str, Any]] = []
    for r in reps:
        ev.append(
            {
                "name": "process_name",
                "ph": "M",
                "pid": r.index,
                "args": {"name": f"replica {r.index} ({r.role})"},
            }
        )
    req_pid = len(reps)
    ev.append({"name": "process_name", "ph": "M", "pid": req_pid, "args": {"name": "requests"}})
    for idx, t, dt, p, d, span in sim.iter_trace or ():
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
    for rid in sim.order[:TRACE_MAX_REQUESTS]:
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
            "iteration_events": len(sim.iter_trace or ()),
            "iteration_events_truncated": len(sim.iter_trace or ()) >= TRACE_MAX_ITERATIONS,
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
