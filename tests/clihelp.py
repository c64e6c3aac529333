"""Running the CLI as a user would: its exit code and output.

:func:`gf` runs ``gigafleet ARGS`` in this process (the console entry point with its
arguments, output streams and working folder swapped in), which costs no interpreter start;
:func:`gf_process` runs it in a fresh interpreter, for the few true end-to-end tests.
"""

import contextlib
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def gf(*args, cwd=ROOT):
    """``gigafleet ARGS`` in this process: exit code, stdout and stderr as a user sees them."""
    from gigafleet.cli.main import run

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    code = 0
    try:
        sys.argv = ["gigafleet", *map(str, args)]
        with (
            contextlib.chdir(cwd),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return Result(code, out.getvalue(), err.getvalue())


def gf_process(*args, cwd=ROOT):
    """``gigafleet ARGS`` in a fresh interpreter (true end to end)."""
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
