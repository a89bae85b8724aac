"""The benchmark report's contents, from the measurements ``run.py`` took.

The body holds every variant's sizes, memory, output difference and timings; the flat metrics
(``<label>.<figure>[@<batch>x<length>]``) are what ``distil report`` and CI read, with the primary one.
"""

from __future__ import annotations

from typing import Any

from distilcli.benchmark.config import BenchmarkConfig, Variant
from distilcli.benchmark.inputs import Batch
from distilcli.benchmark.runners import Encoder, Runner
from distilcli.benchmark.timing import reduction


def report_body(
    cfg: BenchmarkConfig,
    runners: list[Runner],
    encoders: dict[str, Encoder],
    diffs: list[Any],
    memory: list[Any],
    timed: Any,
    compare_batches: dict[str, Batch],
    device: Any,
    threads: int,
) -> dict[str, Any]:
    """The report's body: every variant's sizes, memory and output difference, then the timings."""
    counts = {spec: e.parameters() for spec, e in encoders.items()}
    first_params, first_size = counts[runners[0].variant.model]["total"], runners[0].size_bytes
    models = []
    for runner, diff, mem in zip(runners, diffs, memory, strict=True):
        variant: Variant = runner.variant
        encoder = encoders[variant.model]
        params = counts[variant.model]
        models.append(
            {
                "label": variant.label,
                "model": encoder.ref.to_dict(),
                "model_type": encoder.config.model_type,
                "num_layers": encoder.adapter.num_layers(encoder.config),
                "hidden_size": encoder.adapter.hidden_size(encoder.config),
                **{k: getattr(variant, k) for k in ("backend", "quantize", "precision")},
                "parameters": params,
                "disk_bytes": encoder.disk_bytes(),
                "variant_bytes": runner.size_bytes,
                "setup_s": runner.setup_s,
                "memory": mem,
                "output_diff": diff,
                "parameter_reduction": None if not models else reduction(first_params, params["total"]),
                "size_ratio": None if not models else runner.size_bytes / first_size,
            }
        )
    spec0 = runners[0].variant.model
    return {
        "mode": "paper" if cfg.preset else "grid",
        "device": str(device),
        "device_name": _device_name(device),
        "threads": threads,
        "warmup": cfg.warmup,
        "repeats": cfg.repeats,
        "baseline": runners[0].variant.label,
        "models": models,
        "diff_shape": list(compare_batches[spec0]["input_ids"].shape),
        **({"paper": timed} if cfg.preset else {"shapes": timed}),
    }


def _device_name(device: Any) -> str:
    import platform

    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:  # Linux names the CPU model here; platform.processor() is often empty
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _headline(models: list[dict[str, Any]]) -> str | None:
    """The variant whose speed-up is the report's primary metric: the second model, run as the first is.

    With one model run several ways, the second variant (e.g. its ONNX export) instead.
    """
    first = models[0]
    how = ("backend", "quantize", "precision")
    for model in models[1:]:
        if model["model"]["spec"] != first["model"]["spec"] and all(model[k] == first[k] for k in how):
            return model["label"]
    return models[1]["label"] if len(models) > 1 else None


def report_metrics(body: dict[str, Any]) -> tuple[dict[str, float], str]:
    """Flat numbers for ``distil report`` and CI: ``<label>.<figure>[@<batch>x<length>]``."""
    metrics: dict[str, float] = {}
    for model in body["models"]:
        label = model["label"]
        metrics[f"{label}.parameters_total"] = model["parameters"]["total"]
        metrics[f"{label}.size_mb"] = round(model["variant_bytes"] / 1e6, 3)
        if model["parameter_reduction"] is not None:
            metrics[f"{label}.parameter_reduction"] = model["parameter_reduction"]
        if model["memory"]:
            metrics[f"{label}.peak_memory_mb"] = model["memory"]["peak_mb"]
        if model["output_diff"]:
            metrics[f"{label}.max_abs_diff"] = model["output_diff"]["max_abs_diff"]
            metrics[f"{label}.mean_cosine"] = model["output_diff"]["mean_cosine"]
    labels = [m["label"] for m in body["models"]]
    compared = _headline(body["models"])
    if body["mode"] == "paper":
        for row in body["paper"]["results"]:
            metrics[f"{row['label']}.stsb_total_s"] = row["total_s"]
            if row["speedup"] is not None:
                metrics[f"{row['label']}.stsb_speedup"] = row["speedup"]
        primary = f"{compared}.stsb_speedup" if compared else f"{labels[0]}.stsb_total_s"
        return metrics, primary
    for shape in body["shapes"]:
        tag = f"{shape['batch_size']}x{shape['seq_length']}"
        for row in shape["results"]:
            metrics[f"{row['label']}.p50_ms@{tag}"] = row["latency_ms"]["p50"]
            metrics[f"{row['label']}.sequences_per_s@{tag}"] = row["sequences_per_s"]
            if row["speedup"] is not None:
                metrics[f"{row['label']}.speedup@{tag}"] = row["speedup"]
    tags = [f"{s['batch_size']}x{s['seq_length']}" for s in body["shapes"]]
    tag = "1x128" if "1x128" in tags else tags[0]
    primary = f"{compared}.speedup@{tag}" if compared else f"{labels[0]}.p50_ms@{tag}"
    return metrics, primary
