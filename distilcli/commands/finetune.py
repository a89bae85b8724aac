"""``distil finetune``: fine-tune a model on a GLUE task or SQuAD, keep the best checkpoint."""

from __future__ import annotations

from distilcli.commands import _ui
from distilcli.commands._data_options import (
    DevFileOpt,
    GlueDirOpt,
    HubDirOpt,
    LabelColumnOpt,
    MaxSeqLengthOpt,
    TextAOpt,
    TextBOpt,
    TrainFileOpt,
    TrainLimitOpt,
)
from distilcli.commands._eval_options import EarlyStoppingOpt, EvalBatchSizeOpt, EvalEveryOpt, SelectOnOpt
from distilcli.commands._model_options import ModelOpt
from distilcli.commands._options import Defaults, field_defaults, help_defaults, joined, mode_defaults
from distilcli.commands._run_options import (
    ConfigOpt,
    JsonOpt,
    LogEveryOpt,
    OutOpt,
    OutputOpt,
    OverwriteOpt,
    ReportToOpt,
    ResumeOpt,
    TrackingDirOpt,
)
from distilcli.commands._task_options import (
    DocStrideOpt,
    MaxAnswerLengthOpt,
    MaxQueryLengthOpt,
    NBestOpt,
    NullThresholdOpt,
    TaskOpt,
)
from distilcli.commands._train_options import (
    AdamBeta1Opt,
    AdamBeta2Opt,
    AdamEpsOpt,
    BatchSizeOpt,
    EpochsOpt,
    FinalOnlyOpt,
    GradAccumOpt,
    GroupBatchesOpt,
    LengthSplitOpt,
    LrOpt,
    MaxGradNormOpt,
    MaxStepsOpt,
    NoLengthGroupingOpt,
    PrecisionOpt,
    SeedOpt,
    SeedsOpt,
    WarmupRatioOpt,
    WeightDecayOpt,
)


def _defaults() -> Defaults:
    from distilcli.finetune.config import FinetuneConfig
    from distilcli.tasks.registry import get_task

    by_task = [
        ("", {"max_seq_length": get_task("sst2").default_max_seq_length}),
        ("with --task squad", {"max_seq_length": get_task("squad").default_max_seq_length}),
    ]
    return field_defaults(FinetuneConfig) | mode_defaults(FinetuneConfig, by_task)


@help_defaults(_defaults)
def finetune_cmd(
    model: ModelOpt = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    train_file: TrainFileOpt = None,
    dev_file: DevFileOpt = None,
    text_a: TextAOpt = None,
    text_b: TextBOpt = None,
    label_column: LabelColumnOpt = None,
    max_seq_length: MaxSeqLengthOpt = None,
    train_limit: TrainLimitOpt = None,
    task: TaskOpt = None,
    doc_stride: DocStrideOpt = None,
    max_query_length: MaxQueryLengthOpt = None,
    n_best: NBestOpt = None,
    max_answer_length: MaxAnswerLengthOpt = None,
    null_threshold: NullThresholdOpt = None,
    epochs: EpochsOpt = None,
    max_steps: MaxStepsOpt = None,
    batch_size: BatchSizeOpt = None,
    grad_accum: GradAccumOpt = None,
    lr: LrOpt = None,
    warmup_ratio: WarmupRatioOpt = None,
    weight_decay: WeightDecayOpt = None,
    adam_beta1: AdamBeta1Opt = None,
    adam_beta2: AdamBeta2Opt = None,
    adam_eps: AdamEpsOpt = None,
    max_grad_norm: MaxGradNormOpt = None,
    seed: SeedOpt = None,
    seeds: SeedsOpt = None,
    no_length_grouping: NoLengthGroupingOpt = False,
    group_batches: GroupBatchesOpt = None,
    length_split: LengthSplitOpt = None,
    precision: PrecisionOpt = None,
    eval_batch_size: EvalBatchSizeOpt = None,
    eval_every: EvalEveryOpt = None,
    early_stopping: EarlyStoppingOpt = None,
    select_on: SelectOnOpt = None,
    report_to: ReportToOpt = None,
    tracking_dir: TrackingDirOpt = None,
    out: OutOpt = None,
    log_every: LogEveryOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    final_only: FinalOnlyOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Fine-tune a model on a GLUE task or SQuAD v1.1/v2.0; the best checkpoint
    (by dev, or by held-out training data with --select-on holdout) is kept in --out.

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
        seeds=joined(seeds),
        report_to=joined(report_to),
    )
    with _ui.command_context(output) as console:
        from distilcli.finetune.config import FinetuneConfig, inert_fields
        from distilcli.finetune.engine import run_finetune
        from distilcli.reports.render import render_report
        from distilcli.training.runtime import is_main_process
        from distilcli.training.scope import inert_check

        cfg = _ui.build(FinetuneConfig, config, output, check=inert_check(values, inert_fields), **values)
        _ui.check_config_outside(cfg, config)
        report = run_finetune(cfg)
        if is_main_process():
            render_report(report, console)
            _ui.emit_report(report, output, json_, console)
