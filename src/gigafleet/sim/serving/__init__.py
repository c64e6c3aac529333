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

Simplified: transfers do not contend for bandwidth; the prefix cache is per replica and
separate from the KV pool; with speculative decoding the KV is counted in fractional blocks
(``E / block_tokens`` per sequence per iteration) and ``E`` is deterministic; routing ignores
prefix locality; the power is two levels (busy, idle) per replica.

How the scheduler keeps each iteration O(log n) is told in :mod:`.scheduler`.

Modules (the public names are re-exported here: ``from gigafleet.sim.serving import simulate``):

* :mod:`.config`: :class:`ReplicaConfig`, :class:`SpecDecode`, :class:`KvTransfer`,
  :class:`Slo` (what the simulator is given);
* :mod:`.workload`: :class:`Workload`, :func:`trace_workload` (a CSV request trace);
* :mod:`.generators`: arrival processes and length distributions;
* :mod:`.queueing`: :func:`erlang_c_wait_s` (the M/M/c closed form);
* :mod:`.loop`: :func:`simulate`, the event loop that wires the pieces below;
* :mod:`.events`: the event kinds and their payloads;
* :mod:`.requests`: per-request state (plain lists);
* :mod:`.replica`: per-replica state (a slotted object);
* :mod:`.scheduler`: each replica's iterations: admission, chunked prefill, preemption;
* :mod:`.kv`: the prefix cache and the KV fit check;
* :mod:`.router`: pools and routers;
* :mod:`.results`: :class:`ServingResult`, and :class:`SloMissed` (a run that gave up);
* :mod:`.trace`: the Chrome / Perfetto trace writer.
"""

from gigafleet.sim.serving.config import (
    ROLES,
    DecodeTimes,
    IterationTime,
    KvTransfer,
    ReplicaConfig,
    Slo,
    SpecDecode,
)
from gigafleet.sim.serving.generators import (
    bursty_arrivals,
    diurnal_arrivals,
    fixed_lengths,
    lognormal_lengths,
    poisson_arrivals,
)
from gigafleet.sim.serving.loop import simulate
from gigafleet.sim.serving.queueing import erlang_c_wait_s
from gigafleet.sim.serving.results import ServingResult, SloMissed
from gigafleet.sim.serving.trace import TRACE_MAX_ITERATIONS, TRACE_MAX_REQUESTS
from gigafleet.sim.serving.workload import Workload, trace_workload

__all__ = [
    "ROLES",
    "TRACE_MAX_ITERATIONS",
    "TRACE_MAX_REQUESTS",
    "DecodeTimes",
    "IterationTime",
    "KvTransfer",
    "ReplicaConfig",
    "ServingResult",
    "Slo",
    "SloMissed",
    "SpecDecode",
    "Workload",
    "bursty_arrivals",
    "diurnal_arrivals",
    "erlang_c_wait_s",
    "fixed_lengths",
    "lognormal_lengths",
    "poisson_arrivals",
    "simulate",
    "trace_workload",
]
