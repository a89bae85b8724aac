"""A distilled student's sentence-transformers files: fitted to its own width and positions, and the Dense it learned.

The files come from the student's own folder or its teacher's (:func:`~distilcli.models.pooling.copy_sentence_files`).
A narrower student, or one with fewer positions, must not keep the teacher's width in ``1_Pooling/config.json``
or a ``max_seq_length`` beyond its positions; a Dense layer trained with the student (a projection to the
teacher's width, or the ``--embedding-dim`` reduction) is appended to ``modules.json`` as
sentence-transformers saves one (``N_Dense/config.json`` and ``model.safetensors``), with a ``Normalize``
after it when the embeddings it learned are unit-length. ``SentenceTransformer(folder)`` then gives
the vectors the student was trained to give, and so does :func:`~distilcli.models.pooling.pool`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: The module types as every sentence-transformers release since 2.0 reads them.
_TYPES = {kind: f"sentence_transformers.models.{kind}" for kind in ("Transformer", "Pooling", "Dense", "Normalize")}


@dataclass(frozen=True)
class DenseLayer:
    """A linear layer after the pooling: ``weight`` [out, in], ``bias`` [out], then L2 normalisation or not."""

    weight: torch.Tensor
    bias: torch.Tensor
    normalize: bool = False


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def _module(modules: list[dict[str, Any]], kind: str, path: str) -> dict[str, Any]:
    index = len(modules)
    return {"idx": index, "name": str(index), "path": path, "type": _TYPES[kind]}


def _mean_pooling(folder: Path, hidden_size: int) -> list[dict[str, Any]]:
    """modules.json and 1_Pooling of a plain folder: mean pooling, the embedding distillation read from it."""
    modules: list[dict[str, Any]] = []
    modules.append(_module(modules, "Transformer", ""))
    modules.append(_module(modules, "Pooling", "1_Pooling"))
    _write_json(
        folder / "1_Pooling" / "config.json",
        {"word_embedding_dimension": hidden_size, "pooling_mode_mean_tokens": True},
    )
    return modules


def _fit_to_model(folder: Path, modules: list[dict[str, Any]], hidden_size: int, positions: int) -> None:
    """The Pooling's width and sentence_bert_config's length made the student's own (a no-op when they are)."""
    for module in modules:
        if str(module.get("type", "")).rsplit(".", 1)[-1] == "Pooling":
            file = folder / str(module.get("path", "")) / "config.json"
            config = json.loads(file.read_text(encoding="utf-8"))
            key = (
                "embedding_dimension" if "embedding_dimension" in config else "word_embedding_dimension"
            )  # 5.0 on, before
            if config.get(key) != hidden_size:
                _write_json(file, {**config, key: hidden_size})
    file = folder / "sentence_bert_config.json"
    if file.is_file():
        config = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(config.get("max_seq_length"), int) and config["max_seq_length"] > positions:
            _write_json(file, {**config, "max_seq_length": positions})


def finish_sentence_files(folder: Path, hidden_size: int, positions: int, dense: DenseLayer | None = None) -> list[str]:
    """Fit the sentence-transformers files in ``folder`` to a model of ``hidden_size`` and ``positions``;
    append ``dense``.

    Returns the module folders added. A folder without ``modules.json`` gets one (mean pooling) only for a Dense.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    modules_file = folder / "modules.json"
    if not modules_file.is_file() and dense is None:
        return []
    modules = (
        json.loads(modules_file.read_text(encoding="utf-8"))
        if modules_file.is_file()
        else _mean_pooling(folder, hidden_size)
    )
    _fit_to_model(folder, modules, hidden_size, positions)
    added = []
    if dense is not None:
        out_features, in_features = (int(n) for n in dense.weight.shape)
        modules.append(_module(modules, "Dense", f"{len(modules)}_Dense"))
        config = {
            "in_features": in_features,
            "out_features": out_features,
            "bias": True,
            "activation_function": "torch.nn.modules.linear.Identity",
        }
        _write_json(folder / modules[-1]["path"] / "config.json", config)
        tensors = {"linear.weight": dense.weight, "linear.bias": dense.bias}
        save_file(
            {k: v.detach().float().cpu().contiguous() for k, v in tensors.items()},
            str(folder / modules[-1]["path"] / "model.safetensors"),
        )
        added.append(modules[-1]["path"])
        if dense.normalize:
            modules.append(_module(modules, "Normalize", f"{len(modules)}_Normalize"))
            _write_json(folder / modules[-1]["path"] / "config.json", {})
            added.append(modules[-1]["path"])
        _write_json(modules_file, modules)
    return added
