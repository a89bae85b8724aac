"""``distil distill``: the DistilBERT triple-loss distillation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._options import ConfigOpt, JsonOpt, OutputOpt, OverwriteOpt, opt


def distill_cmd(
    teacher: Annotated[str | None, opt("--teacher", help="Teacher: a folder, an alias (minilm-l6, mpnet-base) or a hub id.")] = None,
    corpus: Annotated[str | None, opt("--corpus", help="Text file or folder, JSONL, a saved datasets folder, or a hub dataset id.")] = None,
    out: Annotated[Path | None, opt("--out", help="Run folder: the student, checkpoints and the fitted teacher head.")] = None,
    student: Annotated[str | None, opt("--student", help="Distill into this existing model instead of one made from the teacher.")] = None,
    layers: Annotated[int | None, opt("--layers", help="Student layers, teacher layers spread evenly [default: half].")] = None,
    layer_map: Annotated[str | None, opt("--layer-map", help="Teacher layers to copy, e.g. 0,2,4 (reference: 0,2,4,7,9,11).")] = None,
    arch: Annotated[str | None, opt("--arch", help="Student architecture: the teacher's, or distilbert for a BERT teacher.")] = None,
    text_field: Annotated[str | None, opt("--text-field", help="Text column of JSONL / datasets corpora [default: text].")] = None,
    document_per: Annotated[str | None, opt("--document-per", help="Text files: a document per 'line' or per 'file' [default: line].")] = None,
    max_steps: Annotated[int | None, opt("--max-steps", help="Optimizer steps (overrides --epochs).")] = None,
    epochs: Annotated[int | None, opt("--epochs", help="Passes over the corpus [default: 3].")] = None,
    batch_size: Annotated[int | None, opt("--batch-size", help="Sequences per micro-batch and process [default: 8; 32 with --task].")] = None,
    grad_accum: Annotated[int | None, opt("--grad-accum", help="Micro-batches per optimizer step [default: 1].")] = None,
    max_seq_length: Annotated[int | None, opt("--max-seq-length", help="Tokens per chunk, [CLS]/[SEP] included [default: 128; 384 with --task squad].")] = None,
    lr: Annotated[float | None, opt("--lr", help="Peak learning rate [default: 5e-4; 5e-5 with --task].")] = None,
    seed: Annotated[int | None, opt("--seed", help="Random seed [default: 42].")] = None,
    alpha_ce: Annotated[float | None, opt("--alpha-ce", help="Soft-target KL weight [default: 5].")] = None,
    alpha_mlm: Annotated[float | None, opt("--alpha-mlm", help="Masked-LM weight [default: 2].")] = None,
    alpha_cos: Annotated[float | None, opt("--alpha-cos", help="Last-hidden-state cosine weight [default: 1].")] = None,
    alpha_mse: Annotated[float | None, opt("--alpha-mse", help="Logits MSE weight [default: 0].")] = None,
    alpha_hidden: Annotated[float | None, opt("--alpha-hidden", help="Intermediate hidden-state loss weight, mapped layers [default: 0].")] = None,
    hidden_loss: Annotated[str | None, opt("--hidden-loss", help="Intermediate loss: mse or cosine [default: mse].")] = None,
    alpha_attention: Annotated[float | None, opt("--alpha-attention", help="Attention-map KL weight, mapped layers [default: 0].")] = None,
    temperature: Annotated[float | None, opt("--temperature", help="Softmax temperature of L_ce [default: 2].")] = None,
    fit_teacher_head: Annotated[int | None, opt("--fit-teacher-head", help="First train the teacher's MLM head for N steps (encoder frozen).")] = None,
    no_length_grouping: Annotated[bool, typer.Option("--no-length-grouping", help="Random batches, as the reference's default.")] = False,
    save_every: Annotated[int | None, opt("--save-every", help="Checkpoint every N steps [default: 500].")] = None,
    log_every: Annotated[int | None, opt("--log-every", help="Status line every N steps [default: 10].")] = None,
    precision: Annotated[str | None, opt("--precision", help="no, bf16 or fp16 (GPU) [default: no].")] = None,
    task: Annotated[str | None, opt("--task", help="Task-specific distillation: glue:<name>, squad or squad_v2, with a teacher fine-tuned on that task.")] = None,
    glue_dir: Annotated[Path | None, opt("--glue-dir", help="--task: GLUE in the original layout (train.tsv, dev.tsv).")] = None,
    hub_dir: Annotated[Path | None, opt("--hub-dir", help="--task: a local copy of the hub's nyu-mll/glue parquet files.")] = None,
    train_file: Annotated[Path | None, opt("--train-file", help="--task: training file (.tsv GLUE layout, .parquet, .csv, .jsonl; SQuAD: the official JSON).")] = None,
    dev_file: Annotated[Path | None, opt("--dev-file", help="--task: dev file, same formats.")] = None,
    alpha_task: Annotated[float | None, opt("--alpha-task", help="--task: weight of the task loss on gold labels [default: 1].")] = None,
    cache_teacher: Annotated[bool, typer.Option("--cache-teacher", help="--task: compute the teacher's outputs once and reuse them every epoch.")] = False,
    eval_every: Annotated[int | None, opt("--eval-every", help="--task: evaluate on dev every N steps [default: once per epoch].")] = None,
    early_stopping: Annotated[int | None, opt("--early-stopping", help="--task: stop after N evaluations without improvement.")] = None,
    train_limit: Annotated[int | None, opt("--train-limit", help="--task: a fixed random subsample of N training examples.")] = None,
    doc_stride: Annotated[int | None, opt("--doc-stride", help="--task squad: tokens shared by consecutive windows [default: 128].")] = None,
    max_query_length: Annotated[int | None, opt("--max-query-length", help="--task squad: questions are cut after this many tokens [default: 64].")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")] = False,
    overwrite: OverwriteOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Distill a teacher into a smaller student: the DistilBERT triple loss on a corpus, or --task glue:<name>|squad|squad_v2."""
    values = dict(locals())  # the options, before any other name is bound here
    for name in ("config", "output", "json_", "no_length_grouping", "resume", "overwrite", "cache_teacher"):
        values.pop(name)
    values.update(
        cache_teacher=cache_teacher or None,
        group_by_length=False if no_length_grouping else None,
        resume=resume or None,
        overwrite=overwrite or None,
    )
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.distill.config import DistillConfig
        from distilcli.training.runtime import is_main_process
        from distilcli.distill.engine import run_distill
        from distilcli.reports.render import render_report

        cfg = build_config(DistillConfig, config, **values)
        report = run_distill(cfg)
        if is_main_process():
            render_report(report, console)
            _ui.emit_report(report, output, json_, console)
