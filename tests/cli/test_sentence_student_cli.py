"""``distil distill --task embeddings`` with a student of another tokenizer, and ``--embedding-dim``, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line_error
from tests.unit.test_sentence_student import sentences  # noqa: F401 - the shared fixture

ARGS = ["--task", "embeddings", "--max-steps", "2", "--batch-size", "8", "--max-seq-length", "32", "--log-every", "1"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ([], "set --alpha-cos 0"),
        (["--alpha-cos", "0", "--alpha-mlm", "2"], "set --alpha-mlm 0"),
        (["--alpha-cos", "0", "--alpha-attention", "1"], "set --alpha-attention 0"),
        (["--alpha-cos", "0", "--document-per", "file"], "--document-per sentence"),
    ],
)
def test_token_level_losses_exit_2_and_write_nothing(
    distil,
    st_teacher: Path,
    other_tokenizer_student: Path,
    sentences: Path,  # noqa: F811
    tmp_path: Path,
    extra: list[str],
    named: str,
) -> None:
    out = tmp_path / "run"
    result = distil("distill", "--teacher", st_teacher, "--student", other_tokenizer_student, "--corpus", sentences,
                    "--out", out, *ARGS, *extra)  # fmt: skip
    assert_one_line_error(result, 2, named)
    assert not out.exists()


def test_another_tokenizer_and_fewer_dimensions_from_the_command_line(
    distil,
    st_teacher: Path,
    other_tokenizer_student: Path,
    sentences: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out, report = tmp_path / "run", tmp_path / "report.json"
    result = distil("distill", "--teacher", st_teacher, "--student", other_tokenizer_student, "--corpus", sentences,
                    "--out", out, "--output", report, "--alpha-cos", "0", "--embedding-dim", "4", *ARGS)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "--embedding-dim 4: the PCA of the teacher's embeddings" in result.stderr
    embedding = json.loads(report.read_text())["body"]["distillation"]["embedding"]
    assert (
        embedding["tokenizer"] == "student's own"
        and embedding["pca"]["dim"] == 4
        and embedding["dense"]["init"] == "least-squares"
    )
    sentence_transformers = pytest.importorskip("sentence_transformers")
    vectors = sentence_transformers.SentenceTransformer(str(out), device="cpu").encode(["the cat sat by the river"])
    assert vectors.shape == (1, 4)


def test_query_passage_pairs_from_the_command_line(
    distil,
    st_teacher: Path,
    sentences: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    out, report = tmp_path / "run", tmp_path / "report.json"
    result = distil("distill", "--teacher", st_teacher, "--corpus", sentences, "--query-passage", "--alpha-sim", "1",
                    "--out", out, "--output", report, *ARGS)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    body = json.loads(report.read_text())["body"]
    assert body["distillation"]["embedding"]["sentences"]["query_passage_pairs"] == 40  # one per line of 3 sentences
    refused = distil("distill", "--teacher", st_teacher, "--corpus", sentences, "--query-passage",
                     "--out", tmp_path / "other", *ARGS[2:])  # fmt: skip
    assert_one_line_error(refused, 2, "--query-passage makes pairs for sentence embeddings: add --task embeddings")
    assert not (tmp_path / "other").exists()


def test_min_tokens_keeps_short_queries(distil, st_teacher: Path, tmp_path: Path) -> None:
    """Questions of 9 tokens ([CLS] is the cat at the river ? [SEP]) are under the default 12: refused by
    default, kept with --min-tokens 6."""
    corpus = tmp_path / "questions.txt"
    corpus.write_text("".join(f"is the {word} at the river?\n" for word in ("cat", "dog", "tree", "house") * 6))
    cache = ["--cache-dir", tmp_path / "cache"]
    refused = distil("distill", "--teacher", st_teacher, "--corpus", corpus, "--out", tmp_path / "default", *cache, *ARGS)
    assert_one_line_error(refused, 2, "of at least 12 tokens")
    assert not (tmp_path / "default").exists()
    above = distil("distill", "--teacher", st_teacher, "--corpus", corpus, "--min-tokens", "40", "--out", tmp_path / "x",
                   *ARGS)  # fmt: skip
    assert_one_line_error(above, 2, "--min-tokens 40 is above --max-seq-length 32")
    out, report = tmp_path / "run", tmp_path / "report.json"
    result = distil("distill", "--teacher", st_teacher, "--corpus", corpus, "--min-tokens", "6",
                    "--out", out, "--output", report, *cache, *ARGS)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    saved = json.loads(report.read_text())
    assert saved["body"]["distillation"]["train_chunks"] == 24
    assert saved["config"]["min_tokens"] == 6
    assert any((tmp_path / "cache").iterdir())  # the tokenised corpus went to --cache-dir
