"""``distil benchmark``: load each model once, build every variant, time them interleaved, report."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from distilcli import progress
from distilcli.benchmark.body import report_body, report_metrics
from distilcli.benchmark.config import PAPER_TASK, BenchmarkConfig, check_options, variants
from distilcli.benchmark.inputs import Batch, encode_pairs, synthetic_batch
from distilcli.benchmark.memory import measure_in_child, measure_on_gpu
from distilcli.benchmark.plot import write_plot
from distilcli.benchmark.runners import Encoder, Runner, benchmark_ref, build_runner, load_encoder
from distilcli.benchmark.timing import latency_stats, speedup, time_interleaved
from distilcli.config import config_to_dict
from distilcli.errors import BadInput
from distilcli.fsutil import check_output_file
from distilcli.models.loading import load_config, load_tokenizer, usable_positions
from distilcli.reports import Report
from distilcli.tasks.glue.sources import load_task_split


def resolve_device(name: str) -> Any:
    """``auto``: the GPU when there is one, else the CPU; ``cuda`` without a GPU is :class:`BadInput`."""
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda, but torch sees no GPU here: use --device cpu (or auto)")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def _check_plot(path: Path | None) -> None:
    if path is None:
        return
    if Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise BadInput(f"--plot {path}: name a .png, .svg or .pdf file")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BadInput("--plot needs matplotlib: pip install 'distilcli[plot]'") from None
    check_output_file(path)


def _load_all(cfg: BenchmarkConfig) -> dict[str, Encoder]:
    """Every model, checked against the shapes asked for (from its config, before any weight is read)."""
    refs = {}
    for spec in cfg.model:
        ref = benchmark_ref(spec)
        limit = usable_positions(load_config(ref))
        longest = max(cfg.seq_lengths)  # type: ignore[type-var]
        if not cfg.preset and longest > limit:
            raise BadInput(f"--seq-lengths {longest} exceeds the {limit} positions of {spec}: use {limit} or less")
        if cfg.preset and load_tokenizer(ref) is None:
            raise BadInput(
                f"{spec} has no tokenizer files, which --preset paper needs to read STS-B: "
                "save the tokenizer with the model"
            )
        refs[spec] = ref
    with progress.task("loading models", total=len(refs)) as handle:
        encoders = {}
        for spec, ref in refs.items():
            encoders[spec] = load_encoder(ref)
            handle.advance()
    return encoders


def _paper_batches(cfg: BenchmarkConfig, encoders: dict[str, Encoder]) -> dict[str, list[Batch]]:
    dev = load_task_split(PAPER_TASK, "dev", glue_dir=cfg.glue_dir)
    examples = [] if dev is None else dev.examples
    if not examples:
        raise BadInput(f"--glue-dir {cfg.glue_dir} has no STS-B/dev.tsv: point it at GLUE in the original layout")
    return {spec: encode_pairs(e.tokenizer, examples, e.max_length, e.names) for spec, e in encoders.items()}


def output_diff(reference: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """How far ``output`` is from ``reference`` (both ``[batch, length, hidden]``).

    The largest and mean absolute differences, the largest reference value for scale, and
    the cosine similarity of each token's vector (mean and worst): a quantized model can be
    off by a little everywhere, or point its vectors elsewhere, and only the cosine tells.
    """
    ref, out = reference.astype(np.float64), output.astype(np.float64)
    diff = np.abs(out - ref)
    dots = (ref * out).sum(-1)
    norms = np.linalg.norm(ref, axis=-1) * np.linalg.norm(out, axis=-1)
    cosine = dots / np.maximum(norms, 1e-12)
    return {
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "max_abs_reference": float(np.abs(ref).max()),
        "mean_cosine": float(cosine.mean()),
        "min_cosine": float(cosine.min()),
    }


def _compare(
    runners: list[Runner], encoders: dict[str, Encoder], batches: dict[str, Batch]
) -> list[dict[str, float] | None]:
    """Each runner's last hidden states against eager fp32 on the CPU, on the same inputs."""
    import torch

    references: dict[str, np.ndarray] = {}
    results: list[dict[str, float] | None] = []
    for runner in runners:
        spec = runner.variant.model
        if runner.variant.is_reference and getattr(runner, "device", None) == torch.device("cpu"):
            results.append(None)  # it is the reference
            continue
        if encoders[spec].model is None:
            results.append(None)  # an exported folder: no PyTorch model here (its card has the export's check)
            continue
        if spec not in references:
            tensors = {k: torch.from_numpy(v) for k, v in batches[spec].items()}
            with torch.inference_mode():
                references[spec] = encoders[spec].model(**tensors).last_hidden_state.numpy()
        results.append(output_diff(references[spec], runner.output(runner.prepare(batches[spec]))))
    return results


