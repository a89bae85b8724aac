"""How the commands' options are parsed and shown: list options, help panels, help that shows defaults.

The options themselves are ``Annotated`` aliases in ``_model_options``, ``_data_options``,
``_task_options``, ``_train_options``, ``_eval_options`` and ``_run_options``, each flag declared in
one of them (a flag whose help differs by command has one alias per meaning there), each in one of
the panels of ``_panels``. Every option defaults to ``None`` (or ``False`` for flags) so that a value
from ``--config file.yaml`` is not overridden by a default nobody typed. The defaults therefore live
in the command's config dataclass only, and ``--help`` reads them from there: a command marked with
:func:`help_defaults` and registered with ``cls=DefaultsCommand`` shows ``[default: X]`` for every
option that maps to a config field with a default. The config modules are imported only when help is
shown, which keeps ``distil --help`` fast.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from distilcli.commands._panels import RUN
from distilcli.commands._print_config import PRINT_CONFIG, print_config_param

F = TypeVar("F", bound=Callable[..., Any])

#: Option parameter name -> its default (a value from a config dataclass, or text for mode-dependent ones).
Defaults = dict[str, object]

# -- list options -------------------------------------------------------------------------------------


def split_list(values: list[str] | None) -> list[str] | None:
    """A list option's items, given repeated (``--seeds 1 --seeds 2``), comma-separated (``--seeds 1,2``) or both.

    The one parser of every list option on the command line (the ``callback`` of each): items in the
    given order, blanks dropped; None when the option is absent, so that ``--config``'s value stays.
    """
    items = [item.strip() for value in values or [] for item in str(value).split(",") if item.strip()]
    return items or None


def joined(items: list[str] | None) -> str | None:
    """A list option's items as the comma-separated text the config's parsers read; None stays None."""
    return ",".join(items) if items else None


def list_metavar(kind: type) -> str:
    """How help shows a list option's value: ``<str,...>``."""
    return f"<{kind.__name__},...>"


# -- help: named panels, flags without a type --------------------------------------------------------


class PanelHelp:
    """Help in named panels, flags shown without ``<bool>`` (a flag takes no value): mixed into commands and groups.

    The options typer adds itself (``--help``, the completion ones) go to the "Run and output" panel.
    """

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.rich_help_panel = RUN
        return option

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False):
                param.metavar = ""  # typer would show the Python type, <bool>
            if getattr(param, "rich_help_panel", None) is None and TYPER_OPTIONS.intersection(param.opts):
                param.rich_help_panel = RUN
        return params


#: Options typer adds on its own (the root's shell completion).
TYPER_OPTIONS = frozenset({"--install-completion", "--show-completion"})


class HelpCommand(PanelHelp, TyperCommand):
    """A command without a config dataclass: panels and flags as every command shows them."""


class HelpGroup(PanelHelp, TyperGroup):
    """A group of commands (``distil models``, ``distil report``): its own options shown the same way."""


# -- help that shows the config dataclass's defaults ---------------------------------------------------

_PROVIDER = "__help_defaults__"


def help_defaults(provider: Callable[[], Defaults]) -> Callable[[F], F]:
    """Mark a command whose ``--help`` shows the defaults ``provider()`` returns (read only when help is shown).

    Register the command with ``cls=DefaultsCommand`` for the mark to take effect.
    """

    def mark(func: F) -> F:
        setattr(func, _PROVIDER, provider)
        return func

    return mark


def field_defaults(config: type, rename: Mapping[str, str] | None = None) -> Defaults:
    """The defaults of a config dataclass's fields, by option parameter name (``rename``: field -> parameter).

    Fields without a default, or whose default is None or empty, are left out: their help says what unset means.
    """
    rename = rename or {}
    shown: Defaults = {}
    for f in dataclasses.fields(config):
        if f.default is not dataclasses.MISSING:
            value: object = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            continue
        if value is not None and value != [] and value != "":
            shown[rename.get(f.name, f.name)] = value
    return shown


