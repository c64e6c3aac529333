"""The compiled serving simulator (mypyc, ``setup.py``) computes the same floats as the pure-
Python modules it is compiled from: the same runs, every policy, in two processes, one on the
compiled modules and one with ``GIGAFLEET_PURE_PYTHON=1``, compared bit for bit; and a
stale build is set aside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gigafleet.sim as sim

#: Runs of every policy and feature the hot modules implement, printed as JSON with floats
#: in hex: a direct simulate() per feature, and the CLI's serve (the roofline replica, its
#: numpy-chunked long runs, MoE, disaggregation, adapters, a TEE).
SCRIPT = r"""
import json, sys
import numpy as np
import gigafleet.sim as sim
from gigafleet.sim.serving import (
    KvTransfer, ReplicaConfig, SloMissed, Slo, SpecDecode, Workload, fixed_lengths,
    lognormal_lengths, poisson_arrivals, simulate,
)

seen = set()

def f(p, d, c):
    seen.add((type(p).__name__, type(d).__name__, type(c).__name__))
    return 0.01 + 2e-5 * (p + d) + 1e-7 * c

def wl(n, rate, seed=0, **kw):
    rng = np.random.default_rng(seed)
    return Workload(poisson_arrivals(rate, n, rng), 200 + lognormal_lengths(800, 0.8, n, rng),
                    lognormal_lengths(120, 0.8, n, rng), **kw)

def dump(res):
    arrays = [res.ttft_s, res.tpot_s, res.e2e_s, res.queue_s, res.busy_s]
    return {"arrays": [[float(x).hex() for x in a] for a in arrays],
            "counts": [res.num_events, res.num_iterations, res.num_preemptions,
                       res.num_kv_transfers, res.prefix_hits, res.replica_index.tolist()]}

out = {"native": sim.NATIVE}
n = 3000
out["least_loaded"] = dump(simulate(wl(n, 40.0), [ReplicaConfig(f, 200_000)] * 4))
out["round_robin"] = dump(simulate(wl(n, 40.0), [ReplicaConfig(f, 200_000)] * 4,
                                   router="round_robin"))
out["central"] = dump(simulate(wl(n, 40.0), [ReplicaConfig(f, 200_000, max_num_seqs=16)] * 4,
                               router="central"))
out["preempting"] = dump(simulate(wl(n, 30.0), [ReplicaConfig(f, 30_000)] * 2))
spec = SpecDecode(num_draft_tokens=3, acceptance_rate=0.7, draft_cost_fraction=0.1)
out["argument_types"] = sorted(seen)  # integers: token counts
out["speculative"] = dump(simulate(wl(n, 30.0), [ReplicaConfig(f, 60_000, speculative=spec)] * 2))
rng = np.random.default_rng(1)
prefixed = wl(n, 40.0, prefix_id=rng.integers(0, 20, n), prefix_tokens=np.full(n, 200),
              adapter_id=rng.integers(-1, 50, n))
out["prefix_adapters"] = dump(simulate(
    prefixed, [ReplicaConfig(f, 200_000, prefix_cache_tokens=20_000,
                             extra_iteration_time=lambda k: 1e-4 * k)] * 3))
kv = KvTransfer(bytes_per_token=131072, bandwidth_bytes_per_s=50e9, latency_s=0.001)
out["disaggregated"] = dump(simulate(
    wl(n, 60.0), [ReplicaConfig(f, 200_000, role="prefill")] * 2
    + [ReplicaConfig(f, 200_000, role="decode")] * 3, kv_transfer=kv))
try:
    simulate(wl(40_000, 2000.0), [ReplicaConfig(f, 200_000)],
             slo=Slo(ttft_s=0.5, tpot_s=0.05), give_up_below=0.99)
    out["gave_up"] = None
except SloMissed as exc:
    out["gave_up"] = str(exc)

from gigafleet.cli.main import run
serves = [
    ["--model", "llama3.1-8b", "--system", "dgx-h100", "--replicas", "2", "--requests", "4000",
     "--rate", "30", "--length-sigma", "0.6"],
    ["--model", "llama3.1-8b", "--system", "dgx-h100", "--requests", "300",
     "--output-tokens", "3000", "--rate", "2"],
    ["--model", "deepseek-v3", "--system", "gb200-nvl72", "--ep", "8", "--dp", "8",
     "--precision", "fp8", "--prefill-replicas", "1", "--replicas", "2", "--requests", "3000",
     "--rate", "40"],
    ["--model", "llama3.1-8b", "--system", "dgx-h100", "--requests", "3000", "--rate", "20",
     "--adapter-users", "2000", "--tee", "tdx", "--speculative-tokens", "2"],
]
import contextlib, io
for i, args in enumerate(serves):
    buf = io.StringIO()
    sys.argv = ["gigafleet", "serve", *args, "--json"]
    with contextlib.redirect_stdout(buf):
        try:
            run()
        except SystemExit as exc:
            assert not exc.code, buf.getvalue()
    out[f"serve{i}"] = buf.getvalue()
print(json.dumps(out))
"""


def _runs(pure: bool) -> dict:
    env = {**os.environ, "GIGAFLEET_PURE_PYTHON": "1" if pure else "0"}
    p = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout)


@pytest.mark.skipif(
    not sim.NATIVE,
    reason="the compiled modules are not in use (no compiler at install, or GIGAFLEET_PURE_PYTHON)",
)
def test_compiled_and_pure_python_give_the_same_floats():
    native, pure = _runs(pure=False), _runs(pure=True)
    assert native.pop("native") is True and pure.pop("native") is False
    assert native.keys() == pure.keys()
    for key in native:
        assert native[key] == pure[key], key
    assert native["gave_up"] is not None  # the give-up path ran
    assert native["argument_types"] == [["int", "int", "int"]]
    assert all(json.loads(native[f"serve{i}"]) for i in range(4))  # the CLI printed JSON


@pytest.mark.parametrize("manifest", ["mismatch", "none"])
def test_a_stale_build_is_set_aside(tmp_path, manifest):
    """A compiled module (here a file that is no extension at all: loading it would fail)
    whose manifest checksum does not match its source (an edit after the build), or that
    has no manifest beside it, is not imported: its source is."""
    from importlib.machinery import EXTENSION_SUFFIXES

    pkg = tmp_path / "gigafleet"
    (pkg / "sim").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    here = Path(sim.__file__).parent
    (pkg / "sim" / "__init__.py").write_text((here / "__init__.py").read_text())
    (pkg / "sim" / "engine.py").write_text("WHERE = 'source'\n")
    (pkg / "sim" / ("engine" + EXTENSION_SUFFIXES[0])).write_bytes(b"not a shared library")
    if manifest == "mismatch":
        sums = {"sha256": {"engine.py": "0" * 64}}
        (pkg / "sim" / "_native.json").write_text(json.dumps(sums))
    code = "import gigafleet.sim as s, gigafleet.sim.engine as e; print(s.NATIVE, e.WHERE)"
    p = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(tmp_path), "GIGAFLEET_PURE_PYTHON": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.stdout.split() == ["False", "source"], p.stderr
