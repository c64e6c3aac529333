"""A small scenario report with every chart, for the report's tests (page and browser)."""

from gigafleet.plan.scenario.run import run_state
from gigafleet.plan.scenario.sensitivity import Base, sensitivity
from gigafleet.report.html import render_html
from gigafleet.spec.scenario import Scenario
from scenariohelp import ASSISTANT, site_doc

RUN = {"name": "r", "model": "llama3.1-8b", "tokens": 1e10, "deadline_days": 20,
       "precision": "bf16", "seq_len": 4096, "global_batch": 256}  # fmt: skip


def small_report(*, levers=("pue", "electricity")):
    """A two-period scenario with training and a service on an owned site, a cloud site
    beside it, and two levers of sensitivity: every chart of the report."""
    scn = Scenario.model_validate(
        {
            "name": "small",
            "timeline": {"start": "2026-01", "end": "2026-02", "step_months": 1},
            "sites": [site_doc("a", count=32),
                      site_doc("c", kind="cloud", count=4, price_usd_per_gpu_hour=3.0)],
            "workloads": {"training": [RUN], "llm_services": [ASSISTANT]},
        }
    )  # fmt: skip
    result, state = run_state(scn)
    d = result.to_dict()
    base = Base(scn=scn, catalog=state.catalog, state=state, result=result)
    d["sensitivity"] = sensitivity(base, levers=levers)
    return d, render_html(d)
