"""Power and energy models: accelerators by phase with power capping (DVFS), systems
(hosts, NICs, switches), facilities (PUE), sites and carbon; training and serving.

Pure: imports the catalog and perf dataclasses, never prints.
"""

from gigafleet.energy.power import (
    accelerator_power_w,
    carbon_kg,
    default_pue,
    dvfs_speed,
    facility_power_w,
    site_power_mw,
    system_power_w,
)
from gigafleet.energy.serving import serving_power
from gigafleet.energy.training import step_power, training_power

__all__ = [
    "accelerator_power_w",
    "carbon_kg",
    "default_pue",
    "dvfs_speed",
    "facility_power_w",
    "serving_power",
    "site_power_mw",
    "step_power",
    "system_power_w",
    "training_power",
]
