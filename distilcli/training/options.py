"""The options every training run reads, declared once: the optimizer, the schedule, the loop.

``TrainOptions`` holds what the optimizer-step loop uses; ``TaskOptions`` adds what a run on a
task (GLUE, SQuAD) uses: its data, evaluation on dev and early stopping. ``FinetuneConfig`` and
``DistillConfig`` inherit them, so ``distill --task`` hands its own config to the task run and no
option can be dropped on the way. The defaults here are fine-tuning's (HF ``run_glue`` and
AdamW's own betas and eps, written out); a command whose defaults differ redeclares the field.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput
from distilcli.training.runtime import check_at_least, check_positive
from distilcli.training.tracking import check_tracking

if TYPE_CHECKING:  # pragma: no cover
    import torch

PRECISIONS = ("no", "fp16", "bf16")


@dataclass(kw_only=True)
class TrainOptions:
    """What the optimizer and the step loop of any training run use."""

    out: Path
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int | None = 32
    grad_accum: int = 1
    lr: float | None = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    max_grad_norm: float = 1.0
    seed: int = 42
    group_by_length: bool = True
    #: Length grouping: how many batches are sorted by length together (None: the reference's 50).
    group_batches: int | None = None
    #: Random batches, each cut by length into this many micro-batches (the same gradient, less padding);
    #: 1: batches grouped by length across the mega-batch instead. Task runs default to 4.
    length_split: int | None = 1
    log_every: int = 50
    precision: str = "no"
    resume: bool = False
    overwrite: bool = False
    #: At the end of a successful run, delete its checkpoints: only the final model stays.
    final_only: bool = False
    #: Experiment trackers (Accelerate's): none, or a comma list of tensorboard, wandb, mlflow, trackio.
    report_to: list[str] | str = "none"
    #: Where local trackers (tensorboard, mlflow) write; None: OUT/tracking.
    tracking_dir: Path | None = None


@dataclass(kw_only=True)
class TaskOptions(TrainOptions):
    """A training run on a task: where its data is, how it is cut into features, when dev is scored."""

    glue_dir: Path | None = None
    hub_dir: Path | None = None
    train_file: Path | None = None
    dev_file: Path | None = None
    text_a: str | None = None
    text_b: str | None = None
    label_column: str | None = None
    train_limit: int | None = None
    # Sorting whole mega-batches by length puts sentences of one length in each batch, which cost
    # accuracy on small task sets (docs/results.md): random batches, each split by length, instead.
    length_split: int | None = 4
    #: Run each seed in out/seed-N and report the median one (None: the one --seed).
    seeds: list[int] | str | None = None
    max_seq_length: int | None = None  # 128 for GLUE, 384 for SQuAD
    eval_every: int | None = None
    early_stopping: int = 0
    #: Where the best checkpoint is chosen: dev, or holdout[:FRACTION] of the training data (dev scored once, at the
    # end).
    select_on: str = "dev"
    eval_batch_size: int = 128
    # SQuAD only: windows over long contexts, and how answers are read from the logits.
    doc_stride: int = 128
    max_query_length: int = 64
    n_best: int = 20
    max_answer_length: int = 30
    null_threshold: float = 0.0


#: --select-on holdout without a fraction holds out this share of the training examples.
DEFAULT_FRACTION = 0.1


@dataclass(frozen=True)
class Selection:
    """``on`` is "dev" or "holdout"; ``fraction`` is the share of training examples held out."""

    on: str
    fraction: float = 0.0

    def to_dict(self, heldout_examples: int) -> dict[str, object]:
        return {"on": self.on, "fraction": self.fraction, "heldout_examples": heldout_examples}


def parse_select_on(value: str) -> Selection:
    """``dev``, ``holdout`` or ``holdout:0.2``; anything else is :class:`BadInput` with the forms."""
    kind, sep, raw = str(value).strip().partition(":")
    if kind == "dev" and not sep:
        return Selection("dev")
    if kind == "holdout":
        try:
            fraction = float(raw) if sep else DEFAULT_FRACTION
        except ValueError:
            fraction = -1.0
        if 0 < fraction <= 0.5:
            return Selection("holdout", fraction)
    raise BadInput(
        f"--select-on {value!r}: expected dev, holdout or holdout:FRACTION with 0 < FRACTION <= 0.5 (e.g. holdout:0.1)"
    )


def check_train_options(opts: TrainOptions) -> None:
    """Every check of the loop's and optimizer's options (no model needed); else :class:`BadInput`."""
    import torch

    for name in ("epochs", "batch_size", "grad_accum", "lr", "log_every", "adam_eps"):
        check_positive(name, getattr(opts, name))
    check_positive("max_steps", opts.max_steps, allow_none=True)
    check_positive("group_batches", opts.group_batches, allow_none=True)
    check_positive("length_split", opts.length_split, allow_none=True)
    if not 0 <= opts.warmup_ratio < 1:
        raise BadInput(f"--warmup-ratio must be in [0, 1), got {opts.warmup_ratio}")
    for name in ("adam_beta1", "adam_beta2"):
        if not 0 <= getattr(opts, name) < 1:
            raise BadInput(f"--{name.replace('_', '-')} must be in [0, 1), got {getattr(opts, name)}")
    check_at_least("weight_decay", opts.weight_decay, 0)
    # Clipping is always on (the loop clips every step): 0 or less would zero every update.
    check_positive("max_grad_norm", opts.max_grad_norm)
    if not 0 <= opts.seed < 2**32:  # the range NumPy's and torch's generators take
        raise BadInput(f"--seed must be an integer from 0 to {2**32 - 1}, got {opts.seed}")
    if opts.precision not in PRECISIONS:
        raise BadInput(f"--precision {opts.precision!r} is not one of no, fp16, bf16")
    if opts.precision == "fp16" and not torch.cuda.is_available():
        raise BadInput("--precision fp16 needs a GPU: use --precision bf16 or no on the CPU")
    check_tracking(opts)


def check_task_options(opts: TaskOptions) -> None:
    """:func:`check_train_options` plus the task run's own (evaluation, features)."""
    check_train_options(opts)
    check_positive("eval_batch_size", opts.eval_batch_size)
    for name in ("eval_every", "train_limit", "max_seq_length"):
        check_positive(name, getattr(opts, name), allow_none=True)
    if opts.max_seq_length is not None and opts.max_seq_length < 8:
        raise BadInput(f"--max-seq-length {opts.max_seq_length} is too short: use at least 8")
    if opts.early_stopping < 0:
        raise BadInput(f"--early-stopping must be >= 0 evaluations, got {opts.early_stopping}")
    parse_select_on(opts.select_on)


