"""The student and teacher as the distillation loop runs them.

The vocabulary projection (hidden -> 30k logits) is most of the compute of DistilBERT's
recipe, so both models run their encoder on the whole batch but apply the MLM head only
at the positions a loss needs: every real token for the soft-target loss, the masked
ones for the MLM loss alone, never padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from distilcli.distill.losses import select_tokens
from distilcli.distill.objective import DistillationObjective
from distilcli.models.adapters import ArchitectureAdapter
from distilcli.models.pooling import pool

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel


@dataclass
class TeacherOutputs:
    logits: torch.Tensor | None  # [N, V] at the selected positions
    last_hidden: torch.Tensor | None  # [N, H] at real tokens
    layer_states: list[torch.Tensor] | None  # mapped layers, [N, H] each
    attentions: list[torch.Tensor] | None  # mapped layers, [B, heads, L, L]
    pooled: torch.Tensor | None = None  # sentence embeddings (the objective's pooling), [B, H]


def encode(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor, attentions: bool) -> Any:
    """The backbone alone (no MLM head), with every layer's hidden states."""
    return model.base_model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        output_hidden_states=True,
        output_attentions=attentions,
        return_dict=True,
    )


@torch.no_grad()
def teacher_forward(
    teacher: PreTrainedModel,
    adapter: ArchitectureAdapter,
    objective: DistillationObjective,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    select: torch.Tensor,
    layer_map: list[int],
) -> TeacherOutputs:
    """What the losses need from the teacher, computed without gradients."""
    out = encode(teacher, input_ids, attention_mask, objective.needs_attentions)
    real = attention_mask.bool()
    logits = None
    if objective.needs_teacher_logits:
        logits = adapter.mlm_logits(teacher, select_tokens(out.last_hidden_state, select))
    last = select_tokens(out.last_hidden_state, real) if objective.needs_hidden_states else None
    layers = None
    if "hidden" in objective.alphas:
        # hidden_states[0] is the embedding output; layer k's output is hidden_states[k + 1].
        layers = [select_tokens(out.hidden_states[t + 1], real) for t in layer_map]
    attentions = [out.attentions[t] for t in layer_map] if objective.needs_attentions else None
    pooled = pool(out.last_hidden_state, attention_mask, objective.pooling) if objective.needs_pooled else None
    return TeacherOutputs(logits, last, layers, attentions, pooled)


class DistillationStudent(nn.Module):
    """The student plus the objective (which may own learned projections), as one module.

    Computing the losses inside ``forward`` keeps every trained parameter under the
    DistributedDataParallel wrapper, so multi-process runs synchronise them all.
    """

    def __init__(self, model: PreTrainedModel, adapter: ArchitectureAdapter, objective: DistillationObjective) -> None:
        super().__init__()
        self.model = model
        self.objective = objective
        self.adapter = adapter

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        select: torch.Tensor,
        teacher: TeacherOutputs,
    ) -> dict[str, torch.Tensor]:
        objective = self.objective
        out = encode(self.model, input_ids, attention_mask, objective.needs_attentions)
        real = attention_mask.bool()
        kwargs: dict[str, Any] = {}
        if objective.needs_vocab_logits:
            logits = self.adapter.mlm_logits(self.model, select_tokens(out.last_hidden_state, select))
            kwargs.update(student_logits=logits, teacher_logits=teacher.logits)
            kwargs.update(mlm_logits=logits, mlm_labels=select_tokens(labels, select))
        if objective.needs_hidden_states:
            kwargs.update(
                student_last_hidden=select_tokens(out.last_hidden_state, real), teacher_last_hidden=teacher.last_hidden
            )
        if objective.needs_pooled:
            student_pooled = pool(out.last_hidden_state, attention_mask, objective.student_pooling)
            kwargs.update(student_pooled=student_pooled, teacher_pooled=teacher.pooled)
        if "hidden" in objective.alphas:
            states = [select_tokens(h, real) for h in out.hidden_states[1:]]
            kwargs.update(student_layer_states=states, teacher_layer_states=teacher.layer_states)
        if objective.needs_attentions:
            kwargs.update(
                student_attentions=list(out.attentions),
                teacher_attentions=teacher.attentions,
                attention_mask=attention_mask,
            )
        return objective(**kwargs)
