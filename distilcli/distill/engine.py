"""``run_distill``: general distillation with the DistilBERT triple loss, on Accelerate.

One code path for a CPU process, a GPU with mixed precision, and several processes under
``torchrun`` or ``accelerate launch``: each process takes its share of the length-grouped
batches, gradients are synchronised once per optimizer step, only the main process writes.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from distilcli import __version__, progress
from distilcli.config import check_unchanged, config_to_dict
from distilcli.training import checkpoint as ckpt
from distilcli.distill.config import RESUMABLE_CHANGES, DistillConfig
from distilcli.distill.losses import DistillationObjective
from distilcli.distill.modules import DistillationStudent, teacher_forward
from distilcli.distill.card import distilled_card
from distilcli.training.saving import save_student
from distilcli.errors import BadInput, Interrupted
from distilcli.reports import Report
from distilcli.training.batches import Batches
from distilcli.training.options import build_optimizer, check_train_options, build_scheduler, optimizer_record
from distilcli.training.runtime import check_positive

HEAD_DIR = "teacher-head"
HEAD_FILE = "head.pt"




# -- validation ---------------------------------------------------------------------------------




def make_objective(cfg: DistillConfig, student_dim: int | None = None, teacher_dim: int | None = None) -> DistillationObjective:
    try:
        return DistillationObjective(
            alpha_ce=cfg.alpha_ce,
            alpha_mlm=cfg.alpha_mlm,
            alpha_cos=cfg.alpha_cos,
            alpha_mse=cfg.alpha_mse,
            temperature=cfg.temperature,
            alpha_hidden=cfg.alpha_hidden,
            hidden_kind=cfg.hidden_loss,
            alpha_attention=cfg.alpha_attention,
            student_dim=student_dim,
            teacher_dim=teacher_dim,
        )
    except ValueError as exc:
        raise BadInput(str(exc).replace("alpha_", "--alpha-").replace("hidden_kind", "--hidden-loss")) from None


def validate(cfg: DistillConfig) -> None:
    """Every check that needs no model: run before any weight is read."""
    from distilcli.data.corpus import CorpusSpec, check_corpus
    from distilcli.fsutil import check_output_dir
    from distilcli.models.student import parse_layer_map

    for name in ("batch_size", "grad_accum", "epochs", "save_every", "log_every", "max_seq_length", "lr"):
        check_positive(name, getattr(cfg, name))
    check_positive("max_steps", cfg.max_steps, allow_none=True)
    if cfg.max_seq_length < 8:
        raise BadInput(f"--max-seq-length {cfg.max_seq_length} is too short: use at least 8")
    check_train_options(cfg)
    if cfg.fit_teacher_head < 0:
        raise BadInput(f"--fit-teacher-head must be >= 0 steps, got {cfg.fit_teacher_head}")
    if not 0 < cfg.mlm_probability < 1:
        raise BadInput(f"--mlm-probability must be between 0 and 1, got {cfg.mlm_probability}")
    if cfg.document_per not in ("line", "file"):
        raise BadInput(f"--document-per must be line or file, got {cfg.document_per!r}")
    make_objective(cfg)
    parse_layer_map(cfg.layer_map)
    if not cfg.corpus:
        raise BadInput("missing required option --corpus (general distillation), or pass --task glue:<name> for task-specific distillation")
    if cfg.resume:
        if not ckpt.list_checkpoints(cfg.out):
            raise BadInput(f"--resume: no checkpoint in {Path(cfg.out) / ckpt.CHECKPOINTS}: start without --resume")
    else:
        check_output_dir(cfg.out, cfg.overwrite)
    check_corpus(CorpusSpec(cfg.corpus, cfg.text_field, cfg.document_per))


# -- data ---------------------------------------------------------------------------------------




def _mask_seed(*parts: int) -> int:
    value = 0
    for part in parts:
        value = (value * 1_000_003 + part) % (2**62)
    return value


# -- the run ------------------------------------------------------------------------------------


def run_distill(cfg: DistillConfig, on_step: Callable[[int], None] | None = None) -> Report:
    """Distill ``cfg.teacher`` into a student saved in ``cfg.out``; return the report.

    ``on_step(step)`` is called after every optimizer step (tests use it to interrupt a run).
    """
    from distilcli.distill.config import with_mode_defaults

    cfg = with_mode_defaults(replace(cfg, out=Path(cfg.out)))
    if cfg.task:
        from distilcli.distill.task import run_task_distill

        return run_task_distill(cfg, on_step)
    start = time.perf_counter()
    validate(cfg)

    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, broadcast, set_seed
    from transformers import get_linear_schedule_with_warmup

    from distilcli.data.chunks import token_counts, tokenize_corpus
    from distilcli.data.corpus import CorpusSpec
    from distilcli.data.masking import DynamicMasker, mlm_token_weights
    from distilcli.distill.head import fit_mlm_head, head_parameters
    from distilcli.models.adapters import adapter_for
    from distilcli.models.aliases import cache_root
    from distilcli.models.loading import load_mlm_model, load_tokenizer
    from distilcli.models.params import count_parameters
    from distilcli.models.resolve import resolve_model
    from distilcli.models.student import build_student, choose_layer_map, parse_layer_map

    objective_probe = make_objective(cfg)
    eager = {"attn_implementation": "eager"} if objective_probe.needs_attentions else {}
    ddp = DistributedDataParallelKwargs(find_unused_parameters=not objective_probe.needs_vocab_logits)
    accelerator = Accelerator(
        mixed_precision=cfg.precision, cpu=not torch.cuda.is_available(), kwargs_handlers=[ddp]
    )
    main = accelerator.is_main_process
    log = progress.log if main else (lambda message: None)
    set_seed(cfg.seed)

    # The teacher, and the MLM-head question, before any data work.
    teacher = load_mlm_model(resolve_model(cfg.teacher), **eager)
    head_missing = not teacher.has_trained_mlm_head
    if head_missing and (cfg.alpha_ce > 0 or cfg.alpha_mlm > 0 or cfg.alpha_mse > 0) and cfg.fit_teacher_head == 0 and not cfg.resume:
        raise BadInput(
            f"teacher {cfg.teacher} has no trained MLM head, which the soft-target and MLM losses need: "
            "pass --fit-teacher-head N to fit one first (e.g. 300), or distill without them: --alpha-ce 0 --alpha-mlm 0"
        )
    if head_missing:
        log(f"note: teacher {cfg.teacher} has no trained MLM head" + (f"; fitting one for {cfg.fit_teacher_head} steps" if cfg.fit_teacher_head else ""))
    tokenizer = load_tokenizer(teacher.ref)
    if tokenizer is None or tokenizer.mask_token_id is None or tokenizer.pad_token_id is None:
        raise BadInput(f"teacher {cfg.teacher} has no tokenizer with mask and pad tokens: add its tokenizer files to the folder")
    teacher.model.to(accelerator.device)
    if cfg.overwrite and not cfg.resume and cfg.out.exists() and main:
        # Checked and confirmed: the old run goes now, so its files never mix with this run's.
        import shutil

        shutil.rmtree(cfg.out)
    accelerator.wait_for_everyone()

    # Corpus: tokenised once (cached on disk), chunked, split into held-out and training chunks.
    spec = CorpusSpec(cfg.corpus, cfg.text_field, cfg.document_per)
    with accelerator.main_process_first():
        dataset = tokenize_corpus(
            spec, tokenizer, cfg.max_seq_length, min_tokens=cfg.min_tokens, cache_dir=cfg.cache_dir or cache_root() / "corpora"
        )
    all_ids: list[list[int]] = dataset["input_ids"]
    order = torch.randperm(len(all_ids), generator=torch.Generator().manual_seed(cfg.seed)).tolist()
    n_heldout = min(cfg.heldout_chunks, len(all_ids) // 10) if cfg.fit_teacher_head else 0
    heldout_ids = [all_ids[i] for i in sorted(order[:n_heldout])]
    train_ids = [all_ids[i] for i in sorted(order[n_heldout:])]
    batches = Batches(cfg, train_ids, tokenizer.pad_token_id, accelerator.process_index, accelerator.num_processes)
    if batches.steps_per_epoch == 0:
        raise BadInput(
            f"the corpus gives {len(train_ids)} chunks: too few for --batch-size {cfg.batch_size} × --grad-accum "
            f"{cfg.grad_accum} × {accelerator.num_processes} process(es); use a larger corpus or smaller batches"
        )
    total_steps = cfg.max_steps or cfg.epochs * batches.steps_per_epoch
    counts = token_counts(dataset, len(tokenizer))
    weights = mlm_token_weights(counts, tokenizer.all_special_ids, cfg.mlm_smoothing)
    masker = DynamicMasker(weights, tokenizer.mask_token_id, len(tokenizer), cfg.mlm_probability)

    def masked(batch: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
        ids, labels = masker(batch["input_ids"], batch["attention_mask"], torch.Generator().manual_seed(seed))
        return {"input_ids": ids.to(accelerator.device), "attention_mask": batch["attention_mask"].to(accelerator.device), "labels": labels.to(accelerator.device)}

    # Fit the teacher's head (or reload the one fitted by the run being resumed).
    head_dir = cfg.out / HEAD_DIR
    head_fit: dict[str, Any] | None = None
    if cfg.resume and (head_dir / HEAD_FILE).is_file():
        saved_head = torch.load(head_dir / HEAD_FILE, map_location="cpu", weights_only=False)
        params = head_parameters(teacher)
        with torch.no_grad():
            for name, tensor in saved_head["state"].items():
                params[name].copy_(tensor)
        head_fit = saved_head["fit"]
    elif cfg.fit_teacher_head:
        heldout = [masked(batches.collate([{"input_ids": x} for x in heldout_ids[i : i + 32]]), _mask_seed(cfg.seed, 7, i)) for i in range(0, len(heldout_ids), 32)]

        def head_batches() -> Iterator[dict[str, torch.Tensor]]:
            for n, step_batches in enumerate(batches.steps(0)):
                for k, indices in enumerate(step_batches):
                    yield masked(batches.tensors(indices), _mask_seed(cfg.seed, 5, n, k, accelerator.process_index))

        fit = fit_mlm_head(teacher, head_batches, heldout, cfg.fit_teacher_head, cfg.head_lr)
        params = head_parameters(teacher)
        with torch.no_grad():  # every process continues with rank 0's head
            for param in params.values():
                param.copy_(broadcast(param.detach().clone()))
        head_fit = {**fit.__dict__, "heldout_chunks": len(heldout_ids)}
        if main:
            head_dir.mkdir(parents=True, exist_ok=True)
            state = {name: p.detach().cpu().clone() for name, p in params.items()}
            tmp = head_dir / f".{HEAD_FILE}.tmp"
            torch.save({"state": state, "fit": head_fit, "teacher": cfg.teacher}, tmp)
            os.replace(tmp, head_dir / HEAD_FILE)
        log(
            f"teacher head fitted: held-out masked-token accuracy {fit.accuracy_before:.1%} → {fit.accuracy_after:.1%} "
            f"(loss {fit.loss_first:.2f} → {fit.loss_last:.2f})"
        )
    teacher.model.eval()
    for param in teacher.model.parameters():
        param.requires_grad_(False)

    # The student: made from the (fitted) teacher, or an existing model.
    teacher_layers = teacher.adapter.num_layers(teacher.config)
    if cfg.student:
        student_loaded = load_mlm_model(resolve_model(cfg.student), **eager)
        student_model, s_adapter = student_loaded.model, student_loaded.adapter
        n = s_adapter.num_layers(student_model.config)
        layer_map = parse_layer_map(cfg.layer_map) or choose_layer_map(teacher_layers, n)
        if len(layer_map) != n:
            raise BadInput(f"--layer-map has {len(layer_map)} layers but the student has {n}")
        if student_model.config.vocab_size != teacher.config.vocab_size:
            raise BadInput("student and teacher vocabularies differ: they must share the tokenizer")
    else:
        layer_map = choose_layer_map(teacher_layers, cfg.layers, parse_layer_map(cfg.layer_map))
        student_model = build_student(teacher, layer_map, cfg.arch)
        s_adapter = adapter_for(student_model.config)
        if eager:
            student_model.set_attn_implementation("eager")
    objective = make_objective(cfg, s_adapter.hidden_size(student_model.config), teacher.adapter.hidden_size(teacher.config))
    student = DistillationStudent(student_model, s_adapter, objective)
    student.train()
    optimizer = build_optimizer(student, cfg, decay_norms=True)
    scheduler = build_scheduler(optimizer, cfg, total_steps)

    step, epoch, position = 0, 0, 0
    history: dict[str, list[float]] = {"step": [], "loss": [], "tokens_per_s": []}
    elapsed_before, tokens_before = 0.0, 0
    rng_at_step = None
    if cfg.resume:
        _, folder = ckpt.list_checkpoints(cfg.out)[-1]
        state = ckpt.load_checkpoint(folder)
        check_unchanged(state["config"], cfg, RESUMABLE_CHANGES)
        student.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, epoch, position = state["step"], state["epoch"], state["position"]
        history, elapsed_before, tokens_before = state["history"], state["elapsed_s"], state["tokens"]
        rng_at_step = state["rng"]
        log(f"resuming from {folder} (step {step} of {total_steps})")
    model, optimizer = accelerator.prepare(student, optimizer)
    if rng_at_step is not None:
        ckpt.restore_rng_states(rng_at_step)

    def checkpoint_state() -> dict[str, Any]:
        return {
            "step": step,
            "epoch": epoch,
            "position": position,
            "model": accelerator.unwrap_model(model).state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng_at_step,
            "history": history,
            "elapsed_s": elapsed_before + time.perf_counter() - loop_start,
            "tokens": tokens_seen,
            "config": config_to_dict(cfg),
        }

    window: dict[str, float] = {}
    window_tokens, window_start = 0, time.perf_counter()
    tokens_seen = tokens_before
    loop_start = time.perf_counter()
    rng_at_step = ckpt.rng_states()
    try:
        with progress.task("distilling", total_steps) as bar:
            bar.advance(step)
            while step < total_steps:
                plan = batches.steps(epoch)
                while position < len(plan) and step < total_steps:
                    micro = plan[position]
                    for k, indices in enumerate(micro):
                        batch = masked(batches.tensors(indices), _mask_seed(cfg.seed, epoch, position, k, accelerator.process_index))
                        select = batch["attention_mask"].bool() if objective.needs_teacher_logits else batch["labels"] != -100
                        sync = k == len(micro) - 1
                        with contextlib.ExitStack() as stack:
                            if not sync:
                                stack.enter_context(accelerator.no_sync(model))
                            stack.enter_context(accelerator.autocast())
                            t_out = teacher_forward(teacher.model, teacher.adapter, objective, batch["input_ids"], batch["attention_mask"], select, layer_map)
                            losses = model(batch["input_ids"], batch["attention_mask"], batch["labels"], select, t_out)
                            accelerator.backward(losses["loss"] / len(micro))
                        for name, value in losses.items():
                            window[name] = window.get(name, 0.0) + float(value.detach()) / len(micro)
                        window_tokens += int(batch["attention_mask"].sum())
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    step += 1
                    position += 1
                    rng_at_step = ckpt.rng_states()
                    bar.advance()
                    if step % cfg.log_every == 0 or step == total_steps:
                        steps_in_window = (step - 1) % cfg.log_every + 1
                        stats = torch.tensor([window_tokens, *window.values()], dtype=torch.float64, device=accelerator.device)
                        stats = accelerator.reduce(stats, reduction="sum")
                        seconds = time.perf_counter() - window_start
                        tokens = int(stats[0])
                        means = {n: float(v) / accelerator.num_processes / steps_in_window for n, v in zip(window, stats[1:])}
                        tokens_seen += tokens
                        history["step"].append(step)
                        history["tokens_per_s"].append(tokens / seconds)
                        for name, value in means.items():
                            history.setdefault(name, []).append(value)
                        terms = "  ".join(f"{n} {v:.3f}" for n, v in means.items() if n != "loss")
                        log(f"step {step}/{total_steps}  loss {means['loss']:.3f}  {terms}  {tokens / seconds:,.0f} tok/s")
                        bar.update(description=f"distilling  loss {means['loss']:.3f}  {tokens / seconds:,.0f} tok/s")
                        window, window_tokens, window_start = {}, 0, time.perf_counter()
                    if on_step is not None:
                        on_step(step)
                    if step % cfg.save_every == 0 and step < total_steps and main:
                        ckpt.save_checkpoint(cfg.out, step, checkpoint_state())
                if position >= len(plan):
                    epoch, position = epoch + 1, 0
    except KeyboardInterrupt:
        optimizer.zero_grad(set_to_none=True)
        if main:
            folder = ckpt.save_checkpoint(cfg.out, step, checkpoint_state())
            raise Interrupted(f"interrupted at step {step}: checkpoint saved in {folder}; continue with --resume") from None
        raise Interrupted(f"interrupted at step {step}") from None
    wall = elapsed_before + time.perf_counter() - loop_start

    # Every process must hold the same student: compare a checksum across ranks.
    final = accelerator.unwrap_model(model)
    checksum = torch.tensor([sum(float(p.detach().double().sum()) for p in final.model.parameters())], device=accelerator.device)
    checksums = [float(x) for x in accelerator.gather(checksum)]
    accelerator.wait_for_everyone()

    student_params = count_parameters(final.model, s_adapter)
    teacher_params = count_parameters(teacher.model, teacher.adapter)
    curves = {k: v for k, v in history.items() if k not in ("step", "tokens_per_s")}
    loss_curve = history["loss"]
    info = {
        "created_by": "distil distill",
        "distilcli_version": __version__,
        "teacher": cfg.teacher,
        "teacher_path": str(teacher.ref.path),
        "teacher_model_type": teacher.config.model_type,
        "teacher_num_layers": teacher_layers,
        "layer_map": layer_map,
        "student_model_type": final.model.config.model_type,
        "teacher_mlm_head_trained": teacher.has_trained_mlm_head or bool(head_fit),
        # The student's head is trained by the soft-target / MLM losses, or was copied trained.
        "mlm_head_trained": objective.needs_vocab_logits or teacher.has_trained_mlm_head,
        "distillation": {
            "corpus": cfg.corpus,
            "train_chunks": len(train_ids),
            "max_seq_length": cfg.max_seq_length,
            "steps": step,
            "batch_size": cfg.batch_size,
            "grad_accum": cfg.grad_accum,
            "processes": accelerator.num_processes,
            "alphas": objective.alphas,
            "temperature": cfg.temperature,
            "loss_first": loss_curve[0],
            "loss_final": loss_curve[-1],
            "teacher_head": head_fit,
        },
    }
    peak_mb = _peak_memory_mb()
    if main:
        final.model.config.distilcli = info
        final.model.config.architectures = [type(final.model).__name__]
        save_student(cfg.out, final.model, tokenizer, distilled_card(info))
        ckpt.save_checkpoint(cfg.out, step, checkpoint_state())
    accelerator.wait_for_everyone()

    metrics: dict[str, float] = {
        "steps": step,
        "loss_first": loss_curve[0],
        "loss_final": loss_curve[-1],
        **{f"{name}_final": values[-1] for name, values in curves.items() if name != "loss"},
        "tokens_per_s": tokens_seen / wall if wall > 0 else 0.0,
        "tokens": tokens_seen,
        "wall_s": wall,
        "peak_memory_mb": peak_mb,
        "student_parameters_total": student_params["total"],
        "teacher_parameters_total": teacher_params["total"],
    }
    if head_fit:
        metrics["teacher_head_accuracy_before"] = head_fit["accuracy_before"]
        metrics["teacher_head_accuracy_after"] = head_fit["accuracy_after"]
    body = {
        **info,
        "loss_curves": {"step": history["step"], **curves},
        "tokens_per_s_curve": history["tokens_per_s"],
        "total_steps": total_steps,
        "heldout_chunks": len(heldout_ids),
        "device": str(accelerator.device),
        "rank_param_checksums": checksums,
        "student_parameters": student_params,
        "teacher_parameters": teacher_params,
        "optimizer": optimizer_record(cfg, total_steps),
    }
    return Report.create(
        "distill",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric="loss_final",
        artifacts={"student": str(cfg.out), "checkpoints": str(ckpt.checkpoint_dir(cfg.out))}
        | ({"teacher_head": str(head_dir / HEAD_FILE)} if head_fit else {}),
        body=body,
        duration_s=time.perf_counter() - start,
    )


def _peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
