"""Write docs/cli-reference.md: every command's options (name, type, default, help), read from the Typer app.

    python examples/gen_cli_docs.py            # rewrite docs/cli-reference.md
    python examples/gen_cli_docs.py --check    # exit 1 if docs/cli-reference.md is not current

The defaults are those ``distil <command> --help`` shows (read from each command's config dataclass).
tests/test_docs.py renders the page in memory and fails when the file differs. This script is not part
of the package, and the package never imports it.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "cli-reference.md"
REGENERATE = "python examples/gen_cli_docs.py"


def _defaults(command: Any) -> dict[str, object]:
    """The defaults ``--help`` shows for ``command``: its config's, where it registered a provider."""
    try:
        from distilcli.commands import _options
    except ImportError:  # pragma: no cover - the package moved its help helpers
        return {}
    name = getattr(_options, "_PROVIDER", None)
    callback = getattr(command, "callback", None)
    provider = getattr(inspect.unwrap(callback), name, None) if name and callback else None
    return dict(provider()) if provider is not None else {}


def _shown_default(param: Any, defaults: dict[str, object]) -> str:
    """The default column: the config's default as --help shows it, else the option's own."""
    from distilcli.commands import _options

    if param.name in defaults:
        shown = getattr(_options, "_shown", None)
        if shown is not None:
            text = shown(param, defaults[param.name])
            return "" if text is None else str(text)
        return _options.format_default(defaults[param.name])
    value = param.default
    if value is None or value is False or value == () or value == [] or value == "":
        return ""
    if value is True:
        return param.opts[0] if getattr(param, "secondary_opts", None) else ""
    return _options.format_default(value) if not callable(value) else ""


def _cell(text: object) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: object) -> str:
    """A cell in code style (empty stays empty)."""
    return f"`{_cell(text)}`" if str(text).strip() else ""


def _text(text: object) -> str:
    """Prose: one line, with the characters Markdown would read as HTML or table syntax escaped."""
    return _cell(str(text).replace("<", "&lt;").replace(">", "&gt;"))


def _option_row(param: Any, ctx: Any, defaults: dict[str, object]) -> tuple[str, str, str, str]:
    help_text = getattr(param, "_help_alone", None) or param.help or ""
    if getattr(param, "param_type_name", "") == "argument":
        name = (param.metavar or param.name or "").upper()
        annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        kind = getattr(annotation, "__name__", str(annotation or "")).lower()
        names = name if param.required else f"{name} (optional)"
        return names, kind, _shown_default(param, defaults), help_text
    record = param.get_help_record(ctx)
    shown = record[0] if record else ", ".join(param.opts)
    if getattr(param, "is_flag", False) or " " not in shown.replace(", ", ",").replace(" / ", "/"):
        names, kind = shown, "flag"
    else:
        names, _, metavar = shown.rpartition(" ")
        kind = metavar.strip("<>")
    if getattr(param, "multiple", False):
        kind += ", repeatable"
    if getattr(param, "required", False):
        kind += ", required"
    return names, kind, _shown_default(param, defaults), help_text


def _section(path: list[str], command: Any, lines: list[str]) -> None:
    title = " ".join(path)
    lines += [f"## `{title}`", ""]
    doc = inspect.cleandoc(command.help or "")
    if doc:
        paragraphs = [_text(p).replace("\\|", "|") for p in doc.split("\n\n")]
        lines += [p for para in paragraphs for p in (para, "")]
    ctx = typer.Context(command, info_name=path[-1])
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    sub = getattr(command, "commands", None)
    usage = " ".join([*path, *[" ".join(command.collect_usage_pieces(ctx))]]).strip()
    lines += [f"Usage: `{usage}`", ""]
    if sub:
        lines += ["Subcommands: " + ", ".join(f"[`{name}`](#{_anchor([*path, name])})" for name in sub), ""]
    if not params:
        return
    defaults = _defaults(command)
    panels: dict[str, list[tuple[str, str, str, str]]] = {}
    for param in params:
        panel = getattr(param, "rich_help_panel", None) or (
            "Arguments" if getattr(param, "param_type_name", "") == "argument" else "Options"
        )
        panels.setdefault(panel, []).append(_option_row(param, ctx, defaults))
    for panel, rows in panels.items():
        if len(panels) > 1 or panel != "Options":
            lines += [f"**{panel}**", ""]
        head = "argument" if panel == "Arguments" else "option"
        lines += [f"| {head} | type | default | help |", "|---|---|---|---|"]
        for names, kind, default, help_text in rows:
            cells = [_code(names), _code(kind), _code(default), _text(help_text)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")


def _anchor(path: list[str]) -> str:
    """GitHub's anchor for a heading ``## `distil models student` ``."""
    return "-".join(path).lower()


def _walk(path: list[str], command: Any) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        if not getattr(sub, "hidden", False):
            found += _walk([*path, name], sub)
    return found


def render() -> str:
    """The whole page, as it should be on disk."""
    from distilcli.cli import app

    root = typer.main.get_command(app)
    commands = _walk(["distil"], root)
    lines = [
        "# `distil` option reference",
        "",
        f"<!-- Generated from the code by `{REGENERATE}`: do not edit by hand. -->",
        "",
        "Every command and its options as `distil <command> --help` shows them: name, type, default",
        "(the command's own, from its configuration) and help. What each command does, with examples,",
        "is in [commands/](commands/README.md). This page is generated from the code, and",
        f"`tests/test_docs.py` fails when it is out of date (run `{REGENERATE}`).",
        "",
    ]
    lines += [f"- [`{' '.join(p)}`](#{_anchor(p)})" for p, _ in commands]
    lines.append("")
    for path, command in commands:
        _section(path, command, lines)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
