"""``distil export``: a deployable ONNX folder of a classifier or a sentence encoder, checked against PyTorch."""

from __future__ import annotations

from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._complete import complete_model
from distilcli.commands._data_options import GlueDevFileOpt, GlueDirOpt, HubDirOpt, SeqLengthOpt
from distilcli.commands._eval_options import limit_option
from distilcli.commands._model_options import QuantizeOpt
from distilcli.commands._options import Defaults, field_defaults, help_defaults
from distilcli.commands._panels import MODEL
from distilcli.commands._run_options import ConfigOpt, ExportOutOpt, JsonOpt, OutputOpt, OverwriteOpt
from distilcli.commands._task_options import ExportTaskOpt
from distilcli.commands._train_options import EvalCommandBatchSizeOpt

LimitOpt = limit_option("dev examples (STS-B: pairs)")


def _defaults() -> Defaults:
    from distilcli.export.config import ExportConfig

    return field_defaults(ExportConfig)


@help_defaults(_defaults)
def export_cmd(
    model: Annotated[
        str,
        typer.Argument(
            help="A fine-tuned classifier or a sentence encoder: a local folder, a packaged alias or a hub id.",
            autocompletion=complete_model,
        ),
    ],
    format: Annotated[
        str | None, typer.Option("--format", rich_help_panel=MODEL, help="The format written: onnx.")
    ] = None,
    quantize: QuantizeOpt = None,
    task: ExportTaskOpt = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    dev_file: GlueDevFileOpt = None,
    limit: LimitOpt = None,
    max_seq_length: SeqLengthOpt = None,
    batch_size: EvalCommandBatchSizeOpt = None,
    out: ExportOutOpt = None,
    overwrite: OverwriteOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Export MODEL to a folder ONNX Runtime loads alone: the graph, tokenizer, config and a card of how it was checked.

    A classifier's graph returns logits; an encoder's returns token embeddings and the sentence embedding (its
    sentence-transformers pooling, mean pooling without it). The graph is checked against PyTorch on real inputs
    (the dev set given, else built-in sentences): max |Δ|, cosine and label agreement. A check that fails exits 1 and
    writes nothing. With --task and a dev set (--glue-dir, --hub-dir or --dev-file) the report puts the task metric
    of the graph beside PyTorch's. distil benchmark takes the folder as a --model.
    """
    values = dict(locals())
    for name in ("config", "output", "json_"):
        values.pop(name)
    values["overwrite"] = overwrite or None
    with _ui.command_context(output) as console:
        from distilcli.export.config import ExportConfig
        from distilcli.export.run import check_failed, run_export
        from distilcli.reports.render import render_report

        cfg = _ui.build(ExportConfig, config, output, **values)
        _ui.check_config_outside(cfg, config)
        report, failed = run_export(cfg)
        render_report(report, console)
        if not failed:
            console.print(f"exported to {cfg.out} ({report.body['check']['inputs']}: check passed)", soft_wrap=True)
        _ui.emit_report(report, output, json_, console)
        if failed:
            raise check_failed(failed, cfg)
