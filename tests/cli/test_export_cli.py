"""``distil export`` through the command line: bad input is one line (exit 2), a failed check exits 1 and leaves nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distilcli.reports import load_report
from tests.cli.conftest import assert_one_line_error
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    config = tiny_config("bert")
    config.num_labels = 2
    folder = tmp_path_factory.mktemp("export-cli") / "cls"
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def test_a_failed_check_exits_1_and_leaves_no_folder(distil, classifier: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    from distilcli.export.config import TOLERANCES, Tolerance

    monkeypatch.setitem(TOLERANCES, ("none", "text-classification"), Tolerance(min_cosine=1.5))  # no graph meets it
    parent = tmp_path / "exports"
    parent.mkdir()
    result = distil("export", classifier, "--out", parent / "cls-onnx", "-o", tmp_path / "report.json")
    assert result.exit_code == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0]) and "Traceback" not in result.stderr  # the report, then one line
    for fragment in ("export check failed", "worst cosine", "< 1.5", "nothing was written"):
        assert fragment in errors[0], errors[0]
    assert _leftovers(parent) == []  # neither the folder nor its temporary one
    report = load_report(tmp_path / "report.json")  # the numbers of the failed check are still reported
    assert report.metrics["check.passed"] == 0.0 and report.body["written"] is False and report.artifacts == {}


def test_an_export_then_an_existing_out(distil, classifier: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    out = tmp_path / "cls-onnx"
    result = distil("export", classifier, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert "onnx/model.onnx" in json.loads(result.stdout)["body"]["files"] and (out / "onnx" / "model.onnx").is_file()
    assert f"exported to {out}" in result.stderr
    assert_one_line_error(distil("export", classifier, "--out", out), 2, "already exists", "--overwrite")
    again = distil("export", classifier, "--out", out, "--overwrite", "--quantize", "dynamic-int8")
    assert again.exit_code == 0, again.stderr
    assert [p.name for p in (out / "onnx").iterdir()] == ["model_qint8.onnx"]


def _gpt2(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 1, "n_embd": 8, "n_head": 2}))
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def _question_answering(folder: Path, tokenizer) -> Path:
    from transformers import AutoModelForQuestionAnswering

    AutoModelForQuestionAnswering.from_config(tiny_config("bert")).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    ("case", "extra", "fragments"),
    [
        ("not-a-model", [], ["has no config.json", "not a Hugging Face model folder"]),
        ("gpt2", [], ["architecture 'gpt2' is not supported"]),
        ("qa", [], ["is a BertForQuestionAnswering", "sequence classifiers and sentence encoders"]),
        ("existing-out", [], ["output folder", "already exists and was not written by distilcli"]),
        ("classifier", ["--format", "tflite"], ["--format 'tflite'", "onnx"]),
        ("classifier", ["--quantize", "int4"], ["--quantize 'int4'", "dynamic-int8"]),
        ("classifier", ["--task", "squad"], ["distil export scores GLUE classifiers"]),
        ("classifier", ["--task", "mnli"], ["has 2 output label(s) but", "needs 3"]),
        ("classifier", ["--glue-dir", "."], ["a dev set needs --task"]),
        ("classifier", ["--limit", "5"], ["--limit subsamples the dev set"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(distil, classifier: Path, tokenizer, tmp_path: Path, case: str, extra: list[str], fragments: list[str]) -> None:
    model = {
        "not-a-model": tmp_path,
        "gpt2": _gpt2(tmp_path / "gpt2") if case == "gpt2" else None,
        "qa": _question_answering(tmp_path / "qa", tokenizer) if case == "qa" else None,
    }.get(case) or classifier
    out = tmp_path / "out"
    if case == "existing-out":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    result = distil("export", model, "--out", out, *extra, "--output", tmp_path / "r.json")
    assert_one_line_error(result, 2, *fragments)
    assert not (tmp_path / "r.json").exists()
    assert case == "existing-out" or not out.exists()


def test_an_exported_folder_is_not_a_model_to_export(distil, tmp_path: Path) -> None:
    folder = tmp_path / "done"
    folder.mkdir()
    (folder / "export.json").write_text(json.dumps({"onnx_file": "m.onnx", "inputs": [], "outputs": [], "quantize": "none", "kind": "x"}))
    (folder / "m.onnx").write_bytes(b"")
    assert_one_line_error(distil("export", folder, "--out", tmp_path / "o"), 2, "is an exported folder", "export the PyTorch model")


def test_model_and_out_are_required(distil, classifier: Path) -> None:
    assert_one_line_error(distil("export"), 2, "Missing argument")
    assert_one_line_error(distil("export", classifier), 2, "missing required option(s) --out")
