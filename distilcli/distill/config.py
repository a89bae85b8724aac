"""The options of ``distil distill``, with the DistilBERT reference defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distilcli.errors import BadInput
from distilcli.training.options import TaskOptions
from distilcli.training.scope import SENTENCE_TASK_ONLY, SQUAD_ONLY

# Fields that may change between a run and its --resume (everything else must match).
RESUMABLE_CHANGES = frozenset(
    {
        "out",
        "resume",
        "overwrite",
        "save_every",
        "log_every",
        "output",
        "cache_dir",
        "precision",
        "report_to",
        "tracking_dir",
        "final_only",
        "num_proc",
    }
)


@dataclass(kw_only=True)
class DistillConfig(TaskOptions):
    """Distillation of ``teacher`` into a smaller student: general on ``corpus``, or on a ``task``.

    Defaults follow the reference implementation: AdamW lr 5e-4, betas (0.9, 0.98), eps 1e-6,
    5% linear warm-up, gradient clipping 5.0, losses 5.0 / 2.0 / 1.0 at temperature 2,
    15% dynamic masking with count^-0.7 smoothing. The optimizer options are the same with
    ``--task`` (lr 5e-5 and batches of 32 there); the task options are :class:`TaskOptions`'.
    """

    teacher: str
    corpus: str | None = None  # general distillation: the text to distill on
    student: str | None = None  # an existing student instead of one made from the teacher
    layers: int | None = None
    layer_map: list[int] | str | None = None
    arch: str | None = None
    text_field: str = "text"
    document_per: str | None = None  # line; sentence with --task embeddings (its measured recipe)
    # The training options whose defaults differ from fine-tuning's (TrainOptions).
    batch_size: int | None = None  # 8 for general distillation, 32 with --task
    lr: float | None = None  # 5e-4 for general distillation, 5e-5 with --task
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    adam_eps: float = 1e-6
    adam_beta2: float = 0.98
    max_grad_norm: float = 5.0
    log_every: int = 10
    length_split: int | None = None  # 1 (general: batches grouped by length); 4 with --task
    max_seq_length: int | None = None  # 128; 384 with --task squad
    min_tokens: int = 12
    alpha_ce: float | None = None  # 5 (general, --task glue/squad); 0 with --task embeddings
    alpha_mlm: float | None = None  # 2 (general); 0 with --task embeddings
    alpha_cos: float = 1.0
    alpha_pooled: float = 0.0
    alpha_mse_emb: float | None = None  # 0 (general); 1 with --task embeddings
    alpha_sim: float = 0.0
    alpha_rank: float = 0.0
    alpha_mse: float = 0.0
    alpha_hidden: float = 0.0
    hidden_loss: str = "mse"
    alpha_attention: float = 0.0
    #: --task embeddings: D-wide sentence embeddings (a Dense layer started as the PCA of the teacher's, trained).
    embedding_dim: int | None = None
    #: --task embeddings: train on query–passage pairs (a sentence of each line, and the line without it) instead
    #: of sentences, each pair in one batch (the inverse cloze task), for students that will run search.
    query_passage: bool = False
    temperature: float = 2.0
    mlm_probability: float = 0.15
    # Mask the inputs both models read (the MLM recipe). None: only when L_ce, L_mlm or L_mse is on.
    mask_inputs: bool | None = None
    mlm_smoothing: float = 0.7
    fit_teacher_head: int = 0
    head_lr: float = 5e-3
    heldout_chunks: int = 256
    save_every: int = 500
    cache_dir: Path | None = None
    #: Processes that tokenise the corpus (the chunks are the same for any count); 1: this one, whose fast
    #: tokenizer already uses every core (measured faster than 2 workers on 2 cores: docs/results.md).
    num_proc: int = 1
    #: Read the corpus as the run trains (no preparation, no cache); needs max_steps.
    stream: bool = False
    # Task-specific distillation (--task glue:<name>): a teacher fine-tuned on the task.
    task: str | None = None
    alpha_task: float = 1.0
    cache_teacher: bool = False
    #: Start the student's pooler and classifier fresh (random) instead of as the teacher's (--task).
    fresh_head: bool = False
    #: Patient KD: distance between the normalised [CLS] states of mapped layers (--task).
    alpha_pkd: float = 0.0
    #: TinyBERT's two stages (--task): this many epochs of the intermediate losses alone first, then
    #: --epochs of the prediction layer alone; 0 trains every loss at once.
    intermediate_epochs: int = 0
    # Teacher-labelled new inputs (--task GLUE): N augmented copies per example, each operation's probability.
    augment: int = 0
    augment_mask: float = 0.1
    augment_replace: float = 0.3
    augment_delete: float = 0.0
    augment_ngram: float = 0.25
    augment_mlm: str | None = None
    transfer_corpus: str | None = None

    def resolved(self) -> DistillConfig:
        """This config with its mode's defaults filled in (``--print-config`` shows these)."""
        return with_mode_defaults(self)


