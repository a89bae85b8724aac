"""SQuAD questions as model inputs: the question, then the context cut into overlapping windows.

As Hugging Face's ``run_qa`` does: a fast tokenizer truncates only the context, returns one
feature per window (``--doc-stride`` tokens shared by consecutive windows) and character
offsets for every token. For training, the first gold answer is mapped to its first and
last token; a window that does not contain the whole answer (and every unanswerable
question) points at the [CLS] token. For evaluation, offsets of tokens outside the context
are dropped so post-processing can only pick spans inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from distilcli.errors import BadInput
from distilcli.tasks.squad.data import SquadExample
from distilcli.training.inference import pad_inputs

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedTokenizerBase

    from distilcli.models.adapters import ArchitectureAdapter


@dataclass
class QAFeatures:
    """One row per window, unpadded."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    #: Index of the question (example) each window belongs to.
    example_index: list[int]
    #: Character span in the context of every token; None outside the context.
    offsets: list[list[tuple[int, int] | None]]
    #: Token positions of the answer (the [CLS] position when the window has none).
    start_positions: list[int]
    end_positions: list[int]
    cls_index: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]


def check_window_options(max_seq_length: int, doc_stride: int, max_query_length: int) -> None:
    """The window options fit together (else :class:`BadInput` naming the one to change)."""
    for name, value in (
        ("--max-seq-length", max_seq_length),
        ("--doc-stride", doc_stride),
        ("--max-query-length", max_query_length),
    ):
        if not isinstance(value, int) or value < 1:
            raise BadInput(f"{name} must be a positive number of tokens, got {value!r}")
    room = max_seq_length - max_query_length - 3  # [CLS] question [SEP] context [SEP] (RoBERTa: 4 specials)
    if room < 8:
        raise BadInput(
            f"--max-seq-length {max_seq_length} leaves no room for the context after a {max_query_length}-token "
            "question: raise it or lower --max-query-length"
        )
    if doc_stride >= room - 1:
        raise BadInput(
            f"--doc-stride {doc_stride} must be smaller than the context part of a window "
            f"({room - 1} tokens with --max-seq-length {max_seq_length} and --max-query-length {max_query_length})"
        )


def _clip_questions(questions: list[str], tokenizer: PreTrainedTokenizerBase, max_query_length: int) -> list[str]:
    """Questions cut after ``max_query_length`` tokens (BERT's ``max_query_length``), at a token's end."""
    encoded = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True, return_attention_mask=False)
    clipped = []
    for question, offsets in zip(questions, encoded["offset_mapping"], strict=True):
        clipped.append(question if len(offsets) <= max_query_length else question[: offsets[max_query_length - 1][1]])
    return clipped


def encode_squad(
    examples: list[SquadExample],
    tokenizer: PreTrainedTokenizerBase,
    adapter: ArchitectureAdapter,
    *,
    max_seq_length: int = 384,
    doc_stride: int = 128,
    max_query_length: int = 64,
) -> QAFeatures:
    """Windowed features for ``examples`` (training targets and evaluation offsets both kept)."""
    if not getattr(tokenizer, "is_fast", False):
        raise BadInput(
            "SQuAD needs a fast tokenizer (tokenizer.json) for character offsets: add it to the model folder"
        )
    check_window_options(max_seq_length, doc_stride, max_query_length)
    if tokenizer.padding_side != "right":
        tokenizer.padding_side = "right"  # the question comes first; nothing is padded here anyway
    # run_qa strips leading spaces: some questions start with many, which would waste the window.
    questions = _clip_questions([e.question.lstrip() for e in examples], tokenizer, max_query_length)
    encoded = tokenizer(
        questions,
        [e.context for e in examples],
        truncation="only_second",
        max_length=max_seq_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_token_type_ids=adapter.uses_token_type_ids,
        return_attention_mask=False,
        padding=False,
    )
    features = QAFeatures([], [] if adapter.uses_token_type_ids else None, [], [], [], [], [])
    for row, ids in enumerate(encoded["input_ids"]):
        example_index = encoded["overflow_to_sample_mapping"][row]
        example = examples[example_index]
        sequence_ids = encoded.sequence_ids(row)
        offsets = encoded["offset_mapping"][row]
        cls = ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in ids else 0
        start = end = cls
        context_tokens = [i for i, s in enumerate(sequence_ids) if s == 1]
        if example.answers and context_tokens:
            answer = example.answers[0]
            # Spaces around an answer would widen the span to a neighbouring token, or lose it.
            start_char = answer.start + len(answer.text) - len(answer.text.lstrip())
            end_char = start_char + len(answer.text.strip())
            first, last = context_tokens[0], context_tokens[-1]
            if offsets[first][0] <= start_char and offsets[last][1] >= end_char:
                start = first
                while start <= last and offsets[start][0] <= start_char:
                    start += 1
                start -= 1
                end = last
                while end >= first and offsets[end][1] >= end_char:
                    end -= 1
                end += 1
        features.input_ids.append(list(ids))
        if features.token_type_ids is not None:
            features.token_type_ids.append(list(encoded["token_type_ids"][row]))
        features.example_index.append(example_index)
        features.offsets.append([tuple(o) if s == 1 else None for o, s in zip(offsets, sequence_ids, strict=True)])
        features.start_positions.append(start)
        features.end_positions.append(end)
        features.cls_index.append(cls)
    return features


class QACollate:
    """Right-pad a batch of windows; adds ``start_positions``/``end_positions`` for training."""

    def __init__(self, features: QAFeatures, pad_token_id: int) -> None:
        self.features = features
        self.pad_token_id = int(pad_token_id)

    def __call__(self, indices: list[int], with_labels: bool = True) -> dict[str, torch.Tensor]:
        import torch

        batch = pad_inputs(self.features.input_ids, self.features.token_type_ids, indices, self.pad_token_id)
        if with_labels:
            batch["start_positions"] = torch.tensor(
                [self.features.start_positions[i] for i in indices], dtype=torch.long
            )
            batch["end_positions"] = torch.tensor([self.features.end_positions[i] for i in indices], dtype=torch.long)
        return batch
