"""``--print-config`` on every command with a config: the resolved options as YAML, and back through ``--config``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

import distilcli.config as config_module
from distilcli.config import build_config
from tests.cli.conftest import assert_one_line_error
from tests.cli.test_help import COMMANDS, click_command, leaf_commands

#: Command path -> (arguments before the options, options); {tmp} is the test's folder. Nothing here exists:
#: --print-config must not look at models, data or outputs.
CASES: dict[str, tuple[tuple[str, ...], list[str], list[str]]] = {
    "distill": (
        ("distill",),
        [],
        [
            "--teacher",
            "t",
            "--corpus",
            "{tmp}/c.txt",
            "--out",
            "{tmp}/out",
            "--lr",
            "1e-3",
            "--layers",
            "3",
            "--no-length-grouping",
        ],
    ),
    "distill-task": (
        ("distill",),
        [],
        ["--teacher", "t", "--task", "squad", "--train-file", "{tmp}/t.json", "--out", "{tmp}/out", "--cache-teacher"],
    ),
    "finetune": (
        ("finetune",),
        [],
        ["--model", "m", "--task", "sst2", "--out", "{tmp}/out", "--epochs", "2", "--seeds", "1,2", "--resume"],
    ),
    "eval-glue": (
        ("eval-glue",),
        [],
        ["--model", "a", "--model", "b", "--task", "sst2,cola", "--fail-under", "accuracy=0.5", "--update-card"],
    ),
    "eval-squad": (
        ("eval-squad",),
        [],
        ["--model", "m", "--task", "squad_v2", "--batch-size", "16", "--null-threshold", "0.5"],
    ),
    "eval-sts": (("eval-sts",), [], ["--model", "a", "--pairs", "{tmp}/p.tsv", "--max-seq-length", "64"]),
    "eval-retrieval": (("eval-retrieval",), [], ["--model", "a,b", "--data", "{tmp}/d.json", "--fail-under", "ndcg@10=0.5"]),
    "benchmark": (
        ("benchmark",),
        [],
        ["--model", "a", "--model", "b", "--batch-sizes", "1,2", "--preset", "paper", "--glue-dir", "{tmp}/g"],
    ),
    "export": (
        ("export",),
        ["m"],
        ["--out", "{tmp}/out", "--quantize", "dynamic-int8", "--task", "sst2", "--limit", "100"],
    ),
    "pipeline": (
        ("pipeline",),
        [],
        ["--recipe", "smoke", "--out", "{tmp}/out", "--fail-under", "glue.student.macro_retention=0.9"],
    ),
    "models student": (("models", "student"), ["t"], ["--out", "{tmp}/out", "--layers", "2", "--fold-token-type"]),
    "models suggest-layers": (("models", "suggest-layers"), ["t"], ["--corpus", "{tmp}/c.txt", "--layers", "3", "--sample", "64"]),
}


def resolved(config: object) -> object:
    resolve = getattr(config, "resolved", None)
    return resolve() if callable(resolve) else config


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The configs --print-config printed, in order (recorded as build_config hands them over)."""
    seen: list[object] = []

    class Recording(config_module.ConfigPrinted):
        def __init__(self, config: object) -> None:
            super().__init__(config)
            seen.append(config)

    monkeypatch.setattr(config_module, "ConfigPrinted", Recording)
    return seen


def test_every_command_with_a_config_has_a_case() -> None:
    assert {path for _, (path, _, _) in CASES.items()} == set(COMMANDS)


@pytest.mark.parametrize("case", list(CASES))
def test_print_config_round_trip(case: str, distil, printed: list[object], tmp_path: Path) -> None:
    path, positional, options = CASES[case]
    cls = COMMANDS[path][0]
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    first = distil(*path, *positional, *options, "--print-config")
    assert first.exit_code == 0, first.stderr
    assert not (tmp_path / "out").exists()  # nothing was run
    values = yaml.safe_load(first.stdout)
    assert list(values) == [f.name for f in dataclasses.fields(cls)]  # every option, defaults filled in
    file = tmp_path / "printed.yaml"
    file.write_text(first.stdout)

    # Fed back, the file alone gives the same config, and prints the same YAML.
    second = distil(*path, *positional, "--config", file, "--print-config")
    assert second.exit_code == 0, second.stderr
    assert second.stdout == first.stdout
    original, from_file = printed
    assert from_file == original
    assert resolved(build_config(cls, file)) == original  # the dataclass a run would use


