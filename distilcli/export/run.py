"""``run_export``: check the inputs, export, check the graph against PyTorch, and only then publish the folder.

Order of work: the options, ``--out``, the model's config and files, the dev set: all before any
weight is read, so bad input exits 2 in seconds. The folder is built in a temporary folder beside
``--out`` and renamed into place only when the check passed: a failed check (exit 1) leaves nothing.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from distilcli import progress
from distilcli.config import config_to_dict
from distilcli.errors import DistilError
from distilcli.export.check import compare, failures, run_both, task_metrics
from distilcli.export.config import TOLERANCES, ExportConfig, check_options
from distilcli.export.folder import manifest, render_card, write_card, write_manifest, write_model_files
from distilcli.export.graph import opset_of, write_graph
from distilcli.export.inputs import CheckData, check_data
from distilcli.export.source import ExportSource, inspect_source, load_module
from distilcli.models.onnx import import_onnx_runtime, make_session, onnx_bytes
from distilcli.models.params import backbone_parameters
from distilcli.reports import Report
from distilcli.rundir import RunFolder, run_inputs


class ExportCheckFailed(DistilError):
    """The exported graph is not close enough to PyTorch: nothing was written (exit 1)."""


class _Abandon(Exception):
    """Leave the temporary folder unpublished (the check failed); carries the report's parts."""

    def __init__(self, parts: dict[str, Any]) -> None:
        super().__init__("export check failed")
        self.parts = parts


def run_export(cfg: ExportConfig) -> tuple[Report, list[str]]:
    """Export ``cfg.model``; return the report and the check's failures (empty: the folder was written)."""
    import torch

    start = time.perf_counter()
    check_options(cfg)
    run = RunFolder.of(cfg, "export")
    run.check(run_inputs(cfg))
    source = inspect_source(cfg)
    data = check_data(cfg, source)
    import_onnx_runtime(exporting=True, what="distil export")
    with run.claim():  # no other run writes --out from here on
        module = load_module(source)
        try:
            with run.publish() as tmp:  # marked as the export's once _build returns
                parts = _build(cfg, source, data, module, tmp, torch.get_num_threads())
                if parts["failed"]:
                    raise _Abandon(parts)
        except _Abandon as abandoned:
            parts = abandoned.parts
    return _report(cfg, source, parts, time.perf_counter() - start), parts["failed"]


def _build(
    cfg: ExportConfig, source: ExportSource, data: CheckData, module: Any, folder: Path, threads: int
) -> dict[str, Any]:
    """Write the graph and the model's files into ``folder``, check the graph, then the manifest and the card."""
    began = time.perf_counter()
    with progress.task(f"exporting {source.ref.spec} to ONNX", total=None):
        onnx_file = write_graph(
            module, source.names, source.outputs, folder, source.max_length, cfg.quantize, cfg.model
        )
    export_s = time.perf_counter() - began
    files = write_model_files(folder, source)
    session = make_session(folder / onnx_file, threads)
    runs = run_both(module, session, source, data, cfg.batch_size)
    tolerance = TOLERANCES[(cfg.quantize, source.kind)]
    stats = compare(runs, source)
    failed = failures(stats, tolerance)
    check = {
        **stats,
        "inputs": data.description,
        "passed": not failed,
        "failures": failed,
        "tolerance": asdict(tolerance),
        "examples_per_s": {side: len(runs.pytorch) / max(s, 1e-9) for side, s in runs.seconds.items()},
    }
    graph = {
        "onnx_file": onnx_file.as_posix(),
        "quantize": cfg.quantize,
        "opset": opset_of(folder / onnx_file),
        "parameters": _parameters(module.model, source),
    }
    body = manifest(source, graph, check, task_metrics(runs, source, data))
    size = onnx_bytes(folder / onnx_file)
    if not failed:
        write_manifest(folder, body)
        write_card(folder, render_card(source, body, asdict(tolerance), size))
    pytorch_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    return {
        "manifest": body,
        "failed": failed,
        "onnx_bytes": size,
        "pytorch_bytes": pytorch_bytes,
        "export_s": export_s,
        "files": sorted({*files, onnx_file.as_posix(), "export.json", "README.md"}),
        "data_total": data.total,
    }


def _parameters(model: Any, source: ExportSource) -> dict[str, int]:
    """The backbone as ``distil benchmark`` counts it, and the graph's ``head``.

    The backbone is the embeddings and the layers (no pooler); the head is the rest.
    """
    counts = backbone_parameters(model, source.adapter)
    pooler = getattr(model.base_model, "pooler", None)
    pooled = sum(p.numel() for p in pooler.parameters()) if pooler is not None else 0
    head = sum(p.numel() for p in model.parameters()) - counts["total"] + pooled
    return {
        "total": counts["total"] - pooled,
        "embeddings": counts["embeddings"],
        "encoder": counts["encoder"] - pooled,
        "head": head,
    }


def _report(cfg: ExportConfig, source: ExportSource, parts: dict[str, Any], duration: float) -> Report:
    body_manifest = parts["manifest"]
    check, task = body_manifest["check"], body_manifest["task_metrics"]
    metrics: dict[str, float] = {
        f"check.{k}": float(v)
        for k, v in check.items()
        if k in ("max_abs_diff", "mean_cosine", "min_cosine", "label_agreement", "correlation")
    }
    metrics["check.passed"] = float(check["passed"])
    primary = "check.label_agreement" if "check.label_agreement" in metrics else "check.max_abs_diff"
    if task:
        for side, values in task.items():
            metrics |= {f"{side}.{name}": float(v) for name, v in values.items() if name != "score"}
        main = source.task.primary_metric if source.task is not None else "spearman"
        primary = f"onnx.{main}"
    metrics |= {
        "onnx_bytes": float(parts["onnx_bytes"]),
        "pytorch_bytes": float(parts["pytorch_bytes"]),
        "size_ratio": parts["onnx_bytes"] / max(parts["pytorch_bytes"], 1),
        "export_s": parts["export_s"],
    }
    written = not parts["failed"]
    body = {
        **body_manifest,
        "folder": str(cfg.out) if written else None,
        "written": written,
        "files": parts["files"] if written else [],
        "dev_examples_total": parts["data_total"],
    }
    return Report.create(
        "export",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric=primary,
        artifacts={"folder": str(cfg.out)} if written else {},
        body=body,
        duration_s=duration,
    )


def check_failed(failed: list[str], cfg: ExportConfig) -> ExportCheckFailed:
    """The one-line error of a failed check (raised by the command once the report is out)."""
    return ExportCheckFailed(
        f"export check failed ({cfg.quantize}): {'; '.join(failed)}; nothing was written to {cfg.out}"
    )
