"""The fleet report: a self-contained page with the daily series, bands over seeds."""

from fleethelp import fleet, frontier, pool, research, service
from gigafleet.plan.simulate import daily_bands, run_seed
from gigafleet.report.fleet import fleet_section, render_fleet_html


def _doc_and_runs():
    pools = [pool(4096, research=True), pool(512, name="cloud", cloud=True, site=1, price=5.0)]
    inp = fleet(pools, days=3, services=[service(2, rps=50.0, cap=[0.1, 0.1], gpus=[8, 8], order=[0, 1])],
                training=[frontier(1024, 86400.0, tau=1800.0, delta=30.0, restore=30.0)],
                research=research(100.0, sizes=(8, 64), shares=(0.5, 0.5)))  # fmt: skip
    runs = [run_seed(inp, i, s, None) for i, s in enumerate((0, 1))]
    doc = {"scenario": "t", "start": "2026-01", "seeds": [0, 1], "summary": runs[0]["summary"],
           "spread": {"goodput_share": {"mean": 0.5, "std": 0.01, "p5": 0.49, "p95": 0.51}}}  # fmt: skip
    return doc, runs


def test_page_has_every_series_and_tables():
    doc, runs = _doc_and_runs()
    page = render_fleet_html(doc, runs[0]["daily"], daily_bands(runs))
    assert page.startswith("<!DOCTYPE html>") and 'src="http' not in page
    for title in ("GPUs installed, healthy and used", "Goodput and utilization", "Lost GPU-hours by cause",
                  "Interruptions", "Research queue", "SLO attainment", "Cloud spend", "Power and energy",
                  "Training runs", "Mean time to interruption by job size", "Spread over seeds"):  # fmt: skip
        assert title in page, title
    assert "p5-p95 over seeds" in page
    frag = fleet_section(doc, runs[0]["daily"])
    assert "<html" not in frag and "Lost GPU-hours by cause" in frag
