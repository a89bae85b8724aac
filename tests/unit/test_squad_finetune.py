"""``distil finetune --task squad|squad_v2`` through the Python API, on tiny models and tiny SQuAD files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distilcli.errors import BadInput
from distilcli.evaluate.squad_eval import EvalSquadConfig, run_eval_squad
from distilcli.finetune.config import FinetuneConfig
from distilcli.finetune.engine import run_finetune
from distilcli.tasks.squad.data import read_squad_json
from distilcli.tasks.squad.metrics import golds, score_v1


def _cfg(model: Path, squad: Path, out: Path, **overrides) -> FinetuneConfig:
    base = dict(
        model=str(model), task="squad", out=out, train_file=squad / "train.json", dev_file=squad / "dev.json",
        batch_size=8, lr=1e-3, max_steps=6, max_seq_length=64, doc_stride=16, max_query_length=16, log_every=2,
    )  # fmt: skip
    base.update(overrides)
    return FinetuneConfig(**base)


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert", "mpnet", "electra"])
def test_qa_head_on_every_architecture(arch: str, tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForQuestionAnswering

    report = run_finetune(_cfg(tiny_encoders[arch], tiny_squad, tmp_path / "run", max_steps=2))
    assert set(report.metrics) >= {"exact_match", "f1", "train_examples", "dev_examples"}
    assert report.primary_metric == "f1"
    # The reported scores are the saved model's: its answers, written by eval-squad and rescored here
    # by the official formula, give the same figures.
    predictions = tmp_path / "predictions.json"
    run_eval_squad(EvalSquadConfig(model=str(tmp_path / "run"), dev_file=tiny_squad / "dev.json", predictions_out=predictions))
    expected = score_v1(golds(read_squad_json(tiny_squad / "dev.json").examples), json.loads(predictions.read_text()))
    assert report.metrics["f1"] == pytest.approx(expected["f1"]) and report.metrics["exact_match"] == pytest.approx(expected["exact_match"])
    model = AutoModelForQuestionAnswering.from_pretrained(tmp_path / "run")
    assert model.config.distilcli["finetune"]["task"] == "squad"
    assert model.config.distilcli["finetune"]["doc_stride"] == 16
    assert "AutoModelForQuestionAnswering" in (tmp_path / "run" / "README.md").read_text()


def test_squad_training_lowers_the_loss_and_keeps_the_best_f1(tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path: Path) -> None:
    report = run_finetune(_cfg(tiny_encoders["bert"], tiny_squad, tmp_path / "run", max_steps=24, eval_every=8))
    run = report.body["runs"][0]
    losses = run["loss_curve"]["loss"]
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4
    best = max(run["history"], key=lambda h: h["metrics"]["f1"])
    assert report.metrics["f1"] == best["metrics"]["f1"] and report.metrics["best_step"] == best["step"]
    assert report.metrics["dev_examples"] == 24  # questions, however many windows they span


def test_squad_v2_metrics(tiny_encoders: dict[str, Path], tiny_squad_v2: Path, tmp_path: Path) -> None:
    report = run_finetune(_cfg(tiny_encoders["bert"], tiny_squad_v2, tmp_path / "run", task="squad_v2", max_steps=2))
    assert {"exact", "f1", "HasAns_f1", "NoAns_f1", "best_f1", "best_f1_thresh"} <= set(report.metrics)
    assert report.body["task_display"] == "SQuAD v2.0"


def test_squad_data_errors_come_before_any_model(tmp_path: Path, tiny_squad: Path, tiny_squad_v2: Path) -> None:
    (tmp_path / "bad.json").write_text('{"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "q"}]}]}]}')
    with pytest.raises(BadInput, match=r"bad\.json: article 0 paragraph 0 question 'q': missing field 'question'"):
        run_finetune(_cfg(tmp_path / "no-model", tiny_squad, tmp_path / "run", train_file=tmp_path / "bad.json"))
    with pytest.raises(BadInput, match="use --task squad_v2"):
        run_finetune(_cfg(tmp_path / "no-model", tiny_squad_v2, tmp_path / "run"))
    with pytest.raises(BadInput, match="also in"):
        run_finetune(_cfg(tmp_path / "no-model", tiny_squad, tmp_path / "run", dev_file=tiny_squad / "train.json"))
    with pytest.raises(BadInput, match="--doc-stride"):
        run_finetune(_cfg(tmp_path / "no-model", tiny_squad, tmp_path / "run", doc_stride=60))
    assert not (tmp_path / "run").exists()


def test_squad_model_checks_before_training(tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path: Path) -> None:
    # The tiny RoBERTa has 66 position embeddings, of which 65 are usable (they start at pad_token_id + 1).
    with pytest.raises(BadInput, match="exceeds the 65 positions"):
        run_finetune(_cfg(tiny_encoders["roberta"], tiny_squad, tmp_path / "run", max_seq_length=66, doc_stride=16))
    with pytest.raises(BadInput, match="--null-threshold must be a finite"):
        run_finetune(_cfg(tiny_encoders["bert"], tiny_squad, tmp_path / "run", null_threshold=float("nan")))
    assert not (tmp_path / "run").exists()


def test_misaligned_training_answer_is_refused(tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path: Path) -> None:
    import json

    document = json.loads((tiny_squad / "train.json").read_text())
    qa = document["data"][0]["paragraphs"][0]["qas"][0]
    qa["answers"][0]["answer_start"] += 1
    (tmp_path / "train.json").write_text(json.dumps(document))
    with pytest.raises(BadInput, match=f"question '{qa['id']}': the answer .* is not at answer_start"):
        run_finetune(_cfg(tiny_encoders["bert"], tiny_squad, tmp_path / "run", train_file=tmp_path / "train.json"))
