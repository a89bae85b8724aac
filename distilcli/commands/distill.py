"""``distil distill``: the DistilBERT triple-loss distillation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._complete import complete_model
from distilcli.commands._options import (
    ArchOpt,
    BatchSizeOpt,
    ConfigOpt,
    CorpusOpt,
    Defaults,
    DevFileOpt,
    DistillTaskOpt,
    DocStrideOpt,
    DocumentPerOpt,
    EarlyStoppingOpt,
    EpochsOpt,
    EvalEveryOpt,
    GlueDirOpt,
    GradAccumOpt,
    HubDirOpt,
    JsonOpt,
    LabelColumnOpt,
    LayerMapOpt,
    LayersOpt,
    LogEveryOpt,
    LrOpt,
    MaxQueryLengthOpt,
    MaxSeqLengthOpt,
    MaxStepsOpt,
    NoLengthGroupingOpt,
    OutOpt,
    OutputOpt,
    OverwriteOpt,
    PrecisionOpt,
    ReportToOpt,
    ResumeOpt,
    SeedOpt,
    SelectOnOpt,
    TeacherOpt,
    TextAOpt,
    TextBOpt,
    TextFieldOpt,
    TrackingDirOpt,
    TrainFileOpt,
    TrainLimitOpt,
    field_defaults,
    help_defaults,
    mode_defaults,
    unset_config,
)  # fmt: skip
from distilcli.commands._train_options import (
    AdamBeta2Opt,
    AdamEpsOpt,
    FinalOnlyOpt,
    GroupBatchesOpt,
    MaxGradNormOpt,
    SeedsOpt,
    WarmupRatioOpt,
    WeightDecayOpt,
)


def _defaults() -> Defaults:
    from distilcli.distill.config import DistillConfig, with_mode_defaults

    # The code's own mode tables decide (MODE_DEFAULTS, the SQuAD window): ask it for each mode.
    modes = [("", None), ("with --task", "glue:sst2"), ("with --task squad", "squad"), ("with --task embeddings", "embeddings")]
    resolved = [(label, with_mode_defaults(unset_config(DistillConfig, task=task))) for label, task in modes]
    return field_defaults(DistillConfig) | mode_defaults(DistillConfig, resolved)


@help_defaults(_defaults)
def distill_cmd(
    teacher: TeacherOpt = None,
    corpus: CorpusOpt = None,
    out: OutOpt = None,
    student: Annotated[str | None, typer.Option("--student", help="Distill into this existing model instead of one made from the teacher.", autocompletion=complete_model)] = None,
    layers: LayersOpt = None,
    layer_map: LayerMapOpt = None,
    arch: ArchOpt = None,
    text_field: TextFieldOpt = None,
    document_per: DocumentPerOpt = None,
    max_steps: MaxStepsOpt = None,
    epochs: EpochsOpt = None,
    batch_size: BatchSizeOpt = None,
    grad_accum: GradAccumOpt = None,
    max_seq_length: MaxSeqLengthOpt = None,
    lr: LrOpt = None,
    warmup_ratio: WarmupRatioOpt = None,
    weight_decay: WeightDecayOpt = None,
    adam_beta2: AdamBeta2Opt = None,
    adam_eps: AdamEpsOpt = None,
    max_grad_norm: MaxGradNormOpt = None,
    seed: SeedOpt = None,
    seeds: SeedsOpt = None,
    alpha_ce: Annotated[float | None, typer.Option("--alpha-ce", help="Soft-target KL weight.")] = None,
    alpha_mlm: Annotated[float | None, typer.Option("--alpha-mlm", help="Masked-LM weight.")] = None,
    alpha_cos: Annotated[float | None, typer.Option("--alpha-cos", help="Last-hidden-state cosine weight.")] = None,
    alpha_pooled: Annotated[float | None, typer.Option("--alpha-pooled", help="Cosine weight on the mean-pooled sentence embedding (one per sequence).")] = None,
    alpha_mse_emb: Annotated[float | None, typer.Option("--alpha-mse-emb", help="Weight of the squared distance between the sentence embeddings (the teacher's pooling), as sentence-transformers distils.")] = None,
    alpha_mse: Annotated[float | None, typer.Option("--alpha-mse", help="Logits MSE weight.")] = None,
    alpha_hidden: Annotated[float | None, typer.Option("--alpha-hidden", help="Intermediate hidden-state loss weight, mapped layers.")] = None,
    hidden_loss: Annotated[str | None, typer.Option("--hidden-loss", help="Intermediate loss: mse or cosine.")] = None,
    alpha_attention: Annotated[float | None, typer.Option("--alpha-attention", help="Attention-map KL weight, mapped layers.")] = None,
    alpha_pkd: Annotated[float | None, typer.Option("--alpha-pkd", help="--task: Patient KD weight, the distance between the normalised [CLS] states of mapped layers.")] = None,
    intermediate_epochs: Annotated[int | None, typer.Option("--intermediate-epochs", help="--task: TinyBERT's two stages: N epochs of the intermediate losses (--alpha-hidden/-attention/-pkd) alone, then --epochs of the prediction layer alone. 0: all losses at once.")] = None,
    augment: Annotated[int | None, typer.Option("--augment", help="--task (GLUE): N new inputs per training example, made by the --augment-* rules and labelled by the teacher only.")] = None,
    augment_mask: Annotated[float | None, typer.Option("--augment-mask", help="--augment: probability that a word becomes the mask token.")] = None,
    augment_replace: Annotated[float | None, typer.Option("--augment-replace", help="--augment: probability that a word is replaced by one of its 15 nearest words (the teacher's input embeddings, or --augment-mlm's guesses).")] = None,
    augment_delete: Annotated[float | None, typer.Option("--augment-delete", help="--augment: probability that a word is dropped.")] = None,
    augment_ngram: Annotated[float | None, typer.Option("--augment-ngram", help="--augment: probability that a single-sentence input is cut to one random n-gram (n 1-5).")] = None,
    augment_mlm: Annotated[str | None, typer.Option("--augment-mlm", help="--augment: a masked LM (with a trained MLM head, e.g. bert-base-uncased) that proposes the replacement words.", autocompletion=complete_model)] = None,
    transfer_corpus: Annotated[str | None, typer.Option("--transfer-corpus", help="--task (GLUE): unlabeled text (any corpus kind) added as inputs the teacher labels; pair tasks pair consecutive sentences.")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Softmax temperature of L_ce.")] = None,
    mask_inputs: Annotated[bool | None, typer.Option("--mask-inputs/--no-mask-inputs", help="Mask 15% of the tokens both models read. Default: only when L_ce, L_mlm or L_mse is on.", show_default=False)] = None,
    fit_teacher_head: Annotated[int | None, typer.Option("--fit-teacher-head", help="First train the teacher's MLM head for N steps (encoder frozen).")] = None,
    no_length_grouping: NoLengthGroupingOpt = False,
    group_batches: GroupBatchesOpt = None,
    save_every: Annotated[int | None, typer.Option("--save-every", help="Checkpoint every N steps.")] = None,
    log_every: LogEveryOpt = None,
    report_to: ReportToOpt = None,
    tracking_dir: TrackingDirOpt = None,
    precision: PrecisionOpt = None,
    task: DistillTaskOpt = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    train_file: TrainFileOpt = None,
    dev_file: DevFileOpt = None,
    text_a: TextAOpt = None,
    text_b: TextBOpt = None,
    label_column: LabelColumnOpt = None,
    alpha_task: Annotated[float | None, typer.Option("--alpha-task", help="--task: weight of the task loss on gold labels.")] = None,
    cache_teacher: Annotated[bool, typer.Option("--cache-teacher", help="Compute the teacher's outputs once per example or sequence and reuse them every epoch (--task; corpus distillation on clean inputs).")] = False,
    eval_every: EvalEveryOpt = None,
    early_stopping: EarlyStoppingOpt = None,
    select_on: SelectOnOpt = None,
    train_limit: TrainLimitOpt = None,
    doc_stride: DocStrideOpt = None,
    max_query_length: MaxQueryLengthOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    final_only: FinalOnlyOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Distill a teacher into a smaller student: the DistilBERT triple loss on a corpus, or --task glue:<name>|squad|squad_v2|embeddings.

    --task glue:<name>|squad (a teacher fine-tuned on it) reads --glue-dir, --hub-dir or --train-file/--dev-file.
    --task embeddings: on --corpus, the student learns the teacher's sentence embeddings (--alpha-mse-emb),
    pooled as its sentence-transformers files say, and is saved as a sentence-transformers folder too.
    """
    values = dict(locals())  # the options, before any other name is bound here
    for name in ("config", "output", "json_", "no_length_grouping", "resume", "overwrite", "cache_teacher", "final_only"):
        values.pop(name)
    values.update(cache_teacher=cache_teacher or None, group_by_length=False if no_length_grouping else None,
                  resume=resume or None, overwrite=overwrite or None, final_only=final_only or None)  # fmt: skip
    _run(values, config, output, json_)


def _run(values: dict[str, object], config: Path | None, output: str | None, json_: bool) -> None:
    """Build the config (YAML under the command line), distill, render and write the report."""
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.distill.config import DistillConfig
        from distilcli.distill.engine import run_distill
        from distilcli.reports.render import render_report
        from distilcli.training.runtime import is_main_process

        cfg = build_config(DistillConfig, config, **values)
        _ui.check_config_outside(cfg, config)
        report = run_distill(cfg)
        if is_main_process():
            render_report(report, console)
            _ui.emit_report(report, output, json_, console)
