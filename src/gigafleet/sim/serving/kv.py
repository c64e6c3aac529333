"""KV-cache memory of a replica: the prefix cache, and the check that every request fits.

Paged KV (vLLM's PagedAttention, Kwon et al., SOSP'23) is counted in blocks of
``block_tokens`` tokens: a context of ``n`` tokens holds ``ceil(n / block_tokens)`` blocks,
written ``-(-n // block_tokens)`` in the hot loop (integer ceiling without a call). The
per-iteration block accounting itself (growth, reservation at admission, release at finish
and preemption) lives with the scheduler (:mod:`.scheduler`), on the replica's running sums.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving.workload import Workload

if TYPE_CHECKING:
    from gigafleet.sim.serving.replica import Replica


class PrefixCache:
    """An LRU of shared prefixes on one replica, up to ``capacity_tokens`` tokens.

    A prefix is inserted when a request that carries it finishes its prefill; a later
    request with a cached prefix skips ``min(prefix_tokens, context - 1)`` prefill tokens.
    The cache is a pool apart from the KV blocks: a hit saves compute, and the request still
    reserves its whole context.

    Attributes:
        capacity_tokens: Most tokens the cache holds (> 0).
        entries: ``prefix id -> tokens``, least recently used first.
        num_tokens: Tokens held now.
        num_lookups: Lookups so far (admissions of a request that carries a prefix).
        num_hits: Lookups that found the prefix.
    """

    __slots__ = ("capacity_tokens", "entries", "num_tokens", "num_lookups", "num_hits")

    def __init__(self, capacity_tokens: int) -> None:
        self.capacity_tokens = capacity_tokens
        self.entries: OrderedDict[int, int] = OrderedDict()
        self.num_tokens = 0
        self.num_lookups = 0
        self.num_hits = 0

    def lookup(self, prefix_id: int) -> int:
        """Tokens cached for ``prefix_id`` (0 on a miss); a hit makes it most recently used."""
        self.num_lookups += 1
        cached = self.entries.get(prefix_id)
        if cached is None:
            return 0
        self.num_hits += 1
        self.entries.move_to_end(prefix_id)
        return cached

    def insert(self, prefix_id: int, tokens: int) -> None:
        """Cache ``prefix_id`` (or refresh it), evicting the least recently used to fit; a
        prefix larger than the whole cache is not kept."""
        entries = self.entries
        if prefix_id in entries:
            entries.move_to_end(prefix_id)
            return
        if tokens > self.capacity_tokens:
            return
        entries[prefix_id] = tokens
        self.num_tokens += tokens
        while self.num_tokens > self.capacity_tokens:
            self.num_tokens -= entries.popitem(last=False)[1]


def check_fit(workload: Workload, replicas: list[Replica]) -> None:
    """A request alone on a replica must fit in its KV cache, or it would be preempted forever.

    A replica that serves the decode needs the whole ``prompt + output`` context (plus a block
    and a step of slack with speculative decoding, whose blocks are counted fractionally); a
    prefill-only replica needs the prompt.

    Raises:
        GigafleetError: The largest request does not fit a replica; names both.
    """
    wl = workload
    total = wl.prompt_tokens + wl.output_tokens
    for r in replicas:
        need = wl.prompt_tokens if r.is_prefill_only else total
        extra = (r.block_tokens + math.ceil(r.tokens_per_step)) if r.speculative else 0
        i = int(np.argmax(need))
        if -(-(int(need[i]) + extra) // r.block_tokens) > r.kv_capacity_blocks:
            what = "prompt" if r.is_prefill_only else "prompt + output"
            raise GigafleetError(
                f"request {i} needs {int(need[i])} KV tokens ({what}), more than replica "
                f"{r.index}'s capacity of {r.kv_capacity_blocks * r.block_tokens} tokens",
                field="kv_capacity_tokens",
            )
