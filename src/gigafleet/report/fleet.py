"""The fleet-simulation report: the daily time series of ``gigafleet simulate`` as charts
(plotly), with the spread over seeds as bands, and the summary's tables.

``render_fleet_html(doc, daily, bands)`` is a self-contained page (plotly.js inlined);
``fleet_section(doc, daily, bands)`` is the same content as a fragment for a page that
already loads plotly.js (e.g. the scenario report: one line to add it).
"""

from __future__ import annotations

import html
from typing import Any

#: (column, label) of the GPUs-by-use chart, stacked in this order.
USE = (
    ("gpus_training", "training"), ("gpus_hot_spare", "hot spares"),
    ("gpus_research", "research"), ("gpus_serving", "serving"), ("gpus_idle", "idle"),
    ("gpus_down", "down (repair)"),
)  # fmt: skip


def _fig_html(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in columns)
    body = []
    for r in rows:
        cells = []
        for key, _, fmt in columns:
            v = r.get(key, "")
            if isinstance(v, bool):
                v = "yes" if v else "no"
            elif isinstance(v, int | float) and fmt:
                v = format(v, fmt)
            elif v is None:
                v = "-"
            cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _band(fig, x, band: dict[str, list[float]] | None, name: str) -> None:
    if not band:
        return
    fig.add_scatter(x=x, y=band["p95"], mode="lines", line={"width": 0}, showlegend=False,
                    hoverinfo="skip")  # fmt: skip
    fig.add_scatter(x=x, y=band["p5"], mode="lines", line={"width": 0}, fill="tonexty",
                    fillcolor="rgba(100,100,100,0.2)", name=f"{name} p5-p95 over seeds")  # fmt: skip


