"""The Chrome / Perfetto trace of a run."""

from __future__ import annotations

import json

from gigafleet.sim.serving import ReplicaConfig, simulate
from servinghelp import linear, workload


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
