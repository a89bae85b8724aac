"""``--plot``: median latency against sequence length, a line per model (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distilcli.fsutil import atomic_file


def write_plot(body: dict[str, Any], path: Path) -> None:
    """Draw the benchmark's latencies into ``path`` (.png, .svg or .pdf), atomically."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    if body["mode"] == "paper":
        panels = {"STS-B dev, batch size 1": {r["label"]: {int(k): v for k, v in r["by_length_ms"].items()} for r in body["paper"]["results"]}}
        xlabel = "tokens in the pair"
    else:
        panels = {}
        for shape in body["shapes"]:
            panel = panels.setdefault(f"batch size {shape['batch_size']}", {})
            for row in shape["results"]:
                panel.setdefault(row["label"], {})[shape["seq_length"]] = row["latency_ms"]["p50"]
        xlabel = "sequence length (tokens)"
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (title, lines) in zip(axes[0], panels.items(), strict=True):
        for label, points in lines.items():
            xs = sorted(points)
            ax.plot(xs, [points[x] for x in xs], marker="o" if len(xs) < 20 else None, label=label)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("median latency (ms)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize="small")
    fig.suptitle(f"distil benchmark on {body['device_name']} ({body['device']}, {body['threads']} threads)")
    fig.tight_layout()
    try:
        with atomic_file(Path(path), suffix=Path(path).suffix) as tmp:
            fig.savefig(tmp, dpi=120)
    finally:
        plt.close(fig)
