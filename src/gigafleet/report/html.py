"""The scenario report a planner reads: one self-contained HTML file (plotly.js inlined,
works offline) built from ``ScenarioResult.to_dict()``.

Where the fleet stands: GPUs installed against used per site and system over time (idle
capacity visible); power per site (mean draw, peak-hour draw, what is provisioned for the
installed systems, the cap); headroom and what binds per site and period; the placement of
every workload by site, system and period; training runs; services with their replica
shape and throughput per GPU; capital against running cost; own or rent on a readable
scale; performance per watt per workload and generation; what one step of each lever is
worth (table and tornado, when the run has a sensitivity); every headline figure with the
basis it stands on (fitted, interpolated, extrapolated).

A small script records script errors and, once the page has loaded, what every chart drew
(``#gf-status``): the browser test reads it.
"""

from __future__ import annotations

import html
import json
from typing import Any

from gigafleet.report.recsys import recsys_section

#: Colours of the tags and of used against idle capacity.
TAG_CLASS = {"fitted": "ok", "interpolated": "ok", "extrapolated": "warn"}


def _fig_html(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _fmt(v: Any, fmt: str) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, int | float) and fmt:
        return format(v, fmt)
    return str(v)


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """``columns``: (key, header, format) with format a str.format spec."""
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in columns)
    body = []
    for r in rows:
        cells = [f"<td>{html.escape(_fmt(r.get(key, ''), fmt))}</td>" for key, _, fmt in columns]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _tag(t: dict[str, Any] | None) -> str:
    """A figure's basis as a small badge with its reasons on hover."""
    if not t:
        return ""
    why = "; ".join(t.get("why", []))
    cls = TAG_CLASS.get(t["tag"], "")
    title = f" title='{html.escape(why, quote=True)}'" if why else ""
    return f"<span class='tag {cls}'{title}>{html.escape(t['tag'])}</span>"


def _site_rows(d: dict[str, Any], site: str) -> list[dict[str, Any]]:
    return [next(s for s in p["sites"] if s["site"] == site) for p in d["timeline"]]


# ---- charts ---------------------------------------------------------------------------------


def _gpus_used(d: dict[str, Any]):
    """Installed against used GPUs per site and system over time: used solid, idle pale."""
    from plotly.subplots import make_subplots

    sites = [s["name"] for s in d["sites"]]
    fig = make_subplots(rows=len(sites), cols=1, shared_xaxes=True, subplot_titles=sites,
                        vertical_spacing=0.3 / max(len(sites), 1))  # fmt: skip
    periods = d["periods"]
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    systems = sorted(
        {sys for p in d["timeline"] for s in p["sites"] for sys in s["gpus_by_system"]}
    )
    for i, site in enumerate(sites, start=1):
        rows = _site_rows(d, site)
        for j, system in enumerate(systems):
            inst = [r["gpus_by_system"].get(system, 0) for r in rows]
            if not any(inst):
                continue
            used = [min(r["gpus_used_by_system"].get(system, 0.0), n) for r, n in zip(rows, inst, strict=True)]  # fmt: skip
            idle = [n - u for n, u in zip(inst, used, strict=True)]
            color = palette[j % len(palette)]
            fig.add_bar(x=periods, y=used, name=f"{site} / {system} used", marker_color=color,
                        row=i, col=1)  # fmt: skip
            fig.add_bar(x=periods, y=idle, name=f"{site} / {system} idle", marker_color=color,
                        opacity=0.3, row=i, col=1)  # fmt: skip
    fig.update_layout(barmode="stack", height=260 * len(sites) + 80,
                      title="GPUs installed and used per site and system (pale: idle)")  # fmt: skip
    return fig


