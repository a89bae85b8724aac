"""One run-folder lifecycle (issue 22, item 13): general distillation, task distillation and finetune check,
claim, start and resume their ``--out`` through :class:`~distilcli.rundir.RunFolder`, so the same folder
gets the same refusal from each, and --overwrite empties only a folder distilcli made."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from distilcli import rundir
from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput
from distilcli.finetune.config import FinetuneConfig
from distilcli.finetune.engine import run_finetune
from distilcli.reports import Report
from distilcli.rundir import LOCK, MARKER, RUN_CONFIG, RunFolder, marker_command, write_marker
from tests.unit.test_distill_engine import config as distill_config
from tests.unit.test_distill_engine import corpus  # noqa: F401 - the shared corpus fixture

#: The three training commands, by the name their folders' marker carries.
COMMANDS = ["distill", "distill --task", "finetune"]
#: For each, another command's folder it must not resume.
OTHER = {"distill": "distill --task", "distill --task": "finetune", "finetune": "distill"}

Run = Callable[..., Report]


@pytest.fixture
def run(
    tiny_models: dict[str, Path],
    tiny_encoders: dict[str, Path],
    tiny_glue: Path,
    corpus: Path,  # noqa: F811
) -> Run:
    """``run(command, out, teacher=None, **flags)``: a two-step run of ``command`` into ``out``."""

    def start(command: str, out: Path, teacher: Path | None = None, **flags: object) -> Report:
        if command == "distill":
            return run_distill(distill_config(tiny_models["bert"], corpus, out, max_steps=2, save_every=2, **flags))
        short = {"max_steps": 2, "log_every": 1, "batch_size": 8, "glue_dir": tiny_glue, "out": out} | flags
        if command == "distill --task":
            teacher_spec = str(teacher or tiny_encoders["bert"])
            return run_distill(DistillConfig(teacher=teacher_spec, task="glue:sst2", layer_map="0,2", **short))
        return run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="sst2", **short))

    return start


@pytest.fixture
def no_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model load fails the test: the refusals under test come before it."""
    from distilcli.models import loading, student
    from distilcli.tasks.glue import entry

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded before the refusal")

    for module in (loading, student):
        monkeypatch.setattr(module, "load_mlm_model", refuse)
    monkeypatch.setattr(entry.GlueEntry, "load", refuse)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _user_folder(path: Path) -> Path:
    """A folder a user made: files distilcli did not write."""
    (path / "docs").mkdir(parents=True)
    (path / "notes.txt").write_text("mine")
    (path / "docs" / "thesis.tex").write_text("years of work")
    return path


def _started_run(path: Path, command: str) -> Path:
    """A folder with everything a started run of any training command leaves, marked as ``command``'s."""
    path.mkdir()
    write_marker(path, command)
    for name in ("checkpoints", "teacher-head"):
        (path / name).mkdir()
    (path / RUN_CONFIG).write_text("{}")
    return path


# -- the same refusals from every command -------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_resume_needs_a_started_run(command: str, run: Run, tmp_path: Path, no_weights: None) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(BadInput, match="^--resume: .*: start without --resume"):
        run(command, missing, resume=True)
    assert not missing.exists()
    empty = tmp_path / "empty"  # the command's own folder, stopped before it started (no checkpoint, no options)
    empty.mkdir()
    write_marker(empty, command)
    with pytest.raises(BadInput, match="^--resume: .*: start without --resume"):
        run(command, empty, resume=True)
    assert _files(empty) == [MARKER]


