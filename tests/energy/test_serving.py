"""Serving power: busy and idle GPUs, batching, caps."""

from gigafleet.energy import serving_power
from gigafleet.perf.inference import serving_replica


def test_serving_power_depends_on_batch(catalog):
    rep = serving_replica("llama3-8b", "dgx-h100", weight_precision="fp8")
    small = serving_power(rep, prompt_tokens=500, output_tokens=100, batch=2)
    big = serving_power(rep, prompt_tokens=500, output_tokens=100)
    assert small.idle_w < small.busy_w < big.busy_w
    assert small.phase_fractions["memory"] > big.phase_fractions["memory"]
    assert big.j_per_token < small.j_per_token  # batching pays in energy too
    capped = serving_power(rep, prompt_tokens=500, output_tokens=100, power_cap_w=400.0)
    assert capped.speed < 1.0 and capped.gpu_busy_w <= 400.0
