"""The teacher's side of a task distillation run: its outputs, the KD and intermediate losses, the two stages.

:class:`TaskDistiller` is the :class:`~distilcli.training.task_protocols.Guide` that the shared task run
(:func:`~distilcli.training.task_run.run_task_training`) calls for each micro-batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from distilcli import progress
from distilcli.distill.config import DistillConfig
from distilcli.distill.task_kd import SpanKDLoss, TaskKDLoss, gold_weight, share_weight
from distilcli.tasks.heads import LoadedClassifier
from distilcli.tasks.outputs import CachedOutputs
from distilcli.tasks.registry import TaskEntry
from distilcli.training.task_protocols import Collate, TaskModel

# -- the teacher, as the task run's guide ----------------------------------------------------------


class TaskDistiller:
    """The teacher's side of a task run: its outputs on each micro-batch (or cached), the KD losses.

    The prediction layer learns the teacher's task outputs (:class:`TaskKDLoss`, gold labels on the
    original examples only); with intermediate weights on, each student layer also learns its
    mapped teacher layer (:class:`TaskIntermediateLoss`). With ``--intermediate-epochs`` the first
    steps train the intermediate terms alone and the rest the prediction layer alone (TinyBERT).
    With ``--cache-teacher`` the teacher's task outputs for every training input are computed once
    (it runs in eval mode, so they are the same every epoch); hidden states and attention maps are
    too large to keep, so steps that need them still run the teacher.
    """

    def __init__(
        self,
        cfg: DistillConfig,
        entry: TaskEntry,
        teacher: LoadedClassifier,
        layer_pairs: list[int],
        n_gold: int,
        inputs: dict[str, int],
        new_inputs_s: float | None = None,
    ) -> None:
        from distilcli.distill.task_losses import TaskIntermediateLoss

        self.cfg, self.entry, self.teacher = cfg, entry, teacher
        self.layer_pairs, self.n_gold, self.inputs = layer_pairs, n_gold, inputs
        # How the student's head started, for the report (a resumed run reads it from its options).
        self.head = "fresh" if cfg.fresh_head else "the teacher's"
        # Wall seconds of the run's preparation: making (or, on --resume, reading back) the new inputs,
        # and the teacher labelling every input once (--cache-teacher); None where that did not happen.
        self.seconds: dict[str, float | None] = {"new_inputs": new_inputs_s, "teacher_labels": None}
        kd_args = {"alpha_ce": cfg.alpha_ce, "alpha_task": cfg.alpha_task, "temperature": cfg.temperature}
        # SQuAD learns a start and an end distribution per window; GLUE one row of logits per example.
        self.kd = (
            SpanKDLoss(**kd_args)
            if entry.per_token_outputs
            else TaskKDLoss(**kd_args, regression=entry.spec.is_regression)
        )
        alphas = {"hidden": cfg.alpha_hidden, "attention": cfg.alpha_attention, "pkd": cfg.alpha_pkd}
        self.inter: TaskIntermediateLoss | None = None
        if any(value > 0 for value in alphas.values()):
            # The projections (where widths differ) start from the run's seed, whatever the process drew
            # before: a seed of --seeds, or a pipeline stage, trains as it would alone.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed)
                self.inter = TaskIntermediateLoss(
                    alphas, cfg.hidden_loss, student_width(cfg, teacher), teacher.model.config.hidden_size
                )
        self.collate: Collate | None = None
        self.cache: CachedOutputs | None = None
        self.lengths: list[int] = []
        self.device = torch.device("cpu")
        self.stage1_steps = 0  # set by plan_steps

    # -- the run's shape -----------------------------------------------------------------------------

    def plan_steps(self, steps_per_epoch: int) -> int:
        """Steps added before the prediction stage (``--intermediate-epochs``); evaluations start after them."""
        self.stage1_steps = self.cfg.intermediate_epochs * steps_per_epoch
        return self.stage1_steps

    def in_stage1(self, step: int) -> bool:
        """Whether optimizer step ``step`` (1-based) trains the intermediate layers alone."""
        return step <= self.stage1_steps

    def wrap(self, student: torch.nn.Module) -> torch.nn.Module:
        """What the loop trains: the student, with the intermediate losses' projections beside it when there are any."""
        from distilcli.training.extras import WithExtras

        if self.inter is not None and self.inter.needs_attentions:
            student.set_attn_implementation("eager")  # SDPA returns no attention maps
        if self.inter is not None and any(True for _ in self.inter.parameters()):
            return WithExtras(student, self.inter)
        return student

    def init_student(self, student: TaskModel, resume: bool = False) -> bool:
        """Start the student's fresh head as the teacher's (unless --fresh-head); whether it was.

        On ``resume`` the checkpoint holds the head: nothing is copied, but the report says how it started.
        """
        if self.cfg.fresh_head:  # self.head already says so
            return False
        copied = copy_head(self.teacher.model, student, self.teacher.label_permutation, write=not resume)
        self.head = f"the teacher's ({len(copied)} tensors)" if copied else "fresh"
        if resume:
            return False
        if copied:
            progress.log(f"student head started from the teacher's ({len(copied)} tensors)")
        return bool(copied)

    def prepare(self, examples: Sequence[Any], tokenizer: Any, device: torch.device) -> None:
        from distilcli.models.adapters import adapter_for

        self.device = device
        self.teacher.model.to(device).eval()
        if self.inter is not None:
            self.inter.to(device)
            if self.inter.needs_attentions:
                self.teacher.model.set_attn_implementation("eager")
        # The teacher reads the same tokens, with segment ids only if its architecture has them.
        features = self.entry.features(examples, tokenizer, adapter_for(self.teacher.model.config), self.cfg)
        self.lengths = features.lengths  # each input's tokens: the intermediate terms average over a step's
        self.collate = self.entry.collate(features, tokenizer)
        if self.cfg.cache_teacher and self.cfg.alpha_ce > 0:
            started = time.perf_counter()
            self.cache = self.entry.cache_outputs(
                self.teacher.model, features, tokenizer.pad_token_id, self.cfg, device, self.teacher.label_permutation
            )
            self.seconds["teacher_labels"] = round(time.perf_counter() - started, 2)

    # -- the loss of one micro-batch -------------------------------------------------------------------

    def loss(
        self,
        model: torch.nn.Module,
        batch: dict[str, torch.Tensor],
        indices: list[int],
        step: int,
        step_indices: list[int],
    ) -> dict[str, torch.Tensor]:
        labels = self.entry.pop_labels(batch)
        stage1 = self.in_stage1(step)
        inter = self.inter if (self.inter is not None and (stage1 or self.stage1_steps == 0)) else None
        prediction = not stage1
        wants_states = inter is not None and inter.needs_states
        wants_attn = inter is not None and inter.needs_attentions
        output = model(**batch, output_hidden_states=wants_states or None, output_attentions=wants_attn or None)
        parts: dict[str, torch.Tensor] = {}
        teacher_run = None
        if inter is not None or (prediction and self.cache is None and self.cfg.alpha_ce > 0):
            assert self.collate is not None
            teacher_batch = {k: v.to(self.device) for k, v in self.collate(indices, with_labels=False).items()}
            with torch.no_grad():
                teacher_run = self.teacher.model(
                    **teacher_batch, output_hidden_states=wants_states or None, output_attentions=wants_attn or None
                )
        if prediction:
            student_out = self.entry.outputs(output)
            if self.cache is not None:
                teacher_out = self.cache.get(indices, batch["input_ids"].shape[1]).to(self.device)
            elif teacher_run is not None:
                teacher_out = self.entry.teacher_outputs(teacher_run, self.teacher.label_permutation)
            else:  # alpha_ce 0: the gold labels alone
                teacher_out = student_out.detach()
            gold = torch.tensor([i < self.n_gold for i in indices], device=student_out.device)
            if self.entry.per_token_outputs:  # padding is masked out of the per-token distributions
                parts = dict(self.kd(student_out, teacher_out, labels, batch["attention_mask"]))
            else:
                weight = gold_weight(indices, step_indices, self.n_gold)
                parts = dict(self.kd(student_out, teacher_out, labels, gold, weight))
        if inter is not None:
            assert teacher_run is not None
            mine = {
                "states": [output.hidden_states[i + 1] for i in range(len(self.layer_pairs))] if wants_states else [],
                "attentions": list(output.attentions) if wants_attn else [],
            }
            theirs = {
                "states": [teacher_run.hidden_states[t + 1] for t in self.layer_pairs] if wants_states else [],
                "attentions": [teacher_run.attentions[t] for t in self.layer_pairs] if wants_attn else [],
            }
            mask = batch["attention_mask"]
            tokens = share_weight(
                int(mask.sum()), sum(self.lengths[i] for i in step_indices), len(indices), len(step_indices)
            )
            terms = inter(mine, theirs, mask, tokens)
            parts.update(terms)
            parts["loss"] = parts["loss"] + terms["loss_inter"] if "loss" in parts else terms["loss_inter"]
        return parts

    def record(self) -> dict[str, Any]:
        """What the guide ran, for the report."""
        return {
            "intermediate": None
            if self.inter is None
            else {
                "alphas": self.inter.alphas,
                "hidden_loss": self.cfg.hidden_loss if "hidden" in self.inter.alphas else None,
                "layer_pairs": [[i, t] for i, t in enumerate(self.layer_pairs)],
                "projection": any(True for _ in self.inter.parameters()),
            },
            "schedule": {
                "intermediate_only_steps": self.stage1_steps,
                "mode": "two-stage" if self.stage1_steps else "joint",
            },
            "teacher_cached": self.cache is not None,
            "student_head": self.head,
            "inputs": self.inputs,
            "seconds": self.seconds,
        }


