"""Small scenarios for the tests of the scenario engine (sites, services, training runs)."""

from pathlib import Path

import yaml

from gigafleet.plan.scenario import run_scenario
from gigafleet.spec.scenario import Scenario


def site_doc(name, *, power_mw=50.0, kind="owned", region="us", tee=False, system="dgx-h100",
             count=64, **extra):  # fmt: skip
    """One site with one fleet entry, as a scenario file holds it."""
    return {
        "name": name, "kind": kind, "region": region, "power_mw": power_mw,
        "confidential_computing": tee, "fleet": [{"system": system, "count": count}], **extra,
    }  # fmt: skip


def scenario_of(sites, workloads, **extra) -> Scenario:
    """A one-period scenario (2026-01) of these sites and workloads."""
    return Scenario.model_validate(
        {
            "name": "t",
            "timeline": {"start": "2026-01", "end": "2026-01"},
            "sites": sites,
            "workloads": workloads,
            **extra,
        }  # fmt: skip
    )


ASSISTANT = {"name": "chat", "model": "llama3.1-8b", "requests_per_day": 2e6,
             "prompt_tokens": 500, "output_tokens": 100, "slo": {"ttft_s": 1.0, "tpot_s": 0.05}}  # fmt: skip
PRIVATE = {**ASSISTANT, "name": "private"}

RUN_8B = {"name": "r", "model": "llama3.1-8b", "tokens": 4e12, "deadline_days": 20,
          "precision": "bf16", "seq_len": 8192, "global_batch": 1024}  # fmt: skip


def write_yaml(tmp_path, doc) -> Path:
    """``doc`` as ``tmp_path/s.yaml``."""
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def run_training(sites, runs, *, end="2026-07"):
    """Run a scenario of training runs only, from 2026-01 to ``end`` (monthly)."""
    return run_scenario(Scenario.model_validate(
        {"name": "t", "timeline": {"start": "2026-01", "end": end}, "sites": sites,
         "workloads": {"training": runs}}
    ))  # fmt: skip
