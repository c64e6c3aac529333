"""Pinned predictions, so that accidental changes to the model show up.

Regenerate after an intended change with ``GIGAFLEET_REGEN_GOLDEN=1 pytest tests/perf/training/test_golden.py``
and say why in the commit message.
"""

import json
import os
from pathlib import Path

import pytest

from gigafleet.perf.training import estimate_training

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "training.json"

CASES = {
    "llama3.1-405b-16k-h100-bf16": dict(
        model="llama3.1-405b", system="grand-teton-h100", num_gpus=16384, tp=8, pp=16, vp=7,
        seq_len=8192, global_batch=2048, precision="bf16", zero=2, recompute="selective",
        uneven_layers=True,
    ),
    "llama3-70b-64-gb200-fp8": dict(
        model="llama3-70b", system="gb200-nvl72", num_gpus=64, tp=2, pp=4, vp=5, seq_len=8192,
        global_batch=256, precision="fp8",
    ),
    "deepseek-v3-256-gb200-fp8": dict(
        model="deepseek-v3", system="gb200-nvl72", num_gpus=256, pp=4, vp=4, ep=64, seq_len=4096,
        global_batch=4096, precision="fp8", uneven_layers=True,
    ),
    "qwen3-30b-16-h100-fp8": dict(
        model="qwen3-30b-a3b", system="dgx-h100", num_gpus=16, ep=16, seq_len=4096,
        global_batch=1024, precision="fp8",
    ),
    "nemotron3-nano-8-b200-fp8": dict(
        model="nemotron3-nano-30b-a3b", system="dgx-b200", num_gpus=8, ep=8, micro_batch=2,
        seq_len=8192, global_batch=512, precision="fp8",
    ),
}  # fmt: skip
FIELDS = ("step_time_s", "tokens_per_s_per_gpu", "mfu", "memory_bytes_per_gpu")


def _predict():
    out = {}
    for name, kw in CASES.items():
        kw = dict(kw)
        e = estimate_training(kw.pop("model"), kw.pop("system"), **kw)
        out[name] = {f: e.item(f) for f in FIELDS}
    return out


def test_golden_predictions():
    got = _predict()
    if os.environ.get("GIGAFLEET_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert set(want) == set(got)
    for name in want:
        for f in FIELDS:
            assert got[name][f] == pytest.approx(want[name][f], rel=1e-6), f"{name}.{f}"