def warmup_steps(opts: TrainOptions, total_steps: int) -> int:
    """Steps of linear warm-up: ``warmup_ratio`` of the run, rounded down."""
    return int(opts.warmup_ratio * total_steps)


def build_optimizer(model: torch.nn.Module, opts: TrainOptions, *, decay_norms: bool = False) -> torch.optim.Optimizer:
    """AdamW over ``model``'s trainable parameters with every option of ``opts``.

    ``decay_norms=False`` leaves biases and LayerNorm weights without weight decay, as BERT and
    HF's Trainer do (fine-tuning, task distillation); ``True`` decays every parameter alike
    (general distillation, as the reference DistilBERT run).
    """
    import torch

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        plain = not decay_norms and (param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name)
        (no_decay if plain else decay).append(param)
    groups: list[dict[str, Any]] = [{"params": decay, "weight_decay": opts.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    assert opts.lr is not None  # filled in by the command's defaults before any run
    return torch.optim.AdamW(
        groups,
        lr=opts.lr,
        betas=(opts.adam_beta1, opts.adam_beta2),
        eps=opts.adam_eps,
        fused=fused_adamw_fits(decay + no_decay),
    )


def fused_adamw_fits(params: list[torch.Tensor]) -> bool:
    """Whether torch's fused AdamW kernel can update ``params``: floating tensors on the CPU or CUDA.

    The fused kernel does one pass over each tensor instead of a dozen: on one CPU thread it updates
    a 3-layer BERT's 17M parameters 4.5x faster than the default (0.023 s against 0.104 s a step),
    which is a sixth of a small fine-tuning's time. Same update rule; only the float rounding order
    differs. The optimizer is built before Accelerate moves the model, so on the CPU copy; CUDA has the
    kernel too. A run resumed from a checkpoint of an older optimizer keeps that checkpoint's groups.
    """
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)


def optimizer_kernel(optimizer: torch.optim.Optimizer) -> str:
    """``fused``, ``foreach`` or ``for-loop``: the AdamW implementation a run's optimizer really uses.

    Read from the parameter groups, not the constructor's defaults: ``--resume`` restores the groups
    of the checkpoint, kernel flags included. Accelerate's wrapper is looked through.
    """
    group = getattr(optimizer, "optimizer", optimizer).param_groups[0]
    if group.get("fused"):
        return "fused"
    foreach = group.get("foreach")
    if foreach is None:  # torch's own choice: foreach where every tensor is on CUDA, the for-loop otherwise
        foreach = all(p.device.type == "cuda" for p in group["params"])
    return "foreach" if foreach else "for-loop"


def build_scheduler(
    optimizer: torch.optim.Optimizer, opts: TrainOptions, total_steps: int, first_stage_steps: int = 0
) -> Any:
    """Linear warm-up over :func:`warmup_steps`, then linear decay to 0 at ``total_steps``.

    With ``first_stage_steps`` (TinyBERT's intermediate stage), each of the two stages has its own
    warm-up and decay, as the paper's two separate runs do.
    """
    from transformers import get_linear_schedule_with_warmup

    if not first_stage_steps:
        return get_linear_schedule_with_warmup(optimizer, warmup_steps(opts, total_steps), total_steps)
    from torch.optim.lr_scheduler import LambdaLR

    stages = [
        (start, length, warmup_steps(opts, length)) for start, length in stage_spans(first_stage_steps, total_steps)
    ]
    return LambdaLR(optimizer, functools.partial(_staged_linear, stages=stages))


def stage_spans(first_stage_steps: int, total_steps: int) -> list[tuple[int, int]]:
    """``(first step, steps)`` of each stage: the whole run, or the intermediate stage and the prediction stage."""
    if not first_stage_steps:
        return [(0, total_steps)]
    return [(0, first_stage_steps), (first_stage_steps, total_steps - first_stage_steps)]


def _staged_linear(step: int, *, stages: list[tuple[int, int, int]]) -> float:
    """The learning-rate factor at ``step``: linear warm-up then decay to 0 within the stage it falls in."""
    start, length, warmup = next((s for s in reversed(stages) if step >= s[0]), stages[0])
    local = step - start
    if local < warmup:
        return local / max(1, warmup)
    return max(0.0, (length - local) / max(1, length - warmup))


def optimizer_record(
    opts: TrainOptions, total_steps: int, optimizer: torch.optim.Optimizer, first_stage_steps: int = 0
) -> dict[str, Any]:
    """What the optimizer, the schedule and the clipping of a run use, for its report (``stages``: the steps and
    warm-up of each stage, which starts a fresh schedule and AdamW)."""
    return {
        "optimizer": "AdamW",
        "kernel": optimizer_kernel(optimizer),
        "lr": opts.lr,
        "betas": [opts.adam_beta1, opts.adam_beta2],
        "eps": opts.adam_eps,
        "weight_decay": opts.weight_decay,
        "max_grad_norm": opts.max_grad_norm,
        "warmup_ratio": opts.warmup_ratio,
        "warmup_steps": warmup_steps(opts, total_steps) if not first_stage_steps else None,
        "total_steps": total_steps,
        "stages": [
            {"steps": length, "warmup_steps": warmup_steps(opts, length)}
            for _, length in stage_spans(first_stage_steps, total_steps)
        ],
    }
