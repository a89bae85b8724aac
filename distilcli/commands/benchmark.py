"""``distil benchmark``: parameters, size, memory, latency and throughput, models side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._complete import complete_backend
from distilcli.commands._data_options import GlueDirOpt
from distilcli.commands._model_options import BenchmarkModelsOpt, QuantizeListOpt
from distilcli.commands._options import (
    Defaults,
    field_defaults,
    help_defaults,
    joined,
    list_metavar,
    mode_defaults,
    split_list,
    unset_config,
)
from distilcli.commands._panels import EVALUATION, MODEL, RUN
from distilcli.commands._run_options import BenchmarkPlotOpt, ConfigOpt, JsonOpt, OutputOpt
from distilcli.commands._train_options import BenchmarkPrecisionOpt, SampleSeedOpt


def _defaults() -> Defaults:
    from distilcli.benchmark.config import PRESETS, BenchmarkConfig, check_options

    # Warm-up and repeats depend on --preset: check_options fills them, so ask it for each mode.
    modes: list[tuple[str, BenchmarkConfig]] = [("", unset_config(BenchmarkConfig, model=["m"]))]
    modes += [
        (f"with --preset {p}", unset_config(BenchmarkConfig, model=["m"], preset=p, glue_dir=Path(".")))
        for p in PRESETS
    ]
    for _, cfg in modes:
        check_options(cfg)
    return field_defaults(BenchmarkConfig) | mode_defaults(BenchmarkConfig, modes)


@help_defaults(_defaults)
def benchmark_cmd(
    model: BenchmarkModelsOpt = None,
    backend: Annotated[
        list[str] | None,
        typer.Option(
            "--backend",
            rich_help_panel=MODEL,
            callback=split_list,
            metavar=list_metavar(str),
            help="eager (PyTorch) and/or onnx (ONNX Runtime), repeated or comma-separated.",
            autocompletion=complete_backend,
        ),
    ] = None,
    quantize: QuantizeListOpt = None,
    glue_dir: GlueDirOpt = None,
    seed: SampleSeedOpt = None,
    batch_sizes: Annotated[
        list[str] | None,
        typer.Option(
            "--batch-sizes",
            rich_help_panel=EVALUATION,
            callback=split_list,
            metavar=list_metavar(int),
            help="Batch sizes, repeated or comma-separated.",
        ),
    ] = None,
    seq_lengths: Annotated[
        list[str] | None,
        typer.Option(
            "--seq-lengths",
            rich_help_panel=EVALUATION,
            callback=split_list,
            metavar=list_metavar(int),
            help="Sequence lengths in tokens, repeated or comma-separated.",
        ),
    ] = None,
    warmup: Annotated[
        int | None,
        typer.Option(
            "--warmup", rich_help_panel=EVALUATION, help="Untimed runs per model and shape (--preset paper: examples)."
        ),
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option(
            "--repeats", rich_help_panel=EVALUATION, help="Timed runs per model and shape (--preset paper: passes)."
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            rich_help_panel=EVALUATION,
            help="paper: one pass over STS-B dev at batch size 1 on the CPU, total seconds per model.",
        ),
    ] = None,
    memory: Annotated[
        bool | None,
        typer.Option(
            "--memory/--no-memory",
            rich_help_panel=EVALUATION,
            help="Measure each model's peak memory in a fresh process.",
        ),
    ] = None,
    precision: BenchmarkPrecisionOpt = None,
    device: Annotated[
        str | None, typer.Option("--device", rich_help_panel=RUN, help="auto (the GPU when there is one), cpu or cuda.")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", rich_help_panel=RUN, help="Intra-op threads for PyTorch and ONNX Runtime (unset: PyTorch's)."
        ),
    ] = None,
    plot: BenchmarkPlotOpt = None,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Measure size, latency, throughput and memory of models, interleaved; ratios against the first.

    Repeat --model for each model (or separate them with commas): the first is the baseline of the ratios.
    --preset paper reads STS-B/dev.tsv from --glue-dir; --seed seeds the synthetic token ids.
    """
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    values.update(
        backend=joined(backend),
        quantize=joined(quantize),
        batch_sizes=joined(batch_sizes),
        seq_lengths=joined(seq_lengths),
    )
    with _ui.command_context(output) as console:
        from distilcli.benchmark.config import BenchmarkConfig
        from distilcli.benchmark.run import run_benchmark
        from distilcli.config import build_config
        from distilcli.reports.render import render_report

        cfg = build_config(BenchmarkConfig, config, **values)
        report = run_benchmark(cfg)
        render_report(report, console)
        _ui.emit_report(report, output, json_, console)
