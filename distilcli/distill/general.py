"""General distillation with the DistilBERT triple loss, in named phases, on Accelerate.

One code path for a CPU process, a GPU with mixed precision, and several processes under
``torchrun`` or ``accelerate launch``: each process takes its share of the length-grouped
batches, gradients are synchronised once per optimizer step, only the main process writes.
The phases: start (Accelerate, seed), load the teacher, prepare the corpus, fit (or reload)
the teacher's MLM head, build the student (those three in :mod:`distilcli.distill.general_models`), train
(the shared :class:`~distilcli.training.loop.TrainLoop`), save and report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from distilcli import progress
from distilcli.config import check_unchanged, config_to_dict
from distilcli.distill.card import distilled_card
from distilcli.distill.config import RESUMABLE_CHANGES, DistillConfig
from distilcli.distill.general_models import build_student_model, load_teacher, teacher_head
from distilcli.distill.layer_choice import is_auto
from distilcli.distill.modules import TeacherOutputs, teacher_forward
from distilcli.distill.objective import DistillationObjective, make_objective, mask_seed
from distilcli.distill.run_parts import (
    HEAD_DIR,
    HEAD_FILE,
    Batch,
    Corpus,
    Student,
    provenance,
    run_folder,
)
from distilcli.distill.sentence_student import (
    dense_layer,
    embedding_record,
    other_tokenizer,
    prepare,
    save_head_start,
    teacher_pca,
)
from distilcli.distill.teacher_cache import TeacherCache, check_fits
from distilcli.models.student import choose_layer_map, parse_layer_map
from distilcli.reports import Report
from distilcli.training import checkpoint as ckpt
from distilcli.training.log_window import STATE_KEY, LogWindow, saved_window
from distilcli.training.loop import LoopHooks, MicroBatch, TrainLoop
from distilcli.training.options import build_optimizer, build_scheduler, optimizer_record
from distilcli.training.run_files import start_run
from distilcli.training.runtime import peak_memory_mb
from distilcli.training.saving import save_student
from distilcli.training.tracking import accelerator_kwargs

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

    from distilcli.models.loading import LoadedModel


def run_general(cfg: DistillConfig, on_step: Callable[[int], None] | None = None) -> Report:
    """Distill ``cfg.teacher`` into a student on ``cfg.corpus``, saved in ``cfg.out``; return the report."""
    start = time.perf_counter()
    # The run's one objective: its needs_* steer the phases; fitted to the two models once the student is built.
    objective = make_objective(cfg)
    accelerator, eager = start_accelerator(cfg, objective)
    log = progress.log if accelerator.is_main_process else (lambda message: None)
    teacher, tokenizer = load_teacher(cfg, accelerator, eager, log, objective)
    if not cfg.student and not is_auto(cfg.layer_map):  # a bad map fails now, not after the head fit
        choose_layer_map(teacher.adapter.num_layers(teacher.config), cfg.layers, parse_layer_map(cfg.layer_map))
    student_tokenizer = other_tokenizer(cfg, tokenizer)  # None: the student reads the teacher's ids
    corpus = prepare(cfg, accelerator, tokenizer, student_tokenizer)
    sample = teacher_pca(cfg, objective, teacher, corpus, log)  # --embedding-dim
    if cfg.cache_teacher:  # the whole cache must fit, checked before the folder is touched
        check_fits(objective, corpus.train_ids, teacher.adapter.hidden_size(teacher.config))
        corpus.teacher_cache = TeacherCache()
    start_run(run_folder(cfg))  # once every input (the corpus too) has passed: before the head is fitted into out
    head_fit = teacher_head(cfg, teacher, corpus, accelerator, log)
    student = build_student_model(cfg, teacher, eager, corpus, log, sample, objective)
    if accelerator.is_main_process:
        save_head_start(cfg, objective)
    loop, window = train(cfg, accelerator, teacher, student, corpus, log, on_step)
    result = report(
        cfg,
        accelerator,
        loop,
        window,
        teacher,
        student_tokenizer or tokenizer,
        student,
        corpus,
        head_fit,
        time.perf_counter() - start,
    )
    if cfg.final_only and accelerator.is_main_process:  # after report(), which saves the last checkpoint
        ckpt.drop_checkpoints(cfg.out)
    return result


# -- phases ------------------------------------------------------------------------------------------


def start_accelerator(cfg: DistillConfig, objective: DistillationObjective) -> tuple[Accelerator, dict[str, str]]:
    """Accelerate (precision, processes) and the seed; ``eager`` attention when the losses read attention maps."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed

    eager = {"attn_implementation": "eager"} if objective.needs_attentions else {}
    ddp = DistributedDataParallelKwargs(find_unused_parameters=not objective.needs_vocab_logits)
    accelerator = Accelerator(
        mixed_precision=cfg.precision,
        cpu=not torch.cuda.is_available(),
        kwargs_handlers=[ddp],
        **accelerator_kwargs(cfg),
    )
    set_seed(cfg.seed)
    return accelerator, eager


