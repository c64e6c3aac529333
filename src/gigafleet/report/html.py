"""The scenario report: one self-contained HTML file (plotly.js inlined, works offline)."""

from __future__ import annotations

import html
import json
from typing import Any

from gigafleet.report.recsys import recsys_section


def _fig_html(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """``columns``: (key, header, format) with format a str.format spec."""
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in columns)
    body = []
    for r in rows:
        cells = []
        for key, _, fmt in columns:
            v = r.get(key, "")
            if isinstance(v, int | float) and fmt:
                v = format(v, fmt)
            cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _figures(d: dict[str, Any]) -> list[tuple[str, str]]:
    import plotly.graph_objects as go

    out = []
    periods = d["periods"]
    sites = [s["name"] for s in d["sites"]]

    # GPUs per site over time, by generation
    fig = go.Figure()
    gens = sorted({g for p in d["timeline"] for s in p["sites"] for g in s["gpus_by_generation"]})
    for site in sites:
        for g in gens:
            y = [
                next(s for s in p["sites"] if s["site"] == site)["gpus_by_generation"].get(g, 0)
                for p in d["timeline"]
            ]
            if any(y):
                fig.add_bar(x=periods, y=y, name=f"{site} / {g}")
    fig.update_layout(barmode="stack", title="GPUs in service per site and generation",
                      yaxis_title="GPUs")  # fmt: skip
    out.append(("GPUs per site over time", _fig_html(fig)))

    # power against each site's cap
    fig = go.Figure()
    for site in sites:
        rows = [next(s for s in p["sites"] if s["site"] == site) for p in d["timeline"]]
        fig.add_scatter(x=periods, y=[r["facility_mw"] for r in rows], name=f"{site} draw",
                        mode="lines+markers")  # fmt: skip
        fig.add_scatter(x=periods, y=[r["cap_mw"] for r in rows], name=f"{site} cap",
                        mode="lines", line={"dash": "dash"})  # fmt: skip
    fig.update_layout(title="Facility power (IT x PUE) against each site's cap",
                      yaxis_title="MW")  # fmt: skip
    out.append(("Power per site", _fig_html(fig)))

    if d["training"]:
        t = d["training"]
        fig = go.Figure()
        fig.add_bar(x=[r["workload"] for r in t], y=[r["days"] for r in t], name="time to train")
        fig.add_scatter(x=[r["workload"] for r in t], y=[r["deadline_days"] for r in t],
                        mode="markers", marker={"symbol": "line-ew-open", "size": 40},
                        name="deadline")  # fmt: skip
        fig.update_layout(title="Time to train (failures and checkpoints included)",
                          yaxis_title="days")  # fmt: skip
        out.append(("Training runs", _fig_html(fig)))

    if d["services"]:
        s = d["services"]
        fig = go.Figure()
        names = [r["workload"] for r in s]
        fig.add_bar(x=names, y=[r["peak_demand"] for r in s], name="peak demand")
        fig.add_bar(x=names, y=[r["capacity"] for r in s], name="placed capacity")
        fig.update_layout(barmode="group", yaxis_type="log",
                          title="Serving capacity against peak demand (requests or inferences/s)")  # fmt: skip
        out.append(("Serving capacity", _fig_html(fig)))

    daily = [r for r in d["services"] if "daily" in r]
    if daily:
        fig = go.Figure()
        for r in daily:
            fig.add_scatter(x=list(range(24)), y=r["daily"]["utilization"], name=r["workload"],
                            mode="lines")  # fmt: skip
        fig.update_layout(title="Daily demand against placed capacity (1 = the peak hour's capacity)",
                          xaxis_title="hour of day", yaxis_title="utilization")  # fmt: skip
        out.append(("Daily pattern", _fig_html(fig)))

    g = d["generations"]
    if g:
        fig = go.Figure()
        x = [f"{r['system']} ({r['generation']})" for r in g]
        if any("serving_tokens_per_it_joule" in r for r in g):
            fig.add_bar(x=x, y=[r.get("serving_tokens_per_it_joule", 0) for r in g],
                        name="serving output tokens/J")  # fmt: skip
        if any("training_tokens_per_it_joule" in r for r in g):
            fig.add_bar(x=x, y=[r.get("training_tokens_per_it_joule", 0) for r in g],
                        name="training tokens/J")  # fmt: skip
        fig.update_layout(
            barmode="group", title="Performance per watt per generation (tokens per IT joule)"
        )
        out.append(("Performance per watt", _fig_html(fig)))

    owned = d["costs"].get("owned", [])
    if owned and any("break_even_utilization" in r for r in owned):
        fig = go.Figure()
        x = [f"{r['site']} / {r['system']}" for r in owned]
        fig.add_bar(x=x, y=[r.get("owned_usd_per_gpu_hour", 0) for r in owned],
                    name="owned $/GPU-hour at its utilization")  # fmt: skip
        fig.add_bar(x=x, y=[r.get("cloud_usd_per_gpu_hour", 0) for r in owned],
                    name="cloud $/GPU-hour")  # fmt: skip
        fig.update_layout(barmode="group", title="Owning against renting")
        out.append(("Own or rent", _fig_html(fig)))
    return out


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.bad{color:#b00020}
"""


def render_html(d: dict[str, Any]) -> str:
    """The whole report for a scenario result (``ScenarioResult.to_dict()``)."""
    from plotly.offline import get_plotlyjs

    parts = [f"<h1>gigafleet report: {html.escape(d['scenario'])}</h1>"]
    tot = d["totals"]
    parts.append("<h2>Headline</h2>")
    parts.append(
        _table(
            [tot],
            [
                ("gpus_peak", "GPUs (peak)", ",.0f"),
                ("facility_mw_peak", "facility MW (peak)", ",.1f"),
                ("training_days_max", "longest training (days)", ",.1f"),
                ("training_cost_usd", "training cost ($)", ",.3g"),
                ("serving_cost_usd_per_year", "serving cost ($/year)", ",.3g"),
                ("slo_attainment_min", "worst SLO attainment", ".3f"),
                ("num_unplaced", "work not placed", ".0f"),
            ],
        )
    )
    if d["unplaced"]:
        parts.append("<h2 class='bad'>Work that does not fit</h2>")
        parts.append(_table(d["unplaced"], [("workload", "workload", ""), ("kind", "kind", ""),
                                            ("binding", "binding constraint", "")]))  # fmt: skip
    if d["warnings"]:
        parts.append("<h2 class='bad'>Warnings</h2><ul>")
        parts.extend(f"<li>{html.escape(w)}</li>" for w in d["warnings"])
        parts.append("</ul>")
    if d["training"]:
        parts.append("<h2>Training runs</h2>")
        parts.append(
            _table(
                d["training"],
                [
                    ("workload", "run", ""), ("model", "model", ""), ("site", "site", ""),
                    ("system", "system", ""), ("num_gpus", "GPUs", ",.0f"),
                    ("mfu", "MFU", ".2f"), ("ideal_days", "ideal days", ".1f"),
                    ("ett", "effective training time", ".3f"), ("days", "days", ".1f"),
                    ("deadline_days", "deadline", ".0f"), ("facility_mw", "MW", ".1f"),
                    ("energy_gwh", "GWh", ".2f"), ("carbon_t", "tCO2e", ",.0f"),
                    ("cost_usd", "cost ($)", ",.3g"),
                ],
            )
        )  # fmt: skip
    if d["services"]:
        parts.append("<h2>Services (busiest period)</h2>")
        parts.append(
            _table(
                d["services"],
                [
                    ("workload", "service", ""), ("kind", "kind", ""), ("model", "model", ""),
                    ("unit", "unit", ""), ("peak_demand", "peak demand", ",.4g"),
                    ("capacity", "capacity", ",.4g"), ("gpus", "GPUs", ",.0f"),
                    ("slo_attainment", "SLO attainment", ".3f"),
                    ("facility_mw", "peak MW", ".1f"), ("facility_mw_mean", "mean MW", ".1f"),
                    ("facility_joules_per_token", "facility J/token (day)", ".3f"),
                    ("usd_per_million_tokens", "$/M tokens", ".3f"),
                    ("usd_per_billion_inferences", "$/B inferences", ".2f"),
                ],
            )
        )  # fmt: skip
    extrapolated = [r["workload"] for r in d["services"]
                    if str(r.get("replica", {}).get("calibration", "")).startswith("extrapolated")]  # fmt: skip
    if extrapolated:
        parts.append(
            "<p class='bad'>Not validated against measurements (roofline estimate): "
            f"{html.escape(', '.join(extrapolated))}.</p>"
        )
    parts.append(recsys_section(d))
    for title, fig in _figures(d):
        parts.append(f"<h2>{html.escape(title)}</h2>{fig}")
    parts.append("<h2>Summary (JSON)</h2><details><summary>show</summary><pre>")
    parts.append(html.escape(json.dumps(d, indent=1, default=str)))
    parts.append("</pre></details>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>gigafleet: {html.escape(d['scenario'])}</title><style>{_CSS}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>{''.join(parts)}</body></html>"
    )