def _power(d: dict[str, Any]):
    """Per site: the cap, the power provisioned for the installed systems (by the policy)
    and their nameplate, the peak-hour draw and the mean draw (the energy bill)."""
    from plotly.subplots import make_subplots

    sites = [s["name"] for s in d["sites"]]
    fig = make_subplots(rows=len(sites), cols=1, shared_xaxes=True, subplot_titles=sites,
                        vertical_spacing=0.3 / max(len(sites), 1))  # fmt: skip
    periods = d["periods"]
    lines = (
        ("cap_mw", "cap", {"dash": "dash", "color": "#b00020"}),
        ("rated_mw", "nameplate", {"dash": "dot", "color": "#777"}),
        ("provisioned_mw", "provisioned", {"color": "#9467bd"}),
        ("draw_peak_mw", "peak draw", {"color": "#ff7f0e"}),
        ("facility_mw", "peak-hour draw", {"color": "#2ca02c"}),
        ("draw_mean_mw", "mean draw", {"color": "#1f77b4"}),
    )
    for i, site in enumerate(sites, start=1):
        rows = _site_rows(d, site)
        for key, label, line in lines:
            fig.add_scatter(x=periods, y=[r[key] for r in rows], name=f"{site} {label}",
                            mode="lines+markers", line=line, legendgroup=label, row=i, col=1)  # fmt: skip
    fig.update_yaxes(title_text="MW")
    fig.update_layout(height=260 * len(sites) + 80,
                      title="Power per site: mean and peak draw, provisioned and nameplate, against the cap")  # fmt: skip
    return fig


def _placement(d: dict[str, Any]):
    """GPUs of every workload by site and system, per period (one panel per site)."""
    from plotly.subplots import make_subplots

    sites = [s["name"] for s in d["sites"]]
    fig = make_subplots(rows=len(sites), cols=1, shared_xaxes=True, subplot_titles=sites,
                        vertical_spacing=0.3 / max(len(sites), 1))  # fmt: skip
    periods = d["periods"]
    keys = sorted({(r["workload"], r["system"]) for r in d["placement"]})
    for i, site in enumerate(sites, start=1):
        for work, system in keys:
            y = [sum(r["gpus"] for r in d["placement"] if (r["period"], r["site"], r["workload"],
                     r["system"]) == (p, site, work, system)) for p in periods]  # fmt: skip
            if any(y):
                fig.add_bar(x=periods, y=y, name=f"{work} @ {system}", legendgroup=work,
                            row=i, col=1)  # fmt: skip
    fig.update_layout(barmode="stack", height=260 * len(sites) + 80,
                      title="Placement: GPUs of each workload by site and system, per period")  # fmt: skip
    return fig


