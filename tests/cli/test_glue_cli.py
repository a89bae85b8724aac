"""``distil finetune`` and ``distil eval-glue`` through the command line, on tiny models and tiny GLUE files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from distilcli.tasks.glue.hub import read_glue_parquet
from distilcli.tasks.glue.readers import read_glue_tsv
from distilcli.tasks.glue.metrics import compute_glue_metrics
from tests.cli.conftest import assert_one_line_error


@pytest.fixture(scope="module")
def glue_with_mnli(tiny_glue: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(GLUE TSV folder, hub parquet folder with MNLI train/validation_matched/_mismatched)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    hub = tmp_path_factory.mktemp("hub")
    (hub / "mnli").mkdir()
    rows = read_glue_tsv(tiny_glue / "RTE" / "train.tsv", "rte") + read_glue_tsv(tiny_glue / "RTE" / "dev.tsv", "rte")
    # Three labels: entailment when both sides agree, contradiction when not, neutral for short premises.
    labels = [1 if len(r.text_a.split()) < 5 else (0 if r.label == 0 else 2) for r in rows]
    for split, part in (("train", slice(0, 96)), ("validation_matched", slice(96, 116)), ("validation_mismatched", slice(116, 136))):
        chosen = rows[part]
        table = pa.table(
            {
                "premise": [r.text_a for r in chosen],
                "hypothesis": [r.text_b for r in chosen],
                "label": pa.array(labels[part], pa.int64()),
                "idx": pa.array(range(len(chosen)), pa.int32()),
            }
        )
        pq.write_table(table, hub / "mnli" / f"{split}-00000-of-00001.parquet")
    return tiny_glue, hub


@pytest.fixture(scope="module")
def models(tiny_encoders: dict[str, Path], glue_with_mnli: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of per-task fine-tuned tiny models named as the GLUE folders are (SST-2, CoLA, STS-B, MNLI)."""
    from distilcli.finetune.config import FinetuneConfig
    from distilcli.finetune.engine import run_finetune

    glue, hub = glue_with_mnli
    root = tmp_path_factory.mktemp("models")
    for task, folder in (("sst2", "SST-2"), ("cola", "CoLA"), ("stsb", "STS-B"), ("mnli", "MNLI")):
        run_finetune(
            FinetuneConfig(model=str(tiny_encoders["bert"]), task=task, out=root / folder, glue_dir=glue, hub_dir=hub,
                           batch_size=8, lr=1e-3, max_steps=12, eval_every=6)
        )  # fmt: skip
    return root


