"""``--plot``: median latency against sequence length, a line per model (matplotlib, no display needed).

The panels are :func:`distilcli.reports.plot.benchmark_panels`, the ones ``distil report plot``
draws from a benchmark report, so both pictures are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distilcli.reports.plot import benchmark_panels, build_figure, check_target, write_figure


def write_plot(body: dict[str, Any], path: Path) -> None:
    """Draw the benchmark's latencies into ``path`` (.png, .svg or .pdf), atomically."""
    check_target(path)
    title = f"distil benchmark on {body['device_name']} ({body['device']}, {body['threads']} threads)"
    write_figure(build_figure(benchmark_panels(body), title), path)