def _throughput(d: dict[str, Any]):
    """Throughput per GPU of each service on each system it is placed on."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for r in d["services"]:
        pl = r.get("placement", [])
        if not pl:
            continue
        per = [p["per_gpu"] * (r.get("output_tokens_per_s", 0) / r["capacity"] if r["capacity"] and "output_tokens_per_s" in r else 1.0) for p in pl]  # fmt: skip
        unit = "output tokens/s" if "output_tokens_per_s" in r else "inferences/s"
        fig.add_bar(x=[f"{r['workload']} @ {p['system']}" for p in pl], y=per,
                    name=f"{r['workload']} ({unit} per GPU)")  # fmt: skip
    fig.update_layout(yaxis_type="log", yaxis_title="per GPU (log)",
                      title="Throughput per GPU of each service on each system (at the SLO)")  # fmt: skip
    return fig


def _cost_split(d: dict[str, Any]):
    import plotly.graph_objects as go

    split = d["costs"].get("split", [])
    fig = go.Figure()
    x = [r["period"] for r in split]
    for key, label in (("capital", "systems and network (amortised)"),
                       ("facility", "facility (amortised)"), ("maintenance", "maintenance"),
                       ("electricity", "electricity (mean draw)"), ("cloud", "cloud rent")):  # fmt: skip
        y = [r[f"{key}_usd_per_year"] / 1e9 for r in split]
        if any(y):
            fig.add_bar(x=x, y=y, name=label)
    fig.update_layout(barmode="stack", yaxis_title="$B a year",
                      title="Capital against running cost, per period ($B a year)")  # fmt: skip
    return fig


def _own_or_rent(d: dict[str, Any]):
    """Two readable scales: $ per GPU-hour at full use against the rent, and the
    utilization each pool has against the one at which owning pays."""
    from plotly.subplots import make_subplots

    owned = d["costs"]["owned"]
    x = [f"{r['site']} / {r['system']}" for r in owned]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "$ per GPU-hour: owned at full use, and the rent", "utilization: actual and break-even"))  # fmt: skip
    fig.add_bar(x=x, y=[r["owned_usd_per_gpu_hour_full_use"] for r in owned],
                name="owned $/GPU-hour at full use", row=1, col=1)  # fmt: skip
    fig.add_bar(x=x, y=[r["cloud_usd_per_gpu_hour"] for r in owned],
                name="rent $/GPU-hour (same system)", row=1, col=1)  # fmt: skip
    fig.add_bar(x=x, y=[r["utilization"] for r in owned], name="utilization", row=1, col=2)
    fig.add_scatter(x=x, y=[min(r["break_even_utilization"], 1.5) for r in owned],
                    mode="markers", marker={"symbol": "line-ew-open", "size": 30},
                    name="break-even utilization (capped at 1.5)", row=1, col=2)  # fmt: skip
    fig.update_layout(barmode="group", title="Own or rent: each owned pool against renting the same system")  # fmt: skip
    return fig


def _perf_per_watt(d: dict[str, Any]):
    """Work per IT joule, one panel per workload, one bar per system (by generation)."""
    from plotly.subplots import make_subplots

    rows = d.get("perf_per_watt", [])
    works = list(dict.fromkeys(r["workload"] for r in rows))
    cols = min(len(works), 3) or 1
    nrows = -(-len(works) // cols) or 1
    fig = make_subplots(rows=nrows, cols=cols, vertical_spacing=0.5 / nrows,
                        subplot_titles=[f"{w} ({next(r['unit'] for r in rows if r['workload'] == w)})" for w in works])  # fmt: skip
    for j, w in enumerate(works):
        mine = [r for r in rows if r["workload"] == w]
        fig.add_bar(x=[f"{r['system']} ({r['generation']})" for r in mine],
                    y=[r["per_joule"] for r in mine], name=w, row=j // cols + 1, col=j % cols + 1)  # fmt: skip
    fig.update_layout(showlegend=False, height=340 * nrows + 60,
                      title="Performance per watt per workload and generation (per IT joule)")  # fmt: skip
    return fig


def _tornado(s: dict[str, Any]):
    """Each lever's change in dollars a year, both ways, largest first: the cost of the
    work (the GPU-hours in use) and of the fleet (everything installed, and its bill)."""
    from plotly.subplots import make_subplots

    rows = [r for r in s["levers"] if "delta" in r]
    by: dict[str, dict[int, dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["lever"], {})[r["direction"]] = r

    def size(k: str) -> float:
        return max(abs(x["delta"][m]) for x in by[k].values()
                   for m in ("work_cost_usd_per_year", "fleet_cost_usd_per_year"))  # fmt: skip

    order = sorted(by, key=size)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("cost of the work, $M a year", "cost of the fleet, $M a year"))  # fmt: skip
    for col, metric in ((1, "work_cost_usd_per_year"), (2, "fleet_cost_usd_per_year")):
        for d, name, color in ((1, "one step", "#1f77b4"), (-1, "the other way", "#ff7f0e")):
            ys = [k for k in order if d in by[k]]
            fig.add_bar(y=ys, x=[by[k][d]["delta"][metric] / 1e6 for k in ys], orientation="h",
                        name=name, marker_color=color, legendgroup=name, showlegend=col == 1,
                        text=[by[k][d]["label"] for k in ys], textposition="none",
                        hovertemplate="%{text}: %{x:,.1f} $M/year", row=1, col=col)  # fmt: skip
    fig.update_layout(barmode="overlay", height=140 + 40 * len(order),
                      title="What one step is worth (tornado): change in $ a year by lever")  # fmt: skip
    return fig


def _figures(d: dict[str, Any]) -> list[tuple[str, Any]]:
    import plotly.graph_objects as go

    out: list[tuple[str, Any]] = [
        ("GPUs installed and used", _gpus_used(d)),
        ("Power per site", _power(d)),
    ]
    if d["placement"]:
        out.append(("Placement", _placement(d)))
    if d["training"]:
        t = d["training"]
        fig = go.Figure()
        fig.add_bar(x=[r["workload"] for r in t], y=[r["days"] for r in t], name="time to train")
        fig.add_scatter(x=[r["workload"] for r in t], y=[r["deadline_days"] for r in t],
                        mode="markers", marker={"symbol": "line-ew-open", "size": 40},
                        name="deadline")  # fmt: skip
        fig.update_layout(title="Time to train (failures and checkpoints included)",
                          yaxis_title="days")  # fmt: skip
        out.append(("Training runs", fig))
    if d["services"]:
        s = d["services"]
        fig = go.Figure()
        names = [r["workload"] for r in s]
        fig.add_bar(x=names, y=[r["peak_demand"] for r in s], name="peak demand")
        fig.add_bar(x=names, y=[r["capacity"] for r in s], name="placed capacity")
        fig.update_layout(barmode="group", yaxis_type="log",
                          title="Serving capacity against peak demand (requests or inferences/s)")  # fmt: skip
        out.append(("Serving capacity", fig))
        if any(r.get("placement") for r in s):
            out.append(("Throughput per GPU", _throughput(d)))
    daily = [r for r in d["services"] if "daily" in r]
    if daily:
        fig = go.Figure()
        for r in daily:
            fig.add_scatter(x=list(range(24)), y=r["daily"]["utilization"], name=r["workload"],
                            mode="lines")  # fmt: skip
        fig.update_layout(title="Daily demand against placed capacity (1 = the peak hour's capacity)",
                          xaxis_title="hour of day", yaxis_title="utilization")  # fmt: skip
        out.append(("Daily pattern", fig))
    if d.get("perf_per_watt"):
        out.append(("Performance per watt", _perf_per_watt(d)))
    if d["costs"].get("split"):
        out.append(("Capital and running cost", _cost_split(d)))
    if d["costs"].get("owned"):
        out.append(("Own or rent", _own_or_rent(d)))
    if d.get("sensitivity") and any("delta" in r for r in d["sensitivity"]["levers"]):
        out.append(("What one step is worth", _tornado(d["sensitivity"])))
    return out


# ---- tables ---------------------------------------------------------------------------------

HEADLINE = [
    ("gpus_peak", "GPUs installed (peak)", ",.0f"),
    ("gpus_used_mean", "GPUs in use (mean)", ",.0f"),
    ("facility_mw_mean", "mean draw, owned sites (MW)", ",.1f"),
    ("provisioned_mw_peak", "provisioned (MW, peak)", ",.0f"),
    ("training_days_max", "longest training (days)", ",.1f"),
    ("training_cost_usd", "training cost ($)", ",.3g"),
    ("serving_cost_usd_per_year", "serving cost ($/year)", ",.3g"),
    ("fleet_cost_usd_per_year", "fleet cost ($/year)", ",.3g"),
    ("work_cost_usd_per_year", "cost of the work ($/year)", ",.3g"),
    ("slo_attainment_min", "worst SLO attainment", ".3f"),
    ("num_unplaced", "work not placed", ".0f"),
]


def _headline(d: dict[str, Any]) -> str:
    tot, tags = d["totals"], d.get("tags", {})
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{html.escape(_fmt(tot.get(key, ''), fmt))}</td>"
        f"<td>{_tag(tags.get(key))}</td></tr>"
        for key, label, fmt in HEADLINE
    )
    return f"<table class='headline'><tr><th>figure</th><th>value</th><th>basis</th></tr>{rows}</table>"


def _sites_table(d: dict[str, Any]) -> str:
    """Headroom and what binds, per site and period."""
    rows = []
    for p in d["timeline"]:
        for s in p["sites"]:
            rows.append({"period": p["period"], **s,
                         "racks": ", ".join(f"{n:,} {k}" for k, n in s.get("racks_that_fit", {}).items()),
                         "capped": s["capping"]["throughput_loss"]})  # fmt: skip
    return _table(rows, [
        ("period", "period", ""), ("site", "site", ""), ("gpus", "GPUs", ",.0f"),
        ("gpus_used", "in use", ",.0f"), ("draw_mean_mw", "mean MW", ",.1f"),
        ("facility_mw", "peak-hour MW", ",.1f"), ("provisioned_mw", "provisioned MW", ",.0f"),
        ("provision_for", "provisioned for", ""), ("cap_mw", "cap MW", ",.0f"),
        ("headroom_mw", "headroom MW", ",.0f"), ("racks", "more racks that fit", ""),
        ("capped", "throughput lost to capping", ".2%"), ("binding", "what binds", ""),
    ])  # fmt: skip


def _services_table(d: dict[str, Any]) -> str:
    rows = []
    for r in d["services"]:
        rep = r.get("replica", {})
        shape = ", ".join(f"{k} {rep[k]:g}" for k in ("tp", "ep", "dp", "pp") if isinstance(rep.get(k), int | float) and rep.get(k, 1) > 1)  # fmt: skip
        rows.append({**r, "shape": (shape or "1 GPU") + (" disaggregated" if rep.get("disaggregated") else ""),
                     "gpus_per_replica": rep.get("gpus_per_replica"), "batch": rep.get("batch"),
                     "per_gpu": r.get("output_tokens_per_s_per_gpu", r.get("capacity_per_gpu")),
                     "stands": (r.get("basis") or {}).get("tag", "")})  # fmt: skip
    return _table(rows, [
        ("workload", "service", ""), ("kind", "kind", ""), ("model", "model", ""),
        ("system", "main system", ""), ("peak_demand", "peak demand", ",.4g"),
        ("unit", "unit", ""), ("gpus", "GPUs", ",.0f"), ("shape", "replica shape", ""),
        ("gpus_per_replica", "GPUs/replica", ",.0f"), ("batch", "batch", ",.0f"),
        ("per_gpu", "tokens (or inferences)/s per GPU", ",.4g"),
        ("slo_attainment", "SLO attainment", ".3f"), ("facility_mw", "peak MW", ".1f"),
        ("facility_mw_mean", "mean MW", ".1f"),
        ("usd_per_million_tokens", "$/M tokens", ".3f"),
        ("usd_per_billion_inferences", "$/B inferences", ".2f"), ("stands", "basis", ""),
    ])  # fmt: skip


def _sensitivity_table(s: dict[str, Any]) -> str:
    rows = []
    for r in s["levers"]:
        row = {"label": r["label"], **{k: v for k, v in r.get("delta", {}).items()},
               "note": r.get("skipped_reason", "")}  # fmt: skip
        rows.append(row)
    return _table(rows, [
        ("label", "lever (one step)", ""), ("gpus_used_mean", "GPUs in use", "+,.0f"),
        ("facility_mw_mean", "mean MW", "+,.1f"), ("provisioned_mw_peak", "provisioned MW", "+,.0f"),
        ("work_cost_usd_per_year", "cost of the work $/year", "+,.3g"),
        ("fleet_cost_usd_per_year", "fleet cost $/year", "+,.3g"), ("note", "", ""),
    ])  # fmt: skip


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.bad{color:#b00020}
.tag{border-radius:3px;padding:0 4px;font-size:0.85em}
.tag.ok{background:#e6f2e6}.tag.warn{background:#fff0c0}
"""

