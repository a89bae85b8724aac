"""The check: the exported graph against PyTorch on real inputs, and the task metric of both.

Both run the same padded batches (longest first). The comparison reports the largest absolute
difference of any output value (padding positions left out), each example's cosine between the
two output vectors (logits, or the sentence embedding) and, for classifiers, how often the
predicted label is the same. With a dev set, the task metric of each is computed the way
eval-glue (accuracy, F1 ...) or eval-sts (Spearman of cosine similarity) does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from distilcli import progress
from distilcli.export.config import CLASSIFIER, Tolerance
from distilcli.export.inputs import CheckData
from distilcli.export.source import ExportSource
from distilcli.tasks.glue.metrics import score_predictions
from distilcli.tasks.glue.predict import logits_to_predictions
from distilcli.training.inference import pad_inputs


@dataclass
class Runs:
    """Each example's output vector from PyTorch and from the graph, in input order, and the largest difference."""

    pytorch: np.ndarray
    onnx: np.ndarray
    max_abs_diff: float = 0.0
    seconds: dict[str, float] = field(default_factory=lambda: {"pytorch": 0.0, "onnx": 0.0})


def run_both(module: Any, session: Any, source: ExportSource, data: CheckData, batch_size: int) -> Runs:
    """Run ``module`` (PyTorch) and ``session`` (ONNX Runtime) on the same batches of ``data``."""
    import torch

    features, names = data.features, source.names
    pad_id = int(source.tokenizer.pad_token_id)
    order = sorted(range(len(features)), key=lambda i: -features.lengths[i])
    rows: dict[str, list[tuple[list[int], np.ndarray]]] = {"pytorch": [], "onnx": []}
    runs = Runs(np.empty(0), np.empty(0))
    with progress.task("checking the export against PyTorch", total=len(order), unit="examples") as bar:
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = pad_inputs(features.input_ids, features.token_type_ids, indices, pad_id)
            began = time.perf_counter()
            with torch.inference_mode():
                reference = module(*(batch[name] for name in names))
            runs.seconds["pytorch"] += time.perf_counter() - began
            reference = [t.float().numpy() for t in (reference if isinstance(reference, tuple) else (reference,))]
            began = time.perf_counter()
            exported = session.run(None, {name: batch[name].numpy() for name in names})
            runs.seconds["onnx"] += time.perf_counter() - began
            mask = batch["attention_mask"].numpy().astype(bool)
            for ref, out in zip(reference, exported, strict=True):
                out = np.asarray(out, dtype=np.float32)
                diff = np.abs(out - ref)[mask] if ref.ndim == 3 else np.abs(out - ref)  # tokens: real ones only
                runs.max_abs_diff = max(runs.max_abs_diff, float(diff.max(initial=0.0)))
            rows["pytorch"].append((indices, reference[-1]))
            rows["onnx"].append((indices, np.asarray(exported[-1], dtype=np.float32)))
            bar.advance(len(indices))
    runs.pytorch, runs.onnx = (_in_order(rows[side], len(order)) for side in ("pytorch", "onnx"))
    return runs


def _in_order(parts: list[tuple[list[int], np.ndarray]], n: int) -> np.ndarray:
    width = parts[0][1].shape[1]
    out = np.zeros((n, width), dtype=np.float32)
    for indices, values in parts:
        out[indices] = values
    return out


def compare(runs: Runs, source: ExportSource) -> dict[str, Any]:
    """max |Δ|, the cosine of each example's vectors (mean and worst) and, for classifiers, label agreement."""
    ref, out = runs.pytorch.astype(np.float64), runs.onnx.astype(np.float64)
    stats: dict[str, Any] = {
        "examples": len(ref),
        "max_abs_diff": runs.max_abs_diff,
        "max_abs_reference": float(np.abs(ref).max(initial=0.0)),
    }
    regression = source.kind == CLASSIFIER and ref.shape[1] == 1
    if regression:  # a one-value output has no direction to compare: its values must move together
        stats["correlation"] = float(np.corrcoef(ref[:, 0], out[:, 0])[0, 1]) if len(ref) > 1 and ref.std() > 0 else 1.0
    else:
        cosine = (ref * out).sum(1) / np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(out, axis=1), 1e-12)
        stats |= {"mean_cosine": float(cosine.mean()), "min_cosine": float(cosine.min())}
    if source.kind == CLASSIFIER and not regression:
        stats["label_agreement"] = float((ref.argmax(1) == out.argmax(1)).mean())
    return stats


def failures(stats: dict[str, Any], tolerance: Tolerance) -> list[str]:
    """Each way ``stats`` misses ``tolerance``, as a short phrase (empty: the check passed)."""
    missed = []
    if tolerance.max_abs_diff is not None and not stats["max_abs_diff"] <= tolerance.max_abs_diff:
        missed.append(f"max |Δ| {stats['max_abs_diff']:.3g} > {tolerance.max_abs_diff:g}")
    checks = (
        ("min_cosine", "worst cosine"),
        ("mean_cosine", "mean cosine"),
        ("label_agreement", "label agreement"),
        ("correlation", "correlation"),
    )
    for name, label in checks:
        bar = getattr(tolerance, name)
        if bar is not None and name in stats and not stats[name] >= bar:
            missed.append(f"{label} {stats[name]:.4f} < {bar:g}")
    return missed


def task_metrics(runs: Runs, source: ExportSource, data: CheckData) -> dict[str, dict[str, float]] | None:
    """The task metric of PyTorch and of the graph, when the check ran on a dev set; else None."""
    if data.examples is not None and source.task is not None:
        task = source.task
        gold = [example.label for example in data.examples]
        return {
            side: score_predictions(
                task, logits_to_predictions(logits, task.is_regression, source.label_permutation), gold
            )
            for side, logits in (("pytorch", runs.pytorch), ("onnx", runs.onnx))
        }
    if data.pairs is not None and data.texts is not None:
        return {
            side: _sts_scores(embeddings, data) for side, embeddings in (("pytorch", runs.pytorch), ("onnx", runs.onnx))
        }
    return None


def _sts_scores(embeddings: np.ndarray, data: CheckData) -> dict[str, float]:
    """Zero-shot STS: Spearman and Pearson of the pairs' cosine similarity against the gold scores."""
    from scipy.stats import pearsonr, spearmanr

    assert data.pairs is not None and data.texts is not None
    row = {text: i for i, text in enumerate(data.texts)}
    a = embeddings[[row[s] for s in data.pairs.sentence1]].astype(np.float64)
    b = embeddings[[row[s] for s in data.pairs.sentence2]].astype(np.float64)
    cosine = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    gold = np.asarray(data.pairs.scores)
    return {"spearman": float(spearmanr(cosine, gold).statistic), "pearson": float(pearsonr(cosine, gold).statistic)}
