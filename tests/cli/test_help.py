"""``--help`` of every command: each option mapped to a config field shows that field's default."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import distilcli.commands
from distilcli.benchmark.config import BenchmarkConfig
from distilcli.cli import app
from distilcli.distill.config import MODE_DEFAULTS, DistillConfig
from distilcli.evaluate.glue_eval import EvalGlueConfig
from distilcli.evaluate.squad_eval import EvalSquadConfig
from distilcli.distill.suggest import SuggestLayersConfig
from distilcli.evaluate.retrieval_eval import EvalRetrievalConfig
from distilcli.evaluate.sts_eval import EvalStsConfig
from distilcli.export.config import ExportConfig
from distilcli.finetune.config import FinetuneConfig
from distilcli.models.student import StudentConfig
from distilcli.pipeline.run import PipelineConfig

#: Command path -> its config dataclass and the fields whose option has another name (field -> parameter).
COMMANDS: dict[tuple[str, ...], tuple[type, dict[str, str]]] = {
    ("distill",): (DistillConfig, {}),
    ("finetune",): (FinetuneConfig, {}),
    ("eval-glue",): (EvalGlueConfig, {}),
    ("eval-squad",): (EvalSquadConfig, {"eval_batch_size": "batch_size"}),
    ("eval-sts",): (EvalStsConfig, {}),
    ("eval-retrieval",): (EvalRetrievalConfig, {}),
    ("models", "suggest-layers"): (SuggestLayersConfig, {}),
    ("benchmark",): (BenchmarkConfig, {}),
    ("export",): (ExportConfig, {}),
    ("models", "student"): (StudentConfig, {}),
    ("pipeline",): (PipelineConfig, {}),
}


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide help box, so that few rows wrap (wrapped rows are joined again below anyway)."""
    import typer.rich_utils

    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 200)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERMINAL_WIDTH", "200")


def help_rows(*command: str) -> dict[str, str]:
    """``--help`` of ``command`` as {first option name: the whole row, wrapped lines joined}."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0, result.output
    rows: dict[str, str] = {}
    current: str | None = None
    for line in result.stdout.splitlines():
        content = line.strip().strip("│").strip()
        if not line.strip().startswith("│") or not content:
            current = None
            continue
        if content.startswith("-"):
            current = content.split()[0]
            rows[current] = content
        elif current is not None:
            rows[current] += " " + content
    return {name: " ".join(row.split()) for name, row in rows.items()}


def shown(value: object) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def click_command(path: tuple[str, ...]) -> typer.core.TyperCommand:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command  # type: ignore[return-value]


@pytest.mark.parametrize("path", list(COMMANDS), ids=" ".join)
def test_every_config_default_is_in_the_help(path: tuple[str, ...]) -> None:
    config, renamed = COMMANDS[path]
    params = {p.name: p for p in click_command(path).params}
    rows = help_rows(*path)
    checked = 0
    for field in dataclasses.fields(config):
        default = field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
        name = renamed.get(field.name, field.name)
        if default in (None, dataclasses.MISSING, [], "") or name not in params:
            continue
        param = params[name]
        if isinstance(default, bool):
            if not param.secondary_opts:
                continue  # a lone flag (--resume) is off unless given
            expected = param.opts[0] if default else param.secondary_opts[0]
        else:
            expected = shown(default)
        row = rows[param.opts[0]]
        assert f"[default: {expected}]" in row, (path, field.name, row)
        assert row.count("[default:") == 1, row
        checked += 1
    # models student: every option defaults to unset; pipeline: the defaults live in the recipe.
    assert checked or path in (("models", "student"), ("pipeline",))


def test_finetune_epochs_default() -> None:
    row = help_rows("finetune")["--epochs"]
    assert "Passes over the training data. [default: 3]" in row
    assert FinetuneConfig.epochs == 3


def test_mode_dependent_defaults_show_every_mode() -> None:
    distill = help_rows("distill")
    general, task = MODE_DEFAULTS["general"], MODE_DEFAULTS["task"]
    assert f"[default: {shown(general['lr'])}; {shown(task['lr'])} with --task]" in distill["--lr"]
    assert f"[default: {general['batch_size']}; {task['batch_size']} with --task]" in distill["--batch-size"]
    assert "[default: 128; 384 with --task squad]" in distill["--max-seq-length"]
    assert "[default: 128; 384 with --task squad]" in help_rows("finetune")["--max-seq-length"]
    benchmark = help_rows("benchmark")
    assert "[default: 3; 10 with --preset paper]" in benchmark["--warmup"]
    assert "[default: 20; 1 with --preset paper]" in benchmark["--repeats"]
    # The mode switches themselves have no default.
    assert "default" not in distill["--task"] and "default" not in benchmark["--preset"]


def test_unset_means_the_models_own_value_not_a_number() -> None:
    # eval-squad's windows default to what the model was fine-tuned with: no fixed number is claimed.
    rows = help_rows("eval-squad")
    for option in ("--max-seq-length", "--doc-stride", "--max-query-length"):
        assert "[default" not in rows[option], rows[option]


def test_no_hand_written_defaults_and_each_option_declared_once() -> None:
    folder = Path(distilcli.commands.__file__).parent
    declared: dict[str, str] = {}
    for module in sorted(folder.glob("*.py")):
        source = module.read_text(encoding="utf-8")
        assert not re.search(r"help=.*\[default", source), module.name  # help strings never restate a default
        for name in re.findall(r'typer\.Option\(\s*"(--[a-z-]+)', source):
            first = declared.get(name, module.name)
            assert first == module.name, f"{name} is declared in {first} and {module.name}: declare it once in _options.py"
            declared[name] = module.name


def leaf_commands(command: object, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return {path: command}
    return {p: c for name, sub in subcommands.items() for p, c in leaf_commands(sub, (*path, name)).items()}


def test_every_command_with_a_config_shows_its_defaults() -> None:
    """A new command with a config dataclass must be marked with help_defaults and registered with DefaultsCommand."""
    import inspect

    from distilcli.commands._options import DefaultsCommand

    without_config = {("models", "list"), ("models", "inspect"), ("report", "show"), ("report", "compare"), ("report", "tables"), ("report", "plot")}
    for path, command in leaf_commands(typer.main.get_command(app)).items():
        marked = hasattr(inspect.unwrap(command.callback), "__help_defaults__")  # type: ignore[attr-defined]
        assert marked == (path not in without_config), path
        assert isinstance(command, DefaultsCommand) == marked, path
        assert path in COMMANDS or path in without_config, f"{' '.join(path)}: add it to COMMANDS above"


@pytest.mark.parametrize("path", list(COMMANDS), ids=" ".join)
def test_every_config_field_is_an_option(path: tuple[str, ...]) -> None:
    """Errors name a field by its flag (--min-tokens), so each field must be one: not only a --config key."""
    config, renamed = COMMANDS[path]
    params = {p.name for p in click_command(path).params}
    negated = {"group_by_length": "no_length_grouping"}  # --no-length-grouping sets it False
    missing = [f.name for f in dataclasses.fields(config) if negated.get(f.name, renamed.get(f.name, f.name)) not in params]
    assert not missing, f"{' '.join(path)}: no option for {missing}"