#: Installed first: every script error the page raises is kept for the browser test.
_HOOK_HEAD = (
    "<script>window.__gf={errors:[]};"
    "window.addEventListener('error',function(e){window.__gf.errors.push(String(e.message))});"
    "</script>"
)
#: After load: what every chart drew, written into #gf-status (read by the browser test).
_HOOK_TAIL = """<pre id='gf-status' style='display:none'></pre><script>
window.addEventListener('load',function(){setTimeout(function(){
var charts=[].map.call(document.querySelectorAll('div.plotly-graph-div'),function(div){
 var data=div.data||[];var pts=0,full=0;data.forEach(function(t){
  var n=(t.x||t.y||[]).length;pts+=n;if(n>0)full+=1;});
 var title=div.layout&&div.layout.title?(div.layout.title.text||''):'';
 return {title:title,traces:data.length,with_data:full,points:pts,
  groups:div.querySelectorAll('g.trace').length,
  marks:div.querySelectorAll('g.point, path.point, path.js-line').length};});
document.getElementById('gf-status').textContent=JSON.stringify(
 {errors:window.__gf.errors,charts:charts});},0);});
</script>"""


def render_html(d: dict[str, Any]) -> str:
    """The whole report for a scenario result (``ScenarioResult.to_dict()``)."""
    from plotly.offline import get_plotlyjs

    parts = [f"<h1>gigafleet report: {html.escape(d['scenario'])}</h1>"]
    parts.append("<h2>Headline</h2>")
    parts.append(_headline(d))
    if d["unplaced"]:
        parts.append("<h2 class='bad'>Work that does not fit</h2>")
        parts.append(_table(d["unplaced"], [("workload", "workload", ""), ("kind", "kind", ""),
                                            ("binding", "binding constraint", "")]))  # fmt: skip
    if d["warnings"]:
        parts.append("<h2 class='bad'>Warnings</h2><ul>")
        parts.extend(f"<li>{html.escape(w)}</li>" for w in d["warnings"])
        parts.append("</ul>")
    parts.append("<h2>Sites: headroom and what binds</h2>")
    parts.append(_sites_table(d))
    if d["training"]:
        parts.append("<h2>Training runs</h2>")
        parts.append(
            _table(
                [{**r, "stands": r.get("basis", {}).get("tag", "")} for r in d["training"]],
                [
                    ("workload", "run", ""), ("model", "model", ""), ("site", "site", ""),
                    ("system", "system", ""), ("num_gpus", "GPUs", ",.0f"),
                    ("mfu", "MFU", ".2f"), ("ideal_days", "ideal days", ".1f"),
                    ("ett", "effective training time", ".3f"), ("days", "days", ".1f"),
                    ("deadline_days", "deadline", ".0f"), ("facility_mw", "MW", ".1f"),
                    ("energy_gwh", "GWh", ".2f"), ("carbon_t", "tCO2e", ",.0f"),
                    ("cost_usd", "cost ($)", ",.3g"), ("stands", "basis", ""),
                ],
            )
        )  # fmt: skip
    if d["services"]:
        parts.append("<h2>Services (busiest period): replica shape and throughput per GPU</h2>")
        parts.append(_services_table(d))
    flagged = sorted({w for t in d.get("tags", {}).values() for w in t.get("why", [])})
    if flagged:
        parts.append("<h2>Extrapolated beyond what was measured</h2><ul>")
        parts.extend(f"<li>{html.escape(w)}</li>" for w in flagged)
        parts.append("</ul>")
    if d.get("sensitivity"):
        parts.append("<h2>What one step of each lever is worth</h2>")
        parts.append(_sensitivity_table(d["sensitivity"]))
    for title, fig in _figures(d):
        parts.append(f"<h2>{html.escape(title)}</h2>{_fig_html(fig)}")
    # other report modules (report/recsys.py, report/fleet.py) add their sections here
    parts.append(recsys_section(d))
    parts.append("<h2>Summary (JSON)</h2><details><summary>show</summary><pre>")
    parts.append(html.escape(json.dumps(d, indent=1, default=str)))
    parts.append("</pre></details>")
    parts.append(_HOOK_TAIL)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>gigafleet: {html.escape(d['scenario'])}</title><style>{_CSS}</style>"
        f"{_HOOK_HEAD}<script>{get_plotlyjs()}</script></head><body>{''.join(parts)}</body></html>"
    )
