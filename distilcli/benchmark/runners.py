"""Loading a model once and running it each way the benchmark asks: eager PyTorch, ONNX Runtime, int8.

A runner's :meth:`Runner.forward` returns only when the work is done (a GPU is synchronised),
so the time around it is the model's latency.
"""

from __future__ import annotations

import copy
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli.benchmark.config import Variant
from distilcli.benchmark.inputs import Batch, input_names
from distilcli.errors import BadInput, first_line
from distilcli.models.adapters import ArchitectureAdapter, adapter_for
from distilcli.models.loading import load_config, load_tokenizer, usable_positions
from distilcli.models.onnx import (
    ExportedFolder,
    export_graph,
    import_onnx_runtime,
    make_session,
    onnx_bytes,
    quantize_onnx_int8,
    quiet,
    resolve_exported,
)
from distilcli.models.params import backbone_parameters
from distilcli.models.quantize import quantize_dynamic_int8
from distilcli.models.resolve import ModelRef, resolve_model

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass
class Encoder:
    """A model's encoder (no head), in fp32 on the CPU, with what the benchmark needs to know of it."""

    ref: ModelRef
    config: Any
    adapter: ArchitectureAdapter
    model: Any
    tokenizer: Any
    #: A folder ``distil export`` wrote: its graph is run as shipped, and there is no PyTorch model.
    exported: ExportedFolder | None = None

    @property
    def names(self) -> list[str]:
        return self.exported.inputs if self.exported else input_names(self.adapter.uses_token_type_ids)

    @property
    def max_length(self) -> int:
        """The longest sequence the model takes (RoBERTa and MPNet lose pad + 1 positions)."""
        return usable_positions(self.config)

    def parameters(self) -> dict[str, int]:
        """The backbone's parameters (an exported folder's, as counted when it was exported)."""
        return self.exported.parameters if self.exported else backbone_parameters(self.model, self.adapter)

    def disk_bytes(self) -> int:
        """The model's size on disk: its weight files, or an exported folder's graph."""
        return onnx_bytes(self.exported.onnx_file) if self.exported else disk_bytes(self.ref.path)


def benchmark_ref(spec: str) -> ModelRef:
    """``spec`` resolved: a folder ``distil export`` wrote, else any model reference."""
    exported = resolve_exported(spec)
    return exported[0] if exported else resolve_model(spec)


def load_encoder(spec: str | ModelRef) -> Encoder:
    """The encoder of ``spec`` (``AutoModel`` without pooler: any head is left out), in eval mode;
    BadInput if unloadable.

    An exported folder loads as its config, tokenizer and graph: it runs as it was exported.
    """
    from transformers import AutoModel

    ref = spec if isinstance(spec, ModelRef) else benchmark_ref(spec)
    exported = resolve_exported(str(ref.path)) if ref.source == "export" else None
    config = load_config(ref)
    if exported is not None:
        return Encoder(ref, config, adapter_for(config), None, load_tokenizer(ref), exported[1])
    try:
        with quiet():
            model = AutoModel.from_pretrained(ref.path)
    except Exception as exc:  # noqa: BLE001 - unreadable or mismatched weights
        raise BadInput(f"cannot load the weights of {ref.spec} from {ref.path} ({first_line(exc, 200)})") from None
    if getattr(model, "pooler", None) is not None:
        # The encoder as `distil models inspect` counts it (embeddings + layers): the pooler
        # belongs to a classification head, and DistilBERT has none to compare with.
        model.pooler = None
    model.eval()
    return Encoder(ref, config, adapter_for(config), model, load_tokenizer(ref))


def disk_bytes(folder: Path) -> int:
    """Bytes of the folder's weight files, sharded or not: the model's size on disk.

    Only the format transformers loads is counted (safetensors when present), not both.
    """
    weights = [p for p in folder.iterdir() if p.is_file() and p.name.startswith(("model", "pytorch_model"))]
    safetensors = [p for p in weights if p.suffix == ".safetensors"]
    return sum(p.stat().st_size for p in safetensors or [p for p in weights if p.suffix == ".bin"])


class Runner:
    """One variant, ready to run: :meth:`prepare` a batch once, then time :meth:`forward`."""

    variant: Variant
    #: Bytes of the weights as this variant holds them (ONNX files, int8 state dict, tensors).
    size_bytes: int
    #: Seconds spent exporting or quantizing before the first run.
    setup_s: float = 0.0

    def prepare(self, batch: Batch) -> Any:
        raise NotImplementedError

    def forward(self, prepared: Any) -> None:
        raise NotImplementedError

    def output(self, prepared: Any) -> np.ndarray:
        """The last hidden states, as float32 numpy, for comparing variants."""
        raise NotImplementedError


