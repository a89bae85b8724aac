"""What loading a task model (classifier or QA) revealed, shared by every task head."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput, first_line
from distilcli.models.loading import load_tokenizer

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from distilcli.models.adapters import ArchitectureAdapter
    from distilcli.models.resolve import ModelRef


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


def _finetune_record(config: Any) -> dict[str, Any]:
    """What a distilcli fine-tune recorded in ``config.distilcli["finetune"]`` (empty if none)."""
    info = getattr(config, "distilcli", None)
    if isinstance(info, dict) and isinstance(info.get("finetune"), dict):
        return info["finetune"]
    return {}


def task_of(config: Any) -> str | None:
    """The GLUE task a distilcli fine-tune recorded in ``config.distilcli``, if any."""
    return _finetune_record(config).get("task")


def finetune_setting(config: Any, name: str) -> int | None:
    """An integer option (``max_seq_length``, ``doc_stride`` ...) the model was fine-tuned with, if recorded."""
    value = _finetune_record(config).get(name)
    return int(value) if isinstance(value, int) else None


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


def load_with_head(
    auto_class: Any, ref: ModelRef, *, what: str, fix: str, for_training: bool, **options: Any
) -> tuple[Any, list[str]]:
    """``auto_class.from_pretrained(ref)`` and the head weights the checkpoint lacked.

    For training a fresh head is fine; for evaluation a missing head is :class:`BadInput`
    naming ``fix`` (the command that trains one). ``what`` names the head in messages.
    """
    try:
        model, info = auto_class.from_pretrained(ref.path, output_loading_info=True, **options)
    except Exception as exc:  # noqa: BLE001 - unreadable or mismatched weights
        raise BadInput(f"cannot load {ref.spec} as a {what} model ({first_line(exc)})") from None
    missing = missing_weights(info)
    if not for_training and missing:
        more = " and more" if len(missing) > 1 else ""
        raise BadInput(
            f"model {ref.spec} has no trained {what} head (missing {missing[0]}{more}): fine-tune it first with `{fix}`"
        )
    return model, missing
