"""Running the CLI as a user would: a subprocess, its exit code and output."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gf(*args, cwd=ROOT):
    """``gigafleet ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "gigafleet", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def assert_user_error(p, *needles):
    """Exit code 2, no traceback, and every needle in the (unwrapped) message."""
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    text = " ".join((p.stderr + p.stdout).split())  # rich wraps long lines
    for n in needles:
        assert n in text, text