def _grid(cfg: BenchmarkConfig, runners: list[Runner], encoders: dict[str, Encoder]) -> list[dict[str, Any]]:
    shapes = [(b, s) for b in cfg.batch_sizes for s in cfg.seq_lengths]  # type: ignore[union-attr]
    total = len(shapes) * (cfg.warmup + cfg.repeats) * len(runners)  # type: ignore[operator]
    results = []
    with progress.task("benchmarking", total=total) as handle:
        for batch_size, seq_length in shapes:
            handle.update(description=f"benchmarking {batch_size}×{seq_length}")
            prepared = []
            for runner in runners:
                encoder = encoders[runner.variant.model]
                batch = synthetic_batch(
                    encoder.config, encoder.tokenizer, batch_size, seq_length, cfg.seed, encoder.names
                )
                prepared.append(runner.prepare(batch))
            samples = time_interleaved(runners, prepared, cfg.warmup, cfg.repeats, handle)  # type: ignore[arg-type]
            rows = []
            for runner, seconds in zip(runners, samples, strict=True):
                median = float(np.median(seconds))
                rows.append(
                    {
                        "label": runner.variant.label,
                        "latency_ms": latency_stats(seconds),
                        "sequences_per_s": batch_size / median,
                        "tokens_per_s": batch_size * seq_length / median,
                        "speedup": None if not rows else speedup(float(np.median(samples[0])), median),
                    }
                )
            results.append({"batch_size": batch_size, "seq_length": seq_length, "results": rows})
            progress.log(
                f"{batch_size}×{seq_length}: "
                + ", ".join(f"{r['label']} {r['latency_ms']['p50']:.1f} ms" for r in rows)
            )
    return results


def _paper(cfg: BenchmarkConfig, runners: list[Runner], batches: dict[str, list[Batch]]) -> dict[str, Any]:
    """The paper's protocol: each STS-B dev pair at batch size 1, models interleaved pair by pair."""
    prepared = [[runner.prepare(b) for b in batches[runner.variant.model]] for runner in runners]
    n = len(prepared[0])
    warmup = min(cfg.warmup, n)  # type: ignore[type-var]
    pass_totals: list[list[float]] = [[] for _ in runners]
    per_example: list[list[list[float]]] = [[[] for _ in range(n)] for _ in runners]
    with progress.task("STS-B dev, batch 1", total=(warmup + n * cfg.repeats) * len(runners)) as handle:  # type: ignore[operator]
        for i in range(warmup):
            time_interleaved(runners, [items[i] for items in prepared], 1, 0, handle)
        for _ in range(cfg.repeats):  # type: ignore[arg-type]
            for i in range(n):
                seconds = time_interleaved(runners, [items[i] for items in prepared], 0, 1, handle)
                for index, (elapsed,) in enumerate(seconds):
                    per_example[index][i].append(elapsed)
            for index in range(len(runners)):
                pass_totals[index].append(sum(times[-1] for times in per_example[index]))
    rows = []
    for index, runner in enumerate(runners):
        total_s = float(np.median(pass_totals[index]))
        lengths = [int(b["input_ids"].shape[1]) for b in batches[runner.variant.model]]
        medians = [float(np.median(t)) for t in per_example[index]]
        rows.append(
            {
                "label": runner.variant.label,
                "total_s": total_s,
                "pass_totals_s": pass_totals[index],
                "latency_ms": latency_stats([t for times in per_example[index] for t in times]),
                "examples_per_s": n / total_s,
                "speedup": None if not rows else speedup(rows[0]["total_s"], total_s),
                "tokens": {"mean": float(np.mean(lengths)), "max": max(lengths)},
                # Median latency by sequence length, for the plot.
                "by_length_ms": {
                    str(k): 1000
                    * float(np.median([m for m, length in zip(medians, lengths, strict=True) if length == k]))
                    for k in sorted(set(lengths))
                },
            }
        )
    return {"task": PAPER_TASK, "examples": n, "passes": cfg.repeats, "warmup_examples": warmup, "results": rows}


