"""Fitting a teacher's MLM head when its checkpoint has none (sentence encoders, for instance).

Only the head's own weights are trained (transform, layer norm, output bias); the encoder
and the word-embedding matrix, which the head's decoder shares, stay frozen, so the
teacher's representations are exactly those it was trained with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from distilcli import progress
from distilcli.models.loading import LoadedModel

Batch = dict[str, torch.Tensor]


def head_parameters(teacher: LoadedModel) -> dict[str, torch.nn.Parameter]:
    """The MLM head's trainable parameters by name, leaving out the tied embedding matrix."""
    tied = {id(p) for p in teacher.model.base_model.parameters()}
    params: dict[str, torch.nn.Parameter] = {}
    for path, module in zip(teacher.adapter.mlm_head_paths, teacher.adapter.mlm_head(teacher.model)):
        for name, param in module.named_parameters():
            if id(param) not in tied:
                params[f"{path}.{name}"] = param
    return params


def _identity_transform(teacher: LoadedModel) -> None:
    """Start the head's hidden-to-hidden transform as the identity (it is square in BERT-family heads).

    The decoder is the frozen word-embedding matrix, so the fit starts by reading each
    hidden state against the embeddings directly, which on the packaged sentence encoders
    converges faster than from a random transform (measured: 3.5% against 2.2% held-out
    accuracy after the same 300 steps).
    """
    for module in teacher.adapter.mlm_head(teacher.model):
        for sub in module.modules():
            if isinstance(sub, torch.nn.Linear) and sub.weight.shape[0] == sub.weight.shape[1]:
                with torch.no_grad():
                    sub.weight.copy_(torch.eye(sub.weight.shape[0]))
                    if sub.bias is not None:
                        sub.bias.zero_()
                return


def _head_logits(teacher: LoadedModel, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels at the masked positions only (the encoder runs without gradients)."""
    with torch.no_grad():
        hidden = teacher.model.base_model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
    where = batch["labels"] != -100
    return teacher.adapter.mlm_logits(teacher.model, hidden[where]), batch["labels"][where]


@torch.no_grad()
def masked_token_accuracy(teacher: LoadedModel, batches: list[Batch]) -> float:
    """Share of masked positions where the head's top prediction is the original token."""
    was_training = teacher.model.training
    teacher.model.eval()
    correct = total = 0
    for batch in batches:
        logits, labels = _head_logits(teacher, batch)
        correct += int((logits.argmax(-1) == labels).sum())
        total += int(labels.numel())
    teacher.model.train(was_training)
    return correct / total if total else 0.0


@dataclass
class HeadFit:
    steps: int
    accuracy_before: float
    accuracy_after: float
    loss_first: float
    loss_last: float


def fit_mlm_head(
    teacher: LoadedModel,
    batches: Callable[[], Iterator[Batch]],
    heldout: list[Batch],
    steps: int,
    lr: float = 5e-3,
) -> HeadFit:
    """Train only the teacher's MLM head for ``steps`` batches (masked-LM cross-entropy).

    ``batches`` yields masked training batches (it is called again when exhausted);
    ``heldout`` is masked text never trained on, for the accuracy figures.
    """
    from transformers import get_linear_schedule_with_warmup

    before = masked_token_accuracy(teacher, heldout)  # the head as loaded: freshly initialised
    _identity_transform(teacher)
    params = head_parameters(teacher)
    for param in teacher.model.parameters():
        param.requires_grad_(False)
    for param in params.values():
        param.requires_grad_(True)
    optimizer = torch.optim.AdamW(params.values(), lr=lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 20), steps)
    teacher.model.eval()  # no dropout: the head learns the representations the teacher will give
    losses: list[float] = []
    stream = batches()
    with progress.task("fitting the teacher's MLM head", steps) as bar:
        for step in range(steps):
            batch = next(stream, None)
            if batch is None:
                stream = batches()
                batch = next(stream)
            logits, labels = _head_logits(teacher, batch)
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            bar.advance()
            if (step + 1) % 50 == 0:
                progress.log(f"head step {step + 1}/{steps}  loss {sum(losses[-50:]) / 50:.3f}")
    for param in params.values():
        param.requires_grad_(False)
    after = masked_token_accuracy(teacher, heldout)
    first = sum(losses[:10]) / max(1, len(losses[:10]))
    last = sum(losses[-10:]) / max(1, len(losses[-10:]))
    return HeadFit(steps=steps, accuracy_before=before, accuracy_after=after, loss_first=first, loss_last=last)
