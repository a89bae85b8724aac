"""``distil finetune --task squad`` and ``distil eval-squad`` through the command line, on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distilcli.tasks.squad.data import read_squad_json
from distilcli.tasks.squad.metrics import golds, score_v1
from tests.cli.conftest import assert_one_line_error

WINDOW = ["--max-seq-length", "64", "--doc-stride", "16", "--max-query-length", "16"]


@pytest.fixture(scope="module")
def squad_models(tiny_encoders: dict[str, Path], tiny_squad: Path, tiny_squad_v2: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny BERT models fine-tuned on the tiny SQuAD v1.1 and v2.0 files."""
    from typer.testing import CliRunner

    from distilcli.cli import app

    root = tmp_path_factory.mktemp("squad-models")
    out = {}
    for task, data in (("squad", tiny_squad), ("squad_v2", tiny_squad_v2)):
        args = ["finetune", "--model", tiny_encoders["bert"], "--task", task, "--train-file", data / "train.json",
                "--dev-file", data / "dev.json", "--out", root / task, "--max-steps", "12", "--batch-size", "8", "--lr", "1e-3", *WINDOW]  # fmt: skip
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        out[task] = root / task
    return out


def test_eval_squad_v1_writes_official_predictions_that_rescore_the_same(distil, squad_models, tiny_squad: Path, tmp_path: Path) -> None:
    report_path, predictions = tmp_path / "report.json", tmp_path / "predictions.json"
    result = distil("eval-squad", "--model", squad_models["squad"], "--dev-file", tiny_squad / "dev.json", "-o", report_path,
                    "--predictions-out", predictions, "--nbest-out", tmp_path / "nbest.json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["command"] == "eval-squad" and report["primary_metric"] == "f1"
    answers = json.loads(predictions.read_text())
    dev = read_squad_json(tiny_squad / "dev.json")
    assert set(answers) == {e.id for e in dev.examples} and all(isinstance(v, str) for v in answers.values())
    # Recompute from the written file with the scoring module, then through --predictions.
    expected = score_v1(golds(dev.examples), answers)
    assert report["metrics"]["exact_match"] == pytest.approx(expected["exact_match"])
    assert report["metrics"]["f1"] == pytest.approx(expected["f1"])
    rescored = tmp_path / "rescored.json"
    result = distil("eval-squad", "--predictions", predictions, "--dev-file", tiny_squad / "dev.json", "-o", rescored)
    assert result.exit_code == 0, result.stderr
    assert json.loads(rescored.read_text())["metrics"]["f1"] == pytest.approx(report["metrics"]["f1"])
    nbest = json.loads((tmp_path / "nbest.json").read_text())
    assert all(entries[0]["text"] == answers[qid] for qid, entries in nbest.items() if entries)
    # The same model's report at fine-tuning time agrees with eval-squad.
    assert report["body"]["max_seq_length"] == 64 and report["body"]["doc_stride"] == 16


def test_eval_squad_v2_null_odds_and_best_thresholds(distil, squad_models, tiny_squad_v2: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = distil("eval-squad", "--model", squad_models["squad_v2"], "--dev-file", tiny_squad_v2 / "dev.json", "-o", report_path,
                    "--predictions-out", tmp_path / "p.json", "--null-odds-out", tmp_path / "odds.json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(report_path.read_text())["metrics"]
    for key in ("exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total", "NoAns_exact", "NoAns_f1", "NoAns_total",
                "best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"):  # fmt: skip
        assert key in metrics, key
    assert metrics["best_f1"] >= metrics["f1"] - 1e-9  # the search includes the threshold actually used
    # The official script's way (threshold 1.0 on the odds): with --null-threshold 0 every question whose
    # odds exceed 1.0 was already answered "", so the predictions + null odds reproduce the model's figures.
    # (best_* differ: with a model the search switches to each question's best span, not its written answer.)
    rescored = tmp_path / "rescored.json"
    result = distil("eval-squad", "--predictions", tmp_path / "p.json", "--null-odds", tmp_path / "odds.json",
                    "--dev-file", tiny_squad_v2 / "dev.json", "-o", rescored)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    again = json.loads(rescored.read_text())["metrics"]
    for key in ("exact", "f1", "HasAns_f1", "NoAns_f1"):
        assert again[key] == pytest.approx(metrics[key]), key
    assert again["best_f1"] <= metrics["best_f1"] + 1e-9


def test_eval_squad_gate(distil, squad_models, tiny_squad: Path, tmp_path: Path) -> None:
    args = ["eval-squad", "--model", squad_models["squad"], "--dev-file", tiny_squad / "dev.json", *WINDOW]
    result = distil(*args, "-o", tmp_path / "r.json", "--fail-under", "f1=100")
    assert result.exit_code == 3 and "quality gate failed: f1" in result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["body"]["gates"][0]["passed"] is False  # report written first
    # One scale: the report, the table and the gate all give percentages.
    f1 = report["metrics"]["f1"]
    assert f"f1 {f1:.2f} < 100" in result.stderr and f"{f1:.4f}" in result.stderr
    assert_one_line_error(distil(*args, "-o", tmp_path / "x.json", "--fail-under", "f1=101"), 2, "a percentage from 0 to 100")
    assert not (tmp_path / "x.json").exists()
    assert distil(*args, "--fail-under", "em=0").exit_code == 0
    assert_one_line_error(distil(*args, "--fail-under", "f1=0.8"), 2, "percentages", "f1=80")
    assert_one_line_error(distil(*args, "--fail-under", "HasAns_f1=50"), 2, "unknown metric")
    assert distil(*args, "--fail-under", "EM=0", "--fail-under", "F1=0").exit_code == 0  # names in any case


def test_eval_squad_bad_input(distil, squad_models, tiny_squad: Path, tiny_squad_v2: Path, tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    dev = tiny_squad / "dev.json"
    report = tmp_path / "r.json"
    assert_one_line_error(distil("eval-squad", "--dev-file", dev), 2, "--model", "--predictions")
    assert_one_line_error(distil("eval-squad", "--model", squad_models["squad"], "--predictions", dev, "--dev-file", dev), 2, "either")
    (tmp_path / "broken.json").write_text('{"data": [')
    assert_one_line_error(distil("eval-squad", "--model", squad_models["squad"], "--dev-file", tmp_path / "broken.json", "-o", report), 2, "broken.json", "not valid JSON")
    assert not report.exists()
    assert_one_line_error(distil("eval-squad", "--model", tiny_encoders["bert"], "--dev-file", dev, *WINDOW), 2, "no trained question-answering head", "distil finetune")
    assert_one_line_error(distil("eval-squad", "--model", squad_models["squad"], "--dev-file", dev, "--null-odds-out", tmp_path / "o.json"), 2, "v1.1")
    (tmp_path / "preds.json").write_text('["not", "a", "map"]')
    assert_one_line_error(distil("eval-squad", "--predictions", tmp_path / "preds.json", "--dev-file", dev), 2, "preds.json", "JSON object")
    assert_one_line_error(distil("eval-squad", "--model", squad_models["squad"], "--dev-file", dev, "--max-seq-length", "500"), 2, "exceeds the 66 positions")
    assert_one_line_error(distil("eval-squad", "--model", squad_models["squad"]), 2, "--dev-file")
    # No --dev-file: the hub's copy, which is unreachable here (HF_HUB_OFFLINE in tests).
    assert_one_line_error(distil("eval-squad", "--predictions", dev, "--task", "squad"), 2, "cannot load rajpurkar/squad", "--dev-file")
    assert_one_line_error(distil("eval-squad", "--predictions", dev, "--dev-file", dev, "--na-prob-thresh", "inf"), 2, "finite")
    assert_one_line_error(distil("eval-squad", "--predictions", tmp_path, "--dev-file", dev), 2, "is a folder")
    (tmp_path / "other.json").write_text(json.dumps({"not-a-dev-question": "x"}))
    assert_one_line_error(distil("eval-squad", "--predictions", tmp_path / "other.json", "--dev-file", dev), 2, "right dev file")
    v2_id = read_squad_json(tiny_squad_v2 / "dev.json").examples[0].id
    (tmp_path / "v2.json").write_text(json.dumps({v2_id: "x"}))
    (tmp_path / "odds.json").write_text(json.dumps({}))
    assert_one_line_error(distil("eval-squad", "--predictions", tmp_path / "v2.json", "--null-odds", tmp_path / "odds.json",
                                 "--dev-file", tiny_squad_v2 / "dev.json"), 2, "no null odds for 1 answered")  # fmt: skip


def test_eval_squad_refuses_a_glue_model(distil, tiny_encoders: dict[str, Path], tiny_glue: Path, tiny_squad: Path, tmp_path: Path) -> None:
    result = distil("finetune", "--model", tiny_encoders["bert"], "--task", "sst2", "--glue-dir", tiny_glue, "--out", tmp_path / "sst2", "--max-steps", "1")
    assert result.exit_code == 0, result.stderr
    assert_one_line_error(distil("eval-squad", "--model", tmp_path / "sst2", "--dev-file", tiny_squad / "dev.json"), 2, "fine-tuned on sst2, not SQuAD")


def test_predictions_file_missing_questions_score_zero(distil, tiny_squad: Path, tmp_path: Path) -> None:
    dev = read_squad_json(tiny_squad / "dev.json")
    first = dev.examples[0]
    (tmp_path / "p.json").write_text(json.dumps({first.id: first.answers[0].text}))
    result = distil("eval-squad", "--predictions", tmp_path / "p.json", "--dev-file", tiny_squad / "dev.json", "-o", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((tmp_path / "r.json").read_text())["metrics"]
    assert metrics["exact_match"] == pytest.approx(100 / len(dev.examples))
    assert metrics["missing_predictions"] == len(dev.examples) - 1
    assert f"warning: {len(dev.examples) - 1} of {len(dev.examples)} questions have no prediction" in result.stderr


def test_eval_squad_limit_scores_a_fixed_subsample(distil, squad_models, tiny_squad: Path, tmp_path: Path) -> None:
    dev = read_squad_json(tiny_squad / "dev.json")
    args = ["eval-squad", "--model", squad_models["squad"], "--dev-file", tiny_squad / "dev.json", *WINDOW, "--limit", "5"]
    result = distil(*args, "-o", tmp_path / "r.json", "--predictions-out", tmp_path / "p.json")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    answers = json.loads((tmp_path / "p.json").read_text())
    assert (report["body"]["questions"], report["body"]["questions_total"]) == (5, len(dev.examples))
    kept = [e for e in dev.examples if e.id in answers]
    assert len(kept) == 5 and [e.id for e in kept] != [e.id for e in dev.examples[:5]]  # a draw, not the head
    assert report["metrics"]["f1"] == pytest.approx(score_v1(golds(kept), answers)["f1"])
    # Scoring a whole-file predictions file on the same --limit gives the same figures, with no "unknown" answers.
    full = tmp_path / "full.json"
    assert distil("eval-squad", "--model", squad_models["squad"], "--dev-file", tiny_squad / "dev.json", *WINDOW, "--predictions-out", full).exit_code == 0
    rescored = distil("eval-squad", "--predictions", full, "--dev-file", tiny_squad / "dev.json", "--limit", "5", "-o", tmp_path / "s.json")
    assert rescored.exit_code == 0, rescored.stderr
    again = json.loads((tmp_path / "s.json").read_text())
    assert again["body"]["unknown_predictions"] == 0 and again["metrics"]["f1"] == pytest.approx(report["metrics"]["f1"])
    assert_one_line_error(distil(*args[:-1], "0"), 2, "--limit must be a positive integer")
    assert_one_line_error(distil(*args, "--batch-size", "0"), 2, "--batch-size must be a positive integer")  # its flag
