"""``--print-config``: one flag that every command with a config gets, added by ``DefaultsCommand``.

The flag stops the command in :func:`distilcli.config.build_config`, once its options are resolved,
and the command's context prints them as YAML (see ``_ui.command_context``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from distilcli.commands._panels import RUN

PrintConfigOpt = Annotated[
    bool,
    typer.Option(
        "--print-config",
        rich_help_panel=RUN,
        help="Write the fully resolved options (defaults filled in) as YAML to stdout and exit, running nothing; "
        "pass the file back with --config.",
    ),
]

#: The context's mark that --print-config was given.
PRINT_CONFIG = "distilcli.print_config"


def print_config_param() -> Any:
    """The ``--print-config`` flag as a click parameter, built by Typer from :data:`PrintConfigOpt`.

    It is not passed to the command function (``expose_value=False``): its callback marks the context,
    and :class:`~distilcli.commands._options.DefaultsCommand` turns the mark into :data:`distilcli.config.PRINT_ONLY`.
    """
    probe = typer.Typer(add_completion=False)

    @probe.command()
    def _probe(print_config: PrintConfigOpt = False) -> None:  # pragma: no cover - never run
        """Only its parameter is used."""

    (param,) = typer.main.get_command(probe).params

    def mark(ctx: Any, _param: Any, value: bool) -> None:
        if value:
            ctx.meta[PRINT_CONFIG] = True

    param.expose_value, param.callback = False, mark
    return param
