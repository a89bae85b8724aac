"""The inputs a benchmark feeds every model: synthetic batches of a given shape, or STS-B dev pairs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.tasks.glue.spec import GlueExample

Batch = dict[str, np.ndarray]


def input_names(uses_token_type_ids: bool) -> list[str]:
    """The encoder's inputs: token type ids only for architectures that have segment embeddings."""
    return ["input_ids", "attention_mask", *(["token_type_ids"] if uses_token_type_ids else [])]


def _special_ids(config: Any, tokenizer: Any) -> tuple[int | None, int | None, set[int]]:
    if tokenizer is not None:
        specials = {int(i) for i in tokenizer.all_special_ids if i is not None}
        first = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        last = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        return first, last, specials
    ids = [
        getattr(config, name, None)
        for name in ("pad_token_id", "bos_token_id", "eos_token_id", "cls_token_id", "sep_token_id")
    ]
    return None, None, {int(i) for i in ids if i is not None}


def synthetic_batch(
    config: Any, tokenizer: Any, batch_size: int, seq_length: int, seed: int, names: list[str]
) -> Batch:
    """``batch_size`` sequences of exactly ``seq_length`` real tokens: [CLS] random words [SEP].

    Every position is attended (no padding), so the time is that of the full shape. The
    words are drawn from the vocabulary above its special tokens, with a fixed seed.
    """
    vocab = int(config.vocab_size)
    first, last, specials = _special_ids(config, tokenizer)
    low = min(max(specials) + 1 if specials else 0, vocab - 1)
    rng = np.random.default_rng(seed)
    ids = rng.integers(low, vocab, size=(batch_size, seq_length), dtype=np.int64)
    if first is not None:
        ids[:, 0] = first
    if last is not None:
        ids[:, -1] = last
    batch = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return {name: batch[name] for name in names}


def encode_pairs(tokenizer: Any, examples: list[GlueExample], max_length: int, names: list[str]) -> list[Batch]:
    """Each sentence pair as its own batch of one, tokenized as fine-tuning does (no padding)."""
    batches = []
    for example in examples:
        encoded = tokenizer(
            example.text_a, example.text_b, truncation=True, max_length=max_length, return_token_type_ids=True
        )
        ids = np.asarray([encoded["input_ids"]], dtype=np.int64)
        batch = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.asarray([encoded.get("token_type_ids") or [0] * ids.shape[1]], dtype=np.int64),
        }
        batches.append({name: batch[name] for name in names})
    return batches
