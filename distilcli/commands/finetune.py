"""``distil finetune``: fine-tune a model on a GLUE task or SQuAD, keep the best dev checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._options import ConfigOpt, JsonOpt, OutputOpt, OverwriteOpt, opt


def finetune_cmd(
    model: Annotated[str | None, opt("--model", help="Model to fine-tune: a folder, an alias (minilm-l6, mpnet-base) or a hub id.")] = None,
    task: Annotated[str | None, opt("--task", help="GLUE task (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli; any usual spelling), or squad / squad_v2.")] = None,
    out: Annotated[Path | None, opt("--out", help="Folder for the best model (top level), checkpoints and, with --seeds, one folder per seed.")] = None,
    glue_dir: Annotated[Path | None, opt("--glue-dir", help="GLUE in the original layout: <DIR>/SST-2/train.tsv, dev.tsv, ...")] = None,
    hub_dir: Annotated[Path | None, opt("--hub-dir", help="Local copy of the hub's nyu-mll/glue parquet files: <DIR>/sst2/train-*.parquet ...")] = None,
    train_file: Annotated[Path | None, opt("--train-file", help="Training file: .tsv (GLUE layout), .parquet (hub layout), .csv or .jsonl; SQuAD: the official JSON.")] = None,
    dev_file: Annotated[Path | None, opt("--dev-file", help="Dev file, same formats as --train-file.")] = None,
    text_a: Annotated[str | None, opt("--text-a", help="CSV/JSONL: first text column [default: the hub's, e.g. sentence].")] = None,
    text_b: Annotated[str | None, opt("--text-b", help="CSV/JSONL: second text column of pair tasks [default: the hub's].")] = None,
    label_column: Annotated[str | None, opt("--label-column", help="CSV/JSONL: label column [default: label].")] = None,
    epochs: Annotated[int | None, opt("--epochs", help="Passes over the training data [default: 3].")] = None,
    max_steps: Annotated[int | None, opt("--max-steps", help="Optimizer steps (overrides --epochs).")] = None,
    batch_size: Annotated[int | None, opt("--batch-size", help="Examples per micro-batch and process [default: 32].")] = None,
    grad_accum: Annotated[int | None, opt("--grad-accum", help="Micro-batches per optimizer step [default: 1].")] = None,
    eval_batch_size: Annotated[int | None, opt("--eval-batch-size", help="Examples per evaluation batch [default: 128].")] = None,
    lr: Annotated[float | None, opt("--lr", help="Peak learning rate [default: 5e-5].")] = None,
    warmup_ratio: Annotated[float | None, opt("--warmup-ratio", help="Share of steps of linear warm-up [default: 0.1].")] = None,
    weight_decay: Annotated[float | None, opt("--weight-decay", help="AdamW weight decay, not on biases or LayerNorm [default: 0.01].")] = None,
    max_seq_length: Annotated[int | None, opt("--max-seq-length", help="Tokens per example (SQuAD: per window) [default: 128; SQuAD 384].")] = None,
    seed: Annotated[int | None, opt("--seed", help="Random seed [default: 42].")] = None,
    seeds: Annotated[str | None, opt("--seeds", help="Run each seed (e.g. 1,2,3,4,5) and report the median, as the DistilBERT paper.")] = None,
    eval_every: Annotated[int | None, opt("--eval-every", help="Evaluate on dev every N steps [default: once per epoch].")] = None,
    early_stopping: Annotated[int | None, opt("--early-stopping", help="Stop after N evaluations without a better primary metric [default: off].")] = None,
    train_limit: Annotated[int | None, opt("--train-limit", help="Train on a fixed random subsample of N examples (recorded in the report).")] = None,
    no_length_grouping: Annotated[bool, typer.Option("--no-length-grouping", help="Random batches instead of length-grouped ones.")] = False,
    log_every: Annotated[int | None, opt("--log-every", help="Status line every N steps [default: 50].")] = None,
    precision: Annotated[str | None, opt("--precision", help="no, bf16 or fp16 (GPU) [default: no].")] = None,
    doc_stride: Annotated[int | None, opt("--doc-stride", help="SQuAD: tokens shared by consecutive windows of a long context [default: 128].")] = None,
    max_query_length: Annotated[int | None, opt("--max-query-length", help="SQuAD: questions are cut after this many tokens [default: 64].")] = None,
    n_best: Annotated[int | None, opt("--n-best", help="SQuAD: start and end candidates per window [default: 20].")] = None,
    max_answer_length: Annotated[int | None, opt("--max-answer-length", help="SQuAD: longest answer in tokens [default: 30].")] = None,
    null_threshold: Annotated[float | None, opt("--null-threshold", help="SQuAD v2.0: predict no answer when null score − best span score exceeds this [default: 0.0].")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")] = False,
    overwrite: OverwriteOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Fine-tune a model on a GLUE task or SQuAD v1.1/v2.0; the best dev checkpoint is kept in --out."""
    values = dict(locals())
    for name in ("config", "output", "json_", "no_length_grouping", "resume", "overwrite"):
        values.pop(name)
    values.update(
        group_by_length=False if no_length_grouping else None,
        resume=resume or None,
        overwrite=overwrite or None,
    )
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.finetune.config import FinetuneConfig
        from distilcli.training.runtime import is_main_process
        from distilcli.finetune.engine import run_finetune
        from distilcli.reports.render import render_report

        cfg = build_config(FinetuneConfig, config, **values)
        report = run_finetune(cfg)
        if is_main_process():
            render_report(report, console)
            _ui.emit_report(report, output, json_, console)
