"""gigafleet: a digital twin of gigawatt-scale AI fleets.

The public entry points are imported lazily so that ``import gigafleet`` stays fast:

>>> import gigafleet
>>> r = gigafleet.estimate_training("llama3.1-8b", "dgx-h100", num_gpus=8, tp=1, pp=1,
...                                 seq_len=8192, global_batch=128, precision="fp8", zero=3)
>>> bool(r.feasible), bool(r.tokens_per_s_per_gpu > 10_000)
(True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["GigafleetError", "estimate_training", "load_catalog", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from gigafleet.catalog import load_catalog
    from gigafleet.errors import GigafleetError
    from gigafleet.perf.training import estimate_training

_LAZY = {
    "estimate_training": ("gigafleet.perf.training", "estimate_training"),
    "load_catalog": ("gigafleet.catalog", "load_catalog"),
    "GigafleetError": ("gigafleet.errors", "GigafleetError"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'gigafleet' has no attribute {name!r}")
