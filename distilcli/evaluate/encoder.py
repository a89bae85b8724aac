"""Sentence embeddings for the zero-shot eval commands (eval-sts, eval-retrieval): one set of rules.

Each model embeds as its sentence-transformers files say (pooling, normalisation,
``max_seq_length``), mean pooling over real tokens without them; every text is tokenised once
and run longest first in dynamically padded batches, so a batch is padded only to its own
longest member.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput
from distilcli.models.loading import check_positions, load_config, load_tokenizer, quiet_transformers, usable_positions
from distilcli.models.pooling import SentencePooling, pool, read_pooling
from distilcli.models.resolve import ModelRef, resolve_model
from distilcli.training.inference import pad_inputs, run_longest_first

if TYPE_CHECKING:  # pragma: no cover
    import torch


def check_embedding_options(models: list[str], batch_size: int, max_seq_length: int | None) -> None:
    """The options every embedding evaluation shares (eval-sts, eval-retrieval); :class:`BadInput` otherwise."""
    if not models:
        raise BadInput("missing --model: give one model or more (the first is the reference for retention)")
    if batch_size < 1:
        raise BadInput(f"--batch-size must be at least 1, got {batch_size}")
    if max_seq_length is not None and max_seq_length < 3:
        raise BadInput(f"--max-seq-length must be at least 3 ([CLS], a token, [SEP]), got {max_seq_length}")


def embedding_setup(ref: ModelRef, max_seq_length: int | None) -> tuple[SentencePooling, int]:
    """The model's pooling and the token length to use (``max_seq_length`` checked against its positions).

    Unset: the model's sentence-transformers ``max_seq_length``, else 128, never past its positions.
    Reads only config files, so a bad model fails before any weights are loaded.
    """
    config = load_config(ref)
    pooling = read_pooling(ref.path)
    if max_seq_length is not None:
        check_positions(ref.spec, config, max_seq_length)
    return pooling, min(max_seq_length or pooling.max_seq_length or 128, usable_positions(config))


def load_encoder(ref: ModelRef, device: torch.device) -> tuple[Any, Any]:
    """The model's tokenizer (with a pad token) and its encoder on ``device``; BadInput for a folder without them."""
    from transformers import AutoModel

    quiet_transformers()
    tokenizer = load_tokenizer(ref)
    if tokenizer is None or tokenizer.pad_token_id is None:
        raise BadInput(f"model {ref.spec} has no tokenizer with a pad token: add its tokenizer files to the folder")
    try:
        model = AutoModel.from_pretrained(ref.path).to(device)
    except Exception as exc:  # noqa: BLE001 - any failure to load weights is a bad model folder
        raise BadInput(f"cannot load {ref.spec} as an encoder ({str(exc).splitlines()[0]})") from None
    return tokenizer, model


def embed(
    model: Any,
    tokenizer: Any,
    sentences: list[str],
    pooling: SentencePooling,
    *,
    max_seq_length: int,
    batch_size: int,
    device: torch.device,
    description: str = "embedding",
    unit: str = "sentences",
) -> torch.Tensor:
    """Sentence embeddings [N, D] (float32, CPU) of ``sentences`` in their order, longest first in batches."""
    import torch

    encoded = tokenizer(sentences, truncation=True, max_length=max_seq_length, return_attention_mask=False)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    out: list[torch.Tensor | None] = [None] * len(sentences)

    def take(indices: list[int], output: Any) -> None:
        hidden = output.last_hidden_state
        mask = (
            torch.arange(hidden.shape[1], device=hidden.device)[None, :]
            < torch.tensor([lengths[i] for i in indices], device=hidden.device)[:, None]
        )
        for i, vector in zip(indices, pool(hidden, mask.long(), pooling).cpu(), strict=True):
            out[i] = vector

    def collate(indices: list[int]) -> dict[str, torch.Tensor]:
        return pad_inputs(encoded, None, indices, tokenizer.pad_token_id)

    run_longest_first(
        model, lengths, collate, take, batch_size=batch_size, device=device, description=description, unit=unit
    )
    return torch.stack([vector for vector in out if vector is not None])


#: One model's scores: (its reference, pooling, token length, device) -> its metrics and speed.
Scorer = Callable[[ModelRef, SentencePooling, int, "torch.device"], dict[str, Any]]


def score_models(
    models: list[str], max_seq_length: int | None, primary: str, score: Scorer
) -> tuple[list[dict[str, Any]], torch.device]:
    """One row per model, in order, and the device they ran on. A row says who the model is and how it
    embeds, then holds ``score``'s metrics; from the second model on, ``retention`` is its ``primary``
    metric over the first's. Every model is resolved and its config read before any weights are loaded,
    so a bad one fails in seconds."""
    import torch

    refs = [resolve_model(spec) for spec in models]
    setups = [embedding_setup(ref, max_seq_length) for ref in refs]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = [
        {
            "model": ref.spec,
            "path": str(ref.path),
            "pooling": pooling.name,
            "pooling_source": pooling.source,
            "max_seq_length": length,
            **score(ref, pooling, length, device),
        }
        for ref, (pooling, length) in zip(refs, setups, strict=True)
    ]
    reference = rows[0][primary]
    for row in rows[1:]:
        row["retention"] = row[primary] / reference if reference else None
    return rows, device


def per_model_metrics(rows: list[dict[str, Any]], names: Iterable[str]) -> dict[str, float]:
    """``model<N>.<name>`` for every row's metrics among ``names`` (numbered from 1, the report's gate names)."""
    return {
        f"model{number}.{name}": row[name]
        for number, row in enumerate(rows, 1)
        for name in names
        if row.get(name) is not None
    }