def student_width(cfg: DistillConfig, teacher: LoadedClassifier) -> int:
    """The student's hidden width: the teacher's, or that of the existing --student."""
    if not cfg.student:
        return int(teacher.model.config.hidden_size)
    from distilcli.models.loading import load_config
    from distilcli.models.resolve import resolve_model

    return int(load_config(resolve_model(cfg.student)).hidden_size)


def layer_pairs_for(cfg: DistillConfig, teacher: LoadedClassifier, layer_map: list[int] | None) -> list[int]:
    """The teacher layer each student layer learns from: the copied layers, or spread evenly over an existing
    --student's."""
    if layer_map is not None:
        return list(layer_map)
    from distilcli.models.loading import load_config
    from distilcli.models.resolve import resolve_model

    assert cfg.student is not None
    config = load_config(resolve_model(cfg.student))
    student_layers = config.num_hidden_layers
    teacher_layers = teacher.adapter.num_layers(teacher.model.config)
    # A student made from this teacher's family records which layers it copied: each learns from its own.
    recorded = (getattr(config, "distilcli", None) or {}).get("layer_map")
    if (
        isinstance(recorded, list)
        and len(recorded) == student_layers
        and all(0 <= t < teacher_layers for t in recorded)
    ):
        return [int(t) for t in recorded]
    # Patient KD's "skip" map: student layer i learns from teacher layer (i + 1) * T / S - 1 (the last from the last).
    return [round((i + 1) * teacher_layers / student_layers) - 1 for i in range(student_layers)]


def copy_head(
    teacher_model: Any, student: TaskModel, permutation: list[int] | None = None, *, write: bool = True
) -> list[str]:
    """Start the student's fresh head (pooler, classifier) from the teacher's where names and shapes match.

    The student's labels are in the task's order; a teacher that orders them otherwise (``permutation[j]``
    is the task's label of its output ``j``, e.g. an MNLI model with contradiction first) has the rows of
    its output layer put in the task's order, as its outputs are. ``write=False`` only names what would be copied.
    """
    teacher_state = teacher_model.state_dict()
    student_state = student.model.state_dict()
    modules = dict(student.model.named_modules())
    copied = [
        k for k in student.missing_keys if k in teacher_state and teacher_state[k].shape == student_state[k].shape
    ]
    with torch.no_grad():
        for key in copied if write else []:
            value = teacher_state[key]
            layer = modules.get(key.rpartition(".")[0])
            if (
                permutation is not None
                and isinstance(layer, torch.nn.Linear)
                and layer.out_features == len(permutation)
            ):
                value = torch.empty_like(value)
                value[permutation] = teacher_state[key]
            student_state[key].copy_(value)
    return copied
