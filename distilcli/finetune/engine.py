"""``run_finetune``: fine-tune a model on one GLUE task or SQuAD, keep the best dev checkpoint.

The task-specific parts (head, features, scoring) come from a job (:mod:`distilcli.tasks.jobs`).

Built on Accelerate like distillation: one code path for the CPU, a GPU with mixed
precision and several processes (each takes its share of the length-grouped batches;
every process evaluates the whole dev set, so all agree on "best" without messaging).
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distilcli import __version__, progress
from distilcli.config import check_unchanged, config_to_dict, parse_list
from distilcli.tasks.glue.sources import ColumnMap, GlueSplit
from distilcli.tasks.glue.spec import GlueTask, resolve_task
from distilcli.tasks.squad.data import SquadSplit, SquadTask, load_squad_split, squad_task
from distilcli.training import checkpoint as ckpt
from distilcli.training.options import build_optimizer, build_scheduler, optimizer_record
from distilcli.training.runtime import check_positive, is_main_process
from distilcli.errors import BadInput, Interrupted
from distilcli.finetune.config import RESUMABLE_CHANGES as FINETUNE_RESUMABLE
from distilcli.finetune.card import finetuned_card
from distilcli.reports import Report

RESULT_FILE = "finetune_result.json"


# -- validation and data (no model needed) -------------------------------------------------------


@dataclass
class FinetuneData:
    task: GlueTask | SquadTask
    train: GlueSplit | SquadSplit
    dev: GlueSplit | SquadSplit
    #: Training examples actually used (after --train-limit), in file order.
    train_examples: list[Any]


@dataclass
class TaskTeacher:
    """Task-specific distillation: a teacher fine-tuned on the task guides the student.

    The loss becomes ``alpha_ce · KL(teacher/T ‖ student/T) · T²`` (MSE between the two
    outputs for a regression task such as STS-B) plus ``alpha_task`` times the task's own loss.
    With ``cache`` (``--cache-teacher``) the teacher's logits for every training example are
    computed once: the teacher runs in eval mode, so they are the same every epoch.
    """

    model: Any
    alpha_ce: float
    alpha_task: float
    temperature: float
    #: Maps the teacher's label order onto the task's (None: the same order).
    permutation: list[int] | None = None
    cache: bool = False
    #: Called with the freshly loaded student (e.g. to copy the teacher's head into it).
    init_student: Callable[[Any], None] | None = None

    def task_order(self, logits: torch.Tensor) -> torch.Tensor:
        if self.permutation is None:
            return logits
        inverse = torch.argsort(torch.as_tensor(self.permutation))
        return logits[:, inverse.to(logits.device)]

    def loss(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, regression: bool) -> dict[str, torch.Tensor]:
        import torch.nn.functional as F

        t = teacher_logits.to(student_logits.dtype)
        if regression:
            kd = F.mse_loss(student_logits.squeeze(-1), t.squeeze(-1))
            task = F.mse_loss(student_logits.squeeze(-1), labels.to(student_logits.dtype))
        else:
            T = self.temperature
            kd = F.kl_div(F.log_softmax(student_logits / T, dim=-1), F.softmax(t / T, dim=-1), reduction="batchmean") * T**2
            task = F.cross_entropy(student_logits, labels)
        return {"loss": self.alpha_ce * kd + self.alpha_task * task, "loss_kd": kd, "loss_task": task}

    def span_loss(
        self, student: torch.Tensor, teacher: torch.Tensor, positions: tuple[torch.Tensor, torch.Tensor], attention_mask: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """SQuAD, as DistilBERT (D): ``T² · (KL_start + KL_end) / 2`` plus the mean start/end cross-entropy.

        ``student`` and ``teacher`` are ``[batch, tokens, 2]`` start/end logits. Padding is
        masked out of both distributions, so it carries no probability and no loss.
        """
        import torch.nn.functional as F

        T = self.temperature
        padding = ~attention_mask.bool()
        teacher = teacher.to(student.dtype)
        kd_parts, task_parts = [], []
        lowest = torch.finfo(student.dtype).min
        for k, gold in enumerate(positions):
            # Scale first, then mask: the lowest float divided by a temperature below 1 would be -inf.
            s = (student[..., k] / T).masked_fill(padding, lowest)
            t = (teacher[..., k] / T).masked_fill(padding, lowest)
            kd_parts.append(F.kl_div(F.log_softmax(s, dim=-1), F.softmax(t, dim=-1), reduction="batchmean") * T**2)
            task_parts.append(F.cross_entropy(student[..., k].masked_fill(padding, lowest), gold))
        kd, task = (kd_parts[0] + kd_parts[1]) / 2, (task_parts[0] + task_parts[1]) / 2
        return {"loss": self.alpha_ce * kd + self.alpha_task * task, "loss_kd": kd, "loss_task": task}


def parse_seeds(value: list[int] | str | None) -> list[int] | None:
    """``1,2,3`` (or a YAML list) as a list of distinct integers; None when not given."""
    seeds = parse_list(value, "--seeds", int, example="1,2,3,4,5")
    if seeds is not None and len(set(seeds)) != len(seeds):
        raise BadInput(f"--seeds {value!r} repeats a seed: give each seed once")
    return seeds


def subsample(n: int, limit: int | None) -> list[int]:
    """Indices of a fixed random subsample of ``limit`` rows, in file order.

    The draw does not depend on ``--seed``, so every seed of ``--seeds`` trains on the
    same examples and their spread measures the seed alone.
    """
    if limit is None or limit >= n:
        return list(range(n))
    rng = np.random.default_rng(0)
    return sorted(rng.choice(n, size=limit, replace=False).tolist())


def prepare(cfg: Any, check_model: bool = True) -> FinetuneData:
    """Every check that needs no model, and the data itself: bad rows fail before any weight is read."""
    from distilcli.tasks.glue.sources import load_task_split
    from distilcli.fsutil import check_output_dir

    for name in ("epochs", "batch_size", "grad_accum", "eval_batch_size", "lr", "log_every"):
        check_positive(name, getattr(cfg, name))
    for name in ("max_steps", "eval_every", "train_limit", "max_seq_length"):
        check_positive(name, getattr(cfg, name), allow_none=True)
    if cfg.max_seq_length is not None and cfg.max_seq_length < 8:
        raise BadInput(f"--max-seq-length {cfg.max_seq_length} is too short: use at least 8")
    if cfg.early_stopping < 0:
        raise BadInput(f"--early-stopping must be >= 0 evaluations, got {cfg.early_stopping}")
    if not 0 <= cfg.warmup_ratio < 1:
        raise BadInput(f"--warmup-ratio must be in [0, 1), got {cfg.warmup_ratio}")
    if cfg.precision not in ("no", "fp16", "bf16"):
        raise BadInput(f"--precision {cfg.precision!r} is not one of no, fp16, bf16")
    if cfg.precision == "fp16" and not torch.cuda.is_available():
        raise BadInput("--precision fp16 needs a GPU: use --precision bf16 or no on the CPU")
    squad = squad_task(str(cfg.task))
    task = squad or resolve_task(cfg.task)
    parse_seeds(cfg.seeds)
    if cfg.resume:
        if not Path(cfg.out).is_dir():
            raise BadInput(f"--resume: {cfg.out} does not exist: start without --resume")
    else:
        check_output_dir(Path(cfg.out), cfg.overwrite)
    if squad is not None:
        data = _prepare_squad(cfg, squad)
        if check_model:
            from distilcli.tasks.squad.head import check_fits
            from distilcli.models.loading import load_config
            from distilcli.models.resolve import resolve_model

            check_model_outside(cfg.model, Path(cfg.out), "--model")
            check_fits(cfg.model, load_config(resolve_model(cfg.model)), cfg.max_seq_length or 384)
        return data
    columns = ColumnMap(cfg.text_a, cfg.text_b, cfg.label_column)
    use_hub = cfg.glue_dir is None and cfg.hub_dir is None
    sources = {"glue_dir": cfg.glue_dir, "hub_dir": cfg.hub_dir, "columns": columns}
    train = load_task_split(task, "train", file=cfg.train_file, use_hub=use_hub and cfg.train_file is None, **sources)
    dev = load_task_split(task, "dev", file=cfg.dev_file, use_hub=use_hub and cfg.dev_file is None, **sources)
    where = " and ".join(f"{flag} {value}" for flag, value in (("--glue-dir", cfg.glue_dir), ("--hub-dir", cfg.hub_dir)) if value)
    if train is None:
        raise BadInput(f"no {task.display_name} training data in {where}: pass --train-file FILE (or a folder that has {task.folder}/train.tsv)")
    if dev is None:
        raise BadInput(f"no {task.display_name} dev data in {where}: pass --dev-file FILE (or a folder that has {task.folder}/{task.dev_file})")
    for split in (train, dev):
        if not split.examples:
            raise BadInput(f"{split.source}: no examples in the {split.split} data of {task.display_name}")
    keep = subsample(len(train.examples), cfg.train_limit)
    if check_model:
        check_model_outside(cfg.model, Path(cfg.out), "--model")
    return FinetuneData(task, train, dev, [train.examples[i] for i in keep])


def _prepare_squad(cfg: Any, task: SquadTask) -> FinetuneData:
    """SQuAD's data checks: the window options, then the official JSON files (or the hub)."""
    from distilcli.tasks.squad.features import check_window_options
    from distilcli.tasks.squad.post import check_post_options

    for flag, value in (("--glue-dir", cfg.glue_dir), ("--hub-dir", cfg.hub_dir), ("--text-a", cfg.text_a), ("--text-b", cfg.text_b), ("--label-column", cfg.label_column)):
        if value is not None:
            raise BadInput(f"{flag} is a GLUE option: SQuAD reads the official JSON files given with --train-file and --dev-file")
    check_window_options(cfg.max_seq_length or 384, cfg.doc_stride, cfg.max_query_length)
    check_post_options(cfg.n_best, cfg.max_answer_length)
    if not math.isfinite(cfg.null_threshold):
        raise BadInput(f"--null-threshold must be a finite number, got {cfg.null_threshold}")
    use_hub = cfg.train_file is None and cfg.dev_file is None
    train = load_squad_split(task, "train", cfg.train_file, use_hub)
    dev = load_squad_split(task, "dev", cfg.dev_file, use_hub)
    if train is None:
        raise BadInput(f"no {task.display_name} training data: pass --train-file FILE (the official JSON layout)")
    if dev is None:
        raise BadInput(f"no {task.display_name} dev data: pass --dev-file FILE (the official JSON layout)")
    misaligned = next((e for e in train.examples if e.misaligned()), None)
    if misaligned is not None:
        answer = misaligned.answers[0]
        raise BadInput(
            f"{train.source}: question {misaligned.id!r}: the answer {answer.text!r} is not at answer_start "
            f"{answer.start} of its context: fix answer_start (training reads the answer there)"
        )
    overlap = {e.id for e in train.examples} & {e.id for e in dev.examples}
    if overlap:
        raise BadInput(f"{len(overlap)} question(s) of {dev.source} are also in {train.source} (e.g. {sorted(overlap)[0]}): train and dev must not share questions")
    keep = subsample(len(train.examples), cfg.train_limit)
    return FinetuneData(task, train, dev, [train.examples[i] for i in keep])


