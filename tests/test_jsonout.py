"""jsonout: what gigafleet prints as JSON is JSON: a non-finite number is null."""

import json
import math

import numpy as np

from gigafleet.jsonout import dumps, finite


def test_non_finite_numbers_become_null():
    doc = {"a": math.nan, "b": [np.float64("inf"), -math.inf, 1.5], "c": (np.int64(3), None)}
    text = dumps(doc)
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [None, None, 1.5], "c": [3, None]}


def test_numpy_arrays_and_scalars():
    assert json.loads(dumps({"x": np.array([1.0, np.nan]), "y": np.float32(2.5)})) == {
        "x": [1.0, None],
        "y": 2.5,
    }
    assert finite({"k": [1, "s", True]}) == {"k": [1, "s", True]}
