"""The report in a real browser: headless Chromium (Debian's ``chromium``; ``.ci/run``
installs it when missing) opens report.html, no script raises an error, every chart draws
its data, and a screenshot is saved. Without Chromium the test skips, unless
``GIGAFLEET_BROWSER_TEST=required`` (CI) makes that a failure."""

import html
import json
import os
import re
import shutil
import subprocess

import pytest

from reporthelp import small_report

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--virtual-time-budget=10000",
]  # fmt: skip


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("GIGAFLEET_BROWSER_TEST") == "required":
            pytest.fail("chromium is required (GIGAFLEET_BROWSER_TEST=required) but not found")
        pytest.skip("chromium not installed (apt-get install chromium; .ci/run installs it)")
    return exe


def _run(exe, tmp_path, *args):
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180)  # fmt: skip


@pytest.mark.slow
def test_report_renders_every_chart_without_script_errors(tmp_path):
    exe = _chromium()
    d, page = small_report(levers=("pue", "demand"))
    report = tmp_path / "report.html"
    report.write_text(page)
    dom = _run(exe, tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r'<pre id="gf-status"[^>]*>(.*?)</pre>', dom.stdout, re.S)
    assert m and m.group(1).strip(), "the page's status hook did not run"
    status = json.loads(html.unescape(m.group(1)))
    assert status["errors"] == []
    charts = status["charts"]
    assert len(charts) == page.count('class="plotly-graph-div"') == 11
    for c in charts:
        assert c["traces"] > 0 and c["with_data"] == c["traces"], c
        assert c["groups"] >= c["with_data"] and c["marks"] > 0, c  # drawn, not just defined
    titles = [c["title"] for c in charts]
    assert any(t.startswith("Power per site") for t in titles)
    assert any(t.startswith("What one step is worth") for t in titles)
    shot = tmp_path / "report.png"
    r = _run(exe, tmp_path, "--window-size=1400,9000", f"--screenshot={shot}", report.as_uri())
    assert r.returncode == 0 and shot.stat().st_size > 10_000, r.stderr[-2000:]
    keep = os.environ.get("GIGAFLEET_SCREENSHOT_DIR")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(shot, os.path.join(keep, "report.png"))
