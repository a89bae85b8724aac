"""Sequence-classification models for GLUE tasks, on every architecture of the model layer.

``AutoModelForSequenceClassification`` supplies the head (BERT's pooler + linear layer,
RoBERTa/MPNet/ELECTRA's two-layer head, DistilBERT's pre-classifier); this module sets
the task's labels on it, tells a trained head from a fresh one, and turns examples into
token ids with ``token_type_ids`` only where the architecture has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distilcli.data.glue import GlueExample, GlueTask
from distilcli.errors import BadInput, first_line
from distilcli.models.adapters import ArchitectureAdapter, adapter_for
from distilcli.models.loading import load_config, load_tokenizer, quiet_transformers
from distilcli.models.resolve import ModelRef

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class LoadedClassifier:
    """A classifier for one task, with what loading it revealed."""

    ref: ModelRef
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    adapter: ArchitectureAdapter
    #: Weights the checkpoint lacked (freshly initialised): the head of an encoder-only checkpoint.
    missing_keys: list[str] = field(default_factory=list)
    #: Label index remapping from the model's own order to the task's (None: same order).
    label_permutation: list[int] | None = None

    @property
    def head_is_trained(self) -> bool:
        return not self.missing_keys


def task_of(config: Any) -> str | None:
    """The GLUE task a distilcli fine-tune recorded in ``config.distilcli``, if any."""
    info = getattr(config, "distilcli", None)
    if isinstance(info, dict) and isinstance(info.get("finetune"), dict):
        return info["finetune"].get("task")
    return None


def _label_permutation(config: Any, task: GlueTask) -> list[int] | None:
    """Map a model's label order onto the task's, when its ``id2label`` names the task's labels.

    Models fine-tuned elsewhere may order MNLI's labels differently (e.g. contradiction
    first). Generic names (LABEL_0, ...) give no information: the task's order is assumed.
    """
    if task.label_names is None:
        return None
    id2label = getattr(config, "id2label", None) or {}
    names = [str(id2label.get(i, id2label.get(str(i), ""))).strip().lower() for i in range(len(id2label))]
    wanted = [name.lower() for name in task.label_names]
    if sorted(names) != sorted(wanted) or names == wanted:
        return None
    return [wanted.index(name) for name in names]


def check_classifier_config(ref: ModelRef, task: GlueTask, config: Any | None = None) -> None:
    """From config.json alone: is this a model fine-tuned for ``task``? Else :class:`BadInput`.

    Cheap (no weights), so callers check every model before loading any.
    """
    from distilcli.data.glue import resolve_task

    config = config if config is not None else load_config(ref)
    own = int(getattr(config, "num_labels", 0) or 0)
    if own != task.num_labels:
        raise BadInput(
            f"model {ref.spec} has {own} output label(s) but {task.display_name} needs {task.num_labels}: "
            f"evaluate a model fine-tuned on {task.display_name} (distil finetune --task {task.name})"
        )
    recorded = task_of(config)
    if recorded is not None and resolve_task(recorded).hub_config != task.hub_config:
        raise BadInput(
            f"model {ref.spec} was fine-tuned on {resolve_task(recorded).display_name}, not {task.display_name}: "
            "pass the model fine-tuned on this task"
        )


def load_classifier(ref: ModelRef, task: GlueTask, *, for_training: bool, **kwargs: Any) -> LoadedClassifier:
    """Load ``ref`` as a classifier for ``task``.

    For training, a missing or differently sized head is initialised fresh (and reported
    through ``missing_keys``). For evaluation the head must be trained and sized for the
    task, else :class:`BadInput` saying to fine-tune first.
    """
    from transformers import AutoModelForSequenceClassification

    quiet_transformers()
    config = load_config(ref)
    adapter = adapter_for(config)
    problem = "regression" if task.is_regression else "single_label_classification"
    options: dict[str, Any] = {"num_labels": task.num_labels, "problem_type": problem}
    permutation = None
    if for_training:
        names = task.label_names or ("score",)
        options["id2label"] = dict(enumerate(names))
        options["label2id"] = {name: i for i, name in enumerate(names)}
        options["ignore_mismatched_sizes"] = True
    else:
        check_classifier_config(ref, task, config)
        permutation = _label_permutation(config, task)
    try:
        model, info = AutoModelForSequenceClassification.from_pretrained(
            ref.path, output_loading_info=True, **options, **kwargs
        )
    except Exception as exc:  # noqa: BLE001 - unreadable or mismatched weights
        raise BadInput(f"cannot load {ref.spec} as a classifier ({first_line(exc)})") from None
    missing = missing_weights(info)
    if not for_training and missing:
        raise BadInput(
            f"model {ref.spec} has no trained classification head for {task.display_name} "
            f"(missing {missing[0]}{' and more' if len(missing) > 1 else ''}): fine-tune it first with "
            f"`distil finetune --model {ref.spec} --task {task.name}`"
        )
    return LoadedClassifier(ref, model, padded_tokenizer(ref), adapter, missing, permutation)


def missing_weights(info: dict[str, Any]) -> list[str]:
    """Weights a checkpoint lacked or had in another shape (``output_loading_info``): initialised fresh."""
    mismatched = {m[0] if isinstance(m, tuple) else m for m in info.get("mismatched_keys", ())}
    return sorted(set(info.get("missing_keys", ())) | mismatched)


def padded_tokenizer(ref: ModelRef) -> Any:
    """The model's tokenizer, which must have a pad token (batches are padded), else :class:`BadInput`."""
    tokenizer = load_tokenizer(ref)
    if tokenizer is None or tokenizer.pad_token_id is None:
        raise BadInput(f"model {ref.spec} has no tokenizer with a pad token: add its tokenizer files to the folder")
    return tokenizer


