"""Event-driven engines: a minimal discrete-event core and the request-level serving simulator.

Import the modules directly (``gigafleet.sim.engine``, ``gigafleet.sim.serving``); this
package imports nothing so that ``import gigafleet`` stays fast.
"""
