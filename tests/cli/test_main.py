"""The command tree: lazy, yet every command listed with its own help and options."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.core
import typer.main

from clihelp import ROOT, gf
from gigafleet.cli.app import LAZY_COMMANDS, app
from gigafleet.cli.main import COMMAND_MODULES


def test_every_registered_command_is_in_the_lazy_tree():
    """What the command modules register (all of them imported) is exactly the lazy list,
    and each lazy command names only command modules."""
    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(f"gigafleet.cli.{module}")
    tree = typer.main.get_command(app)
    registered = typer.core.TyperGroup.list_commands(tree, None)
    assert sorted(registered) == sorted(LAZY_COMMANDS)
    known = {f"gigafleet.cli.{m}" for m in COMMAND_MODULES}
    for name, (modules, _) in LAZY_COMMANDS.items():
        assert set(modules) <= known, name


def test_registered_help_is_each_commands_own():
    """``--help`` shows the registered one-line help without importing the command: it must
    be what the command itself would show."""
    tree = typer.main.get_command(app)
    for name, (_, text) in LAZY_COMMANDS.items():
        real = tree.get_command(None, name)
        assert real is not None, name
        stub = typer.core.TyperCommand(name, help=text)
        for limit in (40, 70, 200):
            assert stub.get_short_help_str(limit) == real.get_short_help_str(limit), name


def test_help_lists_every_command_and_imports_none():
    code = (
        "import sys; from gigafleet.cli.main import run; sys.argv = ['gigafleet', '--help']\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'pydantic', 'plotly', 'duckdb', 'yaml') if m in sys.modules]\n"
        "mods = [m for m in sys.modules if m.startswith('gigafleet.cli.') and m not in "
        "('gigafleet.cli.app', 'gigafleet.cli.main')]\n"
        "print('IMPORTED', heavy, mods)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    for name in LAZY_COMMANDS:
        assert f"  {name} " in p.stdout, name
    assert "IMPORTED [] []" in p.stdout, p.stdout


@pytest.mark.parametrize("group", ["catalog", "plan", "validate", "calibrate", "results", "recsys"])
def test_groups_load_their_commands(group):
    r = gf(group, "--help")
    assert r.returncode == 0 and "Commands:" in r.stdout


def test_validate_lists_subcommands_from_every_module():
    r = gf("validate", "--help")
    for sub in ("training", "inference", "mlperf-training"):
        assert sub in r.stdout, sub


def test_a_commands_help_lists_its_options():
    r = gf("plan", "train", "--help")
    assert r.returncode == 0
    for flag in ("--model", "--gpus", "--seq-len", "--power-cap-w", "--precision"):
        assert flag in r.stdout, flag


def test_a_typo_is_answered_with_the_command_it_meant():
    r = gf("trian")
    assert r.returncode == 2
    assert "Did you mean 'train'?" in r.stdout + r.stderr
