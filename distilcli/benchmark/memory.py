"""Peak memory of one model, measured where nothing else lives: in a fresh process of its own.

On the CPU there are no allocator statistics to reset between models, so each variant is
rebuilt in a child process. The child reports, above its own baseline (the interpreter with
torch and the runtimes imported): the peak while the model runs the largest shape, its
weights included (safetensors are memory-mapped, so they become resident as the first
forward pass reads them). Linux resets the peak (``VmHWM``) through
``/proc/self/clear_refs`` once the model is built, so the peak excludes the transient of
loading (an int8 model's fp32 original, say).
On a GPU the figures come from torch's allocator in the benchmark's own process.
"""

from __future__ import annotations

import gc
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from distilcli.benchmark.inputs import Batch
from distilcli.benchmark.runners import runner_in_child
from distilcli.models.loading import quiet_transformers

MB = 1024 * 1024


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _trim_heap() -> None:
    """Give freed heap pages back to the OS (glibc), so memory freed while building is not counted."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass  # not glibc: the figure may then include freed memory the allocator kept


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _max_rss_bytes() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _resident_bytes() -> int:
    kb = _status_kb("VmRSS")
    return kb * 1024 if kb is not None else _max_rss_bytes()


def _warm_up_code(folder: str) -> None:
    """Import the model's code and run torch's first kernels, so the baseline holds them, not the model."""
    import torch
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(folder)
    AutoModel._model_mapping[type(config)]
    x = torch.randn(2, 4, 8, 16)
    torch.nn.functional.scaled_dot_product_attention(x, x, x)
    torch.nn.functional.layer_norm(x @ x.transpose(-1, -2), (8,)).softmax(-1)


def _child(job: dict[str, Any], batch: Batch) -> dict[str, Any]:
    import torch

    quiet_transformers()
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    if job["variant"]["backend"] == "onnx":
        import onnxruntime  # noqa: F401 - its import is part of the baseline, not of the model
    else:
        _warm_up_code(job["ref"]["path"])
    gc.collect()
    _trim_heap()
    baseline = _resident_bytes()
    runner = runner_in_child(job)
    gc.collect()
    _trim_heap()  # an int8 model is built from its fp32 copy, freed by now
    exact = _reset_peak()
    runner.forward(runner.prepare(batch))
    peak_kb = _status_kb("VmHWM") if exact else None
    peak = peak_kb * 1024 if peak_kb is not None else _max_rss_bytes()
    return {
        "peak_mb": round((peak - baseline) / MB, 1),
        # Without clear_refs (not Linux) the peak is the process's, loading included.
        "peak_includes_loading": not exact,
    }


def measure_in_child(job: dict[str, Any], batch: Batch) -> dict[str, Any]:
    """Memory of the variant ``job`` describes (see :func:`runners.runner_in_child`) at ``batch``."""
    import multiprocessing

    # spawn, not fork: a forked child would inherit the parent's models and threads.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_child, job, batch).result()


def measure_on_gpu(runner: Any, batch: Batch) -> dict[str, Any]:
    """torch's allocator on the GPU: the runner's tensors, and the peak while it runs ``batch``."""
    import torch

    weights = runner.size_bytes
    prepared = runner.prepare(batch)
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    runner.forward(prepared)
    peak = torch.cuda.max_memory_allocated() - before
    return {"peak_mb": round((weights + peak) / MB, 1), "peak_includes_loading": False}