class TorchRunner(Runner):
    """Eager PyTorch: fp32, fp16 or bf16 on the CPU or a GPU, or dynamically quantized int8 (CPU)."""

    def __init__(self, variant: Variant, model: Any, device: torch.device) -> None:
        import torch

        self.variant = variant
        self.device = device
        start = time.perf_counter()
        if variant.quantize == "dynamic-int8":
            model = quantize_dynamic_int8(model)
            buffer = io.BytesIO()
            torch.save(model.state_dict(), buffer)
            self.size_bytes = buffer.tell()
        else:
            dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[variant.precision]
            if dtype != torch.float32 or device.type != "cpu":
                # nn.Module.to works in place: copy, so the shared fp32 CPU encoder stays the reference.
                model = copy.deepcopy(model).to(device=device, dtype=dtype)
            self.size_bytes = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
        self.setup_s = time.perf_counter() - start
        self.model = model.eval()
        self._sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def prepare(self, batch: Batch) -> dict[str, torch.Tensor]:
        import torch

        return {name: torch.from_numpy(array).to(self.device) for name, array in batch.items()}

    def forward(self, prepared: dict[str, torch.Tensor]) -> None:
        import torch

        with torch.inference_mode():
            self.model(**prepared)
        self._sync()

    def output(self, prepared: dict[str, torch.Tensor]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            hidden = self.model(**prepared).last_hidden_state
        return hidden.float().cpu().numpy()


class OnnxRunner(Runner):
    """ONNX Runtime on an exported graph (optionally with int8 weights)."""

    def __init__(
        self,
        variant: Variant,
        onnx_file: Path,
        names: list[str],
        device: torch.device,
        threads: int,
        setup_s: float = 0.0,
    ) -> None:
        self.variant = variant
        self.names = names
        self.onnx_file = onnx_file
        self.session = make_session(onnx_file, threads, cuda=device.type == "cuda")
        self.size_bytes = onnx_bytes(onnx_file)
        self.setup_s = setup_s

    def prepare(self, batch: Batch) -> dict[str, np.ndarray]:
        return {name: batch[name] for name in self.names}

    def forward(self, prepared: dict[str, np.ndarray]) -> None:
        self.session.run(None, prepared)  # returns once the outputs are on the host

    def output(self, prepared: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.session.run(None, prepared)[0], dtype=np.float32)


def export_onnx(encoder: Encoder, onnx_file: Path) -> None:
    """Export the encoder's ``last_hidden_state`` (see :func:`distilcli.models.onnx.export_graph`)."""
    import torch

    import_onnx_runtime(exporting=True)

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
        ) -> torch.Tensor:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

    failure = f"{encoder.ref.spec} could not be exported to ONNX: benchmark it with --backend eager"
    export_graph(
        LastHiddenState(encoder.model), encoder.names, ["last_hidden_state"], onnx_file, encoder.max_length, failure
    )


def build_runner(
    variant: Variant, encoder: Encoder, device: torch.device, threads: int, exports: dict[str, Path], workdir: Path
) -> Runner:
    """The runner of ``variant``: exports to ONNX (once per model, into ``workdir``) or quantizes as it asks.

    ``exports`` maps model specs to their fp32 ONNX file, so ``--backend onnx --quantize
    none,dynamic-int8`` exports each model once.
    """
    if encoder.exported is not None:  # the folder's own graph, as shipped
        return OnnxRunner(variant, encoder.exported.onnx_file, encoder.names, device, threads)
    if variant.backend == "eager":
        return TorchRunner(variant, encoder.model, device)
    start = time.perf_counter()
    onnx_file = exports.get(variant.model)
    if onnx_file is None:
        folder = workdir / f"model-{len(exports)}"
        folder.mkdir()
        onnx_file = exports[variant.model] = folder / "model.onnx"
        export_onnx(encoder, onnx_file)
    if variant.quantize == "dynamic-int8":
        quantized = onnx_file.with_name("model.int8.onnx")
        quantize_onnx_int8(onnx_file, quantized)
        onnx_file = quantized
    return OnnxRunner(variant, onnx_file, encoder.names, device, threads, time.perf_counter() - start)


def runner_in_child(job: dict[str, Any]) -> Runner:
    """Rebuild a runner in a fresh process (for memory): from the ONNX file already made, or from the folder."""
    import torch

    variant = Variant(**job["variant"])
    device = torch.device(job["device"])
    if variant.backend == "onnx":
        return OnnxRunner(variant, Path(job["onnx_file"]), job["names"], device, job["threads"])
    return TorchRunner(variant, load_encoder(ModelRef(**job["ref"])).model, device)