def make_loop(
    cfg: DistillConfig, accelerator: Accelerator, student: Student, steps_per_epoch: int, log: Callable[[str], None]
) -> tuple[TrainLoop, LogWindow]:
    """The loop and its logging window, both restored from the last checkpoint with --resume."""
    total_steps = cfg.max_steps or cfg.epochs * steps_per_epoch
    optimizer = build_optimizer(student.model, cfg, decay_norms=True)
    loop = TrainLoop(
        accelerator,
        student.model,
        optimizer,
        build_scheduler(optimizer, cfg, total_steps),
        total_steps=total_steps,
        max_grad_norm=cfg.max_grad_norm,
        out=cfg.out,
        config=config_to_dict(cfg),
    )
    window = LogWindow("tokens")
    found = ckpt.load_latest(cfg.out, log) if cfg.resume else None
    if found is not None:
        folder, state = found
        check_unchanged(state["config"], cfg, RESUMABLE_CHANGES)
        saved = saved_window(state, folder)  # an older checkpoint is refused before anything is restored
        loop.resume(state)
        # The open logging window too (on one process: it holds every process's sums), so the resumed
        # run's figures are the uninterrupted run's.
        window.restore(saved, with_window=accelerator.is_main_process)
        log(f"resuming from {folder} (step {loop.step} of {total_steps})")
    elif cfg.resume:
        log(f"note: {cfg.out} has no checkpoint yet (stopped before the first one): starting from step 0")
    if accelerator.is_main_process:  # from here on, a stopped run leaves a folder that --resume continues
        ckpt.checkpoint_dir(cfg.out).mkdir(parents=True, exist_ok=True)
    loop.prepare()
    window.restart_clock()
    return loop, window


def train(
    cfg: DistillConfig,
    accelerator: Accelerator,
    teacher: LoadedModel,
    student: Student,
    corpus: Corpus,
    log: Callable[[str], None],
    on_step: Callable[[int], None] | None,
) -> tuple[TrainLoop, LogWindow]:
    """The optimizer steps (the shared loop), resumed from the last checkpoint with --resume."""
    batches = corpus.batches
    loop, window = make_loop(cfg, accelerator, student, batches.steps_per_epoch, log)
    total_steps = loop.total_steps
    objective, rank, world = student.objective, accelerator.process_index, accelerator.num_processes
    last_terms: dict[str, float] = {}

    def run_teacher(batch: Batch, select: torch.Tensor) -> TeacherOutputs:
        return teacher_forward(
            teacher.model,
            teacher.adapter,
            objective,
            batch["input_ids"],
            batch["attention_mask"],
            select,
            student.layer_map,
        )

    def run_clean(indices: list[int]) -> TeacherOutputs:
        """The teacher on these sequences alone, unmasked: what --cache-teacher has not seen yet."""
        part = corpus.masked(batches.tensors(indices), 0, mask=False)
        return run_teacher(part, part["attention_mask"].bool())

    def micro_loss(micro: MicroBatch) -> torch.Tensor:
        # Numbered as one process with --grad-accum × N would: N processes draw its masks (docs/distributed.md)
        seed = mask_seed(cfg.seed, micro.epoch, micro.position, micro.index * world + rank, 0)
        batch = corpus.masked(batches.tensors(micro.indices), seed, mask=corpus.mask_inputs)
        select = batch["attention_mask"].bool() if objective.needs_teacher_logits else batch["labels"] != -100
        if corpus.teacher_cache is None:
            t_out = run_teacher(batch, select)
        else:
            t_out = corpus.teacher_cache.outputs(micro.indices, batch["attention_mask"], run_clean)
        losses = loop.model(*corpus.student_inputs(batch, micro.indices, select), t_out)
        last_terms.update({name: float(value.detach()) for name, value in losses.items()})
        # Each term weighs 1 / micro-batches: the window's sums are then the sums of the steps' means.
        window.add(
            {name: value / micro.count for name, value in last_terms.items()}, int(batch["attention_mask"].sum())
        )
        return losses["loss"]

    def log_window(step: int) -> dict[str, float]:
        steps_in_window = (step - 1) % cfg.log_every + 1
        counted = window.counted(accelerator)  # every process: a collective with several
        means = {n: v / accelerator.num_processes / steps_in_window for n, v in counted.sums.items()}
        tracked = window.close(step, means, counted)
        rate = tracked["train/tokens_per_s"]
        terms = "  ".join(f"{n} {v:.3f}" for n, v in means.items() if n != "loss")
        log(f"step {step}/{total_steps}  loss {means['loss']:.3f}  {terms}  {rate:,.0f} tok/s")
        loop.bar.update(description=f"distilling  loss {means['loss']:.3f}  {rate:,.0f} tok/s")
        return tracked

    def periodic_checkpoint(step: int) -> bool:
        if step % cfg.save_every == 0 and step < total_steps:
            extra = {STATE_KEY: window.shared_state(accelerator)}  # every process: a collective with several
            if accelerator.is_main_process:
                loop.save(extra)
        return False

    hooks = LoopHooks(
        micro_loss=micro_loss,
        log=log_window,
        extra_state=lambda: {STATE_KEY: window.state()},
        end_step=lambda step, loss: window.end_step(),
        after_step=periodic_checkpoint,
        log_every=cfg.log_every,
        log_last=True,
        terms=lambda: last_terms,
    )
    loop.run(batches.steps, hooks, description="distilling", on_step=on_step)
    return loop, window


