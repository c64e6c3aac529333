"""simulate() end to end: disaggregation across two pools, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving import KvTransfer, ReplicaConfig, Workload, simulate
from servinghelp import linear, workload


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


def test_bad_simulate_inputs_raise_gigafleet_error():
    f = linear()
    ok = workload(5, 1.0, 10, 10)
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
