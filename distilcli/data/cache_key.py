"""The key that names a cached chunk dataset: the corpus, the tokenizer (how it splits text) and the chunking
settings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from distilcli.data.corpus import CorpusSpec, corpus_fingerprint


def _vocab_digest(tokenizer: Any) -> str:
    return hashlib.sha256(json.dumps(sorted(tokenizer.get_vocab().items())).encode("utf-8")).hexdigest()


def _pipeline_digest(tokenizer: Any) -> str:
    """Hash of how text becomes tokens (lower-casing, accents, pre-tokenizer, post-processor).

    Two tokenizers can share a vocabulary yet split text differently (cased vs uncased), so the
    vocabulary alone is not a safe cache key.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        state = json.loads(backend.to_str())
        # Padding/truncation are per-call settings that earlier calls leave behind; they do not
        # change what a text tokenizes to with truncation off, so they must not change the key.
        state.pop("padding", None)
        state.pop("truncation", None)
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode("utf-8")).hexdigest()
    kwargs = {
        k: v
        for k, v in getattr(tokenizer, "init_kwargs", {}).items()
        if not k.endswith("_file") and k != "name_or_path" and isinstance(v, str | int | float | bool | None)
    }
    return hashlib.sha256(json.dumps(kwargs, sort_keys=True).encode("utf-8")).hexdigest()


def cache_key(spec: CorpusSpec, tokenizer: Any, max_seq_length: int, min_tokens: int, format_version: int) -> str:
    """The sha256 that names a cached chunk dataset: corpus, tokenizer and chunking settings."""
    parts = {
        "format": format_version,
        "corpus": corpus_fingerprint(spec),
        "tokenizer_class": type(tokenizer).__name__,
        "vocab_size": [getattr(tokenizer, "vocab_size", None), len(tokenizer)],
        "vocab": _vocab_digest(tokenizer),
        "pipeline": _pipeline_digest(tokenizer),
        "special_ids": [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.unk_token_id],
        "max_seq_length": max_seq_length,
        "min_tokens": min_tokens,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()
