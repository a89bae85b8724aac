"""--query-passage: query–passage pairs cut from a corpus's lines (the inverse cloze task), kept in one batch."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from distilcli.data.corpus import CorpusSpec, split_sentences
from distilcli.data.query_passage import query_passage_texts
from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput
from distilcli.training.batches import Batches
from tests.conftest import WORDS
from tests.unit.test_sentence_student import config, watch_run


@pytest.fixture(scope="module")
def paragraphs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 paragraphs of 2-5 sentences (6-14 words each), and 5 one-sentence headings that give no pair."""
    rng = random.Random(5)

    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."

    lines = [" ".join(sentence() for _ in range(rng.randint(2, 5))) for _ in range(30)]
    for k in range(5):
        lines.insert(6 * k, f"= Heading {k} =")
    path = tmp_path_factory.mktemp("paragraphs") / "text.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _pairs(path: Path, seed: int) -> list[tuple[str, str]]:
    texts = list(query_passage_texts(CorpusSpec(str(path), document_per="line"), seed))
    return list(zip(texts[::2], texts[1::2], strict=True))


def test_each_paragraph_gives_one_of_its_sentences_and_the_rest_in_order(paragraphs: Path) -> None:
    lines = [line for line in paragraphs.read_text(encoding="utf-8").splitlines() if not line.startswith("=")]
    pairs = _pairs(paragraphs, seed=1)
    assert len(pairs) == len(lines) == 30  # the headings (one sentence) give none
    for (query, passage), line in zip(pairs, lines, strict=True):
        sentences = split_sentences(line)
        picked = sentences.index(query)
        assert passage == " ".join(sentences[:picked] + sentences[picked + 1 :])


def test_the_pairs_are_the_same_for_a_seed_and_differ_between_seeds(paragraphs: Path) -> None:
    assert _pairs(paragraphs, seed=1) == _pairs(paragraphs, seed=1)
    assert _pairs(paragraphs, seed=1) != _pairs(paragraphs, seed=2)


def test_a_pair_is_kept_or_dropped_whole(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from distilcli.data.sentence_pairs import tokenize_pairs

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    long = " ".join(WORDS[:12])
    texts = ["cat", long, long, long + " dog", long + " sun", long + " sea"]  # the first pair's query is too short
    spec = CorpusSpec(str(tmp_path), document_per="line")
    rows = tokenize_pairs(spec, tokenizer, tokenizer, 32, 4, texts=texts, group=2)
    assert rows.stats.kept == 4 and rows.stats.too_short == 2
    kept = [tokenizer.decode(rows.teacher[i], skip_special_tokens=True) for i in range(4)]
    assert kept == [tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) for text in texts[2:]]


def test_every_batch_holds_whole_pairs_in_a_seeded_order() -> None:
    cfg = DistillConfig(teacher="t", out=Path("unused"), batch_size=6, seed=3)
    rows = [[1] * (1 + i % 7) for i in range(40)]  # lengths that length grouping would sort apart
    batches = Batches(cfg, rows, 0, 0, 1, group=2)
    epoch = [batch for step in batches.steps(0) for batch in step]
    assert all(len(batch) % 2 == 0 and all(batch[k + 1] == batch[k] + 1 and batch[k] % 2 == 0
                                            for k in range(0, len(batch), 2)) for batch in epoch)  # fmt: skip
    assert sorted(i for batch in epoch for i in batch) == list(range(40))  # every row once: 6 batches of 6, one of 4
    assert epoch == [batch for step in Batches(cfg, rows, 0, 0, 1, group=2).steps(0) for batch in step]
    assert epoch != [batch for step in batches.steps(1) for batch in step]


@pytest.mark.parametrize("other", [False, True], ids=["cut-from-teacher", "own-tokenizer"])
def test_a_student_distils_on_query_passage_pairs(
    st_teacher: Path, other_tokenizer_student: Path, paragraphs: Path, tmp_path: Path, other: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from transformers import AutoTokenizer

    _, corpora = watch_run(monkeypatch)
    extra = dict(student=str(other_tokenizer_student), alpha_cos=0.0, alpha_mse_emb=0.0) if other else {}
    cfg = config(st_teacher, paragraphs, tmp_path / "student", query_passage=True, alpha_sim=1.0, min_tokens=4, **extra)
    report = run_distill(cfg)
    assert report.config["query_passage"] is True and report.config["document_per"] == "line"
    stats = report.body["distillation"]["embedding"]["sentences"]
    assert stats["query_passage_pairs"] == 30 and stats["kept"] == 60 == stats["sentences"]
    assert report.metrics["steps"] == 4 and torch.isfinite(torch.tensor(report.metrics["sim_final"]))
    corpus = corpora[-1]
    assert (corpus.student_rows is not None) is other
    pairs = _pairs(paragraphs, seed=cfg.seed)
    first = corpus.batches.steps(0)[0][0]
    assert first[1] == first[0] + 1 and first[0] % 2 == 0  # a query, then its own passage
    decoded = corpus.batches.collate([{"input_ids": corpus.train_ids[first[0]]}])["input_ids"][0]
    assert decoded.tolist() == list(corpus.train_ids[first[0]])
    tokenizer = AutoTokenizer.from_pretrained(st_teacher)
    query = tokenizer.decode(corpus.train_ids[first[0]], skip_special_tokens=True)
    assert query == tokenizer.decode(tokenizer(pairs[first[0] // 2][0])["input_ids"], skip_special_tokens=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(task=None), "--query-passage makes pairs for sentence embeddings: add --task embeddings"),
        (dict(task="glue:sst2"), "--query-passage makes pairs for sentence embeddings: use --task embeddings"),
        (dict(document_per="sentence"), "use --document-per line or file"),
        (dict(batch_size=7), "use an even --batch-size, not 7"),
        (dict(mask_inputs=True), "leave out --mask-inputs"),
        (dict(mask_inputs=False, alpha_ce=5.0), "leave out --mask-inputs, --alpha-ce"),
        (dict(alpha_sim=0.0), "add --alpha-sim or --alpha-rank"),
    ],
)
def test_query_passage_refuses_what_cannot_make_pairs(
    st_teacher: Path, paragraphs: Path, tmp_path: Path, change: dict, message: str
) -> None:
    out = tmp_path / "run"
    cfg = replace(config(st_teacher, paragraphs, out, query_passage=True, alpha_sim=1.0), **change)
    with pytest.raises(BadInput, match=message):
        run_distill(cfg)
    assert not out.exists()
