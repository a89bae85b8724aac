"""One training run on a task, shared by fine-tuning and task distillation: train, score dev, keep the best.

The task (a :mod:`distilcli.tasks` registry entry) supplies the head, the features and the dev
scoring; a :class:`~distilcli.training.task_protocols.Guide` (task distillation) supplies the
teacher's loss. The steps are the shared :class:`~distilcli.training.loop.TrainLoop`; this module
adds evaluation every ``eval_every`` steps (once per epoch by default) on dev, or with
``--select-on holdout`` on a held-out slice of the training data (dev then scored once, on the
chosen model), the best model saved at the top of ``out``, early stopping, and a resume that
redoes an evaluation Ctrl-C cut short.

Every process evaluates the whole evaluation set, so all agree on "best" without messaging.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from distilcli import __version__, progress
from distilcli.config import check_unchanged, config_to_dict
from distilcli.errors import BadInput
from distilcli.training import checkpoint as ckpt
from distilcli.training.batches import Batches
from distilcli.training.extras import student_of
from distilcli.training.log_window import saved_window
from distilcli.training.loop import LoopHooks, MicroBatch, TrainLoop
from distilcli.training.options import TaskOptions, build_optimizer, build_scheduler, optimizer_record, parse_select_on
from distilcli.training.run_files import RESULT_FILE
from distilcli.training.saving import save_student
from distilcli.training.task_card import task_model_card
from distilcli.training.task_protocols import Collate, Evaluator, Guide, TaskData, TaskEntry, TaskModel, TaskSpec
from distilcli.training.task_record import TaskRecord
from distilcli.training.tracking import accelerator_kwargs

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator


@dataclass
class TaskRun:
    """One run's parts and what it records (``record``, kept in its checkpoints)."""

    entry: TaskEntry
    data: TaskData
    opts: TaskOptions
    model_spec: str
    accelerator: Accelerator
    loaded: TaskModel
    collate: Collate
    batches: Batches
    evaluate_dev: Evaluator
    total_steps: int
    eval_every: int
    log: Callable[[str], None]
    #: What the loop trains: the student, or a WithExtras of it and the guide's projections.
    model: torch.nn.Module
    #: Optimizer steps before the first evaluation (a guide's first stage, which trains no prediction layer).
    quiet_steps: int = 0
    #: The command this run serves: "distil finetune", or "distil distill --task" (with a teacher's guide).
    command: str = "distil finetune"
    #: A guide's teacher-labelled new inputs, the last of ``data.train_examples`` (the rest have gold labels).
    new_inputs: int = 0
    record: TaskRecord = field(default_factory=TaskRecord)


def run_task_training(
    entry: TaskEntry,
    data: TaskData,
    opts: TaskOptions,
    *,
    model: str,
    resumable: frozenset[str],
    on_step: Callable[[int], None] | None = None,
    guide: Guide | None = None,
) -> dict[str, Any]:
    """Train ``model`` on the task into ``opts.out`` (best model at the top, checkpoints below); return the result.

    With a ``guide``, the student learns from the teacher's outputs too (task-specific distillation).
    ``resumable`` are the options a --resume may change.
    """
    run = setup(entry, data, opts, model, guide)
    run.command = "distil finetune" if guide is None else "distil distill --task"
    if guide is not None:
        guide.prepare(data.train_examples, run.loaded.tokenizer, run.accelerator.device)
    loop = make_loop(run, resumable)
    train(run, loop, guide, on_step)
    return finish(run, loop, guide)


