"""``distil export``: tiny classifiers and sentence encoders exported to ONNX, loaded in a fresh process without distilcli."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from distilcli.benchmark.config import BenchmarkConfig, variants
from distilcli.export.config import ExportConfig
from distilcli.export.run import run_export
from distilcli.models.onnx import MANIFEST, read_exported
from tests.conftest import tiny_config, write_sentence_transformers_files

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

#: Runs in a fresh interpreter: ONNX Runtime and the folder's tokenizer, nothing of distilcli.
FRESH = r"""
import json, sys
import numpy as np, onnxruntime as ort
from transformers import AutoTokenizer

folder, texts, output = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
manifest = json.load(open(f"{folder}/export.json"))
session = ort.InferenceSession(f"{folder}/{manifest['onnx_file']}")
tokenizer = AutoTokenizer.from_pretrained(folder)
batch = tokenizer(texts, padding=True, truncation=True, return_tensors="np")
inputs = {i.name: batch[i.name].astype(np.int64) for i in session.get_inputs()}
values = session.run([output], inputs)[0]
print(json.dumps({"values": values.tolist(), "distilcli_imported": "distilcli" in sys.modules,
                  "inputs": sorted(inputs), "outputs": [o.name for o in session.get_outputs()]}))
"""

TEXTS = ["the good film and the fast music", "a bad slow night", "the dog was in the river on a long day of rain"]


def _fresh(folder: Path, output: str, texts: list[str] = TEXTS) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, "-c", FRESH, str(folder), json.dumps(texts), output],
                            capture_output=True, text=True, env=env, cwd=folder, timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def make_classifier(folder: Path, tokenizer, model_type: str = "bert") -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    config = tiny_config(model_type)
    config.num_labels = 2
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_sentence_encoder(folder: Path, tokenizer, model_type: str = "bert") -> Path:
    import torch
    from transformers import AutoModel

    torch.manual_seed(0)
    AutoModel.from_config(tiny_config(model_type)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return write_sentence_transformers_files(folder, {"pooling_mode_mean_tokens": True}, normalize="2_Normalize", max_seq_length=48)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    return make_classifier(tmp_path_factory.mktemp("export") / "cls", tokenizer)


@pytest.fixture(scope="module")
def sentence_encoder(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    return make_sentence_encoder(tmp_path_factory.mktemp("export") / "st", tokenizer)


@pytest.fixture(scope="module")
def exported_classifier(classifier: Path, tiny_glue: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("exported") / "cls-onnx"
    report, failed = run_export(ExportConfig(model=str(classifier), out=out, task="sst2", glue_dir=tiny_glue))
    assert not failed
    return out, report


def test_a_classifier_exports_and_scores_beside_pytorch(exported_classifier, classifier: Path) -> None:
    out, report = exported_classifier
    assert (out / "onnx" / "model.onnx").is_file() and (out / "config.json").is_file() and (out / "tokenizer.json").is_file()
    assert (out / "README.md").is_file() and (out / MANIFEST).is_file()
    assert not any(p.name.endswith(".safetensors") for p in out.rglob("*"))  # the graph, not the weights
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["kind"] == "text-classification" and manifest["outputs"] == ["logits"] and manifest["task"] == "sst2"
    assert manifest["check"]["passed"] and manifest["check"]["examples"] == 40
    metrics = report.metrics
    assert metrics["check.max_abs_diff"] < 1e-4 and metrics["check.label_agreement"] == 1.0
    assert metrics["onnx.accuracy"] == metrics["pytorch.accuracy"]  # the task metric, beside PyTorch's
    assert report.primary_metric == "onnx.accuracy"
    card = (out / "README.md").read_text()
    assert "SST-2 dev, 40 examples" in card and "| accuracy |" in card and "passed" in card


def test_the_exported_classifier_scores_in_a_fresh_process_without_distilcli(exported_classifier, classifier: Path, tokenizer) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    out, _ = exported_classifier
    child = _fresh(out, "logits")
    assert child["distilcli_imported"] is False
    assert child["inputs"] == ["attention_mask", "input_ids", "token_type_ids"]
    model = AutoModelForSequenceClassification.from_pretrained(classifier).eval()
    with torch.inference_mode():
        expected = model(**tokenizer(TEXTS, padding=True, return_tensors="pt")).logits.numpy()
    np.testing.assert_allclose(np.asarray(child["values"]), expected, atol=1e-4)


def test_a_sentence_encoder_exports_in_sentence_transformers_layout(sentence_encoder: Path, tmp_path: Path) -> None:
    out = tmp_path / "st-onnx"
    report, failed = run_export(ExportConfig(model=str(sentence_encoder), out=out))
    assert not failed and report.body["check"]["inputs"] == "24 built-in sentences"
    for name in ("modules.json", "sentence_bert_config.json", "1_Pooling/config.json", "onnx/model.onnx"):
        assert (out / name).is_file(), name
    assert (out / "2_Normalize").is_dir()
    child = _fresh(out, "sentence_embedding")
    assert child["distilcli_imported"] is False
    assert child["outputs"] == ["last_hidden_state", "sentence_embedding"]
    # The graph's sentence embedding is sentence-transformers' own (mean pooling, normalised).
    sentence_transformers = pytest.importorskip("sentence_transformers")
    expected = sentence_transformers.SentenceTransformer(str(sentence_encoder), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(np.asarray(child["values"]), expected, atol=1e-4)
    # sentence-transformers' ONNX backend finds the graph where it looks (onnx/model.onnx), without exporting.
    from sentence_transformers.backend.utils import backend_should_export

    export, kwargs = backend_should_export(out, True, {}, "model.onnx", "*.onnx", "ONNX")
    assert export is False and kwargs == {"subfolder": "onnx", "file_name": "model.onnx"}


def test_an_int8_export_without_token_types_is_smaller_and_checked(tokenizer, tmp_path: Path) -> None:
    source = make_sentence_encoder(tmp_path / "distilbert", tokenizer, "distilbert")
    fp32, int8 = tmp_path / "fp32", tmp_path / "int8"
    run_export(ExportConfig(model=str(source), out=fp32))
    report, failed = run_export(ExportConfig(model=str(source), out=int8, quantize="dynamic-int8"))
    assert not failed
    assert [p.name for p in (int8 / "onnx").iterdir()] == ["model_qint8.onnx"]
    assert report.metrics["onnx_bytes"] < (fp32 / "onnx" / "model.onnx").stat().st_size
    assert report.metrics["check.mean_cosine"] >= 0.95
    child = _fresh(int8, "sentence_embedding")
    assert child["inputs"] == ["attention_mask", "input_ids"]  # DistilBERT takes no token types
    card = (int8 / "README.md").read_text()
    assert 'model_kwargs={"file_name": "onnx/model_qint8.onnx"}' in card and "dynamic int8" in card


def test_stsb_scores_a_sentence_encoder_zero_shot(sentence_encoder: Path, tiny_glue: Path, tmp_path: Path) -> None:
    report, failed = run_export(ExportConfig(model=str(sentence_encoder), out=tmp_path / "o", task="stsb", glue_dir=tiny_glue, limit=25))
    assert not failed
    assert report.metrics["onnx.spearman"] == pytest.approx(report.metrics["pytorch.spearman"], abs=1e-6)
    assert report.primary_metric == "onnx.spearman" and report.body["dev_examples_total"] == 40


def test_a_regression_head_is_checked_by_correlation(tokenizer, tiny_glue: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    config = tiny_config("roberta")  # no token types
    config.num_labels = 1
    AutoModelForSequenceClassification.from_config(config).save_pretrained(tmp_path / "stsb")
    tokenizer.save_pretrained(tmp_path / "stsb")
    report, failed = run_export(ExportConfig(model=str(tmp_path / "stsb"), out=tmp_path / "o", task="stsb", glue_dir=tiny_glue))
    assert not failed
    assert report.metrics["check.correlation"] > 0.9999 and "check.label_agreement" not in report.metrics
    # A random head's scores barely vary, so the two runtimes' float rounding moves its Pearson by about
    # 1e-5 (measured 1.2e-5 with onnxruntime 1.32, onnxscript 0.7.2); a wrong graph would move it far more.
    assert report.metrics["onnx.pearson"] == pytest.approx(report.metrics["pytorch.pearson"], abs=1e-4)
    assert "| correlation |" in (tmp_path / "o" / "README.md").read_text()


def test_benchmark_times_an_exported_folder_as_shipped(exported_classifier, classifier: Path) -> None:
    from distilcli.benchmark.run import run_benchmark

    out, _ = exported_classifier
    cfg = BenchmarkConfig(model=[str(classifier), str(out)], batch_sizes="2", seq_lengths="8", warmup=1, repeats=2, memory=False,
                          backend="eager", quantize="none,dynamic-int8")  # fmt: skip
    report = run_benchmark(cfg)
    models = {m["label"]: m for m in report.body["models"]}
    assert list(models) == [str(classifier), f"{classifier} [int8]", f"{out} [onnx]"]  # the folder runs once, as exported
    shipped = models[f"{out} [onnx]"]
    assert shipped["output_diff"] is None and shipped["model"]["source"] == "export"
    assert shipped["disk_bytes"] == (out / "onnx" / "model.onnx").stat().st_size
    assert shipped["parameters"] == json.loads((out / MANIFEST).read_text())["parameters"]


def test_variants_run_an_exported_folder_once() -> None:
    cfg = BenchmarkConfig(model=["a", "b"], backend=["eager", "onnx"], quantize=["none"])
    labels = [v.label for v in variants(cfg, {"b": "dynamic-int8"})]
    assert labels == ["a", "a [onnx]", "b [onnx+int8]"]


def test_a_broken_manifest_is_bad_input(tmp_path: Path) -> None:
    from distilcli.errors import BadInput

    (tmp_path / MANIFEST).write_text(json.dumps({"onnx_file": "../elsewhere.onnx", "inputs": [], "outputs": [], "quantize": "none", "kind": "x"}))
    with pytest.raises(BadInput, match="not a file in"):
        read_exported(tmp_path)
    assert read_exported(tmp_path / "missing") is None
