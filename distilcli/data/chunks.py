"""Token chunks for MLM distillation, as DistilBERT's ``binarized_data.py`` + ``lm_seqs_dataset.py`` made them.

Each document is encoded as ``[CLS] tokens [SEP]`` with the tokenizer's own special tokens.
A document longer than ``max_seq_length`` is cut into pieces of ``max_seq_length - 2`` content
tokens, each wrapped in ``[CLS] ... [SEP]`` again. Chunks shorter than ``min_tokens`` ids and
chunks that are half or more ``[UNK]`` are dropped, as the reference does.

The result is a ``datasets.Dataset`` with columns ``input_ids`` (list of int32) and ``length``
(int64), optionally cached on disk under a key that covers the corpus, the tokenizer and the
chunking settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli import progress
from distilcli.data.corpus import CorpusSpec, corpus_fingerprint, read_documents
from distilcli.errors import BadInput

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

logger = logging.getLogger(__name__)

# Bump when the chunking rules or the stored columns change, so old caches are not reused.
FORMAT_VERSION = 1
BATCH_DOCS = 1000  # documents per tokenizer call: the fast tokenizer parallelises within a batch
_LENGTH_WARNING = "sequence-length-is-longer-than-the-specified-maximum"
_COLUMNS = ["input_ids", "length"]


@dataclass(frozen=True)
class SpecialIds:
    """The ids that chunking needs; ``unk`` is None for tokenizers without an unknown token."""

    cls: int
    sep: int
    unk: int | None


@dataclass
class ChunkStats:
    """What happened to the documents, for the log and for the zero-chunk error."""

    documents: int = 0
    chunks: int = 0
    too_short: int = 0
    mostly_unknown: int = 0
    tokens: int = 0


def special_ids(tokenizer: Any) -> SpecialIds:
    """The tokenizer's cls/sep/unk ids; BadInput when it has no cls or sep token."""
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls is None or sep is None:
        raise BadInput(f"tokenizer {type(tokenizer).__name__} has no [CLS]/[SEP] tokens: use a BERT-family tokenizer")
    return SpecialIds(int(cls), int(sep), None if tokenizer.unk_token_id is None else int(tokenizer.unk_token_id))


def divide_into_chunks(ids: list[int], max_seq_length: int, cls_id: int, sep_id: int) -> list[list[int]]:
    """Split ``[CLS] content [SEP]`` into chunks of at most ``max_seq_length`` ids, each wrapped again.

    Like the reference ``divide_into_chunks``, but counted on the content, so every full chunk
    holds exactly ``max_seq_length - 2`` content tokens.
    """
    if len(ids) <= max_seq_length:
        return [ids]
    step = max_seq_length - 2
    content = ids[1:-1]
    return [[cls_id, *content[start : start + step], sep_id] for start in range(0, len(content), step)]


def _keep(chunk: list[int], min_tokens: int, unk_id: int | None, stats: ChunkStats) -> bool:
    """The reference's filters: ``remove_empty_sequences`` then ``remove_unknown_sequences``."""
    if len(chunk) < min_tokens:
        stats.too_short += 1
        return False
    # The reference keeps a chunk only when unk / length < 0.5, so exactly half is dropped too.
    if unk_id is not None and 2 * chunk.count(unk_id) >= len(chunk):
        stats.mostly_unknown += 1
        return False
    return True


def _schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("input_ids", pa.list_(pa.int32())), ("length", pa.int64())])


def _record_batch(chunks: list[list[int]]) -> pa.RecordBatch:
    """Chunks as one Arrow batch, built from flat numpy arrays (no per-element Arrow calls)."""
    import pyarrow as pa

    lengths = np.fromiter((len(chunk) for chunk in chunks), dtype=np.int64, count=len(chunks))
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.fromiter(itertools.chain.from_iterable(chunks), dtype=np.int32, count=int(offsets[-1]))
    input_ids = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values)).cast(pa.list_(pa.int32()))
    return pa.RecordBatch.from_arrays([input_ids, pa.array(lengths)], schema=_schema())


