"""Event kinds of the serving loop, and what each carries.

Events are the engine's plain tuples ``(time_s, seq, kind, payload)`` (:mod:`gigafleet.sim.engine`);
the kinds are small ints, so the dispatch table costs one dict lookup per event. Payloads:

* ``ARRIVAL``: the position, in arrival order, of the request that arrives. Its handler
  schedules the next arrival, so the heap holds one arrival at a time.
* ``ITERATION_END``: the :class:`~gigafleet.sim.serving.replica.Replica` whose iteration (or
  run of summed iterations) ends.
* ``READY``: ``(request, replica)``: the request's admission delay on that replica is over.
* ``KV_ARRIVED``: the request whose KV cache has reached the decode side.
"""

ARRIVAL, ITERATION_END, READY, KV_ARRIVED = range(4)