def report(
    cfg: DistillConfig,
    accelerator: Accelerator,
    loop: TrainLoop,
    window: LogWindow,
    teacher: LoadedModel,
    tokenizer: Any,
    student: Student,
    corpus: Corpus,
    head_fit: dict[str, Any] | None,
    duration: float,
) -> Report:
    """Check the processes agree, save the student (main process) and its last checkpoint; the report."""
    from distilcli.models.params import count_parameters

    wall = loop.elapsed_s
    # Every process must hold the same student: compare a checksum across ranks.
    final = loop.unwrapped.model
    checksum = torch.tensor(
        [sum(float(p.detach().double().sum()) for p in final.parameters())], device=accelerator.device
    )
    checksums = [float(x) for x in accelerator.gather(checksum)]
    accelerator.wait_for_everyone()
    student_params = count_parameters(final, student.adapter)
    teacher_params = count_parameters(teacher.model, teacher.adapter)
    history = window.lines
    curves = {k: v for k, v in history.items() if k not in ("step", "tokens_per_s")}
    info = provenance(cfg, accelerator, loop, window, teacher, student, corpus, head_fit)
    info["distillation"]["embedding"] = embedding = embedding_record(loop.unwrapped.objective, corpus)
    loop.check_finite()  # every process (they hold the same weights): never a non-finite student as the result
    if accelerator.is_main_process:
        final.config.distilcli = info
        final.config.architectures = [type(final).__name__]
        save_student(
            cfg.out,
            final,
            tokenizer,
            distilled_card(info),
            sentence_files_from=student.sentence_files,
            dense=dense_layer(loop.unwrapped.objective),
        )
        loop.save({STATE_KEY: window.state()})
    accelerator.wait_for_everyone()
    metrics = _metrics(loop, window, wall, student_params, teacher_params, embedding, head_fit)
    body = {
        **info,
        "loss_curves": {"step": history["step"], **curves},
        "tokens_per_s_curve": history["tokens_per_s"],
        "total_steps": loop.total_steps,
        "heldout_chunks": len(corpus.heldout_ids),
        "device": str(accelerator.device),
        "rank_param_checksums": checksums,
        "student_parameters": student_params,
        "teacher_parameters": teacher_params,
        "optimizer": optimizer_record(cfg, loop.total_steps, loop.optimizer),
    }
    head_file = {"teacher_head": str(cfg.out / HEAD_DIR / HEAD_FILE)} if head_fit else {}
    return Report.create(
        "distill",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric="loss_final",
        artifacts={"student": str(cfg.out), "checkpoints": str(ckpt.checkpoint_dir(cfg.out))} | head_file,
        body=body,
        duration_s=duration,
    )


def _metrics(
    loop: TrainLoop,
    window: LogWindow,
    wall: float,
    student_params: dict[str, int],
    teacher_params: dict[str, int],
    embedding: dict[str, Any] | None,
    head_fit: dict[str, Any] | None,
) -> dict[str, float]:
    """The report's metrics: the loss curve's ends, speed over ``wall`` seconds of training, memory, sizes."""
    history = window.lines
    curves = {k: v for k, v in history.items() if k not in ("step", "tokens_per_s")}
    metrics: dict[str, float] = {
        "steps": loop.step,
        "loss_first": history["loss"][0],
        "loss_final": history["loss"][-1],
        **{f"{name}_final": values[-1] for name, values in curves.items() if name != "loss"},
        "tokens_per_s": window.total / wall if wall > 0 else 0.0,
        "tokens": window.total,
        "wall_s": wall,
        "peak_memory_mb": peak_memory_mb(),
        "student_parameters_total": student_params["total"],
        "teacher_parameters_total": teacher_params["total"],
    }
    if embedding and embedding["pca"]:
        metrics["pca_explained_variance"] = embedding["pca"]["explained_variance"]
    if head_fit:
        metrics["teacher_head_accuracy_before"] = head_fit["accuracy_before"]
        metrics["teacher_head_accuracy_after"] = head_fit["accuracy_after"]
    return metrics
