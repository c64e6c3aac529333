"""Workloads: validation, and reading a CSV request trace."""

from __future__ import annotations

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving import ReplicaConfig, simulate
from gigafleet.sim.serving.workload import Workload, trace_workload
from servinghelp import linear


def test_trace_workload_roundtrip_and_errors(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(
        "arrival_s,prompt_tokens,output_tokens,prefix_id,prefix_tokens,note\n"
        "0.5,100,10,1,50,x\n0.1,200,20,-1,0,y\n"
    )
    wl = trace_workload(good)
    assert wl.num_requests == 2 and wl.prompt_tokens.tolist() == [100, 200]
    res = simulate(wl, [ReplicaConfig(linear(), 10**4, prefix_cache_tokens=100)])
    assert res.e2e_s.shape == (2,)

    missing = tmp_path / "missing.csv"
    missing.write_text("arrival_s,prompt_token,output_tokens\n0,1,1\n")
    with pytest.raises(
        GigafleetError, match="missing.csv.*prompt_tokens.*did you mean 'prompt_token'"
    ):
        trace_workload(missing)
    bad = tmp_path / "bad.csv"
    bad.write_text("arrival_s,prompt_tokens,output_tokens\n0,abc,1\n")
    with pytest.raises(GigafleetError, match="bad.csv: prompt_tokens: row 2"):
        trace_workload(bad)
    neg = tmp_path / "neg.csv"
    neg.write_text("arrival_s,prompt_tokens,output_tokens\n0,10,-3\n")
    with pytest.raises(GigafleetError, match="neg.csv: output_tokens"):
        trace_workload(neg)
    with pytest.raises(GigafleetError, match="nope.csv"):
        trace_workload(tmp_path / "nope.csv")


def test_bad_workloads_raise_gigafleet_error():
    with pytest.raises(GigafleetError, match="no requests"):
        Workload([], [], [])
    with pytest.raises(GigafleetError, match="prompt_tokens"):
        Workload([0.0], [-5], [1])
    with pytest.raises(GigafleetError, match="output_tokens"):
        Workload([0.0], [5], [0])
    with pytest.raises(GigafleetError, match="prefix_tokens"):
        Workload([0.0], [5], [1], prefix_id=[0], prefix_tokens=[6])


@pytest.mark.parametrize("cell", ["nan", "inf", "1e308", "-1e400"])
def test_trace_numbers_are_finite_and_bounded(tmp_path, cell):
    # 1e308 printed a numpy cast warning before the error
    import warnings

    f = tmp_path / "t.csv"
    f.write_text(f"arrival_s,prompt_tokens,output_tokens\n0,100,10\n1,{cell},10\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(GigafleetError, match="row 3: got"):
            trace_workload(f)
