"""``distil benchmark``: parameters, size, memory, latency and throughput, models side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from distilcli.commands import _ui
from distilcli.commands._options import ConfigOpt, JsonOpt, OutputOpt, opt


def benchmark_cmd(
    model: Annotated[list[str] | None, opt("--model", help="A model to measure (folder, alias or hub id); repeat it. The first is the baseline of the ratios.")] = None,
    batch_sizes: Annotated[str | None, opt("--batch-sizes", help="Comma-separated batch sizes [default: 1,8,32].")] = None,
    seq_lengths: Annotated[str | None, opt("--seq-lengths", help="Comma-separated sequence lengths in tokens [default: 32,128,512].")] = None,
    backend: Annotated[str | None, opt("--backend", help="eager (PyTorch) and/or onnx (ONNX Runtime), comma-separated [default: eager].")] = None,
    quantize: Annotated[str | None, opt("--quantize", help="none and/or dynamic-int8, comma-separated [default: none].")] = None,
    precision: Annotated[str | None, opt("--precision", help="fp32, or on a GPU fp16 / bf16 [default: fp32].")] = None,
    device: Annotated[str | None, opt("--device", help="auto, cpu or cuda [default: auto: the GPU when there is one].")] = None,
    threads: Annotated[int | None, opt("--threads", help="Intra-op threads for PyTorch and ONNX Runtime [default: PyTorch's].")] = None,
    warmup: Annotated[int | None, opt("--warmup", help="Untimed runs per model and shape [default: 3; paper: 10 examples].")] = None,
    repeats: Annotated[int | None, opt("--repeats", help="Timed runs per model and shape [default: 20; paper: 1 pass].")] = None,
    seed: Annotated[int | None, opt("--seed", help="Seed of the synthetic token ids [default: 0].")] = None,
    preset: Annotated[str | None, opt("--preset", help="paper: one pass over STS-B dev at batch size 1 on the CPU, total seconds per model.")] = None,
    glue_dir: Annotated[Path | None, opt("--glue-dir", help="--preset paper: GLUE in the original layout (STS-B/dev.tsv).")] = None,
    plot: Annotated[Path | None, opt("--plot", help="Draw median latency against sequence length per model into this .png/.svg/.pdf.")] = None,
    memory: Annotated[bool | None, opt("--memory/--no-memory", help="Measure each model's peak memory in a fresh process [default: on].")] = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Measure size, latency, throughput and memory of models, interleaved; ratios against the first."""
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    values["model"] = model or None  # typer gives [] when absent: keep the config file's value then
    with _ui.command_context(output) as console:
        from distilcli.benchmark.config import BenchmarkConfig
        from distilcli.benchmark.run import run_benchmark
        from distilcli.config import build_config
        from distilcli.reports.render import render_report

        cfg = build_config(BenchmarkConfig, config, **values)
        report = run_benchmark(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
