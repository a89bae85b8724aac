"""The exported folder's files besides the graph: tokenizer, config, sentence-transformers modules, manifest, card.

The layout is what the loaders expect: ``config.json`` and the tokenizer at the top (optimum's ORT
classes, ``AutoTokenizer``), the graph under ``onnx/`` (sentence-transformers' ``backend="onnx"``
looks for ``onnx/model.onnx``), a sentence encoder's ``modules.json`` and module folders beside
them. ``export.json`` (:data:`~distilcli.models.onnx.MANIFEST`) says what the graph is for anyone
running ONNX Runtime alone, and lets ``distil benchmark`` time the folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from distilcli import __version__
from distilcli.export.config import CLASSIFIER
from distilcli.export.source import ExportSource
from distilcli.models.card import CARD_FILE, base_model_id
from distilcli.models.onnx import MANIFEST
from distilcli.models.pooling import copy_sentence_files


def write_model_files(folder: Path, source: ExportSource) -> list[str]:
    """The config (as the model has it), the tokenizer and any sentence-transformers files; their names."""
    shutil.copy2(source.ref.path / "config.json", folder / "config.json")
    written = ["config.json", *source.tokenizer.save_pretrained(folder)]
    if source.kind != CLASSIFIER:
        written += copy_sentence_files(source.ref.path, folder)
    return sorted({Path(name).name for name in written})


def versions() -> dict[str, str]:
    """The versions of everything that made the graph."""
    from importlib import metadata

    found = {"distilcli": __version__}
    for name in ("torch", "transformers", "onnx", "onnxscript", "onnxruntime"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def manifest(
    source: ExportSource, graph: dict[str, Any], check: dict[str, Any], metrics: dict[str, Any] | None
) -> dict[str, Any]:
    """The folder's ``export.json``: the graph, its inputs and outputs, where it came from, how it was checked."""
    return {
        "format": "onnx",
        "onnx_file": graph["onnx_file"],
        "kind": source.kind,
        "quantize": graph["quantize"],
        "opset": graph["opset"],
        "inputs": source.names,
        "outputs": source.outputs,
        "max_sequence_length": source.max_length,
        "labels": source.labels,
        "task": None if source.task is None else source.task.name,
        "pooling": None
        if source.pooling is None
        else {"modes": list(source.pooling.modes), "normalize": source.pooling.normalize},
        "source": {**source.ref.to_dict(), "model_type": source.config.model_type, "architecture": source.architecture},
        "parameters": graph["parameters"],
        "check": check,
        "task_metrics": metrics,
        "versions": versions(),
    }


