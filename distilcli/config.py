"""Command configs: a dataclass per command, filled from ``--config file.yaml`` and the command line.

Options given on the command line win over the file; options left unset (``None``)
keep the file's value or the dataclass default.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from distilcli.errors import BadInput

C = TypeVar("C")


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML (or JSON, which is YAML) mapping of option names to values."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"config file {path} does not exist: check the --config path") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"config file {path} is not readable YAML ({first}): fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(f"config file {path} must hold a mapping of option names to values")
    # Accept the command line's spelling (layer-map) as well as the field's (layer_map).
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def build_config(cls: type[C], config_file: Path | None = None, **cli_values: Any) -> C:
    """Make a ``cls`` dataclass from an optional config file, then command-line values on top."""
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    if config_file is not None:
        from_file = read_config_file(config_file)
        unknown = sorted(set(from_file) - fields)
        if unknown:
            raise BadInput(
                f"config file {config_file}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}"
            )
        values.update(from_file)
    values.update({key: value for key, value in cli_values.items() if value is not None})
    required = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if values.get(name) is None]
    if missing:
        options = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise BadInput(f"missing required option(s) {options}: give them on the command line or in --config")
    return cls(**values)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (paths become strings)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {key: plain(value) for key, value in dataclasses.asdict(config).items()}
