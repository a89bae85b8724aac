"""Sentence embeddings from an encoder: the pooling a sentence-transformers folder declares, or mean pooling.

A sentence-transformers folder lists its modules in ``modules.json``; its ``Pooling`` module's
``config.json`` says which token states make the embedding (``[CLS]``, mean, max, mean/sqrt(len),
concatenated when several are on) and a ``Normalize`` module L2-normalises the result; ``Dense``
modules after the pooling (a linear layer, identity or tanh, with a ``Normalize`` after it or not)
map the embedding to another width, as ``distil distill --embedding-dim`` saves them. A plain
Hugging Face folder has none of this: it gets mean pooling over real tokens, the usual choice
for BERT-family encoders, and the report says so.
"""

from __future__ import annotations

import functools
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
#: The same modes by the names of sentence-transformers' ``pooling_mode`` key (5.0 on).
_MODE_NAMES = {"cls": "cls", "max": "max", "mean": "mean", "mean_sqrt_len_tokens": "mean_sqrt_len"}


@dataclass(frozen=True)
class SentencePooling:
    """How token states become one sentence embedding, and where that was read."""

    modes: tuple[str, ...] = ("mean",)
    normalize: bool = False
    source: str = "default: mean pooling (no sentence-transformers files)"
    max_seq_length: int | None = None  # sentence_bert_config.json's, when present
    #: The modules after the pooling and its Normalize, in order: ("dense", its folder) or ("normalize", "").
    after: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        steps = "".join(f" + {kind}" for kind, _ in self.after)
        return "+".join(self.modes) + (" + normalize" if self.normalize else "") + steps

    def width(self, hidden_size: int) -> int:
        """The embedding's width for token states of ``hidden_size``: the modes side by side, then each Dense's
        output."""
        width = hidden_size * len(self.modes)
        for kind, path in self.after:
            width = int(_dense(path)[0].shape[0]) if kind == "dense" else width
        return width


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
    listed = [
        (str(m.get("type", "")).rsplit(".", 1)[-1], str(m.get("path", ""))) for m in modules if isinstance(m, dict)
    ]
    kinds = [kind for kind, _ in listed]
    if "Pooling" not in kinds:
        return SentencePooling(source=f"default: mean pooling ({modules_file} names no Pooling module)")
    at = kinds.index("Pooling")
    config_file = folder / listed[at][1] / "config.json"
    config = _read_json(config_file)
    if not isinstance(config, dict):
        raise BadInput(f"{config_file} is not a JSON object: fix or remove it")
    modes = _modes(config, config_file)
    if not modes:
        raise BadInput(f"{config_file} turns every pooling mode off: set one, e.g. pooling_mode_mean_tokens")
    bert_config = folder / "sentence_bert_config.json"
    length = _read_json(bert_config).get("max_seq_length") if bert_config.is_file() else None  # type: ignore[union-attr]
    later = listed[at + 1 :]
    normalize = bool(later) and later[0][0] == "Normalize"
    after = tuple(
        _step(folder, kind, path)
        for kind, path in (later[1:] if normalize else later)
        if kind in ("Dense", "Normalize")
    )
    return SentencePooling(
        modes=modes,
        normalize=normalize,
        source=str(config_file),
        max_seq_length=int(length) if isinstance(length, int) and length > 0 else None,
        after=after,
    )


def _modes(config: dict, config_file: Path) -> tuple[str, ...]:
    """The pooling modes a Pooling config.json turns on: its ``pooling_mode_*`` flags, or (sentence-transformers 5
    on) its ``pooling_mode``, one name or a list, concatenated in the order given."""
    if "pooling_mode" in config:
        named = config["pooling_mode"]
        named = [named] if isinstance(named, str) else list(named or [])
        unknown = [str(mode) for mode in named if mode not in _MODE_NAMES]
        if unknown:
            raise BadInput(
                f"{config_file}: {unknown[0]} pooling is not supported: use cls, mean, max or mean_sqrt_len_tokens"
            )
        return tuple(_MODE_NAMES[mode] for mode in named)
    unsupported = [flag for flag in _UNSUPPORTED_FLAGS if config.get(flag)]
    if unsupported:
        raise BadInput(f"{config_file}: {unsupported[0]} pooling is not supported: use cls, mean, max or mean_sqrt_len")
    return tuple(mode for flag, mode in POOLING_FLAGS.items() if config.get(flag))


def _step(folder: Path, kind: str, path: str) -> tuple[str, str]:
    """One module after the pooling; a Dense is read now, so a folder it cannot use fails before any work."""
    if kind == "Normalize":
        return ("normalize", "")
    _dense(str(folder / path))
    return ("dense", str(folder / path))


#: A Dense module's activations, by the name its config.json gives (sentence-transformers' default is tanh).
_ACTIVATIONS = {"Identity": lambda x: x, "Tanh": lambda x: x.tanh()}


def _dense(path: str) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """A sentence-transformers Dense folder's (weight [out, in], bias or None, activation name), read once per
    version."""
    stamps = tuple((f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(Path(path).glob("*")) if f.is_file())
    return _load_dense(path, stamps)


@functools.lru_cache(maxsize=8)
def _load_dense(path: str, stamps: tuple[tuple[int, int], ...]) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    import torch

    folder = Path(path)
    config = _read_json(folder / "config.json")
    default = "torch.nn.modules.activation.Tanh"
    activation = str(config.get("activation_function", default) if isinstance(config, dict) else "").rsplit(".", 1)[-1]
    if activation not in _ACTIVATIONS:
        raise BadInput(
            f"{folder / 'config.json'}: activation {activation or '?'} is not supported: use Identity or Tanh"
        )
    try:
        if (folder / "model.safetensors").is_file():
            from safetensors.torch import load_file

            weights = load_file(str(folder / "model.safetensors"))
        else:
            weights = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
        return weights["linear.weight"].float(), weights.get("linear.bias"), activation
    except (OSError, KeyError, RuntimeError) as exc:
        raise BadInput(f"cannot read the Dense module in {folder} ({exc}): fix or remove it") from None


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
    embedding = torch.nn.functional.normalize(embedding, dim=-1) if pooling.normalize else embedding
    for kind, path in pooling.after:
        if kind == "normalize":
            embedding = torch.nn.functional.normalize(embedding, dim=-1)
            continue
        weight, bias, activation = _dense(path)
        bias = None if bias is None else bias.float().to(embedding.device)
        embedding = _ACTIVATIONS[activation](torch.nn.functional.linear(embedding, weight.to(embedding.device), bias))
    return embedding


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
