"""Command configs: a dataclass per command, filled from ``--config file.yaml`` and the command line.

Options given on the command line win over the file; options left unset (``None``)
keep the file's value or the dataclass default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar, overload

from distilcli.errors import BadInput

C = TypeVar("C")

#: True while a command runs with ``--print-config``: :func:`build_config` then raises :class:`ConfigPrinted`.
PRINT_ONLY: ContextVar[bool] = ContextVar("distilcli_print_only", default=False)


class ConfigPrinted(Exception):
    """``--print-config``: the command stops once its options are resolved; ``yaml`` is what to print (exit 0)."""

    def __init__(self, config: Any) -> None:
        super().__init__("--print-config")
        self.config = config
        self.yaml = config_to_yaml(config)


def config_to_yaml(config: Any) -> str:
    """A config dataclass as YAML that ``--config`` reads back into an equal dataclass (fields in their order)."""
    import yaml

    return yaml.safe_dump(config_to_dict(config), sort_keys=False, allow_unicode=True, default_flow_style=False)


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


def _allowed(annotation: Any) -> tuple[Any, ...]:
    """The concrete types of a field annotation: ``int | None`` -> (int, NoneType)."""
    import types
    import typing

    if isinstance(annotation, (types.UnionType,)) or typing.get_origin(annotation) is typing.Union:
        return tuple(t for arg in typing.get_args(annotation) for t in _allowed(arg))
    return (typing.get_origin(annotation) or annotation,)


def _list_element(annotation: Any) -> type:
    """The element type of the ``list[...]`` in a field annotation (int when unspecified)."""
    import types
    import typing

    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            if typing.get_origin(arg) is list:
                return _list_element(arg)
        return int
    args = typing.get_args(annotation)
    return args[0] if typing.get_origin(annotation) is list and args and isinstance(args[0], type) else int


def _coerce(name: str, value: Any, annotation: Any, source: Path) -> Any:
    """Check a config-file value against its field's type; YAML gives bools, ints, floats, strings, lists."""
    allowed = _allowed(annotation)
    for kind in allowed:
        if kind is type(None) and value is None:
            return None
        if kind is bool and isinstance(value, bool):
            return value
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind is str and isinstance(value, str):
            return value
        if kind is Path and isinstance(value, str) and value:
            return Path(value)
        if kind is list and isinstance(value, list):
            element = _list_element(annotation)
            if all(isinstance(v, element) and not isinstance(v, bool) for v in value):
                return value
    list_name = "a list of strings" if _list_element(annotation) is str else "a list of integers"
    names = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        Path: "a path",
        list: list_name,
    }
    wanted = " or ".join(names.get(k, getattr(k, "__name__", str(k))) for k in allowed if k is not type(None))
    raise BadInput(f"config file {source}: option {name.replace('_', '-')} must be {wanted}, got {value!r}")


def coerce_options(cls: type, values: dict[str, Any], source: Path | str) -> dict[str, Any]:
    """Check YAML-typed ``values`` against ``cls``'s fields (paths become ``Path``), as a config file's are."""
    import typing

    hints = typing.get_type_hints(cls)
    return {key: _coerce(key, value, hints[key], Path(source)) for key, value in values.items()}


def unknown_options(unknown: list[str], known: set[str]) -> str:
    """One short line on options a config file names that the command has not, with a "did you mean"."""
    import difflib

    parts = []
    for name in unknown[:3]:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
    return f"unknown option(s) {', '.join(parts)}{more}: the command's options are in its --help"


def build_config(
    cls: type[C], config_file: Path | None = None, *, check: Callable[[C], None] | None = None, **cli_values: Any
) -> C:
    """Make a ``cls`` dataclass from an optional config file, then command-line values on top.

    ``check(config)`` runs on the result before ``--print-config`` stops the command, so a printed
    config is one whose command line would run.
    """
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    if config_file is not None:
        from_file = read_config_file(config_file)
        unknown = sorted(set(from_file) - fields)
        if unknown:
            raise BadInput(f"config file {config_file}: {unknown_options(unknown, fields)}")
        values.update(coerce_options(cls, from_file, config_file))
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
    config = cls(**values)
    if check is not None:
        check(config)
    if PRINT_ONLY.get():
        # The command stops here, before any work. A config that resolves its mode's defaults
        # itself (``resolved()``) is printed resolved, so the file states every value used.
        resolve = getattr(config, "resolved", None)
        raise ConfigPrinted(resolve() if callable(resolve) else config)
    return config


@overload
def parse_list(value: list[Any] | str, option: str, kind: type[int], *, example: str = "") -> list[int]: ...
@overload
def parse_list(
    value: list[Any] | str, option: str, kind: type[str] | tuple[str, ...], *, example: str = ""
) -> list[str]: ...
@overload
def parse_list(value: None, option: str, kind: type[int | str] | tuple[str, ...], *, example: str = "") -> None: ...


def parse_list(
    value: list[Any] | str | None, option: str, kind: type[int | str] | tuple[str, ...], *, example: str = ""
) -> list[int] | list[str] | None:
    """A list option, from the command line (``"1, 2,3"``) or a YAML list, in the given order, repeats kept.

    ``kind`` is ``int``, ``str``, or a tuple of choices (matched case-insensitively, returned lower-case);
    ``example`` shows the fix in the error. None stays None. An empty list, an item that is not an
    integer, or one not among the choices is :class:`BadInput` naming the option and the fix.
    """
    if value is None:
        return None
    raw = value if isinstance(value, list) else str(value).split(",")
    items = [str(item).strip() for item in raw if str(item).strip()]
    fix = (
        f"choose from {', '.join(kind)}"
        if isinstance(kind, tuple)
        else f"give a comma-separated list such as {example}"
    )
    if not items:
        raise BadInput(f"{option} is empty: {fix}")
    if kind is int:
        numbers: list[int] = []
        for item in items:
            try:
                numbers.append(int(item))  # str(True) is "True": a YAML boolean is refused too
            except ValueError:
                raise BadInput(f"{option} {item!r} is not an integer: {fix}") from None
        return numbers
    if isinstance(kind, tuple):
        chosen = [item.lower() for item in items]
        unknown = [item for item in chosen if item not in kind]
        if unknown:
            raise BadInput(f"unknown {option} {unknown[0]!r}: {fix}")
        return chosen
    return items


def check_unchanged(saved: dict[str, Any], config: Any, resumable: frozenset[str]) -> None:
    """On --resume: ``config`` must match the ``saved`` run's options, except the ``resumable`` ones."""
    now = config_to_dict(config)
    # An option added after the run was saved is not in its config: the run used that option's default.
    added = {f.name: _plain(f.default) for f in dataclasses.fields(config) if f.default is not dataclasses.MISSING}
    saved = added | saved
    changed = sorted(k for k in now if k not in resumable and saved.get(k) != now[k])
    if changed:
        first = changed[0]
        raise BadInput(
            f"--resume with different options ({', '.join(changed)}; e.g. {first} was {saved.get(first)!r}, "
            f"now {now[first]!r}): resume with the run's own options"
        )


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (paths become strings)."""
    return {key: _plain(value) for key, value in dataclasses.asdict(config).items()}


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it: paths as strings, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
