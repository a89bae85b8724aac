"""Tokenizing a corpus into DistilBERT-style chunks: splitting, filtering, caching, counting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from distilcli.data.chunk_rules import divide_into_chunks
from distilcli.data.chunks import token_counts, tokenize_corpus
from distilcli.data.corpus import CorpusSpec
from distilcli.errors import BadInput
from tests.conftest import WORDS

CLS, SEP, UNK = 2, 3, 1  # the ids of [CLS], [SEP], [UNK] in the test vocabulary


@pytest.fixture(scope="module")
def words(tokenizer, vocab_file: Path):
    """The session tokenizer, or one built from the same vocab file when that one knows no words.

    Under transformers 5 ``BertTokenizerFast(vocab_file=...)`` ignores the file (the argument is
    ``vocab``), leaving only the five special tokens; these tests need real word ids.
    """
    if tokenizer.convert_tokens_to_ids("the") != tokenizer.unk_token_id:
        return tokenizer
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True)


def _ids(tok, text: str) -> list[int]:
    return tok.convert_tokens_to_ids(text.split())


def _write(tmp_path: Path, lines: list[str], name: str = "corpus.txt") -> CorpusSpec:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return CorpusSpec(str(path))


def test_divide_into_chunks_wraps_every_piece() -> None:
    doc = [CLS, *range(10, 35), SEP]  # 25 content tokens
    assert divide_into_chunks(doc, 30, CLS, SEP) == [doc]  # fits: unchanged
    chunks = divide_into_chunks(doc, 10, CLS, SEP)
    assert chunks == [
        [CLS, *range(10, 18), SEP],
        [CLS, *range(18, 26), SEP],
        [CLS, *range(26, 34), SEP],
        [CLS, 34, SEP],
    ]


def test_long_document_split_and_short_chunks_dropped(words, tmp_path: Path) -> None:
    long_doc = " ".join(WORDS[:25])
    spec = _write(tmp_path, [long_doc, "the cat", "a small model"])
    dataset = tokenize_corpus(spec, words, 10, min_tokens=4)
    content = _ids(words, long_doc)
    assert len(content) == 25
    # 25 content tokens -> 8 + 8 + 8 + 1; the 3-id tail and the 4-id "the cat" chunk: only the tail goes.
    assert dataset["input_ids"] == [
        [CLS, *content[0:8], SEP],
        [CLS, *content[8:16], SEP],
        [CLS, *content[16:24], SEP],
        [CLS, *_ids(words, "the cat"), SEP],
        [CLS, *_ids(words, "a small model"), SEP],
    ]
    assert dataset["length"] == [10, 10, 10, 4, 5]
    assert dataset.column_names == ["input_ids", "length"]
    for row in dataset:
        assert row["input_ids"][0] == CLS and row["input_ids"][-1] == SEP
        assert len(row["input_ids"]) == row["length"] <= 10


def test_default_min_tokens_drops_chunks_under_twelve_ids(words, tmp_path: Path) -> None:
    eleven = " ".join(WORDS[:9])  # 9 words + [CLS] + [SEP] = 11 ids: dropped
    twelve = " ".join(WORDS[:10])  # 12 ids: kept
    dataset = tokenize_corpus(_write(tmp_path, [eleven, twelve]), words, 64)
    assert dataset["length"] == [12]


def test_unknown_heavy_chunks_dropped(words, tmp_path: Path) -> None:
    known = " ".join(WORDS[:20])
    # 12 ids each: 5 [UNK] of 12 is kept; 6 of 12 (half, as the reference counts) is dropped.
    five_unk = "123 456 789 000 111 the cat dog house tree"
    six_unk = "123 456 789 000 111 222 the cat dog house"
    dataset = tokenize_corpus(_write(tmp_path, [known, five_unk, six_unk]), words, 64)
    assert dataset["length"] == [22, 12]
    assert dataset["input_ids"][1].count(UNK) == 5


def test_no_chunk_is_bad_input(words, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no chunk of at least 12 tokens") as info:
        tokenize_corpus(_write(tmp_path, ["the cat", "a dog"]), words, 64)
    assert "--max-seq-length" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("max_len", "match"), [(2, "at least 3"), (8, "below the minimum chunk length 12")])
def test_bad_lengths(words, tmp_path: Path, max_len: int, match: str) -> None:
    with pytest.raises(BadInput, match=match):
        tokenize_corpus(_write(tmp_path, ["the cat"]), words, max_len)


def test_long_sequence_warning_is_silenced(words, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers.tokenization_utils_base as base

    warnings: list[str] = []
    monkeypatch.setattr(base.logger, "warning", lambda msg, *a, **k: warnings.append(str(msg)))
    monkeypatch.setattr(words, "model_max_length", 8)
    monkeypatch.setattr(words, "deprecation_warnings", {})
    spec = _write(tmp_path, [" ".join(WORDS[:30])])
    dataset = tokenize_corpus(spec, words, 8, min_tokens=3)
    assert max(dataset["length"]) == 8
    assert warnings == []
    assert words.deprecation_warnings == {}  # the flag is put back as it was
    words(" ".join(WORDS[:30]))  # the warning still works outside tokenize_corpus
    assert len(warnings) == 1


def test_cache_reused_then_invalidated(words, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    spec = _write(tmp_path, [" ".join(WORDS[:20]), " ".join(WORDS[20:40])])
    first = tokenize_corpus(spec, words, 16, cache_dir=cache)
    entries = [p.name for p in cache.iterdir()]
    assert len(entries) == 1 and len(entries[0]) == 64  # one sha256 folder, no temp leftovers

    uncached = tokenize_corpus(spec, words, 16)
    assert uncached["input_ids"] == first["input_ids"]

    def no_tokenizing(self, *args, **kwargs):
        raise AssertionError("the tokenizer ran although the cache was valid")

    with monkeypatch.context() as patch:
        patch.setattr(type(words), "__call__", no_tokenizing)
        again = tokenize_corpus(spec, words, 16, cache_dir=cache)
        assert again["input_ids"] == first["input_ids"]
        assert again["length"] == first["length"]
        # Other settings are other keys: they must tokenize, so the patched call fails.
        with pytest.raises(AssertionError, match="tokenizer ran"):
            tokenize_corpus(spec, words, 32, cache_dir=cache)
        # A changed corpus is a new key too.
        Path(spec.source).write_text(" ".join(WORDS[:30]) + "\n", encoding="utf-8")
        with pytest.raises(AssertionError, match="tokenizer ran"):
            tokenize_corpus(spec, words, 16, cache_dir=cache)
    assert [p.name for p in cache.iterdir()] == entries  # failed builds leave nothing behind

    changed = tokenize_corpus(spec, words, 16, cache_dir=cache)
    assert changed["length"] == [16, 16]  # 30 content tokens -> 14 + 14 + 2; the 4-id tail is too short
    assert len(list(cache.iterdir())) == 2


def test_damaged_cache_is_rebuilt(words, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    spec = _write(tmp_path, [" ".join(WORDS[:20])])
    first = list(tokenize_corpus(spec, words, 64, cache_dir=cache)["input_ids"])
    assert len(first) == 1
    (folder,) = cache.iterdir()
    for arrow in folder.glob("*.arrow"):
        arrow.write_bytes(b"not arrow")
    assert tokenize_corpus(spec, words, 64, cache_dir=cache)["input_ids"] == first


def test_token_counts_by_hand() -> None:
    import datasets

    data = datasets.Dataset.from_dict({"input_ids": [[2, 5, 5, 3], [2, 6, 3], [2, 7, 7, 7, 3]], "length": [4, 3, 5]})
    expected = np.zeros(10, dtype=np.int64)
    expected[[2, 3, 5, 6, 7]] = [3, 3, 2, 1, 3]
    counts = token_counts(data, 10)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, expected)
    # A selection counts only its rows.
    np.testing.assert_array_equal(token_counts(data.select([1]), 10), np.bincount([2, 6, 3], minlength=10))
    with pytest.raises(BadInput, match=r"token id 7 .* vocabulary of size 7"):
        token_counts(data, 7)


def test_token_counts_of_tokenized_corpus(words, tmp_path: Path) -> None:
    dataset = tokenize_corpus(
        _write(tmp_path, [" ".join(WORDS[:10]), "the the the the the the the the the the"]), words, 64
    )
    counts = token_counts(dataset, len(words))
    the = words.convert_tokens_to_ids("the")
    assert counts[CLS] == 2 and counts[SEP] == 2
    assert counts[the] == 11
    assert counts.sum() == sum(dataset["length"]) == 24


@pytest.mark.parametrize("document_per", ["line", "sentence"])
def test_workers_give_the_same_chunks(words, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document_per: str) -> None:
    """--num-proc 2 tokenises in worker processes; its cache holds the one-process chunks and counts."""
    from distilcli.data import parallel_chunks

    monkeypatch.setattr(parallel_chunks, "MIN_BYTES_FOR_WORKERS", 0)
    monkeypatch.setattr(parallel_chunks, "_BATCH_LINES", 7)  # several batches in flight, results kept in order
    lines = [" ".join(WORDS[i % 20 : i % 20 + 3 + i % 9]) + ". The cat sat." for i in range(60)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = CorpusSpec(str(path), document_per=document_per)
    one = tokenize_corpus(spec, words, 8, min_tokens=3, cache_dir=tmp_path / "one", num_proc=1)
    two = tokenize_corpus(spec, words, 8, min_tokens=3, cache_dir=tmp_path / "two", num_proc=2)
    assert two["input_ids"] == one["input_ids"] and len(one) > 60
    assert two["length"] == one["length"]
    (a,), (b,) = (tmp_path / "one").iterdir(), (tmp_path / "two").iterdir()
    assert a.name == b.name  # one cache key: the process count is not part of it
    np.testing.assert_array_equal(np.load(a / "token_counts.npz")["counts"], np.load(b / "token_counts.npz")["counts"])


def test_cache_keeps_the_token_counts(words, tmp_path: Path) -> None:
    from distilcli.data.chunks import saved_token_counts

    spec = _write(tmp_path, [" ".join(WORDS[:10]), "the the the the the the the the the the"])
    cached = tokenize_corpus(spec, words, 64, cache_dir=tmp_path / "cache")
    saved = saved_token_counts(cached, len(words))
    assert saved is not None
    np.testing.assert_array_equal(saved, token_counts(cached, len(words)))
    assert saved_token_counts(tokenize_corpus(spec, words, 64), len(words)) is None  # not from a cache
    assert saved_token_counts(cached.select([1]), len(words)) is None  # a slice counts its own rows
    assert saved_token_counts(cached.select([1, 0]), len(words)) is None  # so does a selection
