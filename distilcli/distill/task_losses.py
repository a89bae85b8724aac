"""Intermediate-layer losses of task distillation: hidden states, attention maps, normalised [CLS] states.

In the task stage the student also learns how the teacher computes, layer by layer: TinyBERT's
hidden-state MSE and attention KL (Jiao et al. 2020) and Patient KD's distance between the
normalised [CLS] states of mapped layers (Sun et al. 2019). Student layer ``i`` learns from
teacher layer ``layer_pairs[i]``. A learned ``nn.Linear`` projects the student's states where the
widths differ; it lives in :class:`TaskIntermediateLoss`, which the run trains beside the student.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from distilcli.distill.losses import AttentionKLLoss, HiddenStateLoss, _zero_like_graph, select_tokens


class PatientLoss(nn.Module):
    """Patient KD's ``L_PT``: squared distance between the L2-normalised [CLS] states of mapped layers.

    ``mean over layer pairs and examples of || s / ||s|| - t / ||t|| ||²`` (Sun et al. 2019, eq. 5,
    averaged rather than summed so the weight does not grow with the layer count). A student
    narrower than its teacher is projected first by ``projection``.

    Inputs:
        student_cls: ``[B, H_s]`` per mapped layer.
        teacher_cls: ``[B, H_t]`` per mapped layer; detached here.
    """

    def __init__(self, projection: nn.Module | None = None) -> None:
        super().__init__()
        self.projection = projection

    def forward(self, student_cls: Sequence[Tensor], teacher_cls: Sequence[Tensor]) -> Tensor:
        if len(student_cls) != len(teacher_cls) or not student_cls:
            raise ValueError(
                f"PatientLoss needs as many student as teacher states (at least one), "
                f"got {len(student_cls)} and {len(teacher_cls)}"
            )
        terms = []
        for s, t in zip(student_cls, teacher_cls):
            s = s.float()
            if self.projection is not None:
                s = self.projection(s)
            if s.shape != t.shape:
                raise ValueError(f"PatientLoss: student {tuple(s.shape)} and teacher {tuple(t.shape)} differ in shape")
            if s.shape[0] == 0:
                terms.append(_zero_like_graph(s))
                continue
            diff = F.normalize(s, dim=-1) - F.normalize(t.detach().float(), dim=-1)
            terms.append(diff.pow(2).sum(dim=-1).mean())
        return torch.stack(terms).mean()


class TaskIntermediateLoss(nn.Module):
    """The weighted intermediate terms of one micro-batch: ``hidden``, ``attention`` and ``pkd``.

    Args:
        alphas: weight of each term (``hidden``, ``attention``, ``pkd``); a term at 0 is not computed.
        hidden_kind: ``mse`` or ``cosine`` for the hidden states.
        student_dim / teacher_dim: hidden widths; a projection is learned when they differ.
    """

    def __init__(self, alphas: dict[str, float], hidden_kind: str, student_dim: int, teacher_dim: int) -> None:
        super().__init__()
        self.alphas = {name: float(value) for name, value in alphas.items() if value > 0}
        width = (student_dim, teacher_dim) if student_dim != teacher_dim else (None, None)
        self.hidden = HiddenStateLoss(hidden_kind, *width) if "hidden" in self.alphas else None
        self.attention = AttentionKLLoss() if "attention" in self.alphas else None
        projection = nn.Linear(student_dim, teacher_dim) if student_dim != teacher_dim else None
        self.pkd = PatientLoss(projection) if "pkd" in self.alphas else None

    @property
    def needs_states(self) -> bool:
        return "hidden" in self.alphas or "pkd" in self.alphas

    @property
    def needs_attentions(self) -> bool:
        return "attention" in self.alphas

    def forward(
        self,
        student: dict[str, list[Tensor]],
        teacher: dict[str, list[Tensor]],
        attention_mask: Tensor,
        token_weight: float = 1.0,
    ) -> dict[str, Tensor]:
        """``{"loss_hidden", "loss_attention", "loss_pkd"}`` (the active ones) and their weighted sum ``loss_inter``.

        ``student``/``teacher`` hold ``states`` (``[B, L, H]`` per mapped layer) and ``attentions``
        (``[B, heads, L, L]``); the teacher's are already those of the mapped layers, in order.
        ``token_weight`` multiplies the two terms averaged over tokens (hidden, attention) in ``loss_inter``,
        so that a step cut into micro-batches weighs every token alike (see
        :func:`distilcli.distill.task_kd.share_weight`).
        """
        parts: dict[str, Tensor] = {}
        real = attention_mask.bool()
        if self.hidden is not None:
            parts["loss_hidden"] = self.hidden(
                [select_tokens(s, real) for s in student["states"]], [select_tokens(t, real) for t in teacher["states"]]
            )
        if self.attention is not None:
            parts["loss_attention"] = self.attention(student["attentions"], teacher["attentions"], attention_mask)
        if self.pkd is not None:
            parts["loss_pkd"] = self.pkd([s[:, 0] for s in student["states"]], [t[:, 0] for t in teacher["states"]])
        per_token = {"loss_hidden", "loss_attention"}
        total = sum(
            (
                self.alphas[name.removeprefix("loss_")] * value * (token_weight if name in per_token else 1.0)
                for name, value in parts.items()
            ),
            torch.zeros(()),
        )
        return {**parts, "loss_inter": total}
