"""Power and energy models: accelerators by phase with power capping (DVFS), systems
(hosts, NICs, switches), facilities (PUE), sites and carbon; training and serving.

Pure: imports the catalog and perf dataclasses, never prints.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names load on first use (PEP 562): ``gigafleet.energy.training`` (the planner's) does not
# pay for ``energy.serving`` and the inference roofline it imports.
_HOME = {
    "accelerator_power_w": "power",
    "carbon_kg": "power",
    "default_pue": "power",
    "dvfs_speed": "power",
    "facility_power_w": "power",
    "site_power_mw": "power",
    "system_power_w": "power",
    "serving_power": "serving",
    "step_power": "training",
    "training_power": "training",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


__all__ = list(_HOME)