@pytest.mark.parametrize("command", COMMANDS)
def test_resume_refuses_another_commands_folder(command: str, run: Run, tmp_path: Path, no_weights: None) -> None:
    other = _started_run(tmp_path / "other", OTHER[command])
    before = _files(other)
    message = (
        f"--resume: {other} is a '{OTHER[command]}' run folder, not a {command} run: resume it with its own command"
    )
    with pytest.raises(BadInput, match=f"^{re.escape(message)}$"):
        run(command, other, resume=True)
    assert _files(other) == before and marker_command(other) == OTHER[command]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_existing_run_needs_overwrite(command: str, run: Run, tmp_path: Path, no_weights: None) -> None:
    old = _started_run(tmp_path / "old", command)
    before = _files(old)
    with pytest.raises(
        BadInput, match=f"^output folder {re.escape(str(old))} already exists: pass --overwrite to replace it"
    ):
        run(command, old)
    assert _files(old) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_overwrite_never_replaces_a_folder_the_tool_did_not_make(
    command: str, run: Run, tmp_path: Path, no_weights: None
) -> None:
    home = _user_folder(tmp_path / "home")
    with pytest.raises(BadInput, match="already exists and was not written by distilcli") as refused:
        run(command, home, overwrite=True)
    assert "pass --overwrite" not in str(refused.value)
    assert _files(home) == ["docs", "docs/thesis.tex", "notes.txt"]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_folder_is_checked_again_under_the_lock(
    command: str, run: Run, tmp_path: Path, no_weights: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program fills the new folder between the check and the lock: the run refuses it and writes nothing."""
    real_lock = rundir.run_lock

    @contextlib.contextmanager
    def late_writer(out: Path, marks: tuple[str, ...] = ()) -> Iterator[None]:
        _user_folder(Path(out))
        with real_lock(out, marks):
            yield

    monkeypatch.setattr(rundir, "run_lock", late_writer)
    out = tmp_path / "new"
    with pytest.raises(BadInput, match="already exists and was not written by distilcli"):
        run(command, out)
    assert _files(out) == ["docs", "docs/thesis.tex", "notes.txt"]  # no marker, no lock left in it


# -- --overwrite clears what an earlier run of the tool wrote, and nothing else --------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_overwrite_clears_only_an_earlier_run_of_the_tool(
    command: str, run: Run, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    teacher = request.getfixturevalue("sst2_teacher") if command == "distill --task" else None
    beside = tmp_path / "notes.txt"
    beside.write_text("mine")
    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, "models student")  # any folder distilcli made may be replaced
    (out / "stale.txt").write_text("from the old run")
    (out / "old-model").mkdir()
    (out / "old-model" / "weights.bin").write_text("old")
    run(command, out, teacher=teacher, overwrite=True)
    assert not (out / "stale.txt").exists() and not (out / "old-model").exists() and not (out / LOCK).exists()
    assert marker_command(out) == command and (out / RUN_CONFIG).is_file() == (command != "distill")
    assert beside.read_text() == "mine"  # beside the folder: never touched


def test_the_lifecycle_checks_claims_starts_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, "finetune")
    (out / "checkpoints").mkdir()
    (out / "stale.txt").write_text("old")
    cfg = FinetuneConfig(model="m", task="sst2", out=out, overwrite=True)
    new = RunFolder.of(cfg, "finetune")
    new.check()
    with new.claim():
        new.start(cfg)
        assert _files(out) == sorted([LOCK, MARKER, RUN_CONFIG])  # the old run is gone; the lock stays while it runs
    assert json.loads((out / RUN_CONFIG).read_text())["task"] == "sst2"
    (out / "checkpoints").mkdir()
    resumed = RunFolder.of(replace(cfg, overwrite=False, resume=True), "finetune")
    resumed.check()
    resumed.check_options(replace(cfg, overwrite=False, resume=True), frozenset({"overwrite", "resume"}))
    with pytest.raises(BadInput, match=r"--resume with different options \(task"):
        resumed.check_options(replace(cfg, task="rte", resume=True), frozenset({"overwrite", "resume"}))
    with resumed.claim():
        resumed.start(cfg)
    assert _files(out) == sorted(["checkpoints", MARKER, RUN_CONFIG])  # a resumed run keeps its folder
