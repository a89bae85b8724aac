"""The graph: a model wrapped to return exactly what the ONNX file will, exported and (optionally) made int8.

A classifier's graph returns ``logits``. An encoder's returns ``last_hidden_state`` (the token
embeddings, named as optimum's and sentence-transformers' ONNX loaders read them) and
``sentence_embedding``: the pooling (and normalisation) its sentence-transformers files declare,
mean pooling without them, so ONNX Runtime alone gives the sentence embedding.
The same wrapper is the PyTorch reference of the check, so both sides compute the same function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from distilcli.models.onnx import ONNX_DIR, ONNX_FILES, export_graph, import_onnx_runtime, quantize_onnx_int8
from distilcli.models.pooling import SentencePooling, pool


class ExportModule(torch.nn.Module):
    """``model`` taking ``input_ids, attention_mask[, token_type_ids]`` positionally, returning the graph's outputs."""

    def __init__(self, model: Any, kind: str, pooling: SentencePooling | None) -> None:
        super().__init__()
        self.model = model
        self.kind = kind
        self.pooling = pooling or SentencePooling()

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> Any:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        output = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra)
        if self.kind == "text-classification":
            return output.logits
        hidden = output.last_hidden_state
        return hidden, pool(hidden, attention_mask, self.pooling)


def write_graph(
    module: ExportModule, names: list[str], outputs: list[str], folder: Path, max_length: int, quantize: str, spec: str
) -> Path:
    """Export ``module`` into ``folder/onnx/`` (int8 with ``quantize``); the graph file written, relative to
    ``folder``."""
    import_onnx_runtime(exporting=True, what="distil export")
    target = Path(folder) / ONNX_DIR
    target.mkdir(parents=True, exist_ok=True)
    fp32 = target / ONNX_FILES["none"]
    failure = f"{spec} could not be exported to ONNX (an architecture torch.onnx cannot trace)"
    export_graph(module, names, outputs, fp32, max_length, failure)
    strip_metadata(fp32)
    if quantize == "none":
        return fp32.relative_to(folder)
    final = target / ONNX_FILES[quantize]
    quantize_onnx_int8(fp32, final)
    for leftover in (fp32, fp32.with_name(fp32.name + ".data")):
        leftover.unlink(missing_ok=True)  # the folder ships one graph: the int8 one
    return final.relative_to(folder)


def strip_metadata(onnx_file: Path) -> None:
    """Drop the exporter's per-node metadata (stack traces naming this machine's files): most of a small graph's
    bytes."""
    import onnx

    model = onnx.load(str(onnx_file), load_external_data=False)  # external weights stay where they are
    for graph in (model.graph, *(f for f in model.functions)):
        for node in graph.node:
            del node.metadata_props[:]
    onnx.save(model, str(onnx_file))


def opset_of(onnx_file: Path) -> int | None:
    """The default-domain opset the graph was written with (None when unreadable)."""
    import onnx

    try:
        model = onnx.load(str(onnx_file), load_external_data=False)
    except Exception:  # noqa: BLE001 - a diagnostic, never a failure
        return None
    return next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
