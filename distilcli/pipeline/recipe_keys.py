"""How a recipe's sections are checked: keys by name (with "did you mean"), options against the command they feed."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from distilcli.config import coerce_options
from distilcli.errors import BadInput

#: Options the pipeline sets itself for every stage: a recipe may not name them.
_RESERVED = {
    "teacher",
    "student",
    "model",
    "task",
    "out",
    "resume",
    "overwrite",
    "seeds",
    "output",
    "layers",
    "layer_map",
    "arch",
}


def _mapping(value: Any, source: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(f"recipe {source}: {where} must be a mapping, got {value!r}")
    return {str(k).replace("-", "_"): v for k, v in value.items()}


def _check_keys(data: dict[str, Any], known: set[str], source: str, prefix: str) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {prefix}{close[0]}? " if close else ""
            raise BadInput(f"recipe {source}: unknown key {prefix}{key}: {hint}known: {', '.join(sorted(known))}")


def _options(
    value: Any, command: str, source: str, prefix: str | None = None, allow: set[str] = frozenset()
) -> dict[str, Any]:
    """Options of one command, checked against that command's config fields (reserved ones refused)."""
    prefix = prefix if prefix is not None else f"{command}."
    options = _mapping(value, source, prefix.rstrip("."))
    cls = command_config(command)
    _check_keys(options, {f.name for f in dataclasses.fields(cls)} - _RESERVED | set(allow), source, prefix)
    coerce_options(cls, options, source)  # a value of the wrong type fails here, before any stage runs
    return options


def command_config(command: str) -> type:
    """The config dataclass of the command a recipe section feeds."""
    if command == "distill":
        from distilcli.distill.config import DistillConfig

        return DistillConfig
    if command == "finetune":
        from distilcli.finetune.config import FinetuneConfig

        return FinetuneConfig
    if command == "eval-sts":
        from distilcli.evaluate.sts_eval import EvalStsConfig

        return EvalStsConfig
    if command == "eval-retrieval":
        from distilcli.evaluate.retrieval_eval import EvalRetrievalConfig

        return EvalRetrievalConfig
    if command == "export":
        from distilcli.export.config import ExportConfig

        return ExportConfig
    from distilcli.benchmark.config import BenchmarkConfig

    return BenchmarkConfig