def test_print_config_fills_mode_defaults(distil, tmp_path: Path) -> None:
    from distilcli.distill.config import MODE_DEFAULTS

    general = yaml.safe_load(
        distil("distill", "--teacher", "t", "--corpus", "c", "--out", tmp_path / "o", "--print-config").stdout
    )
    task = yaml.safe_load(
        distil("distill", "--teacher", "t", "--task", "squad", "--out", tmp_path / "o", "--print-config").stdout
    )
    assert general["lr"] == MODE_DEFAULTS["general"]["lr"] and task["lr"] == MODE_DEFAULTS["task"]["lr"]
    assert general["max_seq_length"] == 128 and task["max_seq_length"] == 384
    finetune = yaml.safe_load(
        distil("finetune", "--model", "m", "--task", "squad", "--out", tmp_path / "o", "--print-config").stdout
    )
    assert finetune["max_seq_length"] == 384
    benchmark = yaml.safe_load(distil("benchmark", "--model", "a", "--print-config").stdout)
    assert (benchmark["warmup"], benchmark["repeats"], benchmark["batch_sizes"]) == (3, 20, [1, 8, 32])


def test_print_config_checks_the_options(distil, tmp_path: Path) -> None:
    assert_one_line_error(
        distil("benchmark", "--model", "a", "--batch-sizes", "0", "--print-config"), 2, "--batch-sizes"
    )
    assert_one_line_error(distil("finetune", "--model", "m", "--print-config"), 2, "--task")


def test_every_config_command_shows_print_config() -> None:
    import typer

    from distilcli.cli import app

    for path, command in leaf_commands(typer.main.get_command(app)).items():
        names = [p.name for p in command.params]  # type: ignore[attr-defined]
        assert ("print_config" in names) == (path in COMMANDS), path
    assert [p.name for p in click_command(("distill",)).params].count("print_config") == 1


def test_options_that_were_config_keys_only_reach_the_config(distil, tmp_path: Path) -> None:
    """Flags added so that every error's named flag exists: each one's value lands in its field.

    Each set is given in a mode where it acts (the others are refused, --print-config included)."""
    corpus = {"--mlm-probability": ("mlm_probability", "0.2", 0.2), "--mlm-smoothing": ("mlm_smoothing", "0.5", 0.5),
              "--head-lr": ("head_lr", "0.01", 0.01), "--heldout-chunks": ("heldout_chunks", "8", 8),
              "--min-tokens": ("min_tokens", "6", 6), "--adam-beta1": ("adam_beta1", "0.8", 0.8),
              "--cache-dir": ("cache_dir", str(tmp_path / "cache"), str(tmp_path / "cache"))}  # fmt: skip
    squad = {"--eval-batch-size": ("eval_batch_size", "16", 16), "--n-best": ("n_best", "5", 5),
             "--max-answer-length": ("max_answer_length", "20", 20), "--null-threshold": ("null_threshold", "0.5", 0.5)}  # fmt: skip
    for mode, given in ((["--corpus", "c"], corpus), (["--task", "squad"], squad)):
        options = [part for flag, (_, text, _) in given.items() for part in (flag, text)]
        result = distil("distill", "--teacher", "t", *mode, "--out", tmp_path / "o", *options, "--print-config")
        assert result.exit_code == 0, result.stderr
        values = yaml.safe_load(result.stdout)
        assert {field: values[field] for field, _, _ in given.values()} == {f: want for f, _, want in given.values()}
    finetune = distil("finetune", "--model", "m", "--task", "sst2", "--out", tmp_path / "o", "--adam-beta1", "0.8",
                      "--print-config")  # fmt: skip
    assert yaml.safe_load(finetune.stdout)["adam_beta1"] == 0.8
    suggest = distil("models", "suggest-layers", "t", "--corpus", "c", "--batch-size", "4", "--print-config")
    assert yaml.safe_load(suggest.stdout)["batch_size"] == 4
    bad = distil("distill", "--teacher", "t", "--corpus", "c", "--out", tmp_path / "o", "--mlm-probability", "1.5")
    assert_one_line_error(bad, 2, "--mlm-probability must be between 0 and 1")
    assert not (tmp_path / "o").exists()