#: Defaults that differ between general, task-specific and sentence-embedding distillation.
MODE_DEFAULTS = {
    "general": {
        "batch_size": 8,
        "lr": 5e-4,
        "alpha_ce": 5.0,
        "alpha_mlm": 2.0,
        "alpha_mse_emb": 0.0,
        "document_per": "line",
        "length_split": 1,
    },
    "task": {
        "batch_size": 32,
        "lr": 5e-5,
        "alpha_ce": 5.0,
        "alpha_mlm": 2.0,
        "alpha_mse_emb": 0.0,
        "document_per": "line",
        "length_split": 4,
    },
    # Sentence batches (one sentence or line per sequence): 32 of them hold about as many tokens as 8 chunks of 128.
    # Sentences, as every embedding result in docs/results.md was measured (whole lines cost zero-shot STS-B).
    "embeddings": {
        "batch_size": 32,
        "lr": 5e-4,
        "alpha_ce": 0.0,
        "alpha_mlm": 0.0,
        "alpha_mse_emb": 1.0,
        "document_per": "sentence",
        "length_split": 1,
    },
}
#: ``--task embeddings``: general distillation on a corpus, learning the teacher's sentence embeddings.
EMBEDDINGS = "embeddings"


def parse_task(spec: str) -> str:
    """``glue:sst2``, ``sst2``, ``SST-2`` -> ``sst2``; ``squad`` / ``squad_v2``; ``embeddings``; anything else is
    :class:`BadInput`."""
    from distilcli.tasks.registry import task_name

    if spec.strip().lower() == EMBEDDINGS:
        return EMBEDDINGS
    try:
        return task_name(spec)
    except BadInput as exc:
        raise BadInput(f"--task {spec!r}: {exc}; or squad, squad_v2, embeddings") from None


def mode_of(cfg: DistillConfig) -> str:
    """``general`` (a corpus), ``embeddings`` (--task embeddings, a corpus) or ``task`` (--task glue:<name>/squad)."""
    if not cfg.task:
        return "general"
    return EMBEDDINGS if cfg.task.strip().lower() == EMBEDDINGS else "task"


def with_mode_defaults(cfg: DistillConfig) -> DistillConfig:
    """Fill the options left unset with their mode's defaults (general or --task)."""
    from dataclasses import replace

    from distilcli.tasks.registry import get_task

    mode = mode_of(cfg)
    unset = {name: value for name, value in MODE_DEFAULTS[mode].items() if getattr(cfg, name) is None}
    if cfg.query_passage and cfg.document_per is None:
        unset["document_per"] = "line"  # a pair is cut from one paragraph: a line of the corpus
    if cfg.mask_inputs is None and mode != "task":
        # Masks exist for the vocabulary losses; the others learn the teacher's view of the clean
        # text, which is what the student will read (masking cost 0.013 zero-shot STS-B Spearman).
        alphas = {
            name: getattr(cfg, name) if getattr(cfg, name) is not None else unset[name]
            for name in ("alpha_ce", "alpha_mlm")
        }
        unset["mask_inputs"] = alphas["alpha_ce"] > 0 or alphas["alpha_mlm"] > 0 or cfg.alpha_mse > 0
    if cfg.max_seq_length is None:
        # The task's own length (SQuAD's question + context windows 384 tokens, as BERT's); sentences 128.
        try:
            unset["max_seq_length"] = get_task(parse_task(cfg.task)).default_max_seq_length if mode == "task" else 128
        except BadInput:  # a bad --task is reported with the run's other checks, in their order
            unset["max_seq_length"] = 128
    return replace(cfg, **unset)


#: Options of corpus distillation (general, --task embeddings) that task distillation never reads.
CORPUS_ONLY = (
    "corpus",
    "document_per",
    "num_proc",
    "cache_dir",
    "min_tokens",
    "mask_inputs",
    "mlm_probability",
    "mlm_smoothing",
    "fit_teacher_head",
    "head_lr",
    "heldout_chunks",
    "alpha_mlm",
    "alpha_cos",
    "alpha_mse",
    "save_every",
)
#: Options of task distillation that corpus distillation never reads. Those with a more specific check of
#: their own when switched on (--augment, --transfer-corpus, --alpha-pkd, --fresh-head ...) are left to it.
TASK_ONLY = (
    "alpha_task",
    "glue_dir",
    "hub_dir",
    "train_file",
    "dev_file",
    "train_limit",
    "eval_every",
    "early_stopping",
    "select_on",
    "eval_batch_size",
    "seeds",
    *SENTENCE_TASK_ONLY,
    *SQUAD_ONLY,
)
#: The rules of --augment: they act on its new inputs only.
AUGMENT_RULES = ("augment_mask", "augment_replace", "augment_delete", "augment_ngram")


def inert_fields(cfg: DistillConfig) -> dict[str, str]:
    """The options that do nothing in ``cfg``'s mode, each with where it acts (see :mod:`distilcli.training.scope`)."""
    from distilcli.tasks.registry import get_task
    from distilcli.training.scope import task_scope

    mode = mode_of(cfg)
    if mode == EMBEDDINGS:
        return dict.fromkeys(TASK_ONLY + AUGMENT_RULES, "is an option of task distillation, not of --task embeddings")
    if mode == "general":
        return dict.fromkeys(TASK_ONLY + AUGMENT_RULES, "is an option of task distillation: add --task glue:<name>")
    inert = dict.fromkeys(CORPUS_ONLY, "is an option of distillation on a corpus (general, --task embeddings)")
    if not cfg.transfer_corpus:
        inert["text_field"] = "names the text field of a corpus, here only of --transfer-corpus"
    squad = get_task(parse_task(cfg.task or "")).per_token_outputs
    inert |= task_scope(squad)
    if squad:
        inert |= dict.fromkeys(AUGMENT_RULES, "sets a rule of --augment, which SQuAD does not use")
    elif not cfg.augment:
        inert |= dict.fromkeys(AUGMENT_RULES, "sets a rule of --augment's new inputs: add --augment N")
    return inert
