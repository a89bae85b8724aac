"""``distil finetune``: fine-tune a model on a GLUE task or SQuAD, keep the best checkpoint."""

from __future__ import annotations

from distilcli.commands import _ui
from distilcli.commands._options import (
    BatchSizeOpt,
    ConfigOpt,
    Defaults,
    DevFileOpt,
    DocStrideOpt,
    EarlyStoppingOpt,
    EpochsOpt,
    EvalBatchSizeOpt,
    EvalEveryOpt,
    GlueDirOpt,
    GradAccumOpt,
    HubDirOpt,
    JsonOpt,
    LabelColumnOpt,
    LogEveryOpt,
    LrOpt,
    MaxAnswerLengthOpt,
    MaxQueryLengthOpt,
    MaxSeqLengthOpt,
    MaxStepsOpt,
    ModelOpt,
    NBestOpt,
    NoLengthGroupingOpt,
    NullThresholdOpt,
    OutOpt,
    OutputOpt,
    OverwriteOpt,
    PrecisionOpt,
    ReportToOpt,
    ResumeOpt,
    SeedOpt,
    SelectOnOpt,
    TaskOpt,
    TextAOpt,
    TextBOpt,
    TrackingDirOpt,
    TrainFileOpt,
    TrainLimitOpt,
    field_defaults,
    help_defaults,
    mode_defaults,
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
    from distilcli.finetune.config import FinetuneConfig
    from distilcli.tasks.registry import get_task

    by_task = [("", {"max_seq_length": get_task("sst2").default_max_seq_length}),
               ("with --task squad", {"max_seq_length": get_task("squad").default_max_seq_length})]  # fmt: skip
    return field_defaults(FinetuneConfig) | mode_defaults(FinetuneConfig, by_task)


@help_defaults(_defaults)
def finetune_cmd(
    model: ModelOpt = None,
    task: TaskOpt = None,
    out: OutOpt = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    train_file: TrainFileOpt = None,
    dev_file: DevFileOpt = None,
    text_a: TextAOpt = None,
    text_b: TextBOpt = None,
    label_column: LabelColumnOpt = None,
    epochs: EpochsOpt = None,
    max_steps: MaxStepsOpt = None,
    batch_size: BatchSizeOpt = None,
    grad_accum: GradAccumOpt = None,
    eval_batch_size: EvalBatchSizeOpt = None,
    lr: LrOpt = None,
    warmup_ratio: WarmupRatioOpt = None,
    weight_decay: WeightDecayOpt = None,
    adam_beta2: AdamBeta2Opt = None,
    adam_eps: AdamEpsOpt = None,
    max_grad_norm: MaxGradNormOpt = None,
    max_seq_length: MaxSeqLengthOpt = None,
    seed: SeedOpt = None,
    seeds: SeedsOpt = None,
    eval_every: EvalEveryOpt = None,
    early_stopping: EarlyStoppingOpt = None,
    select_on: SelectOnOpt = None,
    train_limit: TrainLimitOpt = None,
    no_length_grouping: NoLengthGroupingOpt = False,
    group_batches: GroupBatchesOpt = None,
    log_every: LogEveryOpt = None,
    report_to: ReportToOpt = None,
    tracking_dir: TrackingDirOpt = None,
    precision: PrecisionOpt = None,
    doc_stride: DocStrideOpt = None,
    max_query_length: MaxQueryLengthOpt = None,
    n_best: NBestOpt = None,
    max_answer_length: MaxAnswerLengthOpt = None,
    null_threshold: NullThresholdOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    final_only: FinalOnlyOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Fine-tune a model on a GLUE task or SQuAD v1.1/v2.0; the best checkpoint (by dev, or by held-out training data with --select-on holdout) is kept in --out.

    With --seeds, each seed trains in its own folder under --out and the report gives the median.
    """
    values = dict(locals())
    for name in ("config", "output", "json_", "no_length_grouping", "resume", "overwrite", "final_only"):
        values.pop(name)
    values.update(
        group_by_length=False if no_length_grouping else None,
        resume=resume or None,
        overwrite=overwrite or None,
        final_only=final_only or None,
    )
    with _ui.command_context(output) as console:
        from distilcli.config import build_config
        from distilcli.finetune.config import FinetuneConfig
        from distilcli.finetune.engine import run_finetune
        from distilcli.reports.render import render_report
        from distilcli.training.runtime import is_main_process

        cfg = build_config(FinetuneConfig, config, **values)
        _ui.check_config_outside(cfg, config)
        report = run_finetune(cfg)
        if is_main_process():
            render_report(report, console)
            _ui.emit_report(report, output, json_, console)
