"""General distillation with the DistilBERT triple loss, in named phases, on Accelerate.

One code path for a CPU process, a GPU with mixed precision, and several processes under
``torchrun`` or ``accelerate launch``: each process takes its share of the length-grouped
batches, gradients are synchronised once per optimizer step, only the main process writes.
The phases: start (Accelerate, seed), load the teacher, prepare the corpus, fit (or reload)
the teacher's MLM head, build the student, train (the shared :class:`~distilcli.training.loop.TrainLoop`),
save and report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch

from distilcli import progress
from distilcli.config import check_unchanged, config_to_dict
from distilcli.distill.card import distilled_card
from distilcli.distill.config import RESUMABLE_CHANGES, DistillConfig
from distilcli.distill.layer_choice import choose_from_ids, is_auto
from distilcli.distill.modules import DistillationStudent, TeacherOutputs, teacher_forward
from distilcli.distill.objective import DistillationObjective, make_objective, mask_seed
from distilcli.distill.run_parts import (
    HEAD_DIR,
    HEAD_FILE,
    Batch,
    Corpus,
    Student,
    load_head,
    provenance,
    run_folder,
    save_head,
)
from distilcli.distill.sentence_student import (
    dense_layer,
    embedding_record,
    other_tokenizer,
    prepare,
    sentence_objective,
    teacher_pca,
)
from distilcli.distill.teacher_cache import TeacherCache, check_fits
from distilcli.errors import BadInput
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

    from distilcli.distill.embedding_head import Pca
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
    pca = teacher_pca(cfg, teacher, corpus, log)  # --embedding-dim
    if cfg.cache_teacher:  # the whole cache must fit, checked before the folder is touched
        check_fits(objective, corpus.train_ids, teacher.adapter.hidden_size(teacher.config))
        corpus.teacher_cache = TeacherCache()
    start_run(run_folder(cfg))  # once every input (the corpus too) has passed: before the head is fitted into out
    head_fit = teacher_head(cfg, teacher, corpus, accelerator, log)
    student = build_student_model(cfg, teacher, eager, corpus, log, pca, objective)
    loop, window = train(cfg, accelerator, teacher, student, corpus, log, on_step)
    if cfg.final_only and accelerator.is_main_process:
        ckpt.drop_checkpoints(cfg.out)
    return report(
        cfg, accelerator, loop, window, teacher, student_tokenizer or tokenizer, student, corpus, head_fit,
        time.perf_counter() - start,
    )


# -- phases ------------------------------------------------------------------------------------------


def start_accelerator(cfg: DistillConfig, objective: DistillationObjective) -> tuple[Accelerator, dict[str, str]]:
    """Accelerate (precision, processes) and the seed; ``eager`` attention when the losses read attention maps."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed

    eager = {"attn_implementation": "eager"} if objective.needs_attentions else {}
    ddp = DistributedDataParallelKwargs(find_unused_parameters=not objective.needs_vocab_logits)
    accelerator = Accelerator(mixed_precision=cfg.precision, cpu=not torch.cuda.is_available(), kwargs_handlers=[ddp],
                              **accelerator_kwargs(cfg))  # fmt: skip
    set_seed(cfg.seed)
    return accelerator, eager


def load_teacher(
    cfg: DistillConfig, accelerator: Accelerator, eager: dict[str, str], log: Callable[[str], None],
    objective: DistillationObjective,
) -> tuple[LoadedModel, Any]:  # fmt: skip
    """The teacher and its tokenizer, and the MLM-head question, before any data work."""
    from distilcli.models.loading import load_mlm_model, load_tokenizer
    from distilcli.models.resolve import resolve_model

    teacher = load_mlm_model(resolve_model(cfg.teacher), **eager)
    head_missing = not teacher.has_trained_mlm_head
    if (
        head_missing
        and (cfg.alpha_ce > 0 or cfg.alpha_mlm > 0 or cfg.alpha_mse > 0)
        and cfg.fit_teacher_head == 0
        and not cfg.resume
    ):
        raise BadInput(
            f"teacher {cfg.teacher} has no trained MLM head, which the soft-target and MLM losses need: "
            "pass --fit-teacher-head N to fit one first (e.g. 300), or distill without them: --alpha-ce 0 --alpha-mlm 0"
        )
    if head_missing and (cfg.fit_teacher_head or objective.needs_vocab_logits):  # else no loss reads the head
        log(
            f"note: teacher {cfg.teacher} has no trained MLM head"
            + (f"; fitting one for {cfg.fit_teacher_head} steps" if cfg.fit_teacher_head else "")
        )
    tokenizer = load_tokenizer(teacher.ref)
    if tokenizer is None or tokenizer.mask_token_id is None or tokenizer.pad_token_id is None:
        raise BadInput(
            f"teacher {cfg.teacher} has no tokenizer with mask and pad tokens: add its tokenizer files to the folder"
        )
    teacher.model.to(accelerator.device)
    return teacher, tokenizer


