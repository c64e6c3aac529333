"""Invariants of the input boundary: whatever a user types, gigafleet answers with real
numbers or one clear error (exit 2), never a traceback, NaN, infinity or a numpy warning."""

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clihelp import gf
from gigafleet.errors import GigafleetError
from gigafleet.jsonout import dumps
from gigafleet.validate.groundtruth import read_csv

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip

#: Numbers as users type them: ordinary, zero, negative, huge, NaN, infinity, overflow.
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e999", "1e308", "99999999999999999999", "nan", "-inf", "1e-320"]),
    st.integers(-(2**70), 2**70).map(str),
)


def _strict(text: str):
    """json.loads that refuses NaN and Infinity (what JavaScript and jq refuse)."""

    def refuse(name):
        raise AssertionError(f"{name} in JSON output")

    return json.loads(text, parse_constant=refuse)


values = st.recursive(
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers()
    | st.text(max_size=3)
    | st.none(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_json_output_is_always_strict_json(doc):
    back = _strict(dumps(doc))
    flat = [back]
    while flat:
        v = flat.pop()
        if isinstance(v, dict):
            flat.extend(v.values())
        elif isinstance(v, list):
            flat.extend(v)
        elif isinstance(v, float):
            assert math.isfinite(v)


@SETTINGS
@given(st.lists(st.lists(st.text(max_size=8) | NUMBERS, min_size=0, max_size=4), max_size=4))
def test_csv_rows_read_or_fail_cleanly(tmp_path_factory, rows):
    f = tmp_path_factory.mktemp("csv") / "d.csv"
    f.write_text("a,b,c\n" + "\n".join(",".join(c.replace(",", ";") for c in r) for r in rows))
    try:
        for row in read_csv(f, ("a", "b", "c")):
            assert set(row) == {"a", "b", "c"} and None not in row.values()
    except GigafleetError as exc:
        assert str(exc).startswith(str(f))


@SETTINGS
@given(
    st.sampled_from(["--pue", "--power-cap-w", "--grid-gco2-per-kwh", "--tokens", "--planned-per-day",
                     "--checkpoint-interval-s", "--price-usd-per-gpu-hour", "--avg-power-w",
                     "--utilization", "--restart-overhead-s"]),
    NUMBERS,
)  # fmt: skip
def test_train_answers_real_numbers_or_one_clear_error(option, value):
    p = gf("train", "--model", "llama3-8b", "--system", "dgx-h100", "--gpus", "8", "--json",
           f"{option}={value}")  # fmt: skip
    assert "Traceback" not in p.stderr and "Warning" not in p.stderr, p.stderr
    if p.returncode == 0:
        _strict(p.stdout)
    else:
        assert p.returncode == 2 and p.stderr.startswith("error:") and p.stdout == "", p.stderr
