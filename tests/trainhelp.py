"""Shared helper of the training-model tests: one estimate with everyday defaults."""

from gigafleet.perf.training import estimate_training

GiB = 2**30


def est(model="llama3-70b", system="dgx-h100", **kw):
    """``estimate_training`` on 64 GPUs, 8K tokens, batch 256, FP8, unless told otherwise."""
    kw.setdefault("num_gpus", 64)
    kw.setdefault("seq_len", 8192)
    kw.setdefault("global_batch", 256)
    kw.setdefault("precision", "fp8")
    return estimate_training(model, system, **kw)
