"""What the serving simulator is given: replica settings, speculative decoding, KV transfer, SLO.

Frozen, slotted dataclasses validated on construction (bad values raise
:class:`~gigafleet.errors.GigafleetError` naming the field). The simulator reads them once,
when it builds its per-replica state (:mod:`.replica`), never in the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gigafleet.errors import GigafleetError, unknown_name
from gigafleet.spec.serving import Slo  # noqa: F401  (the simulator judges requests by it)

#: Replica roles: "both" serves a request end to end; with disaggregation "prefill" replicas
#: hand the KV cache to "decode" replicas.
ROLES = ("both", "prefill", "decode")

#: ``iteration_time(prefill_tokens, decode_tokens, decode_context_tokens) -> seconds``; the
#: context is an int (a whole number of tokens), typed as a float for mypy's sake: its sum
#: goes through running sums that are fractional with speculative decoding.
IterationTime = Callable[[int, int, float], float]
#: ``decode_times(decode_tokens, contexts) -> seconds``: ``iteration_time(0, decode_tokens, c)``
#: for each ``c`` of an int64 array, elementwise the same floats.
DecodeTimes = Callable[[int, np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class SpecDecode:
    """Speculative decoding: ``num_draft_tokens`` drafts per step, each accepted with
    probability ``acceptance_rate``; a draft step costs ``draft_cost_fraction`` of a decode
    iteration of the target model.

    With ``k`` drafts a step of ``D`` decoding sequences costs
    ``iteration_time(P, D (k + 1), C) + k * draft_cost_fraction * iteration_time(0, D, C)``
    and emits :attr:`tokens_per_step` tokens per sequence (deterministically, the mean).
    """

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
        decode_times: ``iteration_time`` of decode-only iterations over an array of
            contexts (:data:`DecodeTimes`), or None: a long run of a steady batch is then
            timed in a few numpy calls instead of one call per iteration.
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
    decode_times: DecodeTimes | None = None

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
        for name in ("extra_iteration_time", "admission_delay", "decode_times"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise GigafleetError("must be callable or None", field=name)


@dataclass(frozen=True, slots=True)
class KvTransfer:
    """KV-cache transfer from a prefill to a decode replica (disaggregation: DistServe, Zhong
    et al., OSDI'24; Splitwise, Patel et al., ISCA'24):
    ``t = tokens * bytes_per_token / bandwidth_bytes_per_s + latency_s``, without contention."""

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
        """Seconds to move the KV cache of ``tokens`` tokens."""
        return tokens * self.bytes_per_token / self.bandwidth_bytes_per_s + self.latency_s
