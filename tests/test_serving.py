"""Serving end to end: deployment assembly, TEE and adapters in the simulator, planning, CLI."""

import json

import pytest

from clihelp import gf
from gigafleet.errors import GigafleetError
from gigafleet.sim.deployment import run_serving
from gigafleet.spec.serving import ServeJob

BASE = dict(
    model="llama3-8b", system="dgx-h100", replicas=2, precision="fp8",
    traffic=dict(rate_per_s=20, num_requests=1500, prompt_tokens=512, output_tokens=128),
)  # fmt: skip


def job(**over):
    return ServeJob.model_validate({**BASE, **over})


def test_deployment_runs_and_reports():
    r = run_serving(job())
    m = r["metrics"]
    assert m["num_requests"] == 1500
    assert 0 < m["ttft_p50_s"] <= m["ttft_p99_s"]
    assert m["output_tokens_per_s"] == pytest.approx(1500 * 128 / m["makespan_s"], rel=1e-9)
    assert r["replica"]["kv_capacity_tokens"] > 0 and m["energy_j_per_output_token"] > 0


def test_tee_mode_costs_time():
    plain, tee = run_serving(job()), run_serving(job(tee="tdx"))
    assert tee["metrics"]["ttft_mean_s"] > plain["metrics"]["ttft_mean_s"]
    assert tee["metrics"]["tpot_mean_s"] > plain["metrics"]["tpot_mean_s"]
    assert tee["tee"]["iteration_toll_s"] > 0


def test_cold_adapters_add_a_ttft_tail():
    plain = run_serving(job())
    lora = run_serving(job(adapters=dict(num_users=10**9, rank=16)))
    a = lora["adapters"]
    assert sum(a["tier_hit_rate"].values()) == pytest.approx(1.0)
    assert a["added_ttft_p99_s"] > 0
    assert lora["metrics"]["ttft_p99_s"] > plain["metrics"]["ttft_p99_s"]


def test_disaggregation_moves_kv():
    r = run_serving(job(replicas=3, prefill_replicas=1))
    assert r["metrics"]["num_kv_transfers"] == 1500


def test_bad_serving_input():
    with pytest.raises(ValueError):
        job(prefill_replicas=2, replicas=2)
    with pytest.raises(GigafleetError, match="unknown model"):
        run_serving(job(model="llama-99b"))


def test_cli_serve_json_and_trace(tmp_path):
    trace = tmp_path / "new-folder" / "t.json"  # the folder is created
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--precision", "fp8", "--rate", "5",
           "--requests", "300", "--trace", str(trace), "--json")  # fmt: skip
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["metrics"]["num_requests"] == 300
    events = json.loads(trace.read_text())["traceEvents"]
    assert any(e.get("ph") == "X" for e in events)


def test_cli_serve_bad_input(tmp_path):
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--rate", "-1")
    assert p.returncode == 2 and "Traceback" not in p.stderr and "rate_per_s" in p.stderr
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--tee", "sgx")
    assert p.returncode == 2 and "tee" in p.stderr
    p = gf("serve", "--model", "llama3.1-405b", "--system", "dgx-h100", "--requests", "10")
    assert p.returncode == 2 and "does not fit" in " ".join(p.stderr.split())


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--prompt-tokens", "1e30"], "prompt_tokens"),
        (["--adapter-rank", "8"], "--adapter-rank needs --adapter-users"),
        (["--adapter-rank", "0", "--adapter-users", "100"], "rank"),
    ],
)
def test_cli_serve_more_bad_input(args, needle):
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--requests", "50", *args)
    assert (
        p.returncode == 2 and "Traceback" not in p.stderr and needle in " ".join(p.stderr.split())
    )


def test_tee_needs_a_cc_capable_gpu():
    p = gf(
        "serve",
        "--model",
        "llama3-8b",
        "--system",
        "mi300x-platform",
        "--requests",
        "50",
        "--tee",
        "sev-snp",
    )
    assert p.returncode == 2 and "confidential-computing" in " ".join(p.stderr.split())
