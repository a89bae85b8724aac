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
import itertools
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli import progress
from distilcli.data.cache_key import cache_key
from distilcli.data.chunk_rules import ChunkStats, SpecialIds, chunk_texts, flatten, special_ids
from distilcli.data.corpus import CorpusSpec, read_documents
from distilcli.errors import BadInput
from distilcli.fsutil import make_temp_dir

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

logger = logging.getLogger(__name__)

# Bump when the chunking rules or the stored files change, so old caches are not reused.
# 2: the streamed Arrow file itself (no save_to_disk copy) and the token counts beside it.
FORMAT_VERSION = 2
CHUNKS_FILE = "chunks.arrow"
COUNTS_FILE = "token_counts.npz"
BATCH_DOCS = 1000  # documents per tokenizer call: the fast tokenizer parallelises within a batch
_LENGTH_WARNING = "sequence-length-is-longer-than-the-specified-maximum"
_COLUMNS = ["input_ids", "length"]


def _schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("input_ids", pa.list_(pa.int32())), ("length", pa.int64())])


def _record_batch(values: np.ndarray, lengths: np.ndarray) -> pa.RecordBatch:
    """Chunks given as flat token ids and lengths, as one Arrow batch (no per-element Arrow calls)."""
    import pyarrow as pa

    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
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


def _flat(result: tuple[list[list[int]], ChunkStats]) -> tuple[tuple[np.ndarray, np.ndarray], ChunkStats]:
    return flatten(result[0]), result[1]


def _chunk_batches(
    spec: CorpusSpec,
    tokenizer: Any,
    max_seq_length: int,
    min_tokens: int,
    ids: SpecialIds,
    stats: ChunkStats,
    num_proc: int = 1,
) -> Iterator[pa.RecordBatch]:
    """Tokenize the corpus a batch of documents at a time and yield the kept chunks as Arrow batches, in order.

    With ``num_proc`` > 1 (and a corpus big enough to repay starting them), worker processes tokenize
    the batches and this process only reads documents and writes; the chunks are the same either way.
    """
    from distilcli.data.parallel_chunks import chunk_in_workers, worth_workers

    with _no_length_warning(tokenizer), progress.task("tokenizing", None) as bar:
        if num_proc > 1 and worth_workers(spec):
            results = chunk_in_workers(spec, tokenizer, max_seq_length, min_tokens, ids, num_proc)
        else:
            results = (
                _flat(chunk_texts(texts, tokenizer, max_seq_length, min_tokens, ids))
                for texts in _batched(read_documents(spec), BATCH_DOCS)
            )
        for (values, lengths), part in results:
            stats.add(part)
            if len(lengths):
                yield _record_batch(values, lengths)
            bar.advance(part.documents)


def _load_cached(folder: Path) -> datasets.Dataset | None:
    """The cached dataset in ``folder`` (memory-mapped), or None (a damaged one is removed so it gets rebuilt)."""
    import datasets

    if not folder.is_dir():
        return None
    try:
        with _no_datasets_bars():
            loaded = datasets.Dataset.from_file(str(folder / CHUNKS_FILE))
        if loaded.column_names == _COLUMNS and (folder / COUNTS_FILE).is_file():
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
    num_proc: int,
) -> datasets.Dataset:
    """Stream the chunks into ``cache_dir/key`` (Arrow file + token counts) through a temp folder and one rename.

    The Arrow file is written a batch at a time and memory-mapped afterwards, so memory stays bounded
    by one batch of documents per process, whatever the corpus's size.
    """
    import pyarrow as pa

    final = cache_dir / key
    stats = ChunkStats()
    counts = np.zeros(len(tokenizer), dtype=np.int64)
    work = make_temp_dir(cache_dir, f".{key[:16]}.", ".tmp")
    try:
        with pa.OSFile(str(work / CHUNKS_FILE), "wb") as sink, pa.ipc.new_stream(sink, _schema()) as writer:
            for batch in _chunk_batches(spec, tokenizer, max_seq_length, min_tokens, ids, stats, num_proc):
                writer.write_batch(batch)
                counts += _count_ids(batch.column(0).flatten().to_numpy(zero_copy_only=False), len(tokenizer))
        if stats.chunks == 0:
            raise _no_chunks(spec, max_seq_length, min_tokens, stats)
        _log(stats)
        np.savez(work / COUNTS_FILE, counts=counts, chunks=stats.chunks)
        try:
            os.replace(work, final)
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
    num_proc: int = 1,
) -> datasets.Dataset:
    """Tokenize ``spec`` into ``[CLS] ... [SEP]`` chunks of at most ``max_seq_length`` ids.

    Returns a Dataset with columns ``input_ids`` and ``length``. With ``cache_dir``, the result
    is stored in ``cache_dir/<key>/`` and reused while the corpus, tokenizer and settings are
    unchanged, with the corpus's token counts beside it (:func:`saved_token_counts`). ``num_proc``
    worker processes tokenise a large corpus (the chunks are the same for any count). Raises BadInput
    for a bad corpus or when no chunk survives the filters.
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
        batches = list(_chunk_batches(spec, tokenizer, max_seq_length, min_tokens, ids, stats, num_proc))
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
    key = cache_key(spec, tokenizer, max_seq_length, min_tokens, FORMAT_VERSION)
    cached = _load_cached(cache_dir / key)
    if cached is not None:
        logger.info("reusing tokenized chunks from %s", cache_dir / key)
        return cached
    return _build_cached(spec, tokenizer, max_seq_length, min_tokens, ids, cache_dir, key, num_proc)


def _count_ids(values: np.ndarray, vocab_size: int) -> np.ndarray:
    """``np.bincount`` of token ids, or BadInput naming an id outside the vocabulary."""
    if values.size and (int(values.min()) < 0 or int(values.max()) >= vocab_size):
        bad = int(values.min()) if int(values.min()) < 0 else int(values.max())
        raise BadInput(
            f"token id {bad} in the chunks is outside the vocabulary of size {vocab_size}: "
            "the tokenizer does not match the model; use the model's own tokenizer"
        )
    return np.bincount(values, minlength=vocab_size)


def saved_token_counts(dataset: datasets.Dataset, vocab_size: int) -> np.ndarray | None:
    """The token counts stored beside a cached chunk dataset; None when ``dataset`` is not a whole cached one."""
    files = dataset.cache_files
    if len(files) != 1 or dataset._indices is not None:
        return None
    path = Path(files[0]["filename"]).with_name(COUNTS_FILE)
    if not path.is_file():
        return None
    with np.load(path) as saved:
        counts, chunks = saved["counts"], int(saved["chunks"])
    # A selection or slice of the cache counts only its own rows: those are counted afresh.
    return counts if counts.shape == (vocab_size,) and chunks == len(dataset) else None


def token_counts(dataset: datasets.Dataset, vocab_size: int) -> np.ndarray:
    """How often each token id occurs over all chunks (specials included): int64, shape [vocab_size].

    These counts give the MLM masking weights (see :func:`distilcli.data.masking.mlm_token_weights`).
    """
    counts = np.zeros(vocab_size, dtype=np.int64)
    # Arrow batches respect any select/shuffle on the dataset and never build Python lists.
    for table in dataset.select_columns(["input_ids"]).with_format("arrow").iter(batch_size=100_000):
        for chunk in table.column("input_ids").chunks:
            counts += _count_ids(chunk.flatten().to_numpy(zero_copy_only=False), vocab_size)
    return counts
