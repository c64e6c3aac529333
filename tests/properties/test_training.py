"""Invariants of the training model that a user relies on, over the valid input space
(hypothesis draws the models, systems and strategies)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gigafleet.catalog import load_catalog
from gigafleet.energy.training import training_power
from gigafleet.perf.training import estimate_training

CATALOG = load_catalog()
MODELS = ["llama3-8b", "llama3-70b", "llama3.1-405b", "mixtral-8x7b", "qwen3-30b-a3b",
          "deepseek-v3", "nemotron3-nano-30b-a3b", "gpt-oss-120b"]  # fmt: skip
SYSTEMS = ["dgx-a100", "dgx-h100", "dgx-b200", "gb200-nvl72", "gb300-nvl72"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _precision(system: str, draw) -> str:
    acc = CATALOG.accelerator(CATALOG.system(system).accelerator)
    return draw(st.sampled_from(acc.precisions))


@st.composite
def jobs(draw):
    """A model, system, GPU count and a grid of strategies (TP x PP x ZeRO) over it."""
    model, system = draw(st.sampled_from(MODELS)), draw(st.sampled_from(SYSTEMS))
    return dict(
        model=model, system=system, num_gpus=2 ** draw(st.integers(3, 12)),
        seq_len=draw(st.sampled_from([2048, 4096, 8192])),
        global_batch=2 ** draw(st.integers(8, 12)), precision=_precision(system, draw),
        micro_batch=draw(st.sampled_from([1, 2])),
        recompute=draw(st.sampled_from(["none", "selective", "full"])),
    )  # fmt: skip


def _estimate(job, **axes):
    return estimate_training(catalog=CATALOG, **{**job, **axes})


@SETTINGS
@given(jobs())
def test_feasible_predictions_are_finite_and_positive(job):
    tp, pp = np.meshgrid([1, 2, 4, 8], [1, 2, 4, 8])
    est = _estimate(job, tp=tp.ravel(), pp=pp.ravel(), zero=1)
    ok = est.feasible
    for name in ("step_time_s", "tokens_per_s", "model_tflops_per_gpu", "memory_bytes_per_gpu"):
        values = np.asarray(getattr(est, name))[ok]
        assert np.all(np.isfinite(values)) and np.all(values > 0), name
    assert np.all((est.mfu[ok] > 0) & (est.mfu[ok] <= 1))
    for name, values in est.breakdown_s.items():
        v = np.asarray(values)[ok]
        assert np.all(np.isfinite(v)) and np.all(v >= 0), name


@SETTINGS
@given(jobs(), st.sampled_from(["tp", "pp", "zero"]))
def test_memory_per_gpu_never_grows_with_more_sharding(job, axis):
    """More tensor or pipeline parallelism, or a higher ZeRO stage, never needs more HBM
    per GPU (the other degrees fixed)."""
    values = {"tp": [1, 2, 4, 8], "pp": [1, 2, 4, 8], "zero": [0, 1, 2, 3]}[axis]
    fixed = {"tp": 1, "pp": 1, "zero": 1}
    fixed.pop(axis)
    est = _estimate(job, **{axis: np.array(values)}, **fixed)
    # only strategies the model can run (structurally valid; memory may be over the HBM)
    valid = (est.reason_code == 0) | (est.reason_code == 11)
    mem = np.asarray(est.memory_bytes_per_gpu)[valid]
    assert np.all(np.diff(mem) <= 1e-6 * mem[:-1]), (axis, mem)


@SETTINGS
@given(jobs())
def test_step_time_never_grows_with_more_data_parallel_gpus(job):
    """At a fixed global batch, doubling the GPUs (data parallel, same TP/PP) never makes
    the step slower: each GPU has half the micro-batches and the gradient traffic per GPU
    stays bounded."""
    base = job["num_gpus"]
    counts = np.array([base, 2 * base, 4 * base])
    est = _estimate({**job, "num_gpus": counts}, tp=1, pp=1, zero=1)
    valid = (est.reason_code == 0) | (est.reason_code == 11)
    steps = np.asarray(est.step_time_s)[valid]
    assert np.all(np.diff(steps) <= 1e-9 * steps[:-1]), steps


@SETTINGS
@given(jobs())
def test_energy_is_never_below_the_physical_floor(job):
    """A step's GPU energy is at least its model FLOPs done at the accelerator's peak
    FLOP/s at full board power (TDP): no strategy beats the hardware's FLOP per joule."""
    est = _estimate(job, tp=np.array([1, 2, 4, 8]), pp=1, zero=1)
    power = training_power(est, catalog=CATALOG)
    acc = CATALOG.accelerator(CATALOG.system(job["system"]).accelerator)
    flops_step = np.asarray(est.model_flops_per_token) * job["global_batch"] * job["seq_len"]
    floor = np.broadcast_to(flops_step / acc.dense_flops(job["precision"]) * acc.tdp_w, (4,))
    gpu_energy = np.asarray(power.gpu_power_avg_w) * np.asarray(est.step_time_s) * est.num_gpus
    ok = est.feasible
    assert np.all(gpu_energy[ok] >= floor[ok])
    assert np.all(np.asarray(power.it_energy_j_per_step)[ok] >= gpu_energy[ok])
