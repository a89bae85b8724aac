"""``distil distill``: the DistilBERT triple loss on a corpus, task distillation, sentence embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from distilcli.commands import _ui
from distilcli.commands._complete import complete_model
from distilcli.commands._data_options import (
    CorpusOpt,
    DevFileOpt,
    DocumentPerOpt,
    GlueDirOpt,
    HubDirOpt,
    LabelColumnOpt,
    MaxSeqLengthOpt,
    NumProcOpt,
    StreamOpt,
    TextAOpt,
    TextBOpt,
    TextFieldOpt,
    TrainFileOpt,
    TrainLimitOpt,
)
from distilcli.commands._eval_options import EarlyStoppingOpt, EvalBatchSizeOpt, EvalEveryOpt, SelectOnOpt
from distilcli.commands._model_options import ArchOpt, LayerMapOpt, LayersOpt, StudentModelOpt, TeacherOpt
from distilcli.commands._options import Defaults, field_defaults, help_defaults, joined, mode_defaults, unset_config
from distilcli.commands._panels import DATA, LOSSES, MODEL, OPTIMISATION, TASK
from distilcli.commands._run_options import (
    ConfigOpt,
    JsonOpt,
    LogEveryOpt,
    OutOpt,
    OutputOpt,
    OverwriteOpt,
    ReportToOpt,
    ResumeOpt,
    SaveEveryOpt,
    TrackingDirOpt,
)
from distilcli.commands._task_options import (
    DistillTaskOpt,
    DocStrideOpt,
    MaxAnswerLengthOpt,
    MaxQueryLengthOpt,
    NBestOpt,
    NullThresholdOpt,
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


def _loss(flag: str, text: str, kind: type = float) -> object:
    """A loss option of distill (weights, temperature ...), in the Losses panel."""
    return Annotated[kind | None, typer.Option(flag, rich_help_panel=LOSSES, help=text)]


def _task(flag: str, text: str, kind: type = float) -> object:
    """An option of task distillation (--augment*), in the Task panel."""
    return Annotated[kind | None, typer.Option(flag, rich_help_panel=TASK, help=text)]


def _defaults() -> Defaults:
    from distilcli.distill.config import DistillConfig, with_mode_defaults

    # The code's own mode tables decide (MODE_DEFAULTS, the SQuAD window): ask it for each mode.
    modes = [
        ("", None),
        ("with --task", "glue:sst2"),
        ("with --task squad", "squad"),
        ("with --task embeddings", "embeddings"),
    ]
    resolved = [(label, with_mode_defaults(unset_config(DistillConfig, task=task))) for label, task in modes]
    return field_defaults(DistillConfig) | mode_defaults(DistillConfig, resolved)


@help_defaults(_defaults)
def distill_cmd(
    teacher: TeacherOpt = None,
    student: StudentModelOpt = None,
    layers: LayersOpt = None,
    layer_map: LayerMapOpt = None,
    arch: ArchOpt = None,
    embedding_dim: Annotated[
        int | None,
        typer.Option(
            "--embedding-dim",
            rich_help_panel=MODEL,
            help="--task embeddings: D-wide sentence embeddings, from a Dense layer started as the PCA of the "
            "teacher's embeddings on the corpus (of the student's own with --alpha-sim/--alpha-rank alone) and "
            "trained with the student (saved as a sentence-transformers Dense module).",
        ),
    ] = None,
    corpus: CorpusOpt = None,
    query_passage: Annotated[
        bool,
        typer.Option(
            "--query-passage",
            rich_help_panel=DATA,
            help="--task embeddings, for students that will run search: train on pairs cut from each line (one "
            "sentence as a pseudo-query, the rest as its passage), both in one batch, instead of on sentences "
            "(the inverse cloze task); use with --alpha-sim.",
        ),
    ] = False,
    text_field: TextFieldOpt = None,
    document_per: DocumentPerOpt = None,
    num_proc: NumProcOpt = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            rich_help_panel=DATA,
            help="Folder of the tokenised-corpus cache, reused by any run on the same corpus, tokenizer and lengths "
            "(default: corpora/ in $DISTILCLI_CACHE, else in $XDG_CACHE_HOME/distilcli or ~/.cache/distilcli). Not "
            "used with --stream, a student with its own tokenizer or --query-passage; refused with --task glue/squad.",
        ),
    ] = None,
    stream: StreamOpt = False,
    max_seq_length: MaxSeqLengthOpt = None,
    min_tokens: Annotated[
        int | None,
        typer.Option(
            "--min-tokens",
            rich_help_panel=DATA,
            help="Drop corpus texts (chunks; --task embeddings: sentences, each pair's texts) shorter than this "
            "many teacher tokens, [CLS]/[SEP] included; lower it to keep short texts such as search queries.",
        ),
    ] = None,
    glue_dir: GlueDirOpt = None,
    hub_dir: HubDirOpt = None,
    train_file: TrainFileOpt = None,
    dev_file: DevFileOpt = None,
    text_a: TextAOpt = None,
    text_b: TextBOpt = None,
    label_column: LabelColumnOpt = None,
    train_limit: TrainLimitOpt = None,
    transfer_corpus: Annotated[
        str | None,
        typer.Option(
            "--transfer-corpus",
            rich_help_panel=DATA,
            help="--task (GLUE): unlabeled text (any corpus kind) added as inputs the teacher labels; pair tasks pair"
            " consecutive sentences.",
        ),
    ] = None,
    task: DistillTaskOpt = None,
    doc_stride: DocStrideOpt = None,
    max_query_length: MaxQueryLengthOpt = None,
    n_best: NBestOpt = None,
    max_answer_length: MaxAnswerLengthOpt = None,
    null_threshold: NullThresholdOpt = None,
    augment: Annotated[
        int | None,
        typer.Option(
            "--augment",
            rich_help_panel=TASK,
            help="--task (GLUE): N new inputs per training example, made by the --augment-* rules and labelled by the"
            " teacher only.",
        ),
    ] = None,
    augment_mask: _task("--augment-mask", "--augment: probability that a word becomes the mask token.") = None,
    augment_replace: _task(
        "--augment-replace",
        "--augment: probability that a word is replaced by one of its 15 nearest words (the teacher's input "
        "embeddings, or --augment-mlm's guesses).",
    ) = None,
    augment_delete: _task("--augment-delete", "--augment: probability that a word is dropped.") = None,
    augment_ngram: _task(
        "--augment-ngram", "--augment: probability that a single-sentence input is cut to one random n-gram (n 1-5)."
    ) = None,
    augment_mlm: Annotated[
        str | None,
        typer.Option(
            "--augment-mlm",
            rich_help_panel=TASK,
            help="--augment: a masked LM (with a trained MLM head, e.g. bert-base-uncased) that proposes the "
            "replacement words.",
            autocompletion=complete_model,
        ),
    ] = None,
    alpha_ce: _loss("--alpha-ce", "Soft-target KL weight.") = None,
    alpha_mlm: _loss("--alpha-mlm", "Masked-LM weight.") = None,
    alpha_cos: _loss("--alpha-cos", "Last-hidden-state cosine weight.") = None,
    alpha_pooled: _loss(
        "--alpha-pooled", "Cosine weight on the mean-pooled sentence embedding (one per sequence)."
    ) = None,
    alpha_mse_emb: _loss(
        "--alpha-mse-emb",
        "Weight of the squared distance between the sentence embeddings (the teacher's pooling), as "
        "sentence-transformers distils.",
    ) = None,
    alpha_sim: _loss(
        "--alpha-sim",
        "Weight of the squared difference between student's and teacher's cosine similarities of every pair of "
        "sentences in a batch: no common width needed.",
    ) = None,
    alpha_rank: _loss(
        "--alpha-rank",
        "Weight of the KL divergence between teacher's and student's in-batch neighbour rankings (each sentence's "
        "softmax over its cosine similarities to the others, temperature 0.05): no common width needed.",
    ) = None,
    alpha_mse: _loss("--alpha-mse", "MSE of the masked-LM logits (distillation on a corpus).") = None,
    alpha_hidden: _loss("--alpha-hidden", "Intermediate hidden-state loss weight, mapped layers.") = None,
    hidden_loss: _loss("--hidden-loss", "Intermediate loss: mse or cosine.", str) = None,
    alpha_attention: _loss("--alpha-attention", "Attention-map KL weight, mapped layers.") = None,
    alpha_pkd: _loss(
        "--alpha-pkd", "--task: Patient KD weight, the distance between the normalised [CLS] states of mapped layers."
    ) = None,
    alpha_task: _loss("--alpha-task", "--task: weight of the task loss on gold labels.") = None,
    temperature: _loss("--temperature", "Softmax temperature of L_ce.") = None,
    mlm_probability: _loss(
        "--mlm-probability",
        "Share of a batch's tokens chosen as L_mlm's targets (80% [MASK], 10% random, 10% kept) when the inputs are "
        "masked (--mask-inputs) and when the teacher's head is fitted.",
    ) = None,
    mlm_smoothing: _loss(
        "--mlm-smoothing", "Masking draws a token with weight count^-S over the corpus: rare ones more (0: uniform)."
    ) = None,
    mask_inputs: Annotated[
        bool | None,
        typer.Option(
            "--mask-inputs/--no-mask-inputs",
            rich_help_panel=LOSSES,
            help="Mask --mlm-probability of the tokens both models read. Default: only when L_ce, L_mlm or L_mse "
            "is on.",
            show_default=False,
        ),
    ] = None,
    intermediate_epochs: _loss(
        "--intermediate-epochs",
        "--task: TinyBERT's two stages: N epochs of the intermediate losses (--alpha-hidden/-attention/-pkd) alone, "
        "then --epochs of the prediction layer alone. 0: all losses at once.",
        int,
    ) = None,
    fit_teacher_head: _loss(
        "--fit-teacher-head", "First train the teacher's MLM head for N steps (encoder frozen).", int
    ) = None,
    head_lr: _loss("--head-lr", "--fit-teacher-head: learning rate of the teacher's MLM head.") = None,
    heldout_chunks: _loss(
        "--heldout-chunks",
        "--fit-teacher-head: corpus chunks kept out of training to score the fitted head (at most a tenth of them).",
        int,
    ) = None,
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
    cache_teacher: Annotated[
        bool,
        typer.Option(
            "--cache-teacher",
            rich_help_panel=OPTIMISATION,
            help="Compute the teacher's outputs once per example or sequence and reuse them every epoch (--task; "
            "corpus distillation on clean inputs).",
        ),
    ] = False,
    fresh_head: Annotated[
        bool,
        typer.Option(
            "--fresh-head",
            rich_help_panel=LOSSES,
            help="--task: start the student's pooler and classifier fresh (random), as TextBrewer, TinyBERT and "
            "Patient KD do, instead of as the teacher's.",
        ),
    ] = False,
    precision: PrecisionOpt = None,
    eval_every: EvalEveryOpt = None,
    eval_batch_size: EvalBatchSizeOpt = None,
    early_stopping: EarlyStoppingOpt = None,
    select_on: SelectOnOpt = None,
    report_to: ReportToOpt = None,
    tracking_dir: TrackingDirOpt = None,
    out: OutOpt = None,
    save_every: SaveEveryOpt = None,
    log_every: LogEveryOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    final_only: FinalOnlyOpt = False,
    config: ConfigOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Distill a teacher into a smaller student: the DistilBERT triple loss on a corpus,
    or --task glue:<name>|squad|squad_v2|embeddings.

    --task glue:<name>|squad (a teacher fine-tuned on it) reads --glue-dir, --hub-dir or --train-file/--dev-file.
    --task embeddings: on --corpus, the student learns the teacher's sentence embeddings (--alpha-mse-emb),
    pooled as its sentence-transformers files say, and is saved as a sentence-transformers folder too;
    a --student with its own tokenizer reads the sentences with it; --embedding-dim D gives D-wide vectors.
    """
    values = dict(locals())  # the options, before any other name is bound here
    for name in (
        "config",
        "output",
        "json_",
        "no_length_grouping",
        "resume",
        "overwrite",
        "cache_teacher",
        "fresh_head",
        "query_passage",
        "final_only",
        "stream",
    ):
        values.pop(name)
    values.update(
        cache_teacher=cache_teacher or None,
        fresh_head=fresh_head or None,
        query_passage=query_passage or None,
        group_by_length=False if no_length_grouping else None,
        resume=resume or None,
        overwrite=overwrite or None,
        final_only=final_only or None,
        stream=stream or None,
        seeds=joined(seeds),
        report_to=joined(report_to),
        layer_map=joined(layer_map),
    )
    _run(values, config, output, json_)


def _run(values: dict[str, object], config: Path | None, output: str | None, json_: bool) -> None:
    """Build the config (YAML under the command line), distill, render and write the report."""
    with _ui.command_context(output) as console:
        from distilcli.distill.config import DistillConfig, inert_fields
        from distilcli.distill.engine import run_distill
        from distilcli.reports.render import render_report
        from distilcli.training.runtime import is_main_process
        from distilcli.training.scope import inert_check

        cfg = _ui.build(DistillConfig, config, output, check=inert_check(values, inert_fields), **values)
        _ui.check_config_outside(cfg, config)
        report = run_distill(cfg)
        if is_main_process():
            render_report(report, console)
            _ui.emit_report(report, output, json_, console)
