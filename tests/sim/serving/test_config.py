"""Simulator settings: bad replica and speculative-decoding settings are refused."""

from __future__ import annotations

import pytest

from gigafleet.errors import GigafleetError
from gigafleet.sim.serving.config import ReplicaConfig, SpecDecode
from servinghelp import linear


def test_bad_settings_raise_gigafleet_error():
    f = linear()
    with pytest.raises(GigafleetError, match="role.*did you mean 'decode'"):
        ReplicaConfig(f, 1000, role="decoder")
    with pytest.raises(GigafleetError, match="max_num_seqs"):
        ReplicaConfig(f, 1000, max_num_seqs=0)
    with pytest.raises(GigafleetError, match="acceptance_rate"):
        SpecDecode(2, 1.5)