def check_model_outside(spec: str, out: Path, flag: str) -> None:
    """The model must exist and must not live inside --out (which --overwrite would delete)."""
    from distilcli.models.resolve import resolve_model

    path = resolve_model(spec).path.resolve()
    out = Path(out).resolve()
    if path == out or out in path.parents:
        raise BadInput(f"{flag} {spec} is inside --out {out}: write the run to another folder")


RUN_CONFIG = "run_config.json"


def record_run_config(out: Path, cfg: Any) -> None:
    """Keep the run's options in ``out`` so a later --resume can be checked against them."""
    from distilcli.fsutil import atomic_write_text

    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(out) / RUN_CONFIG, json.dumps(config_to_dict(cfg), indent=2))


def check_run_config(out: Path, cfg: Any, resumable: frozenset[str]) -> None:
    """On --resume: the options must be the recorded run's, apart from ``resumable`` ones."""
    path = Path(out) / RUN_CONFIG
    if not path.is_file():
        return
    check_unchanged(json.loads(path.read_text(encoding="utf-8")), cfg, resumable)


# -- evaluation -------------------------------------------------------------------------------




# -- one training run -------------------------------------------------------------------------------


def run_single(
    cfg: Any, data: FinetuneData, on_step: Callable[[int], None] | None = None, teacher: TaskTeacher | None = None
) -> dict[str, Any]:
    """Train one seed into ``cfg.out`` (best model at the top, checkpoints below); return its result.

    With ``teacher``, the student also learns the teacher's outputs (task-specific distillation).
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import get_linear_schedule_with_warmup

    from distilcli.training.batches import Batches
    from distilcli.training.saving import save_student
    from distilcli.tasks.jobs import job_for
    from distilcli.models.resolve import resolve_model

    out = Path(cfg.out)
    task = data.task
    job = job_for(task)
    accelerator = Accelerator(mixed_precision=cfg.precision, cpu=not torch.cuda.is_available())
    main = accelerator.is_main_process
    log = progress.log if main else (lambda message: None)
    set_seed(cfg.seed)

    loaded = job.load(resolve_model(cfg.model), for_training=True)
    if loaded.missing_keys and main and not cfg.resume:
        log(f"{cfg.model}: {task.display_name} head initialised fresh ({len(loaded.missing_keys)} tensors)")
    if teacher is not None and teacher.init_student is not None and not cfg.resume:
        teacher.init_student(loaded)
    model, tokenizer = loaded.model, loaded.tokenizer
    train_features = job.features(data.train_examples, tokenizer, loaded.adapter, cfg)
    evaluate_dev = job.evaluator(loaded, data.dev, cfg)
    collate = job.collate(train_features, tokenizer)
    batches = Batches(cfg, train_features.input_ids, tokenizer.pad_token_id, accelerator.process_index, accelerator.num_processes)
    if batches.steps_per_epoch == 0:
        raise BadInput(
            f"{len(train_features)} training examples are too few for --batch-size {cfg.batch_size} × --grad-accum "
            f"{cfg.grad_accum} × {accelerator.num_processes} process(es)"
        )
    total_steps = cfg.max_steps or cfg.epochs * batches.steps_per_epoch
    eval_every = cfg.eval_every or batches.steps_per_epoch
    teacher_collate, teacher_cache = None, None
    if teacher is not None:
        from distilcli.models.adapters import adapter_for

        teacher.model.to(accelerator.device).eval()
        # The teacher reads the same tokens, with segment ids only if its architecture has them.
        teacher_features = job.features(data.train_examples, tokenizer, adapter_for(teacher.model.config), cfg)
        teacher_collate = job.collate(teacher_features, tokenizer)
        if teacher.cache:
            teacher_cache = job.cache(teacher, teacher_features, tokenizer.pad_token_id, cfg, accelerator.device)
    optimizer = build_optimizer(model, cfg)
    scheduler = build_scheduler(optimizer, cfg, total_steps)
    step, epoch, position = 0, 0, 0
    history: list[dict[str, Any]] = []
    losses: list[tuple[int, float]] = []
    best: dict[str, Any] | None = None
    bad_evals = 0
    elapsed_before, examples_before = 0.0, 0
    rng_at_step = None
    resumed_stopped_early, resumed_scaler = False, None
    if cfg.resume and ckpt.list_checkpoints(out):
        _, folder = ckpt.list_checkpoints(out)[-1]
        state = ckpt.load_checkpoint(folder)
        check_unchanged(state["config"], cfg, FINETUNE_RESUMABLE)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, epoch, position = state["step"], state["epoch"], state["position"]
        history, losses, best, bad_evals = state["history"], state["losses"], state["best"], state["bad_evals"]
        elapsed_before, examples_before = state["elapsed_s"], state["examples"]
        rng_at_step = state["rng"]
        resumed_stopped_early = state.get("stopped_early", False)
        resumed_scaler = state.get("scaler")
        log(f"resuming {out} from step {step} of {total_steps}")
    model.train()
    model, optimizer = accelerator.prepare(model, optimizer)
    if resumed_scaler is not None and accelerator.scaler is not None:
        accelerator.scaler.load_state_dict(resumed_scaler)
    if rng_at_step is not None:
        ckpt.restore_rng_states(rng_at_step)
    examples_seen = examples_before
    loop_start = time.perf_counter()

    def checkpoint_state() -> dict[str, Any]:
        return {
            "step": step, "epoch": epoch, "position": position,
            "model": accelerator.unwrap_model(model).state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "rng": rng_at_step, "history": history, "losses": losses, "best": best, "bad_evals": bad_evals,
            "stopped_early": stopped_early,
            "scaler": accelerator.scaler.state_dict() if accelerator.scaler is not None else None,
            "elapsed_s": elapsed_before + time.perf_counter() - loop_start, "examples": examples_seen,
            "config": config_to_dict(cfg),
        }  # fmt: skip

    def save_best() -> None:
        final = accelerator.unwrap_model(model)
        info = dict(getattr(final.config, "distilcli", None) or {})
        info["finetune"] = {
            "task": task.name, "task_display": task.display_name, "base_model": cfg.model,
            "model_type": final.config.model_type, "primary_metric": task.primary_metric,
            "train_source": data.train.source, "dev_source": data.dev.source,
            "train_examples": len(data.train_examples), "train_total": len(data.train.examples),
            "train_limit": cfg.train_limit, "dev_examples": len(data.dev.examples),
            "steps": step, "batch_size": cfg.batch_size, "lr": cfg.lr, "seed": cfg.seed,
            "max_seq_length": cfg.max_seq_length, "best": best, "distilcli_version": __version__,
        }  # fmt: skip
        if isinstance(task, SquadTask):
            info["finetune"] |= {"doc_stride": cfg.doc_stride, "max_query_length": cfg.max_query_length}
        final.config.distilcli = info
        final.config.architectures = [type(final).__name__]
        save_student(out, final, tokenizer, finetuned_card(info, job))

    def evaluate_now() -> bool:
        """Evaluate on dev, keep the best; True when early stopping says stop."""
        nonlocal best, bad_evals
        metrics = evaluate_dev(accelerator.unwrap_model(model), accelerator.device)
        recent = [loss for s, loss in losses if s > (history[-1]["step"] if history else 0)]
        entry = {"step": step, "epoch": round(step / batches.steps_per_epoch, 3), "train_loss": float(np.mean(recent)) if recent else None, "metrics": metrics}
        history.append(entry)
        improved = best is None or metrics[task.primary_metric] > best["metrics"][task.primary_metric]
        shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k in task.metrics)
        log(f"eval step {step}/{total_steps}  {shown}" + ("  (best so far)" if improved else ""))
        if improved:
            best = {"step": step, "metrics": metrics}
            bad_evals = 0
            if main:
                save_best()
        else:
            bad_evals += 1
        accelerator.wait_for_everyone()
        return bool(cfg.early_stopping) and bad_evals >= cfg.early_stopping

    rng_at_step = ckpt.rng_states()
    stopped_early = resumed_stopped_early
    if step and not stopped_early and (step % eval_every == 0 or step == total_steps) and (not history or history[-1]["step"] != step):
        # Interrupted during this step's evaluation: do it now, as the uninterrupted run did.
        stopped_early = evaluate_now()
        if main:
            ckpt.save_checkpoint(out, step, checkpoint_state(), keep=1)
    window: list[float] = []
    part_window: dict[str, list[float]] = {}
    try:
        with progress.task(f"fine-tuning {task.display_name}", total_steps) as bar:
            bar.advance(step)
            while step < total_steps and not stopped_early:
                plan = batches.steps(epoch)
                while position < len(plan) and step < total_steps:
                    micro = plan[position]
                    loss_value = 0.0
                    for k, indices in enumerate(micro):
                        batch = {key: value.to(accelerator.device) for key, value in collate(indices).items()}
                        context = accelerator.no_sync(model) if k < len(micro) - 1 else contextlib.nullcontext()
                        with context, accelerator.autocast():
                            if teacher is None:
                                loss = model(**batch).loss
                            else:
                                labels = job.pop_labels(batch)
                                student_out = job.outputs(model(**batch))
                                if teacher_cache is not None:
                                    teacher_out = teacher_cache.get(indices, batch["input_ids"].shape[1]).to(accelerator.device)
                                else:
                                    assert teacher_collate is not None
                                    teacher_batch = {k: v.to(accelerator.device) for k, v in teacher_collate(indices, with_labels=False).items()}
                                    with torch.no_grad():
                                        teacher_out = job.teacher_outputs(teacher, teacher.model(**teacher_batch))
                                parts = job.distill_loss(teacher, student_out, teacher_out, labels, batch["attention_mask"])
                                loss = parts["loss"]
                                for name in ("loss_kd", "loss_task"):
                                    part_window.setdefault(name, []).append(float(parts[name].detach()))
                            accelerator.backward(loss / len(micro))
                        loss_value += float(loss.detach()) / len(micro)
                        examples_seen += len(indices) * accelerator.num_processes
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    step += 1
                    position += 1
                    rng_at_step = ckpt.rng_states()
                    losses.append((step, loss_value))
                    window.append(loss_value)
                    bar.advance()
                    if step % cfg.log_every == 0:
                        parts_text = "".join(f"  {name.removeprefix('loss_')} {np.mean(values):.4f}" for name, values in part_window.items())
                        log(f"step {step}/{total_steps}  loss {np.mean(window):.4f}{parts_text}")
                        part_window = {}
                        bar.update(description=f"fine-tuning {task.display_name}  loss {np.mean(window):.4f}")
                        window = []
                    if step % eval_every == 0 or step == total_steps:
                        stopped_early = evaluate_now()
                        if main:
                            ckpt.save_checkpoint(out, step, checkpoint_state(), keep=1)
                        if stopped_early:
                            log(f"early stopping: no better {task.primary_metric} in {cfg.early_stopping} evaluations")
                            break
                    if on_step is not None:
                        on_step(step)
                if position >= len(plan):
                    epoch, position = epoch + 1, 0
    except KeyboardInterrupt:
        optimizer.zero_grad(set_to_none=True)
        if main:
            folder = ckpt.save_checkpoint(out, step, checkpoint_state(), keep=1)
            raise Interrupted(f"interrupted at step {step}: checkpoint saved in {folder}; continue with --resume") from None
        raise Interrupted(f"interrupted at step {step}") from None
    wall = elapsed_before + time.perf_counter() - loop_start
    assert best is not None
    result = {
        "seed": cfg.seed,
        "out": str(out),
        "best": best,
        "history": history,
        "loss_curve": {"step": [s for s, _ in losses], "loss": [v for _, v in losses]},
        "steps": step,
        "total_steps": total_steps,
        "steps_per_epoch": batches.steps_per_epoch,
        "stopped_early": stopped_early,
        "wall_s": wall,
        "train_examples_per_s": examples_seen / wall if wall > 0 else 0.0,
        "head_initialised": loaded.missing_keys,
        "device": str(accelerator.device),
        "processes": accelerator.num_processes,
        "optimizer": optimizer_record(cfg, total_steps),
    }
    if main:
        from distilcli.fsutil import atomic_write_text

        atomic_write_text(out / RESULT_FILE, json.dumps(result, indent=2))
    accelerator.wait_for_everyone()
    return result


# -- the command's entry point ----------------------------------------------------------------------


def run_finetune(cfg: Any, on_step: Callable[[int], None] | None = None) -> Report:
    """Fine-tune (one seed, or each of ``--seeds`` with the median reported); return the report."""
    start = time.perf_counter()
    from distilcli.finetune.config import default_max_seq_length

    cfg = replace(cfg, out=Path(cfg.out), max_seq_length=cfg.max_seq_length or default_max_seq_length(str(cfg.task)))
    from accelerate import PartialState

    data = prepare(cfg)
    seeds = parse_seeds(cfg.seeds)
    # Every process has checked --out (prepare) before rank 0 deletes it or writes into it.
    PartialState(cpu=not torch.cuda.is_available()).wait_for_everyone()
    if cfg.resume:
        check_run_config(cfg.out, cfg, FINETUNE_RESUMABLE)
    elif is_main_process():
        if cfg.overwrite and cfg.out.exists():
            import shutil

            shutil.rmtree(cfg.out)  # checked and confirmed by --overwrite: no old file mixes with this run's
        record_run_config(cfg.out, cfg)
    if seeds is None:
        results = [run_single(cfg, data, on_step)]
    else:
        results = []
        for seed in seeds:
            sub = replace(cfg, seed=seed, seeds=None, out=cfg.out / f"seed-{seed}", overwrite=False)
            done = sub.out / RESULT_FILE
            if cfg.resume and done.is_file():
                progress.log(f"seed {seed}: already done in {sub.out}")
                results.append(json.loads(done.read_text(encoding="utf-8")))
                continue
            progress.log(f"seed {seed} ({len(results) + 1} of {len(seeds)})")
            results.append(run_single(replace(sub, resume=cfg.resume and sub.out.is_dir()), data, on_step))
    return build_report(cfg, data, results, time.perf_counter() - start)


def median_metrics(results: list[dict[str, Any]]) -> dict[str, float]:
    """The median over seeds of each best-checkpoint metric (the DistilBERT paper's protocol)."""
    names = results[0]["best"]["metrics"].keys()
    return {name: float(statistics.median(r["best"]["metrics"][name] for r in results)) for name in names}


def build_report(cfg: Any, data: FinetuneData, results: list[dict[str, Any]], duration: float) -> Report:
    task = data.task
    primary = task.primary_metric
    # The seed whose best primary metric is the median (the lower middle one for an even count);
    # its metrics are reported together, so they describe one model (the one in artifacts.model).
    ranked = sorted(results, key=lambda r: r["best"]["metrics"][primary])
    median_run = ranked[(len(ranked) - 1) // 2]
    flat: dict[str, float] = {
        **median_run["best"]["metrics"],
        "train_examples": len(data.train_examples),
        "dev_examples": len(data.dev.examples),
        "steps": median_run["steps"],
        "best_step": median_run["best"]["step"],
        "wall_s": sum(r["wall_s"] for r in results),
        "train_examples_per_s": float(statistics.median(r["train_examples_per_s"] for r in results)),
        "seeds": len(results),
    }
    body = {
        "task": task.name,
        "task_display": task.display_name,
        "primary_metric": primary,
        "train_source": data.train.source,
        "dev_source": data.dev.source,
        "train_limit": cfg.train_limit,
        "train_total": len(data.train.examples),
        "median_seed": median_run["seed"],
        "median_of_each_metric": median_metrics(results),
        "model_dir": median_run["out"],
        "optimizer": median_run.get("optimizer"),
        "runs": results,
    }
    artifacts = {"model": median_run["out"]}
    if len(results) > 1:
        artifacts |= {f"seed-{r['seed']}": r["out"] for r in results}
    return Report.create(
        "finetune",
        config=config_to_dict(cfg),
        metrics=flat,
        primary_metric=primary,
        artifacts=artifacts,
        body=body,
        duration_s=duration,
    )