def mode_defaults(config: type, variants: Iterable[tuple[str, object]]) -> Defaults:
    """Defaults that depend on the mode, for the fields ``config`` leaves at None.

    ``variants`` are ``(label, resolved config)`` pairs, the plain mode first with an empty label,
    e.g. ``("with --task", cfg)``: a field shows ``"8; 32 with --task"``, each different value once.
    """
    unset = [f.name for f in dataclasses.fields(config) if f.default is None]
    variants = list(variants)
    shown: Defaults = {}
    for name in unset:
        parts: list[str] = []
        seen: list[object] = []
        for index, (label, resolved) in enumerate(variants):
            value = resolved.get(name) if isinstance(resolved, Mapping) else getattr(resolved, name, None)
            if value is None and index == 0:
                break  # unset in the plain mode too (the mode's own switch, e.g. --task): no default
            if value is None or value in seen:
                continue
            seen.append(value)
            parts.append(" ".join(filter(None, (format_default(value), label))))
        if parts:
            shown[name] = "; ".join(parts)
    return shown


def unset_config(config: type[Any], **values: object) -> Any:
    """A ``config`` dataclass with ``values`` and every required field None: to ask the code for its mode defaults."""
    required = {
        f.name: None
        for f in dataclasses.fields(config)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in values
    }
    return config(**required, **values)


def format_default(value: object) -> str:
    """How help shows a default: floats in short form (5e-05, 0.1), lists comma-separated."""
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (list, tuple)):
        return ",".join(format_default(v) for v in value)
    return str(value)


class DefaultsCommand(HelpCommand):
    """A command whose help shows the defaults its :func:`help_defaults` provider reads from the config.

    Every such command (each one with a config dataclass) also gets ``--print-config``: the command
    runs up to :func:`distilcli.config.build_config`, which then stops it with the resolved options.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            # Rich keeps a docstring's line breaks: rejoin each paragraph so the terminal wraps it,
            # here and in the root's list of commands.
            self.help = "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(self.help).split("\n\n"))
        names = [p.name for p in self.params]
        # Beside --config, whose file it writes; else last.
        self.params.insert(names.index("config") + 1 if "config" in names else len(names), print_config_param())

    def invoke(self, ctx: Any) -> Any:
        from distilcli.config import PRINT_ONLY

        token = PRINT_ONLY.set(bool(ctx.meta.get(PRINT_CONFIG)))
        try:
            return super().invoke(ctx)
        finally:
            PRINT_ONLY.reset(token)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        provider = getattr(inspect.unwrap(self.callback), _PROVIDER, None) if self.callback else None
        if provider is not None:
            defaults = provider()
            for param in self.params:
                if param.name in defaults and isinstance(param, typer.core.TyperOption):
                    shown = _shown(param, defaults[param.name])
                    if shown is not None:
                        # Keep the help without a default, so that showing help twice adds it once.
                        alone = getattr(param, "_help_alone", param.help)
                        param._help_alone = alone  # type: ignore[attr-defined]
                        param.help = _with_default(alone, shown, self.rich_markup_mode)
        super().format_help(ctx, formatter)


def _with_default(help_text: str | None, shown: str, markup_mode: object) -> str:
    """``help_text [default: shown]``; the bracket escaped where Rich markup would swallow it as a tag."""
    bracket = "\\[" if markup_mode == "rich" else "["
    return f"{help_text or ''} {bracket}default: {shown}]".strip()


def _shown(param: typer.core.TyperOption, value: object) -> str | None:
    """The text after ``default:``; for an on/off flag pair the flag that is in effect, for a lone flag nothing."""
    if isinstance(value, bool):
        if not param.secondary_opts:
            return None  # --resume, --overwrite: off unless given, nothing to show
        return param.opts[0] if value else param.secondary_opts[0]
    return format_default(value)
