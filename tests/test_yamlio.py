"""YAML reading: libyaml's loader gives the pure-Python loader's values; line numbers come
from a node tree composed only when an error needs one; every YAML a user writes gives a
document or one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clihelp import assert_user_error, gf
from gigafleet.errors import GigafleetError
from gigafleet.yamlio import MAX_DEPTH, LazyNode, read_yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "src" / "gigafleet").rglob("*.yaml")) + sorted(
    (ROOT / "examples").glob("*.yaml")
)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_fast_loader_reads_what_the_python_loader_reads(path):
    data, node = read_yaml(path)
    assert data == yaml.load(path.read_text(), Loader=yaml.SafeLoader)
    assert isinstance(node, LazyNode)


def test_line_numbers_come_from_the_lazy_node(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("a: 1\nb:\n  - x\n  - {c: 2}\n")
    _, node = read_yaml(f)
    assert node.at("b", 1, "c").get().start_mark.line == 3
    assert node.at("missing").get() is None
    assert node.value[0][0].value == "a"  # attributes reach the composed node


def test_malformed_yaml_names_line_and_column(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("a: 1\nb: [1, 2\n")
    with pytest.raises(GigafleetError, match=r"malformed YAML: line 3, column 1") as exc:
        read_yaml(f)
    assert "bad.yaml" in str(exc.value)


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