def fleet_figures(
    doc: dict[str, Any], daily: dict[str, list], bands: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """(title, plotly HTML) for every chart of the report."""
    import plotly.graph_objects as go

    bands = bands or {}
    x = daily["date"]
    out = []

    fig = go.Figure()
    for col, label in USE:
        fig.add_scatter(x=x, y=daily[col], name=label, stackgroup="gpus", mode="lines")
    fig.add_scatter(x=x, y=daily["gpus_installed"], name="installed", mode="lines",
                    line={"color": "black", "dash": "dot"})  # fmt: skip
    if any(daily["gpus_cloud"]):
        fig.add_scatter(x=x, y=daily["gpus_cloud"], name="cloud (rented)", mode="lines")
    fig.update_layout(title="GPUs by use (daily mean)", yaxis_title="GPUs")
    out.append(("GPUs installed, healthy and used", _fig_html(fig)))

    fig = go.Figure()
    for col, label in (("goodput_share", "goodput / installed"), ("utilization", "used / healthy")):
        _band(fig, x, bands.get(col), label)
        fig.add_scatter(x=x, y=daily[col], name=label, mode="lines")
    fig.update_layout(
        title="Goodput share and utilization", yaxis_title="share", yaxis_range=[0, 1]
    )
    out.append(("Goodput and utilization", _fig_html(fig)))

    fig = go.Figure()
    causes = [k for k in daily if k.startswith("lost_gpu_h_")]
    for col in causes:
        fig.add_bar(x=x, y=daily[col], name=col.removeprefix("lost_gpu_h_"))
    fig.update_layout(barmode="stack", title="Lost GPU-hours by cause", yaxis_title="GPU-hours")
    out.append(("Lost GPU-hours by cause", _fig_html(fig)))

    fig = go.Figure()
    for k in ("training", "research", "serving"):
        fig.add_scatter(x=x, y=daily[f"interruptions_{k}"], name=f"{k} interruptions", mode="lines")
    fig.add_scatter(x=x, y=daily["failures_hardware"], name="hardware failures (fleet)",
                    mode="lines", line={"dash": "dot"})  # fmt: skip
    _band(fig, x, bands.get("interruptions"), "all interruptions")
    fig.update_layout(title="Interruptions and failures per day", yaxis_title="per day")
    out.append(("Interruptions", _fig_html(fig)))

    if any(daily["research_arrived"]):
        fig = go.Figure()
        _band(fig, x, bands.get("research_wait_h_mean"), "mean wait")
        fig.add_scatter(x=x, y=daily["research_wait_h_mean"], name="mean wait of jobs started (h)",
                        mode="lines")  # fmt: skip
        fig.add_scatter(x=x, y=daily["research_queue_jobs"], name="jobs queued (daily mean)",
                        mode="lines", yaxis="y2")  # fmt: skip
        fig.update_layout(title="Research queue", yaxis_title="hours",
                          yaxis2={"overlaying": "y", "side": "right", "title": "jobs"})  # fmt: skip
        out.append(("Research queue", _fig_html(fig)))

    svcs = [k.removeprefix("slo_attainment_") for k in daily if k.startswith("slo_attainment_")]
    if svcs:
        fig = go.Figure()
        _band(fig, x, bands.get("slo_attainment"), "all services")
        for s in svcs:
            fig.add_scatter(x=x, y=daily[f"slo_attainment_{s}"], name=s, mode="lines")
        fig.update_layout(title="SLO attainment per day (share of requests within SLO)",
                          yaxis_title="share")  # fmt: skip
        out.append(("SLO attainment", _fig_html(fig)))

    fig = go.Figure()
    fig.add_bar(x=x, y=daily["cloud_usd"], name="cloud spend ($)")
    fig.add_scatter(x=x, y=daily["cloud_gpu_h"], name="cloud GPU-hours", yaxis="y2", mode="lines")
    fig.update_layout(title="Bursting to cloud", yaxis_title="$",
                      yaxis2={"overlaying": "y", "side": "right", "title": "GPU-hours"})  # fmt: skip
    out.append(("Cloud spend", _fig_html(fig)))

    from gigafleet.sim.fleet.metrics import column_name

    fig = go.Figure()
    for s in doc["summary"]["sites"]:
        name = column_name(s["site"])
        col = f"facility_mw_{name}"
        if col in daily:
            fig.add_scatter(x=x, y=daily[col], name=f"{s['site']} mean", mode="lines")
            fig.add_scatter(x=x, y=daily[f"facility_mw_peak_{name}"], name=f"{s['site']} peak",
                            mode="lines", line={"dash": "dot"})  # fmt: skip
            fig.add_scatter(x=x, y=[s["cap_mw"]] * len(x), name=f"{s['site']} cap", mode="lines",
                            line={"dash": "dash", "width": 1})  # fmt: skip
    fig.add_bar(x=x, y=daily["energy_mwh"], name="energy (MWh/day)", yaxis="y2", opacity=0.3)
    fig.update_layout(title="Facility power per site against its cap, and energy",
                      yaxis_title="MW",
                      yaxis2={"overlaying": "y", "side": "right", "title": "MWh/day"})  # fmt: skip
    out.append(("Power and energy", _fig_html(fig)))
    return out


def _headline(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    row = {
        "days": s["days"], "seeds": len(doc["seeds"]), "goodput_share": s["goodput_share"],
        "utilization": s["utilization"], "slo": s["slo_attainment"],
        "cloud_gpu_h": s["cloud"]["gpu_h"], "cloud_usd": s["cloud"]["usd"],
        "energy_gwh": s["energy_mwh"] / 1e3, "lost": sum(s["lost_gpu_h"].values()),
        "interruptions": sum(s["interruptions"].values()),
    }  # fmt: skip
    return _table([row], [
        ("days", "days", ".0f"), ("seeds", "seeds", "d"), ("goodput_share", "goodput share", ".3f"),
        ("utilization", "utilization", ".3f"), ("slo", "SLO attainment", ".4f"),
        ("cloud_gpu_h", "cloud GPU-h", ",.0f"), ("cloud_usd", "cloud $", ",.3g"),
        ("energy_gwh", "energy GWh", ",.1f"), ("lost", "lost GPU-h", ",.3g"),
        ("interruptions", "interruptions", ",.0f"),
    ])  # fmt: skip


def fleet_section(
    doc: dict[str, Any], daily: dict[str, list], bands: dict[str, Any] | None = None
) -> str:
    """The report as an HTML fragment (needs plotly.js on the page)."""
    s = doc["summary"]
    parts = [f"<h2>Fleet over {s['days']:.0f} days (simulated from {html.escape(doc['start'])})</h2>",
             _headline(doc)]  # fmt: skip
    if s["training"]:
        parts.append("<h3>Training runs</h3>")
        parts.append(_table(s["training"], [
            ("workload", "run", ""), ("site", "site", ""), ("num_gpus", "GPUs", ",d"),
            ("finished", "finished", ""), ("days", "days", ".1f"), ("ideal_days", "ideal days", ".1f"),
            ("ettr", "ETTR", ".3f"), ("interruptions", "interruptions", ",d"),
            ("mtti_h", "MTTI (h)", ".2f"), ("progress", "progress", ".3f"),
        ]))  # fmt: skip
    parts.append("<h3>Mean time to interruption by job size</h3>")
    parts.append(_table(s["mtti_by_job_size"], [
        ("num_gpus", "GPUs (at least)", ",d"), ("jobs", "jobs", ",d"),
        ("interruptions", "interruptions", ",d"), ("mtti_h", "MTTI (h)", ",.1f"),
    ]))  # fmt: skip
    parts.append("<h3>Lost GPU-hours by cause</h3>")
    parts.append(_table([{"cause": k, "gpu_h": v} for k, v in s["lost_gpu_h"].items()],
                        [("cause", "cause", ""), ("gpu_h", "GPU-hours", ",.4g")]))  # fmt: skip
    if s["services"]:
        parts.append("<h3>Services</h3>")
        parts.append(_table(s["services"], [
            ("workload", "service", ""), ("kind", "kind", ""),
            ("slo_attainment", "SLO attainment", ".4f"),
            ("slo_attainment_worst_day", "worst day", ".4f"),
        ]))  # fmt: skip
    if s["grid_events"]:
        parts.append("<h3>Grid events</h3>")
        parts.append(_table(s["grid_events"], [
            ("site", "site", ""), ("start_day", "day", ".1f"), ("hours", "hours", ".1f"),
            ("shed_mw", "shed MW", ",.0f"), ("policy", "policy", ""),
            ("needed_mwh", "cut needed (MWh)", ",.1f"), ("idle_off_mwh", "idle off (MWh)", ",.1f"),
            ("capped_gpu_h", "GPU-h lost to capping", ",.0f"),
            ("jobs_preempted", "jobs preempted", ",d"), ("min_clock", "lowest clock", ".2f"),
        ]))  # fmt: skip
    if doc.get("spread"):
        keep = [k for k in doc["spread"] if k in (
            "goodput_share", "utilization", "slo_attainment", "cloud.usd", "energy_mwh",
            "research.wait_h_mean") or k.endswith(".ettr")]  # fmt: skip
        rows = [{"figure": k, **doc["spread"][k]} for k in keep]
        parts.append("<h3>Spread over seeds</h3>")
        parts.append(_table(rows, [("figure", "figure", ""), ("mean", "mean", ".4g"),
                                   ("std", "std", ".3g"), ("p5", "p5", ".4g"),
                                   ("p95", "p95", ".4g")]))  # fmt: skip
    for title, fig in fleet_figures(doc, daily, bands):
        parts.append(f"<h3>{html.escape(title)}</h3>{fig}")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
"""


def render_fleet_html(
    doc: dict[str, Any], daily: dict[str, list], bands: dict[str, Any] | None = None
) -> str:
    """The whole page (plotly.js inlined: it works offline)."""
    from plotly.offline import get_plotlyjs

    title = f"gigafleet simulation: {doc['scenario']}"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"<script>{get_plotlyjs()}</script></head><body><h1>{html.escape(title)}</h1>"
        f"{fleet_section(doc, daily, bands)}</body></html>"
    )