def assert_gate_failed(result, *fragments: str) -> None:
    """Exit 3; the report was shown, and the last stderr line is the one error line."""
    assert result.exit_code == 3, (result.exit_code, result.stderr)
    last = [line for line in result.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("error: quality gate failed") and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in last, (fragment, last)


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_predictions_tsv_recomputes_the_report(distil, models: Path, glue_with_mnli: tuple[Path, Path], tmp_path: Path) -> None:
    glue, hub = glue_with_mnli
    report_path, preds = tmp_path / "r.json", tmp_path / "preds"
    result = distil("eval-glue", "--model", models, "--task", "sst2,cola,stsb,mnli", "--glue-dir", glue, "--hub-dir", hub,
                    "--output", report_path, "--predictions-out", preds)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(report_path.read_text())
    dev = {
        "sst2": [e.raw_label for e in read_glue_tsv(glue / "SST-2" / "dev.tsv", "sst2")],
        "cola": [e.raw_label for e in read_glue_tsv(glue / "CoLA" / "dev.tsv", "cola")],
        "stsb": [e.label for e in read_glue_tsv(glue / "STS-B" / "dev.tsv", "stsb")],
        "mnli": [e.label for e in read_glue_parquet(hub / "mnli", "mnli")],
    }
    for task, display in (("sst2", "SST-2"), ("cola", "CoLA"), ("stsb", "STS-B"), ("mnli", "MNLI-m")):
        rows = _tsv(preds / f"{display}.tsv")
        assert [int(r["index"]) for r in rows] == list(range(len(dev[task])))  # every dev row, in file order
        if task == "stsb":
            predicted, gold = np.array([float(r["prediction"]) for r in rows]), np.array(dev[task])
        elif task == "mnli":  # parquet writes label indices, and so do the predictions
            predicted, gold = np.array([int(r["prediction"]) for r in rows]), np.array(dev[task])
        else:  # the TSV's own label strings
            assert {r["prediction"] for r in rows} <= {"0", "1"}
            predicted, gold = np.array([int(r["prediction"]) for r in rows]), np.array([int(x) for x in dev[task]])
        recomputed = compute_glue_metrics(task, predicted, gold)
        for name, value in recomputed.items():
            assert report["metrics"][f"{task}.{name}"] == pytest.approx(value, abs=1e-12), (task, name)
    scores = [report["metrics"][f"{t}.score"] for t in ("sst2", "cola", "stsb", "mnli")]
    assert report["metrics"]["macro_score"] == pytest.approx(sum(scores) / 4)
    assert report["primary_metric"] == "macro_score"


def test_int8_scores_the_quantized_model(distil, models: Path, tiny_glue: Path, tmp_path: Path) -> None:
    """--quantize dynamic-int8 scores what torch's dynamic quantization of the same model predicts."""
    from distilcli.models.quantize import quantize_dynamic_int8
    from distilcli.models.resolve import resolve_model
    from distilcli.tasks.glue.features import encode
    from distilcli.tasks.glue.head import load_classifier
    from distilcli.tasks.glue.metrics import score_predictions
    from distilcli.tasks.glue.predict import logits_to_predictions, predict_logits
    from distilcli.tasks.glue.spec import resolve_task

    out = tmp_path / "int8.json"
    result = distil("eval-glue", "--model", models / "STS-B", "--task", "stsb", "--glue-dir", tiny_glue,
                    "--quantize", "dynamic-int8", "--output", out)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["config"]["quantize"] == "dynamic-int8" and report["body"]["device"] == "cpu"
    task = resolve_task("stsb")
    loaded = load_classifier(resolve_model(str(models / "STS-B")), task, for_training=False)
    dev = read_glue_tsv(tiny_glue / "STS-B" / "dev.tsv", "stsb")
    features = encode(dev, loaded.tokenizer, loaded.adapter, 128)
    expected = {}
    for name, model in (("int8", quantize_dynamic_int8(loaded.model)), ("fp32", loaded.model)):
        logits = predict_logits(model, features, loaded.tokenizer.pad_token_id, device="cpu")
        expected[name] = score_predictions(task, logits_to_predictions(logits, True), [e.label for e in dev])
    assert report["metrics"]["stsb.pearson"] == pytest.approx(expected["int8"]["pearson"], abs=1e-9)
    assert expected["int8"]["pearson"] != expected["fp32"]["pearson"]  # the int8 model is really another model
    bad = distil("eval-glue", "--model", models / "STS-B", "--task", "stsb", "--glue-dir", tiny_glue, "--quantize", "none,dynamic-int8")
    assert bad.exit_code == 2 and "eval-glue scores one form" in bad.stderr


def test_all_reports_missing_tasks_as_missing(distil, models: Path, glue_with_mnli: tuple[Path, Path], tmp_path: Path) -> None:
    glue, hub = glue_with_mnli
    report_path = tmp_path / "r.json"
    result = distil("eval-glue", "--model", models, "--task", "all", "--glue-dir", glue, "--hub-dir", hub, "--output", report_path)
    assert result.exit_code == 0, result.stderr
    report = json.loads(report_path.read_text())
    body = report["body"]
    # MNLI-mm is scored with the MNLI model; MRPC and RTE have dev files but no model; QQP/QNLI/WNLI have neither.
    assert body["evaluated"] == ["cola", "sst2", "stsb", "mnli", "mnli-mm"]
    assert body["missing"] == ["mrpc", "qqp", "qnli", "rte", "wnli"]
    assert body["tasks"]["mrpc"]["reason"] == "no model for this task among --model"
    assert "no dev file" in body["tasks"]["qqp"]["reason"]
    assert not any(key.startswith(("mrpc.", "qqp.")) for key in report["metrics"])  # missing is not zero
    # The paper's macro: MNLI counts once (matched). Over 4 of the 9 tasks asked for, it says it is partial.
    scores = [report["metrics"][f"{t}.score"] for t in ("cola", "sst2", "stsb", "mnli")]
    assert "macro_score" not in report["metrics"] and report["primary_metric"] == "macro_score_partial"
    assert report["metrics"]["macro_score_partial"] == pytest.approx(sum(scores) / 4)
    assert (body["macro"]["tasks_measured"], body["macro"]["tasks_expected"]) == (4, 9)
    assert "MRPC" in result.stderr and "missing" in result.stderr and "over 4 of the 9 tasks" in result.stderr


def test_a_macro_gate_over_missing_tasks_exits_2_before_any_work(distil, models: Path, tiny_glue: Path, tmp_path: Path) -> None:
    """--task all with only some tasks there: a gate on macro cannot pass on what was measured."""
    report_path = tmp_path / "r.json"
    result = distil("eval-glue", "--model", models / "SST-2", "--task", "all", "--glue-dir", tiny_glue,
                    "--fail-under", "macro=0.4", "--output", report_path)  # fmt: skip
    assert_one_line_error(result, 2, "macro_score needs every task", "8 of 9 cannot be scored", "QQP", "--task sst2")
    assert not report_path.exists() and "SST-2:" not in result.stderr  # nothing was scored


def test_task_equals_dir_and_single_model(distil, models: Path, glue_with_mnli: tuple[Path, Path], tmp_path: Path) -> None:
    glue, _ = glue_with_mnli
    report_path = tmp_path / "r.json"
    result = distil("eval-glue", "--model", f"sst-2={models / 'SST-2'}", "--model", f"CoLA={models / 'CoLA'}",
                    "--task", "sst2,cola", "--glue-dir", glue, "--output", report_path)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(report_path.read_text())["body"]["evaluated"] == ["sst2", "cola"]
    single = distil("eval-glue", "--model", models / "SST-2", "--task", "SST-2", "--glue-dir", glue, "--output", report_path)
    assert single.exit_code == 0, single.stderr
    data = json.loads(report_path.read_text())
    assert data["primary_metric"] == "sst2.accuracy" and "macro_score" not in data["metrics"]


def test_fail_under_gates(distil, models: Path, glue_with_mnli: tuple[Path, Path], tmp_path: Path) -> None:
    glue, _ = glue_with_mnli
    report_path = tmp_path / "r.json"
    base = ["eval-glue", "--model", models / "SST-2", "--task", "sst2", "--glue-dir", glue, "--output", report_path]
    ok = distil(*base, "--fail-under", "accuracy=0.01")
    assert ok.exit_code == 0, ok.stderr
    bad = distil(*base, "--fail-under", "accuracy=0.01", "--fail-under", "sst2.accuracy=1.0")
    assert_gate_failed(bad, "sst2.accuracy 0.")
    report = json.loads(report_path.read_text())
    assert [g["passed"] for g in report["body"]["gates"]] == [True, False]  # the report is written before exit 3
    # One scale: the table, the metrics and the gate line show the report's fraction, not a percentage.
    accuracy = f"{report['metrics']['sst2.accuracy']:.4f}"
    assert f"accuracy {accuracy}" in bad.stderr and f"sst2.accuracy {accuracy} < 1" in bad.stderr
    assert f"{100 * report['metrics']['sst2.accuracy']:.2f}" not in bad.stderr


def test_limit_scores_a_fixed_recorded_subsample(distil, models: Path, tiny_glue: Path, tmp_path: Path) -> None:
    report_path, preds = tmp_path / "r.json", tmp_path / "preds.tsv"
    args = ["eval-glue", "--model", models / "SST-2", "--task", "sst2", "--glue-dir", tiny_glue, "--limit", "10"]
    result = distil(*args, "--output", report_path, "--predictions-out", preds)
    assert result.exit_code == 0, result.stderr
    report = json.loads(report_path.read_text())
    task = report["body"]["tasks"]["sst2"]
    assert (task["examples"], task["examples_total"], report["config"]["limit"]) == (10, 40, 10)
    rows = _tsv(preds)
    indices = [int(r["index"]) for r in rows]
    assert len(indices) == 10 and indices == sorted(indices) and indices != list(range(10))  # a draw, in file order
    gold = [int(e.raw_label) for e in read_glue_tsv(tiny_glue / "SST-2" / "dev.tsv", "sst2")]
    predicted = np.array([int(r["prediction"]) for r in rows])
    recomputed = compute_glue_metrics("sst2", predicted, np.array([gold[i] for i in indices]))
    assert report["metrics"]["sst2.accuracy"] == pytest.approx(recomputed["accuracy"])
    again = distil(*args, "--output", tmp_path / "again.json", "--predictions-out", tmp_path / "again.tsv")
    assert again.exit_code == 0 and [int(r["index"]) for r in _tsv(tmp_path / "again.tsv")] == indices  # the same draw
    assert "10 of 40" in result.stderr
    assert_one_line_error(distil(*args[:-1], "0"), 2, "--limit must be at least 1")
    assert_one_line_error(distil(*args, "--update-card"), 2, "--update-card records full dev-set scores")


def test_fail_under_on_a_missing_task_exits_2_before_scoring(distil, models: Path, glue_with_mnli: tuple[Path, Path], tmp_path: Path) -> None:
    glue, _ = glue_with_mnli
    result = distil("eval-glue", "--model", models, "--task", "sst2,mrpc", "--glue-dir", glue, "--fail-under", "mrpc.f1=0.5")
    assert_one_line_error(result, 2, "MRPC cannot be scored (no model for this task among --model)")
    assert "SST-2:" not in result.stderr  # decided before any model was loaded


@pytest.mark.parametrize(
    ("gate", "fragment"),
    [("accuracy=90", "accuracy=0.9"), ("bleu=0.5", "unknown metric 'bleu'"), ("sst2.f1=0.5", "SST-2 has no f1"), ("accuracy", "METRIC=VALUE"), ("retention=0.9", "--teacher-report"),
     ("mcc=0.1", "no task of --task sst2 has mcc; gate one of accuracy, score"), ("macro=0.5", "gate sst2.score=0.5 instead"),
     ("cola.mcc=0.1", "CoLA is not among --task sst2"), ("bleu=0.5", "known: accuracy, f1, mcc, pearson, spearman")],
)
def test_bad_gates_fail_before_any_work(distil, models: Path, tiny_glue: Path, tmp_path: Path, gate: str, fragment: str) -> None:
    report_path = tmp_path / "r.json"
    result = distil("eval-glue", "--model", models / "SST-2", "--task", "sst2", "--glue-dir", tiny_glue, "--output", report_path, "--fail-under", gate)
    assert_one_line_error(result, 2, fragment)
    assert not report_path.exists()


def test_teacher_report_gives_retention(distil, models: Path, glue_with_mnli: tuple[Path, Path], tmp_path: Path) -> None:
    glue, hub = glue_with_mnli
    teacher, student = tmp_path / "teacher.json", tmp_path / "student.json"
    args = ["--model", models, "--task", "sst2,cola,stsb", "--glue-dir", glue]
    assert distil("eval-glue", *args, "--output", teacher).exit_code == 0
    # Pretend the teacher scored higher: edit its scores (a real teacher would be another model).
    data = json.loads(teacher.read_text())
    for task in ("sst2", "cola", "stsb"):
        data["metrics"][f"{task}.score"] = 0.9
    teacher.write_text(json.dumps(data))
    result = distil("eval-glue", *args, "--teacher-report", teacher, "--output", student, "--fail-under", "macro_retention=0.0001")
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(student.read_text())["metrics"]
    for task in ("sst2", "cola", "stsb"):
        assert metrics[f"{task}.retention"] == pytest.approx(metrics[f"{task}.score"] / 0.9)
    macro = np.mean([metrics[f"{t}.score"] for t in ("sst2", "cola", "stsb")])
    assert metrics["macro_retention"] == pytest.approx(macro / 0.9)


def test_eval_errors_are_one_line(distil, models: Path, tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    headless = distil("eval-glue", "--model", tiny_encoders["bert"], "--task", "sst2", "--glue-dir", tiny_glue)
    assert_one_line_error(headless, 2, "no trained classification head", "distil finetune")
    wrong = distil("eval-glue", "--model", models / "SST-2", "--task", "cola", "--glue-dir", tiny_glue)
    assert_one_line_error(wrong, 2, "fine-tuned on SST-2, not CoLA")
    labels = distil("eval-glue", "--model", models / "SST-2", "--task", "mnli", "--dev-file", tmp_path / "x.tsv")
    assert_one_line_error(labels, 2)
    broken = tmp_path / "glue" / "SST-2"
    broken.mkdir(parents=True)
    (broken / "dev.tsv").write_text("sentence\tlabel\nok\t1\nno label here\n")
    # The data is checked before any model is read: even a missing model folder comes second.
    result = distil("eval-glue", "--model", tmp_path / "no-model", "--task", "sst2", "--glue-dir", tmp_path / "glue", "--output", tmp_path / "r.json")
    assert_one_line_error(result, 2, "dev.tsv:3", "expected 2 tab-separated fields")
    assert not (tmp_path / "r.json").exists()
    not_eval = distil("eval-glue", "--model", models / "SST-2", "--task", "sst2", "--glue-dir", tiny_glue, "--teacher-report", models / "SST-2" / "finetune_result.json")
    assert_one_line_error(not_eval, 2, "not a distilcli report")


def test_cli_finetune(distil, tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    out, report_path = tmp_path / "run", tmp_path / "ft.json"
    args = ["finetune", "--model", tiny_encoders["distilbert"], "--task", "MRPC", "--glue-dir", tiny_glue, "--out", out,
            "--max-steps", "4", "--batch-size", "8", "--log-every", "2", "--eval-every", "2"]  # fmt: skip
    result = distil(*args, "--output", report_path)
    assert result.exit_code == 0, result.stderr
    data = json.loads(report_path.read_text())
    assert data["command"] == "finetune" and data["primary_metric"] == "f1"
    assert "step 2/4" in result.stderr and "eval step 2/4" in result.stderr
    assert_one_line_error(distil(*args), 2, "--overwrite")
    assert distil(*args, "--overwrite", "--seeds", "3,4").exit_code == 0
    assert sorted(p.name for p in out.glob("seed-*")) == ["seed-3", "seed-4"]
    unknown = distil("finetune", "--model", tiny_encoders["bert"], "--task", "sst3", "--glue-dir", tiny_glue, "--out", tmp_path / "x")
    assert_one_line_error(unknown, 2, "did you mean 'sst2'")


def test_finetune_in_two_processes(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    out, report = tmp_path / "ddp", tmp_path / "ddp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29518",
        "-m", "distilcli", "finetune", "--model", str(tiny_encoders["bert"]), "--task", "sst2", "--glue-dir", str(tiny_glue),
        "--out", str(out), "--output", str(report), "--max-steps", "4", "--batch-size", "8", "--eval-every", "2",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(report.read_text())
    assert data["body"]["runs"][0]["processes"] == 2
    assert result.stderr.count("report written to") == 1  # written once, by rank 0
    assert (out / "config.json").is_file()


def test_cli_task_distillation(distil, models: Path, tiny_glue: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "kd.json"
    args = ["distill", "--teacher", models / "SST-2", "--task", "glue:sst2", "--glue-dir", tiny_glue, "--out", tmp_path / "kd",
            "--layer-map", "0,2", "--max-steps", "4", "--batch-size", "8", "--cache-teacher", "--log-every", "2"]  # fmt: skip
    result = distil(*args, "--output", report_path)
    assert result.exit_code == 0, result.stderr
    assert "kd " in result.stderr and "task " in result.stderr  # both loss terms on the status lines
    data = json.loads(report_path.read_text())
    assert data["body"]["mode"] == "task" and data["config"]["cache_teacher"] is True
    assert_one_line_error(distil(*args), 2, "--overwrite")
    no_corpus = distil("distill", "--teacher", models / "SST-2", "--out", tmp_path / "x")
    assert_one_line_error(no_corpus, 2, "--corpus", "--task glue:<name>")


def test_eval_sts_cli_gate_and_errors(distil, tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    model = tiny_encoders["bert"]
    result = distil("eval-sts", "--model", model, "--glue-dir", tiny_glue, "--output", tmp_path / "r.json", "--fail-under", "spearman=1")
    assert result.exit_code == 3, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["command"] == "eval-sts" and report["body"]["pairs"] == 40 and report["body"]["gates"][0]["passed"] is False
    assert "zero-shot STS" in result.stdout + result.stderr
    assert_one_line_error(distil("eval-sts", "--glue-dir", tiny_glue), 2, "--model")
    assert_one_line_error(distil("eval-sts", "--model", model, "--pairs", tmp_path / "none.tsv"), 2, "no such file")
    assert_one_line_error(distil("eval-sts", "--model", model, "--glue-dir", tiny_glue, "--fail-under", "f1=0.5"), 2, "unknown metric")
    # Out of the report's scale (a percentage): exit 2 before any work, with the value likely meant.
    assert_one_line_error(distil("eval-sts", "--model", model, "--glue-dir", tiny_glue, "--fail-under", "spearman=80"), 2, "write spearman=0.8")
    assert_one_line_error(distil("eval-sts", "--model", model, "--glue-dir", tiny_glue, "--fail-under", "spearman=1.01"), 2, "from -1 to 1")


def test_eval_sts_one_scale_and_limit(distil, tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["eval-sts", "--model", tiny_encoders["bert"], "--model", tiny_encoders["roberta"], "--glue-dir", tiny_glue, "--limit", "12"]
    result = distil(*args, "--output", out)
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text())
    assert (report["body"]["pairs"], report["body"]["pairs_total"], report["config"]["limit"]) == (12, 40, 12)
    retention = f"{report['metrics']['model2.retention']:.4f}"
    assert result.stderr.count(retention) == 2  # the models table and the metrics table: the same number
    assert "%" not in result.stderr.split("model2.retention")[0].split("zero-shot STS")[1]
    again = distil(*args, "--output", tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text())["metrics"] == report["metrics"]  # the same pairs
    assert_one_line_error(distil(*args[:-1], "2"), 2, "--limit must be at least 3")
