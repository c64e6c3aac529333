"""gigafleet serve: JSON and trace output, bad input with exit code 2 and no traceback."""

from __future__ import annotations

import json

import pytest

from clihelp import gf


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


def test_cli_serve_cost_per_million_tokens():
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--requests", "300", "--rate", "5",
           "--json", "--price-usd-per-gpu-hour", "2.5")  # fmt: skip
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    c, m = r["cost"], r["metrics"]
    expected = 1e6 * r["gpus"] * 2.5 / 3600 / m["output_tokens_per_s"]
    assert c["cloud_usd_per_million_output_tokens"] == pytest.approx(expected)
    assert c["owned_usd_per_million_output_tokens"] > 0


EXAMPLE = ("train", "--config", "examples/llama3.1-405b-h100.yaml")


def test_serve_power_lines():
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--precision", "fp8",
           "--rate", "4", "--requests", "300", "--prompt-tokens", "256", "--output-tokens", "64")  # fmt: skip
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.split())
    assert "GPU power (busy / idle)" in text and "energy per output token (IT)" in text


def test_one_output_token_has_no_tpot_null_with_a_note(tmp_path):
    # the TPOT of a one-token output was printed as NaN (invalid JSON)
    args = ("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--requests", "50",
            "--rate", "5", "--output-tokens", "1")  # fmt: skip
    p = gf(*args, "--json")
    assert p.returncode == 0, p.stderr
    assert "NaN" not in p.stdout
    r = json.loads(p.stdout)
    assert r["metrics"]["tpot_mean_s"] is None and r["metrics"]["ttft_mean_s"] > 0
    assert any("TPOT" in n for n in r["metric_notes"])
    table = gf(*args)
    assert table.returncode == 0 and "nan" not in table.stdout.lower()


def test_bad_prices_fail_before_the_trace_is_written(tmp_path):
    trace = tmp_path / "t.json"
    p = gf("serve", "--model", "llama3-8b", "--system", "dgx-h100", "--requests", "50",
           "--trace", trace, "--prices", tmp_path / "missing.yaml")  # fmt: skip
    assert p.returncode == 2 and "cannot read" in p.stderr
    assert not trace.exists()
