"""``distill --stream``: chunks made as the run reads them, batches in order, a resumed run equal to an uninterrupted one."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
import torch

from distilcli.data.chunks import tokenize_corpus
from distilcli.data.corpus import CorpusSpec
from distilcli.data.stream import chunk_stream
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput, Interrupted
from tests.conftest import WORDS
from tests.unit.test_distill_engine import _student_state, config


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 'documents' of 8-60 words from the test vocabulary."""
    rng = random.Random(1)
    path = tmp_path_factory.mktemp("stream") / "corpus.txt"
    path.write_text(
        "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60))) for _ in range(120)) + "\n"
    )
    return path


def _words(tokenizer, vocab_file: Path):
    if tokenizer.convert_tokens_to_ids("the") != tokenizer.unk_token_id:
        return tokenizer
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True)


def test_a_stream_is_the_corpus_chunks_pass_after_pass(corpus: Path, tokenizer, vocab_file: Path) -> None:
    words = _words(tokenizer, vocab_file)
    spec = CorpusSpec(str(corpus))
    prepared = [list(row) for row in tokenize_corpus(spec, words, 32)["input_ids"]]
    # A buffer of one keeps the corpus order: the stream's first pass is the prepared chunks, then it goes round.
    first = list(itertools.islice(chunk_stream(spec, words, 32, 12, seed=0, buffer=1), 2 * len(prepared)))
    assert first[: len(prepared)] == prepared and first[len(prepared) :] == prepared
    # Shuffled through a buffer: the same chunks, another order; the same seed gives the same order.
    shuffled = list(itertools.islice(chunk_stream(spec, words, 32, 12, seed=3, buffer=50), 4 * len(prepared)))
    assert shuffled == list(itertools.islice(chunk_stream(spec, words, 32, 12, seed=3, buffer=50), 4 * len(prepared)))
    assert shuffled[: len(prepared)] != prepared
    assert {tuple(c) for c in shuffled} == {tuple(c) for c in prepared}


def test_streamed_run_resumes_to_the_uninterrupted_weights(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    report = run_distill(config(tiny_models["bert"], corpus, reference, stream=True))
    assert report.metrics["steps"] == 6 and report.body["distillation"]["stream"] is True
    assert not (tmp_path / "cache").exists()  # nothing prepared, nothing cached

    def stop_at_4(step: int) -> None:
        if step == 4:
            raise KeyboardInterrupt

    interrupted = tmp_path / "interrupted"
    with pytest.raises(Interrupted):
        run_distill(config(tiny_models["bert"], corpus, interrupted, stream=True), on_step=stop_at_4)
    run_distill(config(tiny_models["bert"], corpus, interrupted, stream=True, resume=True))
    expected, got = _student_state(reference), _student_state(interrupted)
    for name, tensor in expected.items():
        assert torch.equal(got[name], tensor), name


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"max_steps": None}, "--max-steps"), ({"cache_teacher": True, "alpha_ce": 0, "alpha_mlm": 0}, "--cache-teacher")],
)
def test_stream_refusals(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path, changes: dict, message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        run_distill(config(tiny_models["bert"], corpus, tmp_path / "run", stream=True, **changes))
    assert not (tmp_path / "run").exists()
