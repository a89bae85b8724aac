"""Dynamic int8 quantization of a PyTorch model, shared by the benchmark and GLUE evaluation."""

from __future__ import annotations

import copy
import warnings
from typing import Any


def quantize_dynamic_int8(model: Any) -> Any:
    """A copy of ``model`` with int8 weights in every ``nn.Linear`` (activations quantized on the fly).

    ``torch.ao.quantization.quantize_dynamic``: deprecated in favour of torchao, but part of
    torch 2.13 itself, and the CPU recipe the DistilBERT-era benchmarks used.
    """
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
