"""The HTML report of a small scenario: every chart with the result's own numbers, the
headline table with each figure under its own heading, and the summary it was built from."""

import html
import json
import re

import pytest

from gigafleet.plan.scenario import run_scenario
from gigafleet.report.html import render_html
from gigafleet.spec.scenario import Scenario
from scenariohelp import ASSISTANT, site_doc

RUN = {"name": "r", "model": "llama3.1-8b", "tokens": 1e10, "deadline_days": 20,
       "precision": "bf16", "seq_len": 4096, "global_batch": 256}  # fmt: skip


@pytest.fixture(scope="module")
def report():
    """A two-period scenario with training and a service on an owned site: every chart."""
    scn = Scenario.model_validate(
        {
            "name": "small",
            "timeline": {"start": "2026-01", "end": "2026-02", "step_months": 1},
            "sites": [site_doc("a", count=32)],
            "workloads": {"training": [RUN], "llm_services": [ASSISTANT]},
        }
    )
    d = run_scenario(scn).to_dict()
    return d, render_html(d)


def _json_at(page: str, i: int):
    """The JSON value starting at ``page[i:]`` (after white space) and the index past it."""
    while page[i].isspace():
        i += 1
    return json.JSONDecoder().raw_decode(page, i)


def _figures(page: str) -> dict[str, tuple[list, dict]]:
    """Each chart's heading and the data and layout handed to ``Plotly.newPlot``."""
    out = {}
    for m in re.finditer(r"<h2>([^<]*)</h2><div", page):
        start = page.index("Plotly.newPlot(", m.end())
        assert start < page.find("<h2>", m.end()), f"no chart under {m.group(1)}"
        data, j = _json_at(page, page.index(",", start) + 1)  # past the div's id
        layout, _ = _json_at(page, page.index(",", j) + 1)
        out[html.unescape(m.group(1))] = (data, layout)
    return out


def _trace(data: list, name: str) -> dict:
    (t,) = [t for t in data if t.get("name") == name]
    return t


def test_every_chart_carries_the_results_numbers(report):
    d, page = report
    figs = _figures(page)
    assert list(figs) == [
        "GPUs per site over time", "Power per site", "Training runs", "Serving capacity",
        "Daily pattern", "Performance per watt", "Own or rent",
    ]  # fmt: skip
    assert page.count('class="plotly-graph-div"') == len(figs)
    periods = d["periods"]
    assert periods == ["2026-01", "2026-02"]
    rows = [p["sites"][0] for p in d["timeline"]]

    data, layout = figs["GPUs per site over time"]
    t = _trace(data, "a / hopper")
    assert t["x"] == periods and t["y"] == [256, 256]
    assert layout["title"]["text"] == "GPUs in service per site and generation"

    data, _ = figs["Power per site"]
    assert _trace(data, "a draw")["y"] == pytest.approx([r["facility_mw"] for r in rows])
    assert _trace(data, "a cap")["y"] == pytest.approx([r["cap_mw"] for r in rows])

    (run,) = d["training"]
    data, _ = figs["Training runs"]
    assert _trace(data, "time to train")["y"] == pytest.approx([run["days"]])
    assert _trace(data, "deadline")["y"] == [20]

    (svc,) = d["services"]
    data, _ = figs["Serving capacity"]
    assert _trace(data, "peak demand")["y"] == pytest.approx([svc["peak_demand"]])
    assert _trace(data, "placed capacity")["y"] == pytest.approx([svc["capacity"]])

    data, _ = figs["Daily pattern"]
    assert _trace(data, "chat")["y"] == svc["daily"]["utilization"]

    (gen,) = d["generations"]
    data, _ = figs["Performance per watt"]
    assert _trace(data, "serving output tokens/J")["y"] == pytest.approx(
        [gen["serving_tokens_per_it_joule"]]
    )
    assert _trace(data, "training tokens/J")["y"] == pytest.approx(
        [gen["training_tokens_per_it_joule"]]
    )

    (owned,) = d["costs"]["owned"]
    data, _ = figs["Own or rent"]
    assert _trace(data, "owned $/GPU-hour at its utilization")["y"] == pytest.approx(
        [owned["owned_usd_per_gpu_hour"]]
    )
    assert _trace(data, "cloud $/GPU-hour")["y"] == pytest.approx([owned["cloud_usd_per_gpu_hour"]])


def test_headline_figures_sit_under_their_headings(report):
    d, page = report
    head = page.index("<h2>Headline</h2>")
    table = page[head : page.index("</table>", head)]
    headers = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
    cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", table)]
    shown = dict(zip(headers, cells, strict=True))
    tot = d["totals"]
    assert tot["gpus_peak"] == 256 and tot["num_unplaced"] == 0
    assert tot["training_cost_usd"] > 0 and tot["serving_cost_usd_per_year"] > 0
    assert shown == {
        "GPUs (peak)": "256",
        "facility MW (peak)": f"{tot['facility_mw_peak']:,.1f}",
        "longest training (days)": f"{tot['training_days_max']:,.1f}",
        "training cost ($)": f"{tot['training_cost_usd']:,.3g}",
        "serving cost ($/year)": f"{tot['serving_cost_usd_per_year']:,.3g}",
        "worst SLO attainment": f"{tot['slo_attainment_min']:.3f}",
        "work not placed": "0",
    }


def test_page_is_self_contained_and_embeds_its_summary(report):
    d, page = report
    assert page.startswith("<!DOCTYPE html>") and "<title>gigafleet: small</title>" in page
    assert "Plotly" in page and "<script src=" not in page  # plotly inlined: works offline
    pre = page[page.index("<pre>") + 5 : page.index("</pre>")]
    assert json.loads(html.unescape(pre)) == json.loads(json.dumps(d, default=str))
    # the tables show each run and service under its own name
    assert "<td>r</td><td>llama3.1-8b</td><td>a</td><td>dgx-h100</td>" in page
    assert "<td>chat</td><td>llm</td><td>llama3.1-8b</td><td>requests/s</td>" in page
    assert "Work that does not fit" not in page
