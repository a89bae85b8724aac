"""Sentence embeddings from an encoder: the pooling a sentence-transformers folder declares, or mean pooling.

A sentence-transformers folder lists its modules in ``modules.json``; its ``Pooling`` module's
``config.json`` says which token states make the embedding (``[CLS]``, mean, max, mean/sqrt(len),
concatenated when several are on) and a ``Normalize`` module L2-normalises the result. A plain
Hugging Face folder has none of this: it gets mean pooling over real tokens, the usual choice
for BERT-family encoders, and the report says so.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from distilcli.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: sentence-transformers' pooling flags, in the order its Pooling module concatenates them.
POOLING_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
}
MODES = tuple(POOLING_FLAGS.values())
_UNSUPPORTED_FLAGS = ("pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


@dataclass(frozen=True)
class SentencePooling:
    """How token states become one sentence embedding, and where that was read."""

    modes: tuple[str, ...] = ("mean",)
    normalize: bool = False
    source: str = "default: mean pooling (no sentence-transformers files)"
    max_seq_length: int | None = None  # sentence_bert_config.json's, when present

    @property
    def name(self) -> str:
        return "+".join(self.modes) + (" + normalize" if self.normalize else "")


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {path} ({exc}): fix or remove the sentence-transformers file") from None


def read_pooling(folder: Path) -> SentencePooling:
    """The pooling declared by the sentence-transformers files in ``folder``, or mean pooling without them."""
    folder = Path(folder)
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return SentencePooling()
    modules = _read_json(modules_file)
    if not isinstance(modules, list):
        raise BadInput(f"{modules_file} is not a list of modules: fix or remove it")
    kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: str(m.get("path", "")) for m in modules if isinstance(m, dict)}
    if "Pooling" not in kinds:
        return SentencePooling(source=f"default: mean pooling ({modules_file} names no Pooling module)")
    config_file = folder / kinds["Pooling"] / "config.json"
    config = _read_json(config_file)
    if not isinstance(config, dict):
        raise BadInput(f"{config_file} is not a JSON object: fix or remove it")
    unsupported = [flag for flag in _UNSUPPORTED_FLAGS if config.get(flag)]
    if unsupported:
        raise BadInput(f"{config_file}: {unsupported[0]} pooling is not supported: use cls, mean, max or mean_sqrt_len")
    modes = tuple(mode for flag, mode in POOLING_FLAGS.items() if config.get(flag))
    if not modes:
        raise BadInput(f"{config_file} turns every pooling mode off: set one, e.g. pooling_mode_mean_tokens")
    bert_config = folder / "sentence_bert_config.json"
    length = _read_json(bert_config).get("max_seq_length") if bert_config.is_file() else None  # type: ignore[union-attr]
    return SentencePooling(
        modes=modes,
        normalize="Normalize" in kinds,
        source=str(config_file),
        max_seq_length=int(length) if isinstance(length, int) and length > 0 else None,
    )


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: SentencePooling) -> torch.Tensor:
    """Sentence embeddings [B, D·modes] from last hidden states [B, L, D] over real tokens (float32)."""
    import torch

    if attention_mask.shape != hidden.shape[:2]:
        raise ValueError(
            f"attention_mask {tuple(attention_mask.shape)} does not match hidden {tuple(hidden.shape)} ([B, L, H])"
        )
    mask = attention_mask.unsqueeze(-1).float()
    hidden = hidden.float()
    counts = mask.sum(1).clamp_min(1.0)
    parts = []
    for mode in pooling.modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode == "max":
            parts.append(hidden.masked_fill(mask == 0, float("-inf")).amax(1))
        elif mode == "mean":
            parts.append((hidden * mask).sum(1) / counts)
        else:  # mean_sqrt_len
            parts.append((hidden * mask).sum(1) / counts.sqrt())
    embedding = torch.cat(parts, dim=-1)
    return torch.nn.functional.normalize(embedding, dim=-1) if pooling.normalize else embedding


#: sentence-transformers' top-level files, copied with the module folders ``modules.json`` lists.
SENTENCE_FILES = ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json")


def copy_sentence_files(source: Path, target: Path) -> list[str]:
    """Copy ``source``'s sentence-transformers files (pooling, normalise, ...) into ``target``; the names copied.

    A student made from a sentence encoder then loads with ``SentenceTransformer(target)`` and
    embeds the way its teacher does; the weights themselves stay plain Hugging Face files.
    Nothing is copied from a folder without ``modules.json``.
    """
    source, target = Path(source), Path(target)
    if not (source / "modules.json").is_file():
        return []
    modules = _read_json(source / "modules.json")
    folders = [str(m.get("path", "")) for m in modules if isinstance(m, dict)] if isinstance(modules, list) else []
    copied = []
    for name in SENTENCE_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
            copied.append(name)
    for folder in folders:
        # "" is the transformer itself (the student's own weights); never follow a path out of the folder.
        if folder and (source / folder).is_dir() and Path(folder).name == folder:
            shutil.copytree(source / folder, target / folder, dirs_exist_ok=True)
            copied.append(folder)
    return copied
