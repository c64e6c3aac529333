"""A few true end-to-end runs: the installed entry point in a fresh interpreter, as a user
types it (the other CLI tests run the same entry point in-process)."""

import json

from clihelp import gf_process


def test_help_lists_every_command_group():
    p = gf_process("--help")
    assert p.returncode == 0
    for group in ("train", "serve", "run", "compare", "catalog", "validate", "plan", "results"):
        assert group in p.stdout


def test_train_example_prints_json():
    p = gf_process("train", "--config", "examples/llama3.1-405b-h100.yaml", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["feasible"] and r["step_time_s"] > 0


def test_bad_input_is_one_line_and_exit_2():
    p = gf_process("train", "--model", "llama3-70b", "--system", "dgx-h100", "--gpus", "-8")
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_scenario_run_writes_report_and_summary(tmp_path):
    p = gf_process("run", "examples/one-site.yaml", "--out", str(tmp_path), "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "summary.json").read_text())["scenario"]
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
