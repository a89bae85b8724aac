"""Reading a corpus: every kind of source, and one clear BadInput line for each way it can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from distilcli.data.corpus import CorpusSpec, check_corpus, corpus_fingerprint, looks_like_hub_id, read_documents
from distilcli.errors import BadInput


def _docs(source: Path | str, **kwargs) -> list[str]:
    return list(read_documents(CorpusSpec(str(source), **kwargs)))


def _bad(spec: CorpusSpec) -> str:
    """The BadInput message of reading ``spec``; it must be one line."""
    with pytest.raises(BadInput) as info:
        list(read_documents(spec))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_text_file_per_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("\ufeffthe cat\n\n   \n  a dog runs  \r\nlast line", encoding="utf-8")
    assert _docs(path) == ["the cat", "a dog runs", "last line"]
    check_corpus(CorpusSpec(str(path)))


def test_text_file_per_file(tmp_path: Path) -> None:
    path = tmp_path / "book"  # no extension is a text file too
    path.write_text("\n first line\nsecond line \n\n", encoding="utf-8")
    assert _docs(path, document_per="file") == ["first line\nsecond line"]


def test_text_folder_recursive_sorted_skips_hidden_and_other_suffixes(tmp_path: Path) -> None:
    root = tmp_path / "texts"
    (root / "b").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "b" / "two.tokens").write_text("two a\ntwo b\n", encoding="utf-8")
    (root / "a.txt").write_text("one\n", encoding="utf-8")
    (root / "c.raw").write_text("three\n", encoding="utf-8")
    (root / "d").write_text("four\n", encoding="utf-8")
    (root / ".hidden.txt").write_text("hidden\n", encoding="utf-8")
    (root / ".git" / "HEAD").write_text("ref\n", encoding="utf-8")
    (root / "notes.md").write_text("markdown\n", encoding="utf-8")
    (root / "data.jsonl").write_text('{"text": "json"}\n', encoding="utf-8")
    assert _docs(root) == ["one", "two a", "two b", "three", "four"]
    assert _docs(root, document_per="file") == ["one", "two a\ntwo b", "three", "four"]


def test_folder_without_text_files(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    message = _bad(CorpusSpec(str(tmp_path)))
    assert "holds no text files" in message and "jsonl" in message


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    rows = [{"body": " first "}, {"body": ""}, {"body": None}, {"body": "second", "other": 1}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert _docs(path, text_field="body") == ["first", "second"]
    # A folder-style option does not change how JSON lines are read.
    assert _docs(path, text_field="body", document_per="file") == ["first", "second"]


def test_jsonl_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"text": "ok"}\n\n{"text": broken}\n', encoding="utf-8")
    message = _bad(CorpusSpec(str(path)))
    assert str(path) in message and "line 3" in message and "not valid JSON" in message


def test_jsonl_missing_field_names_line_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "corpus.json"
    path.write_text('{"text": "ok"}\n{"content": "no text"}\n', encoding="utf-8")
    message = _bad(CorpusSpec(str(path)))
    assert "line 2" in message and "'text'" in message and "content" in message and "--text-field" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [('{"text": 5}\n', "not a string"), ('["a", "b"]\n', "JSON array"), ("7\n", "not a JSON object")],
)
def test_jsonl_wrong_shapes(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text(content, encoding="utf-8")
    assert expected in _bad(CorpusSpec(str(path)))


def test_saved_dataset_and_dataset_dict(tmp_path: Path) -> None:
    import datasets

    data = datasets.Dataset.from_dict({"content": ["alpha beta", "  ", None, "gamma"], "n": [1, 2, 3, 4]})
    data.save_to_disk(str(tmp_path / "single"))
    assert _docs(tmp_path / "single", text_field="content") == ["alpha beta", "gamma"]

    datasets.DatasetDict({"train": data, "test": data.select([0])}).save_to_disk(str(tmp_path / "dict"))
    assert _docs(tmp_path / "dict", text_field="content") == ["alpha beta", "gamma"]
    check_corpus(CorpusSpec(str(tmp_path / "dict"), text_field="content"))

    assert "no column 'text'" in _bad(CorpusSpec(str(tmp_path / "single")))
    assert "not text" in _bad(CorpusSpec(str(tmp_path / "single"), text_field="n"))
    datasets.DatasetDict({"validation": data}).save_to_disk(str(tmp_path / "no-train"))
    assert "no 'train' split" in _bad(CorpusSpec(str(tmp_path / "no-train"), text_field="content"))


@pytest.mark.parametrize("content", ["", "\n  \n\t\n"])
def test_empty_corpus(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.txt"
    path.write_text(content, encoding="utf-8")
    assert "is empty" in _bad(CorpusSpec(str(path)))
    with pytest.raises(BadInput, match="is empty"):
        check_corpus(CorpusSpec(str(path)))


def test_non_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("fine\nstill fine\ncaf\u00e9\n".encode("latin-1"))
    message = _bad(CorpusSpec(str(path)))
    assert "line 3" in message and "not UTF-8" in message
    assert "line 3" in _bad(CorpusSpec(str(path), document_per="file"))
    with pytest.raises(BadInput, match="line 3 is not UTF-8"):
        check_corpus(CorpusSpec(str(path)))


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("text\n", encoding="utf-8")
    real_open = Path.open

    def deny(self: Path, *args, **kwargs):
        # chmod 0 does not stop root (CI containers), so refuse the open itself.
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    message = _bad(CorpusSpec(str(path)))
    assert message == f"cannot read corpus file {path}: Permission denied"
    with pytest.raises(BadInput, match="Permission denied"):
        check_corpus(CorpusSpec(str(path)))


def test_missing_local_path(tmp_path: Path) -> None:
    for source in (str(tmp_path / "nope.txt"), "data/missing.jsonl", "./corpus"):
        message = _bad(CorpusSpec(source))
        assert "does not exist" in message
    with pytest.raises(BadInput, match="does not exist"):
        check_corpus(CorpusSpec(str(tmp_path / "nope.txt")))


def test_hub_id_heuristic() -> None:
    assert looks_like_hub_id("wikitext")
    assert looks_like_hub_id("owner/some-data.v2")
    assert not looks_like_hub_id("data/corpus.txt")
    assert not looks_like_hub_id("/abs/path")
    assert not looks_like_hub_id("a/b/c")
    assert not looks_like_hub_id("./corpus")


def test_hub_id_offline_is_bad_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import datasets
    import huggingface_hub.constants

    monkeypatch.chdir(tmp_path)  # so the id cannot be a local folder by accident
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    # The libraries read the variables at import; set their copies too.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    spec = CorpusSpec("distilcli-test/no-such-corpus")
    message = _bad(spec)
    assert "neither a local path nor reachable on the Hugging Face hub" in message
    for call in (check_corpus, corpus_fingerprint):
        with pytest.raises(BadInput, match="neither a local path"):
            call(spec)


def test_bad_document_per(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("x\n", encoding="utf-8")
    assert "--document-per must be line, file or sentence" in _bad(CorpusSpec(str(path), document_per="paragraph"))


def test_split_sentences() -> None:
    from distilcli.data.corpus import split_sentences

    text = 'It rained. "Why?" she asked! Then (at 5 p.m.) three dogs ran . A new line?  No... maybe. e.g. not this. "Quoted." (Aside.) End'
    assert split_sentences(text) == [
        "It rained.", '"Why?" she asked!', "Then (at 5 p.m.) three dogs ran .", "A new line?",
        "No... maybe. e.g. not this.", '"Quoted."', "(Aside.)", "End",  # a lower-case start is no new sentence
    ]  # fmt: skip
    assert split_sentences("   ") == [] and split_sentences("no end mark") == ["no end mark"]


def test_document_per_sentence_splits_every_kind(tmp_path: Path) -> None:
    text = tmp_path / "c.txt"
    text.write_text("One here. Two there.\n\nThree!\n", encoding="utf-8")
    assert _docs(text, document_per="sentence") == ["One here.", "Two there.", "Three!"]
    lines = tmp_path / "c.jsonl"
    lines.write_text(json.dumps({"text": "A b. C d."}) + "\n", encoding="utf-8")
    assert _docs(lines, document_per="sentence") == ["A b.", "C d."]
    assert corpus_fingerprint(CorpusSpec(str(text), document_per="sentence")) != corpus_fingerprint(CorpusSpec(str(text)))


def test_fingerprint_tracks_files_and_options(tmp_path: Path) -> None:
    root = tmp_path / "texts"
    root.mkdir()
    (root / "a.txt").write_text("one\n", encoding="utf-8")
    spec = CorpusSpec(str(root))
    first = corpus_fingerprint(spec)
    assert len(first) == 64 and first == corpus_fingerprint(CorpusSpec(str(root)))
    assert corpus_fingerprint(CorpusSpec(str(root), document_per="file")) != first

    (root / "a.txt").write_text("one more\n", encoding="utf-8")  # size and mtime change
    second = corpus_fingerprint(spec)
    assert second != first

    (root / "b.txt").write_text("two\n", encoding="utf-8")
    assert corpus_fingerprint(spec) != second

    # Files the corpus does not read do not count.
    (root / "notes.md").write_text("ignored\n", encoding="utf-8")
    third = corpus_fingerprint(spec)
    assert third == corpus_fingerprint(spec)
    (root / "notes.md").write_text("still ignored, longer\n", encoding="utf-8")
    assert corpus_fingerprint(spec) == third


def test_hub_dataset_when_reachable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import datasets

    monkeypatch.chdir(tmp_path)
    calls: list[tuple] = []
    train = datasets.Dataset.from_dict({"text": ["hub one", "", "hub two"], "label": [0, 1, 2]})

    def load_dataset(source: str, split: str | None = None):
        calls.append((source, split))
        return train

    class Builder:
        config_id, hash = "default", "abc123"
        info = SimpleNamespace(features=train.features, splits={"train": 3})

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setattr(datasets, "load_dataset_builder", lambda source: Builder())
    spec = CorpusSpec("owner/corpus")
    assert _docs("owner/corpus") == ["hub one", "hub two"]
    assert calls == [("owner/corpus", "train")]
    check_corpus(spec)
    fingerprint = corpus_fingerprint(spec)
    Builder.hash = "def456"  # new files on the hub: a new fingerprint
    assert corpus_fingerprint(spec) != fingerprint
    with pytest.raises(BadInput, match="no column 'body'"):
        check_corpus(CorpusSpec("owner/corpus", text_field="body"))
