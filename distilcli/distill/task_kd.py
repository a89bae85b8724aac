"""Task-specific distillation on a task's outputs (DistilBERT "(D)"): class logits, a regression score, SQuAD spans.

Each loss weighs the teacher's outputs against the gold labels, ``alpha_ce · L_kd + alpha_task · L_task``,
on the conventions of :mod:`distilcli.distill.losses` (teacher tensors detached, an empty selection a zero
of the graph). The intermediate-layer losses of the task stage are in :mod:`distilcli.distill.task_losses`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from distilcli.distill.losses import _zero_like_graph, tempered_kl
from distilcli.training.runtime import check_positive


class TaskKDLoss(nn.Module):
    """Task-specific distillation on a task's outputs: GLUE classification logits or a regression score.

    ``loss = alpha_ce · L_kd + alpha_task · L_task`` where, for classification,
    ``L_kd = T² · KL(softmax(teacher / T) ‖ softmax(student / T))`` ("batchmean": summed over the
    classes, averaged over the examples) and ``L_task`` is the cross-entropy against the gold
    labels at T = 1; for a regression task (STS-B) ``L_kd`` is the MSE between the student's and
    the teacher's scores and ``L_task`` the MSE against the gold scores, with no temperature.

    Args:
        alpha_ce: weight of the distillation term (>= 0).
        alpha_task: weight of the task's own loss (>= 0).
        temperature: softens both distributions (> 0); unused for regression.
        regression: one score per example instead of class logits.

    Inputs:
        student_logits: ``[B, C]`` (``[B, 1]`` for regression).
        teacher_logits: ``[B, C]`` in the task's label order; detached here.
        labels: ``[B]`` class indices (long), or gold scores (float) for regression.
        gold: ``[B]`` bool, the rows with a gold label (None: all). New inputs made by augmentation
            have none: they are learned from the teacher alone, and ``L_task`` averages over gold rows.
        gold_weight: multiplies ``L_task`` in ``loss`` (not the reported ``loss_task``): a micro-batch's
            share of the step's gold rows over its share of the step's rows (see :func:`gold_weight`).

    Returns:
        ``{"loss", "loss_kd", "loss_task"}``.
    """

    def __init__(
        self, alpha_ce: float = 0.5, alpha_task: float = 0.5, temperature: float = 2.0, regression: bool = False
    ) -> None:
        super().__init__()
        self.alpha_ce, self.alpha_task = float(alpha_ce), float(alpha_task)
        check_positive("temperature", temperature)
        self.temperature = float(temperature)
        self.regression = regression

    def forward(
        self,
        student_logits: Tensor,
        teacher_logits: Tensor,
        labels: Tensor,
        gold: Tensor | None = None,
        gold_weight: float = 1.0,
    ) -> dict[str, Tensor]:
        t = teacher_logits.detach().to(student_logits.dtype)
        if self.regression:
            kd = F.mse_loss(student_logits.squeeze(-1), t.squeeze(-1))
        else:
            kd = tempered_kl(student_logits, t, self.temperature)
        rows = gold.bool() if gold is not None else None
        if rows is not None and not bool(rows.any()):
            task = _zero_like_graph(student_logits)
        else:
            s, y = (student_logits[rows], labels[rows]) if rows is not None else (student_logits, labels)
            task = F.mse_loss(s.squeeze(-1), y.to(s.dtype)) if self.regression else F.cross_entropy(s, y)
        loss = self.alpha_ce * kd + self.alpha_task * gold_weight * task
        return {"loss": loss, "loss_kd": kd, "loss_task": task}

    def extra_repr(self) -> str:
        return (
            f"alpha_ce={self.alpha_ce}, alpha_task={self.alpha_task}, "
            f"temperature={self.temperature}, regression={self.regression}"
        )


class SpanKDLoss(nn.Module):
    """Task-specific distillation on SQuAD's start and end logits, as DistilBERT (D).

    ``loss = alpha_ce · T² · (KL_start + KL_end) / 2 + alpha_task · (CE_start + CE_end) / 2``: each
    KL is ``KL(softmax(teacher / T) ‖ softmax(student / T))`` over a window's tokens ("batchmean"),
    each CE the cross-entropy of the gold start or end position at T = 1. Padding is masked out of
    every distribution, so it carries no probability, no loss and no gradient.

    Args:
        alpha_ce: weight of the distillation term (>= 0).
        alpha_task: weight of the span loss against the gold positions (>= 0).
        temperature: softens both distributions (> 0; below 1 sharpens them).

    Inputs:
        student: ``[B, L, 2]`` start and end logits.
        teacher: ``[B, L, 2]``; detached here.
        positions: the gold ``(start, end)`` token indices, ``[B]`` each.
        attention_mask: ``[B, L]``, 0 on padding.

    Returns:
        ``{"loss", "loss_kd", "loss_task"}``.
    """

    def __init__(self, alpha_ce: float = 0.5, alpha_task: float = 0.5, temperature: float = 2.0) -> None:
        super().__init__()
        self.alpha_ce, self.alpha_task = float(alpha_ce), float(alpha_task)
        check_positive("temperature", temperature)
        self.temperature = float(temperature)

    def forward(
        self, student: Tensor, teacher: Tensor, positions: tuple[Tensor, Tensor], attention_mask: Tensor
    ) -> dict[str, Tensor]:
        padding = ~attention_mask.bool()
        teacher = teacher.detach().to(student.dtype)
        lowest = torch.finfo(student.dtype).min
        kd_parts, task_parts = [], []
        for k, gold in enumerate(positions):
            kd_parts.append(tempered_kl(student[..., k], teacher[..., k], self.temperature, padding))
            task_parts.append(F.cross_entropy(student[..., k].masked_fill(padding, lowest), gold))
        kd, task = (kd_parts[0] + kd_parts[1]) / 2, (task_parts[0] + task_parts[1]) / 2
        return {"loss": self.alpha_ce * kd + self.alpha_task * task, "loss_kd": kd, "loss_task": task}

    def extra_repr(self) -> str:
        return f"alpha_ce={self.alpha_ce}, alpha_task={self.alpha_task}, temperature={self.temperature}"


def share_weight(here: int, in_step: int, rows: int, step_rows: int) -> float:
    """The weight that makes a micro-batch's mean over some of its units (``here`` of the step's ``in_step``: its
    gold rows, its real tokens) add up to the step's mean over them, once the loop has weighed the micro-batch by
    its share of the step's rows (``rows / step_rows``): ``(here / in_step) / (rows / step_rows)``."""
    if not here:
        return 1.0  # the mean is zero here anyway
    return (here / in_step) / (rows / step_rows)


def gold_weight(indices: list[int], step_indices: list[int], n_gold: int) -> float:
    """How much a micro-batch's ``L_task`` (a mean over its gold rows) must weigh for the step's to be the
    mean over all the step's gold rows.

    The loop weighs each micro-batch's loss by its share of the step's rows, ``n_k / N``, which is exact
    for terms averaged over every row (``L_kd``) but not for ``L_task``: batches cut by length put the
    short augmented inputs and the longer originals in different micro-batches, so a part with one gold
    row would count it as much as another part's ten. Weighed by ``(g_k / G) / (n_k / N)``, the parts add
    up to the whole step's gold mean, however the step was cut. Gold rows are the indices below ``n_gold``.
    """
    gold_here = sum(i < n_gold for i in indices)
    return share_weight(gold_here, sum(i < n_gold for i in step_indices), len(indices), len(step_indices))
