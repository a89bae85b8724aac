"""Model references: a local Hugging Face folder, a packaged alias, or a hub id."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from distilcli.errors import BadInput
from distilcli.models.aliases import ALIASES

# owner/name or a bare legacy id such as bert-base-uncased (the hub's own rules, simplified).
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?$")
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
# Everything a model folder needs; leaves out TF/Flax/ONNX weights a hub repo may also hold.
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model"]


@dataclass(frozen=True)
class ModelRef:
    """A model reference resolved to a local folder in Hugging Face format."""

    spec: str  # what the user typed
    path: Path
    source: str  # "folder", "alias" or "hub"

    def to_dict(self) -> dict[str, str]:
        return {"spec": self.spec, "path": str(self.path), "source": self.source}


def check_model_folder(path: Path) -> None:
    """A folder with a readable config.json naming its model_type, and weights: else :class:`BadInput`."""
    if not path.exists():
        raise BadInput(
            f"model folder {path} does not exist: pass a folder in Hugging Face format, an alias or a hub id"
        )
    if not path.is_dir():
        raise BadInput(f"model {path} is a file, not a folder: pass the folder that holds config.json")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise BadInput(f"model folder {path} has no config.json: it is not a Hugging Face model folder")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{config_file} is not valid JSON ({exc}): fix or replace the file") from None
    if not isinstance(config, dict) or "model_type" not in config:
        raise BadInput(f"{config_file} names no model_type: it is not a Hugging Face model config")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise BadInput(f"model folder {path} has no weights ({' or '.join(WEIGHT_FILES[::2])})")


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or spec.endswith("/") or spec.count("/") > 1 or "\\" in spec


def hub_id_of(spec: str) -> str | None:
    """``spec`` when it names a model on the Hub (not an existing or path-like local folder), else None."""
    text = str(spec).strip()
    if not text or Path(text).expanduser().exists() or _looks_like_path(text) or not _HUB_ID.match(text):
        return None
    return text


def _from_hub(spec: str) -> Path:
    """Download (or find in the local hub cache) the files of a hub model."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(spec, allow_patterns=_HUB_PATTERNS))
        if not any((folder / name).is_file() for name in WEIGHT_FILES):
            # Older repos have only PyTorch pickles; fetch those only when there is nothing else.
            folder = Path(snapshot_download(spec, allow_patterns=[*_HUB_PATTERNS, "pytorch_model*.bin"]))
    except Exception as exc:  # noqa: BLE001 - hub errors come in many types; all mean "not available"
        close = difflib.get_close_matches(spec, list(ALIASES), n=1)
        alias_hint = f" (did you mean the packaged alias {close[0]!r}?)" if close else ""
        reason = type(exc).__name__
        raise BadInput(
            f"model {spec!r} is not a local folder and could not be fetched from the Hugging Face Hub ({reason})"
            f"{alias_hint}: download it where the hub is reachable and pass its local folder instead"
        ) from None
    return folder


def resolve_model(spec: str | Path) -> ModelRef:
    """Resolve what the user typed to a checked local model folder.

    Order: a packaged alias, an existing path, then a hub id (the hub or its local cache).
    """
    text = str(spec).strip()
    if not text:
        raise BadInput("empty model reference: pass a folder, an alias (see `distil models`) or a hub id")
    if text in ALIASES:
        path = ALIASES.get(text).path()
        check_model_folder(path)
        return ModelRef(text, path, "alias")
    path = Path(text).expanduser()
    if path.exists() or _looks_like_path(text) or not _HUB_ID.match(text):
        check_model_folder(path)
        return ModelRef(text, path.resolve(), "folder")
    folder = _from_hub(text)
    check_model_folder(folder)
    return ModelRef(text, folder, "hub")
