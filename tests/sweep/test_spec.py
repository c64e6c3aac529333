"""sweep/spec: a sweep file's numbers are finite and bounded like every other spec."""

import pytest
from pydantic import ValidationError

from gigafleet.sweep.spec import SweepSpec

GRID = {"model": ["llama3-8b"], "system": ["dgx-h100"], "num_gpus": [8]}


@pytest.mark.parametrize(
    "over",
    [
        {"gpu_hour_usd": float("inf")},
        {"gpu_hour_usd": -1},
        {"top": 10**9},
        {"grid": {**GRID, "num_gpus": [8, 2**40]}},
        {"grid": {**GRID, "seq_len": [2**40]}},
        {"executor": {"workers": 10**9}},
    ],
)
def test_nonsense_is_rejected(over):
    with pytest.raises(ValidationError):
        SweepSpec.model_validate({"name": "s", "grid": GRID, **over})


def test_a_real_sweep_passes():
    s = SweepSpec.model_validate({"name": "s", "grid": GRID, "gpu_hour_usd": 2.5})
    assert len(s.points()) == 1
