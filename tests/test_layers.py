"""The house rules on imports (../shared/DESIGN.md), checked by import-linter from the
contracts in pyproject.toml: layers import downward only; perf never imports energy,
reliability or cost."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold(monkeypatch):
    cli = pytest.importorskip("importlinter.cli")
    monkeypatch.chdir(ROOT)
    assert cli.lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0