def setup(entry: TaskEntry, data: TaskData, opts: TaskOptions, model: str, guide: Guide | None) -> TaskRun:
    """Accelerate and the seed, the model with its task head, the features, the dev evaluator and the batches."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from distilcli.models.resolve import resolve_model

    accelerator = Accelerator(
        mixed_precision=opts.precision, cpu=not torch.cuda.is_available(), **accelerator_kwargs(opts)
    )
    log = progress.log if accelerator.is_main_process else (lambda message: None)
    set_seed(opts.seed)
    loaded = entry.load(resolve_model(model), for_training=True)
    if loaded.missing_keys and accelerator.is_main_process and not opts.resume:
        log(f"{model}: {entry.spec.display_name} head initialised fresh ({len(loaded.missing_keys)} tensors)")
    copied = guide.init_student(loaded, resume=bool(opts.resume)) if guide is not None else False
    features = entry.features(data.train_examples, loaded.tokenizer, loaded.adapter, opts)
    # A fresh head may start from the gold labels (STS-B: the mean score); a guide's copied head is kept.
    gold = guide.n_gold if guide is not None else None
    head_init = entry.init_head(loaded, features, gold) if not copied and not opts.resume else None
    if head_init and accelerator.is_main_process:
        log(f"{model}: {head_init}")
    # Evaluations during training score the held-out slice when there is one, else dev.
    evaluate_dev = entry.evaluator(loaded, data.selection if data.selection is not None else data.dev, opts)
    collate = entry.collate(features, loaded.tokenizer)
    batches = Batches(
        opts, features.input_ids, loaded.tokenizer.pad_token_id, accelerator.process_index, accelerator.num_processes
    )
    if batches.steps_per_epoch == 0:
        raise BadInput(
            f"{len(features)} training examples are too few for --batch-size {opts.batch_size} × --grad-accum "
            f"{opts.grad_accum} × {accelerator.num_processes} process(es)"
        )
    quiet_steps = guide.plan_steps(batches.steps_per_epoch) if guide is not None else 0
    total_steps = quiet_steps + (opts.max_steps or opts.epochs * batches.steps_per_epoch)
    eval_every = opts.eval_every or batches.steps_per_epoch
    trained = guide.wrap(loaded.model) if guide is not None else loaded.model
    run = TaskRun(
        entry,
        data,
        opts,
        model,
        accelerator,
        loaded,
        collate,
        batches,
        evaluate_dev,
        total_steps,
        eval_every,
        log,
        trained,
        quiet_steps,
    )
    run.record.head_init, run.new_inputs = head_init, len(data.train_examples) - gold if gold is not None else 0
    return run


def make_loop(run: TaskRun, resumable: frozenset[str]) -> TrainLoop:
    """The optimizer, the schedule and the loop, continued from the last checkpoint with --resume."""
    opts, model = run.opts, run.model
    optimizer = build_optimizer(model, opts)
    loop = TrainLoop(
        run.accelerator,
        model,
        optimizer,
        build_scheduler(optimizer, opts, run.total_steps, run.quiet_steps),
        total_steps=run.total_steps,
        max_grad_norm=opts.max_grad_norm,
        out=Path(opts.out),
        config=config_to_dict(opts),
        keep=1,
    )
    found = ckpt.load_latest(Path(opts.out), run.log) if opts.resume else None
    if found is not None:
        folder, state = found
        check_unchanged(state["config"], opts, resumable)
        saved_window(state, folder)  # an older checkpoint is refused before anything is restored
        loop.resume(state)
        run.record.restore(state)
        run.log(f"resuming {opts.out} from step {loop.step} of {run.total_steps}")
    model.train()
    loop.prepare()
    return loop


def train(run: TaskRun, loop: TrainLoop, guide: Guide | None, on_step: Callable[[int], None] | None) -> None:
    """The optimizer steps, with evaluation on dev, the best model and early stopping."""
    accelerator, opts, record = run.accelerator, run.opts, run.record
    spec, window = run.entry.spec, run.record.window
    window.restart_clock()
    last_terms: dict[str, float] = {}

    def micro_loss(micro: MicroBatch) -> torch.Tensor:
        if run.quiet_steps and loop.step == run.quiet_steps and micro.index == 0:
            # The prediction stage starts AdamW afresh (its schedule restarts too), as TinyBERT's second run.
            getattr(loop.optimizer, "optimizer", loop.optimizer).state.clear()
            run.log(f"step {loop.step}: the intermediate stage is done; the prediction stage starts a fresh AdamW")
        batch = {key: value.to(accelerator.device) for key, value in run.collate(micro.indices).items()}
        if guide is None:
            loss = loop.model(**batch).loss
        else:
            parts = guide.loss(loop.model, batch, micro.indices, loop.step + 1, micro.step_indices)
            loss = parts["loss"]
            last_terms.clear()  # the terms of this micro-batch (a two-stage run changes them)
            last_terms.update(
                {name: float(value.detach()) for name, value in parts.items() if name.startswith("loss_")}
            )
        # This process's terms; its examples counted for every process (each reads an equal share).
        window.add(last_terms, len(micro.indices) * accelerator.num_processes)
        return loss

    def end_step(step: int, loss: float) -> None:
        if (
            accelerator.num_processes > 1
        ):  # each process has its share of the batch (weighed): the step's loss is their mean
            loss = float(accelerator.reduce(torch.tensor([loss], device=accelerator.device), reduction="mean"))
        record.losses.append((step, loss))
        window.end_step({"loss": loss})

    def log_window(step: int) -> dict[str, float]:
        # The mean of the report's loss_curve over the steps since the last line, then each term's over its
        # micro-batches.
        terms = window.means()
        means = {"loss": terms.pop("loss")} | terms
        parts_text = "".join(f"  {name.removeprefix('loss_')} {value:.4f}" for name, value in terms.items())
        run.log(f"step {step}/{run.total_steps}  loss {means['loss']:.4f}{parts_text}")
        loop.bar.update(description=f"{_verb(run)} {spec.display_name}  loss {means['loss']:.4f}")
        return window.close(step, means)

    def after_step(step: int) -> bool:
        if step <= run.quiet_steps and step % run.batches.steps_per_epoch == 0:
            # The intermediate stage evaluates nothing, so nothing else saves it: a checkpoint per epoch.
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                loop.save(record.state())
        if not _evaluates_at(run, step):
            return False
        stop = evaluate_and_save(run, loop)
        if stop:
            run.log(f"early stopping: no better {spec.primary_metric} in {opts.early_stopping} evaluations")
        return stop

    step = loop.step
    due = _evaluates_at(run, step) and not record.stopped_early
    if due and (not record.history or record.history[-1]["step"] != step):
        # Interrupted during this step's evaluation: do it now, as the uninterrupted run did.
        evaluate_and_save(run, loop)
    loop.stopped = record.stopped_early
    hooks = LoopHooks(
        micro_loss=micro_loss,
        log=log_window,
        extra_state=record.state,
        end_step=end_step,
        after_step=after_step,
        log_every=opts.log_every,
        terms=lambda: last_terms,
    )
    loop.run(run.batches.steps, hooks, description=f"{_verb(run)} {spec.display_name}", on_step=on_step)


def _evaluates_at(run: TaskRun, step: int) -> bool:
    """Whether optimizer step ``step`` ends with an evaluation: every ``eval_every`` steps after a guide's
    first stage (``quiet_steps``, which trains no prediction layer), and at the last step."""
    if step <= run.quiet_steps:
        return False
    return (step - run.quiet_steps) % run.eval_every == 0 or step == run.total_steps


def _verb(run: TaskRun) -> str:
    return "fine-tuning" if run.command == "distil finetune" else "distilling"


def evaluate_and_save(run: TaskRun, loop: TrainLoop) -> bool:
    """Evaluate on dev, keep the best model, write a checkpoint; True when early stopping says stop."""
    record, spec, opts = run.record, run.entry.spec, run.opts
    step = loop.step
    metrics = run.evaluate_dev(student_of(loop.unwrapped), run.accelerator.device)
    since = record.history[-1]["step"] if record.history else run.quiet_steps  # the prediction stage's losses
    recent = [loss for s, loss in record.losses if s > since]
    entry = {
        "step": step,
        "epoch": round(step / run.batches.steps_per_epoch, 3),
        "train_loss": float(np.mean(recent)) if recent else None,
        "metrics": metrics,
    }
    record.history.append(entry)
    best = record.best
    improved = best is None or metrics[spec.primary_metric] > best["metrics"][spec.primary_metric]
    shown = _shown(metrics, spec)
    run.log(f"eval step {step}/{run.total_steps}  {shown}" + ("  (best so far)" if improved else ""))
    loop.track(
        step, {f"eval/{name}": float(value) for name, value in metrics.items() if isinstance(value, (int, float))}
    )
    if improved:
        loop.check_finite()  # every process: a non-finite model is never saved as the best
        record.best, record.bad_evals = {"step": step, "metrics": metrics}, 0
        if run.accelerator.is_main_process:
            save_best(run, loop)
    else:
        record.bad_evals += 1
    run.accelerator.wait_for_everyone()
    record.stopped_early = bool(opts.early_stopping) and record.bad_evals >= opts.early_stopping
    if run.accelerator.is_main_process:
        loop.save(record.state())
    return record.stopped_early


def save_best(run: TaskRun, loop: TrainLoop) -> None:
    """The best model so far at the top of ``out``, with its provenance and model card."""
    opts, spec, data = run.opts, run.entry.spec, run.data
    final = student_of(loop.unwrapped)
    info = dict(getattr(final.config, "distilcli", None) or {})
    info["finetune"] = {
        "task": spec.name,
        "task_display": spec.display_name,
        "base_model": run.model_spec,
        "model_type": final.config.model_type,
        "primary_metric": spec.primary_metric,
        "train_source": data.train.source,
        "dev_source": data.dev.source,
        "train_examples": len(data.train_examples) - run.new_inputs,
        "new_inputs": run.new_inputs,
        "train_total": len(data.train.examples),
        "train_limit": opts.train_limit,
        "dev_examples": len(data.dev.examples),
        "steps": loop.step,
        "batch_size": opts.batch_size,
        "lr": opts.lr,
        "seed": opts.seed,
        "max_seq_length": opts.max_seq_length,
        "best": run.record.best,
        "distilcli_version": __version__,
        "selected_on": parse_select_on(opts.select_on).on,
        "made_with": run.command,
        "teacher": getattr(opts, "teacher", None),  # distill --task: the card's base model
        **run.entry.card_details(opts),
    }
    final.config.distilcli = info
    final.config.architectures = [type(final).__name__]
    save_student(
        Path(opts.out), final, run.loaded.tokenizer, task_model_card(info, run.entry.tags, run.entry.auto_class)
    )


def score_best_on_dev(run: TaskRun) -> dict[str, Any]:
    """The best checkpoint (chosen on held-out training data) scored once on dev.

    ``metrics`` are dev's, as when selecting on dev, so reports read alike; the held-out
    figures that chose the checkpoint are kept beside them.
    """
    from distilcli.models.resolve import resolve_model

    run.accelerator.wait_for_everyone()  # the main process has saved the best model
    best = run.entry.load(resolve_model(str(run.opts.out)), for_training=False)
    best.model.to(run.accelerator.device)
    metrics = run.entry.evaluator(best, run.data.dev, run.opts)(best.model, run.accelerator.device)
    shown = _shown(metrics, run.entry.spec)
    best = run.record.best
    assert best is not None
    run.log(f"dev, best checkpoint (step {best['step']}, chosen on held-out training data)  {shown}")
    return {"step": best["step"], "metrics": metrics, "selection_metrics": best["metrics"]}


def finish(run: TaskRun, loop: TrainLoop, guide: Guide | None = None) -> dict[str, Any]:
    """The run's result (also written to ``out``/finetune_result.json by the main process)."""
    record, opts = run.record, run.opts
    wall = loop.elapsed_s
    assert record.best is not None
    result = {
        "seed": opts.seed,
        "out": str(opts.out),
        "best": record.best if run.data.selection is None else score_best_on_dev(run),
        "selection": parse_select_on(opts.select_on).to_dict(
            len(run.data.selection.examples) if run.data.selection else 0
        ),
        "history": record.history,
        "loss_curve": {"step": [s for s, _ in record.losses], "loss": [v for _, v in record.losses]},
        "steps": loop.step,
        "total_steps": run.total_steps,
        "steps_per_epoch": run.batches.steps_per_epoch,
        "stopped_early": record.stopped_early,
        "wall_s": wall,
        "train_examples_per_s": record.window.seen / wall if wall > 0 else 0.0,
        "head_initialised": run.loaded.missing_keys,
        "head_init": record.head_init,
        "device": str(run.accelerator.device),
        "processes": run.accelerator.num_processes,
        "optimizer": optimizer_record(opts, run.total_steps, loop.optimizer, run.quiet_steps),
    }
    if guide is not None:
        result["guide"] = guide.record()  # what the teacher's side ran (losses, schedule, inputs)
    if run.accelerator.is_main_process:
        from distilcli.fsutil import atomic_write_text

        atomic_write_text(Path(opts.out) / RESULT_FILE, json.dumps(result, indent=2))
        if opts.final_only:
            ckpt.drop_checkpoints(Path(opts.out))
    run.accelerator.wait_for_everyone()
    return result


def _shown(metrics: dict[str, float], spec: TaskSpec) -> str:
    """The task's own metrics for a log line."""
    return "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k in spec.metrics)