def teacher_head(
    cfg: DistillConfig, teacher: LoadedModel, corpus: Corpus, accelerator: Accelerator, log: Callable[[str], None]
) -> dict[str, Any] | None:
    """Fit the teacher's MLM head (or reload the one fitted by the run being resumed); freeze the teacher."""
    from accelerate.utils import broadcast

    from distilcli.distill.head import fit_mlm_head, head_parameters

    head_dir = cfg.out / HEAD_DIR
    head_fit: dict[str, Any] | None = None
    if cfg.resume and (head_dir / HEAD_FILE).is_file():
        params = head_parameters(teacher)
        saved_head, head_fit = load_head(head_dir / HEAD_FILE, {name: p.shape for name, p in params.items()})
        with torch.no_grad():
            for name, tensor in saved_head.items():
                params[name].copy_(tensor)
    elif cfg.fit_teacher_head:
        batches, rank = corpus.batches, accelerator.process_index
        ids = corpus.heldout_ids
        heldout = [
            corpus.masked(batches.collate([{"input_ids": x} for x in ids[i : i + 32]]), mask_seed(cfg.seed, 7, i))
            for i in range(0, len(ids), 32)
        ]

        def head_batches() -> Iterator[Batch]:
            for n, step_batches in enumerate(batches.steps(0)):
                for k, indices in enumerate(step_batches):
                    yield corpus.masked(batches.tensors(indices), mask_seed(cfg.seed, 5, n, k, rank))

        fit = fit_mlm_head(teacher, head_batches, heldout, cfg.fit_teacher_head, cfg.head_lr)
        params = head_parameters(teacher)
        with torch.no_grad():  # every process continues with rank 0's head
            for param in params.values():
                param.copy_(broadcast(param.detach().clone()))
        head_fit = {**fit.__dict__, "heldout_chunks": len(ids)}
        if accelerator.is_main_process:
            save_head(head_dir, {name: p.detach() for name, p in params.items()}, head_fit, cfg.teacher)
        log(
            f"teacher head fitted: held-out masked-token accuracy {fit.accuracy_before:.1%} → {fit.accuracy_after:.1%} "
            f"(loss {fit.loss_first:.2f} → {fit.loss_last:.2f})"
        )
    teacher.model.eval()
    for param in teacher.model.parameters():
        param.requires_grad_(False)
    return head_fit