def write_manifest(folder: Path, body: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def _outputs_line(source: ExportSource, body: dict[str, Any]) -> str:
    if source.kind == CLASSIFIER:
        labels = ", ".join(body["labels"] or [])
        return f"`logits` [batch, {len(body['labels'] or [])}] (labels in order: {labels})"
    pooling = body["pooling"] or {}
    how = "+".join(pooling.get("modes", ["mean"])) + (
        " pooling, normalised" if pooling.get("normalize") else " pooling"
    )
    return (
        f"`last_hidden_state` [batch, sequence, hidden] (token embeddings); `sentence_embedding` [batch, dim] ({how})"
    )


def _check_lines(body: dict[str, Any], tolerance: dict[str, Any]) -> list[str]:
    check = body["check"]
    rows = [
        ("max abs difference", "max_abs_diff", ".3g", "≤"),
        ("worst cosine", "min_cosine", ".6f", "≥"),
        ("mean cosine", "mean_cosine", ".6f", "≥"),
        ("label agreement", "label_agreement", ".4f", "≥"),
        ("correlation", "correlation", ".6f", "≥"),
    ]
    verdict = "passed" if check["passed"] else "FAILED"
    lines = [
        f"On {check['inputs']}, against the PyTorch model (fp32) on the same padded batches: **{verdict}**.",
        "",
        "| | measured | required |",
        "|---|---|---|",
    ]
    for label, key, digits, sign in rows:
        if check.get(key) is not None:
            bar = tolerance.get(key)
            lines.append(f"| {label} | {format(check[key], digits)} | {'—' if bar is None else f'{sign} {bar:g}'} |")
    metrics = body["task_metrics"]
    if metrics:
        lines += ["", "Task metric on the same data:", "", "| metric | PyTorch | this graph |", "|---|---|---|"]
        lines += [
            f"| {name} | {value:.4f} | {metrics['onnx'][name]:.4f} |"
            for name, value in metrics["pytorch"].items()
            if name != "score"
        ]
    return lines


def _usage_lines(source: ExportSource, body: dict[str, Any]) -> list[str]:
    file = body["onnx_file"]
    output = "logits" if source.kind == CLASSIFIER else "sentence_embedding"
    lines = [
        "```python",
        "import numpy as np, onnxruntime as ort",
        "from transformers import AutoTokenizer",
        "",
        'folder = "."  # this folder',
        f'session = ort.InferenceSession(f"{{folder}}/{file}")',
        "tokenizer = AutoTokenizer.from_pretrained(folder)",
        'batch = tokenizer(["A first sentence.", "A second one."], padding=True, truncation=True, return_tensors="np")',
        "inputs = {i.name: batch[i.name].astype(np.int64) for i in session.get_inputs()}",
        f'{output} = session.run(["{output}"], inputs)[0]',
        "```",
    ]
    kwargs = "" if body["quantize"] == "none" else f', model_kwargs={{"file_name": "{file}"}}'
    if (source.ref.path / "modules.json").is_file():
        lines += [
            "",
            "sentence-transformers (needs `optimum[onnxruntime]`):",
            "",
            "```python",
            "from sentence_transformers import SentenceTransformer",
            "",
            f'encoder = SentenceTransformer(folder, backend="onnx"{kwargs})',
            "```",
        ]
    auto = "ORTModelForSequenceClassification" if source.kind == CLASSIFIER else "ORTModelForFeatureExtraction"
    subfolder, name = file.rsplit("/", 1)
    lines += [
        "",
        "optimum (`optimum[onnxruntime]`):",
        "",
        "```python",
        f"from optimum.onnxruntime import {auto}",
        "",
        f'model = {auto}.from_pretrained(folder, subfolder="{subfolder}", file_name="{name}")',
        "```",
    ]
    return lines


def render_card(source: ExportSource, body: dict[str, Any], tolerance: dict[str, Any], onnx_size: int) -> str:
    """The folder's README.md: Hub metadata, how the graph was made, how it was checked, how to load it."""
    from huggingface_hub import ModelCard, ModelCardData

    int8 = body["quantize"] != "none"
    sentence = (source.ref.path / "modules.json").is_file()
    tags = ["distilcli", "onnx", *(["int8"] if int8 else []), *(["sentence-transformers"] if sentence else [])]
    data = ModelCardData(
        base_model=base_model_id(source.ref.spec),
        library_name="onnx",
        tags=tags,
        pipeline_tag="text-classification" if source.kind == CLASSIFIER else "feature-extraction",
    )
    made = ", ".join(f"{k} {v}" for k, v in body["versions"].items())
    quantized = "dynamic int8 (ONNX Runtime `quantize_dynamic`: int8 MatMul weights, activations quantized per run)"
    facts = [
        ("source", f"{source.ref.spec} (`{source.architecture}`, {source.config.model_type})"),
        ("graph", f"`{body['onnx_file']}`, opset {body['opset']}, {onnx_size / 1e6:.1f} MB"),
        ("quantization", quantized if int8 else "none (fp32)"),
        (
            "inputs",
            (
                f"{', '.join(f'`{n}`' for n in body['inputs'])}: int64 [batch, sequence], "
                f"up to {body['max_sequence_length']} tokens"
            ),
        ),
        ("outputs", _outputs_line(source, body)),
        ("made with", made),
    ]
    intro = (
        "Written by `distil export`: the graph, the tokenizer, the config and this card. ONNX Runtime runs it "
        "without PyTorch; `export.json` says the same as this card, for programs."
    )
    lines = [f"# {source.ref.spec}, exported to ONNX", "", intro, "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in facts]
    lines += [
        "",
        "## How it was checked",
        "",
        *_check_lines(body, tolerance),
        "",
        "## Loading",
        "",
        *_usage_lines(source, body),
        "",
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)))


def write_card(folder: Path, text: str) -> None:
    (folder / CARD_FILE).write_text(text, encoding="utf-8")
