"""ONNX: export a PyTorch module with ``torch.onnx.export(dynamo=True)``, int8 with ONNX Runtime, run it, read
exported folders.

Shared by ``distil benchmark`` (it exports encoders to time them, and times folders ``distil export``
wrote) and ``distil export`` (it writes a deployable folder). An exported folder is recognised by
its manifest, :data:`MANIFEST`, which names the graph, its inputs and outputs and how it was made.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distilcli.errors import BadInput, first_line
from distilcli.models.resolve import ModelRef

#: The manifest of a folder ``distil export`` wrote: what the graph is, how it was made and checked.
MANIFEST = "export.json"
#: Where the graph lies in an exported folder (sentence-transformers' ``backend="onnx"`` looks there).
ONNX_DIR = "onnx"
#: The graph's file name, by ``--quantize`` (sentence-transformers names its int8 graphs ``model_qint8_*``).
ONNX_FILES = {"none": "model.onnx", "dynamic-int8": "model_qint8.onnx"}
#: Above this many bytes of weights the graph keeps them in a ``.data`` file beside it (protobuf's 2 GB limit).
_INLINE_LIMIT = 1_800_000_000


def import_onnx_runtime(exporting: bool = False, what: str = "--backend onnx") -> Any:
    """onnxruntime (and, to export, onnx and onnxscript, which torch's dynamo exporter needs), or the fix."""
    try:
        import onnxruntime

        if exporting:
            import onnx  # noqa: F401
            import onnxscript  # noqa: F401
    except ImportError:
        raise BadInput(f"{what} needs onnx, onnxruntime and onnxscript: pip install 'distilcli[onnx]'") from None
    return onnxruntime


def onnx_bytes(onnx_file: Path) -> int:
    """The graph and its external weights (``model.onnx`` + ``model.onnx.data``)."""
    data = onnx_file.with_name(onnx_file.name + ".data")
    return onnx_file.stat().st_size + (data.stat().st_size if data.exists() else 0)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep exporters' and loaders' chatter (warnings, log lines, prints) out of the terminal and stdout."""
    names = ("", "torch", "torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "transformers")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def example_inputs(names: Sequence[str], max_length: int) -> tuple[Any, ...]:
    """Two sequences of up to 16 tokens, one input per name, to trace the graph with."""
    import torch

    seq = min(16, max_length)
    return tuple(
        torch.ones(2, seq, dtype=torch.long) if n == "attention_mask" else torch.full((2, seq), 5, dtype=torch.long)
        for n in names
    )


def export_graph(
    module: Any, names: list[str], outputs: list[str], onnx_file: Path, max_length: int, failure: str
) -> None:
    """Export ``module`` (taking ``names`` as positional tensors) to ``onnx_file``, batch and length dynamic.

    The legacy TorchScript exporter cannot follow transformers 5's keyword-only forward; the
    dynamo exporter (it needs onnxscript) can, and ONNX Runtime reproduces it to ~1e-6. Weights
    stay inside the file unless they pass protobuf's 2 GB limit. ``failure`` begins the one-line
    error (:class:`BadInput`) when the exporter gives up.
    """
    import torch
    from torch.export import Dim

    batch_dim, seq_dim = Dim("batch", min=1, max=4096), Dim("sequence", min=2, max=max_length)
    weights = sum(p.numel() * p.element_size() for p in module.parameters())
    try:
        with quiet():
            torch.onnx.export(
                module,
                example_inputs(names, max_length),
                str(onnx_file),
                dynamo=True,
                input_names=names,
                output_names=outputs,
                dynamic_shapes={name: {0: batch_dim, 1: seq_dim} for name in names},
                optimize=True,
                verbose=False,
                external_data=weights > _INLINE_LIMIT,
            )
    except Exception as exc:  # noqa: BLE001 - exporter failures come in many types
        raise BadInput(f"{failure} ({first_line(exc, 200)})") from None


def quantize_onnx_int8(source: Path, target: Path) -> None:
    """ONNX Runtime's dynamic quantization: int8 weights of MatMul/Gemm, activations quantized on the fly."""
    import_onnx_runtime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def make_session(onnx_file: Path, threads: int, cuda: bool = False) -> Any:
    """An ONNX Runtime session on ``onnx_file``: all graph optimisations, ``threads`` intra-op threads, no spinning."""
    ort = import_onnx_runtime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # ONNX Runtime's workers spin for a while after each run; interleaved with other models
    # on few cores, that spinning would take the cores from whichever model runs next.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if cuda:
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise BadInput("ONNX Runtime on a GPU needs onnxruntime-gpu: install it, or add --device cpu")
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(onnx_file), options, providers=providers)


# -- folders distil export wrote --------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedFolder:
    """A folder ``distil export`` wrote, as its manifest describes it."""

    path: Path
    onnx_file: Path
    inputs: list[str]
    outputs: list[str]
    quantize: str
    kind: str
    #: The PyTorch model's backbone parameters (``total``, ``embeddings``, ``encoder``), counted at export.
    parameters: dict[str, int] = field(default_factory=dict)


def read_exported(folder: Path | str) -> ExportedFolder | None:
    """The exported folder at ``folder``; None when it has no manifest; :class:`BadInput` when it is broken."""
    folder = Path(folder).expanduser()
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        body = json.loads(manifest.read_text(encoding="utf-8"))
        onnx_file = folder / body["onnx_file"]
        exported = ExportedFolder(
            folder.resolve(),
            onnx_file.resolve(),
            list(body["inputs"]),
            list(body["outputs"]),
            str(body["quantize"]),
            str(body["kind"]),
            dict(body.get("parameters") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(
            f"{manifest} is not a readable export manifest ({first_line(exc, 120)}): export the model again"
        ) from None
    if not onnx_file.is_file() or Path(body["onnx_file"]).is_absolute() or ".." in Path(body["onnx_file"]).parts:
        raise BadInput(f"{manifest} names {body['onnx_file']}, which is not a file in {folder}: export the model again")
    return exported


def resolve_exported(spec: str) -> tuple[ModelRef, ExportedFolder] | None:
    """``spec`` as an exported folder (its reference and manifest), or None when it is not one."""
    path = Path(str(spec).strip()).expanduser()
    if not path.is_dir():
        return None
    exported = read_exported(path)
    if exported is None:
        return None
    if not (path / "config.json").is_file():
        raise BadInput(f"exported folder {spec} has no config.json: export the model again")
    return ModelRef(str(spec), path.resolve(), "export"), exported