def build_student_model(
    cfg: DistillConfig, teacher: LoadedModel, eager: dict[str, str], corpus: Corpus, log: Callable[[str], None],
    pca: Pca | None, objective: DistillationObjective,
) -> Student:  # fmt: skip
    """The student: made from the (fitted) teacher (its layers chosen by CKA with --layer-map auto), or an existing model.

    The run's ``objective`` is fitted to it (the two widths and poolings) and becomes the student's.
    """
    from distilcli.models.adapters import adapter_for
    from distilcli.models.loading import load_mlm_model
    from distilcli.models.resolve import resolve_model
    from distilcli.models.student import build_student

    teacher_layers = teacher.adapter.num_layers(teacher.config)
    layer_choice, student_path = None, None
    if cfg.student:
        student_loaded = load_mlm_model(resolve_model(cfg.student), **eager)
        student_model, s_adapter, student_path = student_loaded.model, student_loaded.adapter, student_loaded.ref.path
        n = s_adapter.num_layers(student_model.config)
        layer_map = parse_layer_map(cfg.layer_map) or choose_layer_map(teacher_layers, n)
        if len(layer_map) != n:
            raise BadInput(f"--layer-map has {len(layer_map)} layers but the student has {n}")
        if corpus.student_rows is None and student_model.config.vocab_size != teacher.config.vocab_size:
            raise BadInput("student and teacher vocabularies differ: they must share the tokenizer")
    elif is_auto(cfg.layer_map):
        n = cfg.layers or max(1, teacher_layers // 2)
        choice = choose_from_ids(teacher.model.base_model, corpus.train_ids, corpus.pad_id, n, seed=cfg.seed)
        layer_choice, layer_map = choice.to_dict(), choice.layer_map
        log(f"--layer-map auto: {','.join(map(str, layer_map))} (CKA coverage {choice.coverage:.3f}; "
            f"evenly spread {','.join(map(str, choice.uniform_map))}: {choice.uniform_coverage:.3f})")  # fmt: skip
    else:
        layer_map = choose_layer_map(teacher_layers, cfg.layers, parse_layer_map(cfg.layer_map))
    if not cfg.student:
        student_model = build_student(teacher, layer_map, cfg.arch)
        s_adapter = adapter_for(student_model.config)
        if eager:
            student_model.set_attn_implementation("eager")
    # The teacher's embedding (its sentence-transformers pooling, else mean), the student's own pooling or the same.
    sentence_files = sentence_objective(cfg, objective, teacher, student_model, s_adapter, student_path, pca)
    student = DistillationStudent(student_model, s_adapter, objective)
    student.train()
    return Student(student, s_adapter, layer_map, objective, layer_choice, sentence_files)


def train(
    cfg: DistillConfig, accelerator: Accelerator, teacher: LoadedModel, student: Student, corpus: Corpus,
    log: Callable[[str], None], on_step: Callable[[int], None] | None,
) -> tuple[TrainLoop, LogWindow]:  # fmt: skip
    """The optimizer steps (the shared loop), resumed from the last checkpoint with --resume."""
    batches = corpus.batches
    total_steps = cfg.max_steps or cfg.epochs * batches.steps_per_epoch
    optimizer = build_optimizer(student.model, cfg, decay_norms=True)
    loop = TrainLoop(accelerator, student.model, optimizer, build_scheduler(optimizer, cfg, total_steps), total_steps=total_steps,
                     max_grad_norm=cfg.max_grad_norm, out=cfg.out, config=config_to_dict(cfg))  # fmt: skip
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
    objective, rank, world = student.objective, accelerator.process_index, accelerator.num_processes
    last_terms: dict[str, float] = {}

    def run_teacher(batch: Batch, select: torch.Tensor) -> TeacherOutputs:
        return teacher_forward(teacher.model, teacher.adapter, objective, batch["input_ids"], batch["attention_mask"],
                               select, student.layer_map)  # fmt: skip

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
        window.add({name: value / micro.count for name, value in last_terms.items()}, int(batch["attention_mask"].sum()))  # fmt: skip
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

    hooks = LoopHooks(micro_loss=micro_loss, log=log_window, extra_state=lambda: {STATE_KEY: window.state()},
                      end_step=lambda step, loss: window.end_step(), after_step=periodic_checkpoint,
                      log_every=cfg.log_every, log_last=True, terms=lambda: last_terms)  # fmt: skip
    loop.run(batches.steps, hooks, description="distilling", on_step=on_step)
    return loop, window


def report(
    cfg: DistillConfig, accelerator: Accelerator, loop: TrainLoop, window: LogWindow, teacher: LoadedModel, tokenizer: Any,
    student: Student, corpus: Corpus, head_fit: dict[str, Any] | None, duration: float,
) -> Report:  # fmt: skip
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
        save_student(cfg.out, final, tokenizer, distilled_card(info), sentence_files_from=student.sentence_files,
                     dense=dense_layer(loop.unwrapped.objective))  # fmt: skip
        loop.save({STATE_KEY: window.state()})
    accelerator.wait_for_everyone()
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
        "optimizer": optimizer_record(cfg, loop.total_steps),
    }
    head_file = {"teacher_head": str(cfg.out / HEAD_DIR / HEAD_FILE)} if head_fit else {}
    return Report.create(
        "distill", config=config_to_dict(cfg), metrics=metrics, primary_metric="loss_final",
        artifacts={"student": str(cfg.out), "checkpoints": str(ckpt.checkpoint_dir(cfg.out))} | head_file,
        body=body, duration_s=duration,
    )  # fmt: skip