@contextlib.contextmanager
def _no_length_warning(tokenizer: Any) -> Iterator[None]:
    """Silence "sequence length is longer than the specified maximum": chunking handles long documents.

    transformers warns once per tokenizer and remembers it in ``deprecation_warnings``; the flag is
    set for the block and put back afterwards, so the caller's tokenizer is left as it was.
    """
    flags = getattr(tokenizer, "deprecation_warnings", None)
    if not isinstance(flags, dict):
        yield
        return
    had, old = _LENGTH_WARNING in flags, flags.get(_LENGTH_WARNING)
    flags[_LENGTH_WARNING] = True
    try:
        yield
    finally:
        if had:
            flags[_LENGTH_WARNING] = old
        else:
            flags.pop(_LENGTH_WARNING, None)


@contextlib.contextmanager
def _no_datasets_bars() -> Iterator[None]:
    """Hide datasets' tqdm bars ("Saving the dataset"): progress goes through distilcli.progress."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _chunk_batches(
    spec: CorpusSpec, tokenizer: Any, max_seq_length: int, min_tokens: int, ids: SpecialIds, stats: ChunkStats
) -> Iterator[pa.RecordBatch]:
    """Tokenize the corpus a batch of documents at a time and yield the kept chunks as Arrow batches."""
    with _no_length_warning(tokenizer), progress.task("tokenizing", None) as bar:
        for texts in _batched(read_documents(spec), BATCH_DOCS):
            encoded = tokenizer(
                texts,
                add_special_tokens=True,
                truncation=False,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
            kept = []
            for doc in encoded:
                if not doc or doc[0] != ids.cls or doc[-1] != ids.sep:
                    raise BadInput(
                        f"tokenizer {type(tokenizer).__name__} does not wrap a text as [CLS] ... [SEP]: "
                        "use a BERT-family tokenizer"
                    )
                for chunk in divide_into_chunks(doc, max_seq_length, ids.cls, ids.sep):
                    if _keep(chunk, min_tokens, ids.unk, stats):
                        kept.append(chunk)
            stats.documents += len(texts)
            stats.chunks += len(kept)
            stats.tokens += sum(len(chunk) for chunk in kept)
            if kept:
                yield _record_batch(kept)
            bar.advance(len(texts))


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


def cache_key(spec: CorpusSpec, tokenizer: Any, max_seq_length: int, min_tokens: int) -> str:
    """The sha256 that names a cached chunk dataset: corpus, tokenizer and chunking settings."""
    ids = special_ids(tokenizer)
    parts = {
        "format": FORMAT_VERSION,
        "corpus": corpus_fingerprint(spec),
        "tokenizer_class": type(tokenizer).__name__,
        "vocab_size": [getattr(tokenizer, "vocab_size", None), len(tokenizer)],
        "vocab": _vocab_digest(tokenizer),
        "pipeline": _pipeline_digest(tokenizer),
        "special_ids": [ids.cls, ids.sep, ids.unk],
        "max_seq_length": max_seq_length,
        "min_tokens": min_tokens,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def _load_cached(folder: Path) -> datasets.Dataset | None:
    """The cached dataset in ``folder``, or None (a damaged one is removed so it gets rebuilt)."""
    import datasets

    if not folder.is_dir():
        return None
    try:
        with _no_datasets_bars():
            loaded = datasets.load_from_disk(str(folder))
        if isinstance(loaded, datasets.Dataset) and loaded.column_names == _COLUMNS:
            return loaded
    except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt, whatever datasets raises for it
        logger.warning("chunk cache %s is damaged (%s); rebuilding it", folder, exc)
    shutil.rmtree(folder, ignore_errors=True)
    return None


def _no_chunks(spec: CorpusSpec, max_seq_length: int, min_tokens: int, stats: ChunkStats) -> BadInput:
    return BadInput(
        f"no chunk of at least {min_tokens} tokens in corpus {spec.source} ({stats.documents} documents; "
        f"{stats.too_short} chunks too short, {stats.mostly_unknown} mostly [UNK]): the corpus is too small "
        f"or --max-seq-length {max_seq_length} is too short for it"
    )


def _log(stats: ChunkStats) -> None:
    logger.info(
        "tokenized %d documents into %d chunks (%d tokens); dropped %d too short and %d mostly [UNK]",
        stats.documents,
        stats.chunks,
        stats.tokens,
        stats.too_short,
        stats.mostly_unknown,
    )


def _build_cached(
    spec: CorpusSpec,
    tokenizer: Any,
    max_seq_length: int,
    min_tokens: int,
    ids: SpecialIds,
    cache_dir: Path,
    key: str,
) -> datasets.Dataset:
    """Write the chunks to ``cache_dir/key`` through a temp folder and one rename, then load them."""
    import datasets
    import pyarrow as pa

    final = cache_dir / key
    stats = ChunkStats()
    work = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=cache_dir))
    try:
        # Stream to an Arrow file first so memory stays bounded by one batch of documents.
        raw = work / "chunks.arrow"
        with pa.OSFile(str(raw), "wb") as sink, pa.ipc.new_stream(sink, _schema()) as writer:
            for batch in _chunk_batches(spec, tokenizer, max_seq_length, min_tokens, ids, stats):
                writer.write_batch(batch)
        if stats.chunks == 0:
            raise _no_chunks(spec, max_seq_length, min_tokens, stats)
        _log(stats)
        staged = work / "dataset"
        with _no_datasets_bars():
            streamed = datasets.Dataset.from_file(str(raw))
            streamed.save_to_disk(str(staged))
            del streamed  # drop the memory map of chunks.arrow before the folder goes
        try:
            os.replace(staged, final)
        except OSError:
            # Another process built the same key first; its copy is as good as ours.
            if _load_cached(final) is None:
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    loaded = _load_cached(final)
    if loaded is None:
        raise BadInput(f"the chunk cache {final} could not be read back: check the disk or pass another cache folder")
    return loaded


def tokenize_corpus(
    spec: CorpusSpec,
    tokenizer: Any,
    max_seq_length: int,
    *,
    min_tokens: int = 12,
    cache_dir: Path | None = None,
) -> datasets.Dataset:
    """Tokenize ``spec`` into ``[CLS] ... [SEP]`` chunks of at most ``max_seq_length`` ids.

    Returns a Dataset with columns ``input_ids`` and ``length``. With ``cache_dir``, the result
    is stored in ``cache_dir/<key>/`` and reused while the corpus, tokenizer and settings are
    unchanged. Raises BadInput for a bad corpus or when no chunk survives the filters.
    """
    import datasets

    if max_seq_length < 3:
        raise BadInput(f"--max-seq-length must be at least 3 ([CLS], a token, [SEP]), not {max_seq_length}")
    if min_tokens > max_seq_length:
        raise BadInput(
            f"--max-seq-length {max_seq_length} is below the minimum chunk length {min_tokens}: "
            f"every chunk would be dropped; use --max-seq-length {min_tokens} or more"
        )
    ids = special_ids(tokenizer)
    if cache_dir is None:
        stats = ChunkStats()
        batches = list(_chunk_batches(spec, tokenizer, max_seq_length, min_tokens, ids, stats))
        if stats.chunks == 0:
            raise _no_chunks(spec, max_seq_length, min_tokens, stats)
        _log(stats)
        import pyarrow as pa
        from datasets.fingerprint import generate_random_fingerprint

        # An explicit fingerprint: datasets would otherwise hash the whole in-memory table.
        table = pa.Table.from_batches(batches, schema=_schema())
        return datasets.Dataset(table, fingerprint=generate_random_fingerprint())

    cache_dir = Path(cache_dir).expanduser()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create the cache folder {cache_dir}: {exc.strerror or exc}") from None
    key = cache_key(spec, tokenizer, max_seq_length, min_tokens)
    cached = _load_cached(cache_dir / key)
    if cached is not None:
        logger.info("reusing tokenized chunks from %s", cache_dir / key)
        return cached
    return _build_cached(spec, tokenizer, max_seq_length, min_tokens, ids, cache_dir, key)


def token_counts(dataset: datasets.Dataset, vocab_size: int) -> np.ndarray:
    """How often each token id occurs over all chunks (specials included): int64, shape [vocab_size].

    These counts give the MLM masking weights (see :func:`distilcli.data.masking.mlm_token_weights`).
    """
    counts = np.zeros(vocab_size, dtype=np.int64)
    # Arrow batches respect any select/shuffle on the dataset and never build Python lists.
    for table in dataset.select_columns(["input_ids"]).with_format("arrow").iter(batch_size=100_000):
        for chunk in table.column("input_ids").chunks:
            values = chunk.flatten().to_numpy(zero_copy_only=False)
            if values.size == 0:
                continue
            low, high = int(values.min()), int(values.max())
            if low < 0 or high >= vocab_size:
                bad = low if low < 0 else high
                raise BadInput(
                    f"token id {bad} in the chunks is outside the vocabulary of size {vocab_size}: "
                    "the tokenizer does not match the model; use the model's own tokenizer"
                )
            counts += np.bincount(values, minlength=vocab_size)
    return counts
