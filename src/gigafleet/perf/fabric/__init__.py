"""The scale-out fabric as topology, routing and flows (pure, numpy only).

* :mod:`~gigafleet.perf.fabric.design`: which design a system runs on (catalog
  ``fabric_designs``) as a hashable :class:`FabricSpec`;
* :mod:`~gigafleet.perf.fabric.topology`: the multi-plane Clos it describes;
* :mod:`~gigafleet.perf.fabric.traffic`: collectives, pipeline and expert traffic as flows;
* :mod:`~gigafleet.perf.fabric.routing`: ECMP, pinned and adaptive routing, incast;
* :mod:`~gigafleet.perf.fabric.maxmin`: max-min fair rates (vectorised progressive filling);
* :mod:`~gigafleet.perf.fabric.solve`: jobs on the fabric, their factor against line rate;
* :mod:`~gigafleet.perf.fabric.effective`: the profile the collective model uses, and why
  the fabric matters (or not) for a strategy.

The effective network of a system, design and job is
``gigafleet.perf.hardware.resolve_hardware(catalog, system, fabric=..., num_gpus=...)``.

Nothing here is imported by ``import gigafleet``; the collective model reaches the flow
model only through the profile a :class:`~gigafleet.perf.collectives.Network` carries.
"""
