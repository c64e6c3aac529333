"""yamlio: every YAML a user writes gives a document or one clear error."""

import pytest

from clihelp import assert_user_error, gf
from gigafleet.errors import GigafleetError
from gigafleet.yamlio import MAX_DEPTH, read_yaml


def test_deep_nesting_is_a_clear_error_not_a_recursion_error(tmp_path):
    # ~1,000 levels made PyYAML (and everything recursive after it) exhaust Python's stack
    f = tmp_path / "deep.yaml"
    f.write_text("a: " + "{a: " * 1000 + "1" + "}" * 1000 + "\n")
    with pytest.raises(GigafleetError, match="nested too deeply"):
        read_yaml(f)
    f.write_text("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")
    with pytest.raises(GigafleetError, match=f"at most {MAX_DEPTH} levels"):
        read_yaml(f)


def test_shallow_nesting_and_shared_aliases_read(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text("x: &a [[1, 2], [3]]\ny: *a\nz: {b: {c: {d: 1}}}\n")
    data, _ = read_yaml(f)
    assert data["y"] == [[1, 2], [3]] and data["z"]["b"]["c"]["d"] == 1


def test_cli_deep_config_exits_2(tmp_path):
    f = tmp_path / "deep.yaml"
    f.write_text("model: " + "[" * 1000 + "]" * 1000 + "\n")
    assert_user_error(gf("train", "--config", f), "nested too deeply")