@dataclass
class Features:
    """Token ids of a split, unpadded, in file order; ``labels`` are indices or float scores."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    labels: list[int | float]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]


def encode(
    examples: list[GlueExample], tokenizer: PreTrainedTokenizerBase, adapter: ArchitectureAdapter, max_seq_length: int
) -> Features:
    """Tokenise single sentences or pairs (longest-first truncation), without padding.

    ``token_type_ids`` are kept only for architectures with segment embeddings: a
    DistilBERT-, RoBERTa- or MPNet-architecture model never receives them.
    """
    text_a = [example.text_a for example in examples]
    pairs = examples and examples[0].text_b is not None
    text_b = [example.text_b or "" for example in examples] if pairs else None
    encoded = tokenizer(
        text_a,
        text_b,
        truncation=True,
        max_length=max_seq_length,
        padding=False,
        return_token_type_ids=adapter.uses_token_type_ids,
        return_attention_mask=False,
    )
    token_types = encoded["token_type_ids"] if adapter.uses_token_type_ids else None
    labels = [example.label if example.label is not None else -1 for example in examples]
    return Features(list(encoded["input_ids"]), None if token_types is None else list(token_types), labels)


def pad_inputs(
    input_ids: list[list[int]], token_type_ids: list[list[int]] | None, indices: list[int], pad_token_id: int
) -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask`` (and ``token_type_ids`` when given) of rows ``indices``, right-padded."""
    import torch

    rows = [input_ids[i] for i in indices]
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), int(pad_token_id), dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention_mask[r, : len(row)] = 1
    batch = {"input_ids": ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        types = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(indices):
            types[r, : len(token_type_ids[i])] = torch.tensor(token_type_ids[i], dtype=torch.long)
        batch["token_type_ids"] = types
    return batch


class FeatureCollate:
    """Right-pad a batch of feature rows; adds ``labels`` (long, or float for regression)."""

    def __init__(self, features: Features, pad_token_id: int, regression: bool) -> None:
        self.features = features
        self.pad_token_id = int(pad_token_id)
        self.regression = regression

    def __call__(self, indices: list[int], with_labels: bool = True) -> dict[str, torch.Tensor]:
        import torch

        batch = pad_inputs(self.features.input_ids, self.features.token_type_ids, indices, self.pad_token_id)
        if with_labels:
            values = [self.features.labels[i] for i in indices]
            batch["labels"] = torch.tensor(values, dtype=torch.float if self.regression else torch.long)
        return batch
