"""Zero-shot STS: pooling read from sentence-transformers files, pairs, and eval-sts against scipy."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from distilcli.errors import BadInput
from distilcli.evaluate.sts_eval import EvalStsConfig, parse_sts_gate, run_eval_sts
from distilcli.models.pooling import SentencePooling, pool, read_pooling
from distilcli.tasks.sts import load_pairs
from tests.conftest import write_sentence_transformers_files


def _sentence_transformers_files(folder: Path, flags: dict[str, bool], normalize: bool, length: int | None = None) -> None:
    write_sentence_transformers_files(folder, flags, normalize="2_Normalize" if normalize else None, max_seq_length=length)


def test_pooling_read_from_sentence_transformers_files(tmp_path: Path) -> None:
    assert read_pooling(tmp_path) == SentencePooling()  # no files: mean pooling, said so
    assert read_pooling(tmp_path).source.startswith("default: mean pooling")
    _sentence_transformers_files(tmp_path / "cls", {"pooling_mode_cls_token": True}, normalize=False)
    assert read_pooling(tmp_path / "cls").modes == ("cls",) and not read_pooling(tmp_path / "cls").normalize
    _sentence_transformers_files(tmp_path / "mean", {"pooling_mode_mean_tokens": True}, normalize=True, length=256)
    mean = read_pooling(tmp_path / "mean")
    assert (mean.modes, mean.normalize, mean.max_seq_length, mean.name) == (("mean",), True, 256, "mean + normalize")
    _sentence_transformers_files(tmp_path / "both", {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True}, normalize=False)
    assert read_pooling(tmp_path / "both").modes == ("cls", "mean")  # sentence-transformers' concatenation order
    _sentence_transformers_files(tmp_path / "odd", {"pooling_mode_lasttoken": True}, normalize=False)
    with pytest.raises(BadInput, match="lasttoken"):
        read_pooling(tmp_path / "odd")
    _sentence_transformers_files(tmp_path / "none", {}, normalize=False)
    with pytest.raises(BadInput, match="every pooling mode off"):
        read_pooling(tmp_path / "none")


def test_pool_by_hand() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, -4.0], [100.0, 100.0]]])  # the third token is padding
    mask = torch.tensor([[1, 1, 0]])
    assert pool(hidden, mask, SentencePooling(("mean",))).tolist() == [[2.0, -1.0]]
    assert pool(hidden, mask, SentencePooling(("cls",))).tolist() == [[1.0, 2.0]]
    assert pool(hidden, mask, SentencePooling(("max",))).tolist() == [[3.0, 2.0]]
    assert pool(hidden, mask, SentencePooling(("mean_sqrt_len",)))[0].tolist() == pytest.approx([4 / 2**0.5, -2 / 2**0.5])
    assert pool(hidden, mask, SentencePooling(("cls", "mean"))).tolist() == [[1.0, 2.0, 2.0, -1.0]]
    normalized = pool(hidden, mask, SentencePooling(("mean",), normalize=True))
    assert normalized[0].tolist() == pytest.approx([2 / 5**0.5, -1 / 5**0.5])


def _pairs_file(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path.write_text("sentence1\tsentence2\tscore\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in rows), encoding="utf-8")
    return path


ROWS = [("the cat sat", "a cat sat down", 4.5), ("good day", "bad night", 0.5), ("the dog runs", "the dog runs fast", 4.0),
        ("a long road", "the sea", 1.0), ("bad bad", "good good good", 0.2), ("the cat", "the cat", 5.0)]  # fmt: skip


def test_eval_sts_spearman_equals_scipy_on_independent_embeddings(tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    from scipy.stats import pearsonr, spearmanr
    from transformers import AutoModel, AutoTokenizer

    pairs = _pairs_file(tmp_path / "pairs.tsv", ROWS)
    model_dir = tiny_encoders["bert"]
    report, outcomes = run_eval_sts(EvalStsConfig(model=[str(model_dir), str(tiny_encoders["roberta"])], pairs=pairs, batch_size=2))
    # Independently: each pair embedded alone (no padding at all), mean of its token states.
    tokenizer, model = AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()
    with torch.no_grad():
        vectors = {s: model(**tokenizer(s, return_tensors="pt")).last_hidden_state[0].mean(0) for row in ROWS for s in row[:2]}
    cosines = [torch.nn.functional.cosine_similarity(vectors[a], vectors[b], dim=0).item() for a, b, _ in ROWS]
    gold = [s for _, _, s in ROWS]
    assert report.metrics["spearman"] == pytest.approx(spearmanr(cosines, gold).statistic, abs=1e-6)
    assert report.metrics["pearson"] == pytest.approx(pearsonr(cosines, gold).statistic, abs=1e-5)
    rows = report.body["models"]
    assert rows[0]["pooling"] == "mean" and rows[1]["retention"] == pytest.approx(rows[1]["spearman"] / rows[0]["spearman"])
    assert report.metrics["model2.retention"] == rows[1]["retention"] and outcomes == []
    assert report.body["pairs"] == 6 and report.body["sentences"] == 11  # "the cat" twice: embedded once


def test_gates_and_bad_input(tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    pairs = _pairs_file(tmp_path / "pairs.tsv", ROWS)
    _, outcomes = run_eval_sts(EvalStsConfig(model=[str(tiny_encoders["bert"])] * 2, pairs=pairs, fail_under=["spearman=-1", "model2.retention=2"]))
    assert [(o["metric"], o["passed"]) for o in outcomes] == [("model1.spearman", True), ("model2.spearman", True), ("model2.retention", False)]
    for spec, match in [("cosine=1", "unknown metric"), ("model3.spearman=1", "model1 to model2"), ("spearman", "METRIC=VALUE")]:
        with pytest.raises(BadInput, match=match):
            parse_sts_gate(spec, 2)
    with pytest.raises(BadInput, match="exceeds the 66 positions"):
        run_eval_sts(EvalStsConfig(model=[str(tiny_encoders["bert"])], pairs=pairs, max_seq_length=100))
    with pytest.raises(BadInput, match="retention compares"):
        parse_sts_gate("retention=0.9", 1)
    with pytest.raises(BadInput, match="at least 3"):
        load_pairs(pairs=_pairs_file(tmp_path / "short.tsv", ROWS[:2]))
    with pytest.raises(BadInput, match="scores that vary"):
        load_pairs(pairs=_pairs_file(tmp_path / "flat.tsv", [(a, b, 1.0) for a, b, _ in ROWS]))
    with pytest.raises(BadInput, match="no pairs to score"):
        load_pairs()
    with pytest.raises(BadInput, match="no STS-B dev set"):
        load_pairs(glue_dir=tmp_path)


def test_stsb_dev_from_a_glue_folder(tiny_glue: Path) -> None:
    pairs = load_pairs(glue_dir=tiny_glue)
    assert len(pairs) == 40 and pairs.source.endswith("STS-B/dev.tsv") and all(0 <= s <= 5 for s in pairs.scores)
