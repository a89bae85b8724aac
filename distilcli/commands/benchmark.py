"""``distil benchmark``: parameters, size, memory, latency and throughput, models side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._complete import complete_backend
from distilcli.commands._options import (
    ConfigOpt,
    Defaults,
    GlueDirOpt,
    JsonOpt,
    ModelListOpt,
    OutputOpt,
    PlotOpt,
    PrecisionOpt,
    QuantizeOpt,
    SeedOpt,
    field_defaults,
    help_defaults,
    mode_defaults,
    unset_config,
)  # fmt: skip


def _defaults() -> Defaults:
    from distilcli.benchmark.config import PRESETS, BenchmarkConfig, check_options

    # Warm-up and repeats depend on --preset: check_options fills them, so ask it for each mode.
    modes: list[tuple[str, BenchmarkConfig]] = [("", unset_config(BenchmarkConfig, model=["m"]))]
    modes += [(f"with --preset {p}", unset_config(BenchmarkConfig, model=["m"], preset=p, glue_dir=Path("."))) for p in PRESETS]
    for _, cfg in modes:
        check_options(cfg)
    return field_defaults(BenchmarkConfig) | mode_defaults(BenchmarkConfig, modes)


@help_defaults(_defaults)
def benchmark_cmd(
    model: ModelListOpt = None,
    batch_sizes: Annotated[str | None, typer.Option("--batch-sizes", help="Comma-separated batch sizes.")] = None,
    seq_lengths: Annotated[str | None, typer.Option("--seq-lengths", help="Comma-separated sequence lengths in tokens.")] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="eager (PyTorch) and/or onnx (ONNX Runtime), comma-separated.", autocompletion=complete_backend)] = None,
    quantize: QuantizeOpt = None,
    precision: PrecisionOpt = None,
    device: Annotated[str | None, typer.Option("--device", help="auto (the GPU when there is one), cpu or cuda.")] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="Intra-op threads for PyTorch and ONNX Runtime (unset: PyTorch's).")] = None,
    warmup: Annotated[int | None, typer.Option("--warmup", help="Untimed runs per model and shape (--preset paper: examples).")] = None,
    repeats: Annotated[int | None, typer.Option("--repeats", help="Timed runs per model and shape (--preset paper: passes).")] = None,
    seed: SeedOpt = None,
    preset: Annotated[str | None, typer.Option("--preset", help="paper: one pass over STS-B dev at batch size 1 on the CPU, total seconds per model.")] = None,
    glue_dir: GlueDirOpt = None,
    plot: PlotOpt = None,
    memory: Annotated[bool | None, typer.Option("--memory/--no-memory", help="Measure each model's peak memory in a fresh process.")] = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Measure size, latency, throughput and memory of models, interleaved; ratios against the first.

    Repeat --model for each model: the first is the baseline of the ratios. --preset paper reads
    STS-B/dev.tsv from --glue-dir; --seed seeds the synthetic token ids.
    """
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
