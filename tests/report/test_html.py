"""The HTML report of a small scenario: every chart with the result's own numbers, the
headline table with each figure and its basis under its heading, the sites' headroom and
what binds, and the summary it was built from."""

import html
import json
import re

import pytest

from reporthelp import small_report


@pytest.fixture(scope="module")
def report():
    return small_report()


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
        nxt = page.find("<h2>", m.end())
        assert nxt < 0 or start < nxt, f"no chart under {m.group(1)}"
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
        "GPUs installed and used", "Power per site", "Placement", "Training runs",
        "Serving capacity", "Throughput per GPU", "Daily pattern", "Performance per watt",
        "Capital and running cost", "Own or rent", "What one step is worth",
    ]  # fmt: skip
    assert page.count('class="plotly-graph-div"') == len(figs)
    periods = d["periods"]
    assert periods == ["2026-01", "2026-02"]
    rows = [p["sites"][0] for p in d["timeline"]]

    data, _ = figs["GPUs installed and used"]
    used = _trace(data, "a / dgx-h100 used")["y"]
    idle = _trace(data, "a / dgx-h100 idle")["y"]
    assert used == pytest.approx([r["gpus_used_by_system"]["dgx-h100"] for r in rows])
    assert [u + i for u, i in zip(used, idle, strict=True)] == pytest.approx([256, 256])
    assert max(idle) > 0  # idle capacity is visible

    data, _ = figs["Power per site"]
    for key, label in (("cap_mw", "cap"), ("provisioned_mw", "provisioned"),
                       ("draw_mean_mw", "mean draw"), ("facility_mw", "peak-hour draw")):  # fmt: skip
        assert _trace(data, f"a {label}")["y"] == pytest.approx([r[key] for r in rows])

    data, _ = figs["Placement"]
    chat = [p for p in d["placement"] if p["workload"] == "chat" and p["site"] == "a"]
    assert sum(_trace(data, "chat @ dgx-h100")["y"]) == pytest.approx(sum(p["gpus"] for p in chat))

    (run,) = d["training"]
    data, _ = figs["Training runs"]
    assert _trace(data, "time to train")["y"] == pytest.approx([run["days"]])

    (svc,) = d["services"]
    data, _ = figs["Serving capacity"]
    assert _trace(data, "placed capacity")["y"] == pytest.approx([svc["capacity"]])
    data, _ = figs["Daily pattern"]
    assert _trace(data, "chat")["y"] == svc["daily"]["utilization"]

    data, _ = figs["Performance per watt"]
    ppw = {r["workload"]: r for r in d["perf_per_watt"]}
    assert _trace(data, "chat")["y"] == pytest.approx([ppw["chat"]["per_joule"]])
    assert _trace(data, "r")["y"] == pytest.approx([ppw["r"]["per_joule"]])

    data, _ = figs["Capital and running cost"]
    split = d["costs"]["split"]
    assert _trace(data, "systems and network (amortised)")["y"] == pytest.approx(
        [r["capital_usd_per_year"] / 1e9 for r in split]
    )
    assert _trace(data, "electricity (mean draw)")["y"] == pytest.approx(
        [r["electricity_usd_per_year"] / 1e9 for r in split]
    )

    (owned,) = d["costs"]["owned"]
    data, _ = figs["Own or rent"]
    assert _trace(data, "utilization")["y"] == pytest.approx([owned["utilization"]])
    assert _trace(data, "rent $/GPU-hour (same system)")["y"] == pytest.approx(
        [owned["cloud_usd_per_gpu_hour"]]
    )

    data, _ = figs["What one step is worth"]
    pue = {r["direction"]: r for r in d["sensitivity"]["levers"] if r["lever"] == "pue"}
    work, fleet = [t for t in data if t["name"] == "one step"]  # two panels: work, fleet
    i = work["y"].index("pue")
    assert work["x"][i] == pytest.approx(pue[1]["delta"]["work_cost_usd_per_year"] / 1e6)
    assert fleet["x"][i] == pytest.approx(pue[1]["delta"]["fleet_cost_usd_per_year"] / 1e6)


def test_headline_figures_sit_under_their_headings_with_their_basis(report):
    d, page = report
    head = page.index("<h2>Headline</h2>")
    table = page[head : page.index("</table>", head)]
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)
    shown = {html.unescape(a): (html.unescape(b), c) for a, b, c in cells}
    tot = d["totals"]
    assert tot["gpus_peak"] == 256 + 32 and tot["num_unplaced"] == 0
    assert shown["GPUs installed (peak)"][0] == "288"
    assert shown["fleet cost ($/year)"][0] == f"{tot['fleet_cost_usd_per_year']:,.3g}"
    assert shown["mean draw, owned sites (MW)"][0] == f"{tot['facility_mw_mean']:,.1f}"
    # every tagged figure says where it stands (hopper, fitted training constants)
    assert "interpolated" in shown["longest training (days)"][1]


def test_sites_table_shows_headroom_and_what_binds(report):
    d, page = report
    i = page.index("<h2>Sites: headroom and what binds</h2>")
    table = html.unescape(page[i : page.index("</table>", i)])
    row = d["timeline"][0]["sites"][0]
    assert row["binding"].startswith("none") and row["binding"] in table
    assert f"{row['headroom_mw']:,.0f}" in table and "more racks that fit" in table


def test_page_is_self_contained_and_embeds_its_summary(report):
    d, page = report
    assert page.startswith("<!DOCTYPE html>") and "<title>gigafleet: small</title>" in page
    assert "Plotly" in page and "<script src=" not in page  # plotly inlined: works offline
    pre = page[page.index("<pre>") + 5 : page.index("</pre>")]
    assert json.loads(html.unescape(pre)) == json.loads(json.dumps(d, default=str))
    assert "<td>r</td><td>llama3.1-8b</td><td>a</td><td>dgx-h100</td>" in page
    assert "Work that does not fit" not in page
    assert "id='gf-status'" in page  # the hook the browser test reads