def _memory(
    cfg: BenchmarkConfig,
    runners: list[Runner],
    encoders: dict[str, Encoder],
    batches: dict[str, Batch],
    device: Any,
    threads: int,
) -> list[dict[str, Any] | None]:
    results: list[dict[str, Any] | None] = []
    with progress.task("measuring memory", total=len(runners)) as handle:
        for runner in runners:
            variant = runner.variant
            if device.type == "cuda":
                # ONNX Runtime's GPU memory is not torch's: not measured.
                results.append(None if variant.backend == "onnx" else measure_on_gpu(runner, batches[variant.model]))
            else:
                job = {
                    "variant": dataclasses.asdict(variant),
                    "ref": encoders[variant.model].ref.to_dict(),
                    "device": "cpu",
                    "threads": threads,
                    "names": encoders[variant.model].names,
                    "onnx_file": str(getattr(runner, "onnx_file", "")),
                }
                results.append(measure_in_child(job, batches[variant.model]))
            handle.advance()
    return results


def _largest(
    cfg: BenchmarkConfig, encoders: dict[str, Encoder], paper: dict[str, list[Batch]] | None
) -> dict[str, Batch]:
    if paper is not None:
        return {spec: max(items, key=lambda b: b["input_ids"].shape[1]) for spec, items in paper.items()}
    b, s = max(cfg.batch_sizes), max(cfg.seq_lengths)  # type: ignore[type-var]
    return {spec: synthetic_batch(e.config, e.tokenizer, b, s, cfg.seed, e.names) for spec, e in encoders.items()}


def _first(
    cfg: BenchmarkConfig, encoders: dict[str, Encoder], paper: dict[str, list[Batch]] | None
) -> dict[str, Batch]:
    if paper is not None:
        return {spec: items[0] for spec, items in paper.items()}
    b, s = cfg.batch_sizes[0], cfg.seq_lengths[0]  # type: ignore[index]
    return {spec: synthetic_batch(e.config, e.tokenizer, b, s, cfg.seed, e.names) for spec, e in encoders.items()}


def run_benchmark(cfg: BenchmarkConfig) -> Report:
    """Measure every variant of ``cfg`` and return the report (the plot, if asked, is written too)."""
    import torch

    start = time.perf_counter()
    check_options(cfg)
    _check_plot(cfg.plot)
    device = resolve_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    threads = torch.get_num_threads()
    encoders = _load_all(cfg)
    paper = _paper_batches(cfg, encoders) if cfg.preset else None
    runners: list[Runner] = []
    with tempfile.TemporaryDirectory(prefix="distil-benchmark-") as work:
        exports: dict[str, Path] = {}
        for variant in variants(cfg, {spec: e.exported.quantize for spec, e in encoders.items() if e.exported}):
            # A bar, not a log line: exports take a while, and a failure stays one line in CI logs.
            with progress.task(f"preparing {variant.label}", total=None):
                runners.append(build_runner(variant, encoders[variant.model], device, threads, exports, Path(work)))
        compare_batches = _first(cfg, encoders, paper)
        diffs = _compare(runners, encoders, compare_batches)
        timed = _paper(cfg, runners, paper) if paper is not None else _grid(cfg, runners, encoders)
        memory = (
            _memory(cfg, runners, encoders, _largest(cfg, encoders, paper), device, threads)
            if cfg.memory
            else [None] * len(runners)
        )
    body = report_body(cfg, runners, encoders, diffs, memory, timed, compare_batches, device, threads)
    artifacts = {}
    if cfg.plot is not None:
        write_plot(body, Path(cfg.plot))
        artifacts["plot"] = str(cfg.plot)
    metrics, primary = report_metrics(body)
    return Report.create(
        "benchmark",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric=primary,
        artifacts=artifacts,
        body=body,
        duration_s=time.perf_counter() - start,
    )
