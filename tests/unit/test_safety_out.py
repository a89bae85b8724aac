"""--out safety (issue 14): --overwrite replaces only distilcli's folders, inputs stay outside, one run per
folder (the lock), symlinks and read-only folders refused up front, a full disk said plainly, file modes
follow the umask, finetune --resume only into a finetune run."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distilcli import rundir
from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput, DistilError
from distilcli.finetune.config import FinetuneConfig
from distilcli.finetune.engine import run_finetune
from distilcli.models.student import StudentConfig, run_student
from distilcli.rundir import LOCK, MARKER, PIPELINE_MARKER, check_output_dir, clear_run_folder, run_lock
from tests.unit.test_distill_engine import corpus  # noqa: F401 - the shared corpus fixture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_model_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model load fails the test: the refusals under test come before it."""
    from distilcli.models import loading, student

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the refusal")

    for module in (loading, student):
        monkeypatch.setattr(module, "load_mlm_model", refuse)


def _user_folder(path: Path) -> Path:
    """A folder a user made (a home, a project): files distilcli did not write."""
    (path / "docs").mkdir(parents=True)
    (path / "notes.txt").write_text("mine")
    (path / "docs" / "thesis.tex").write_text("years of work")
    return path


def _student(teacher: Path, out: Path, **overrides) -> StudentConfig:
    return StudentConfig(**({"teacher": str(teacher), "out": out, "layers": 2} | overrides))


def _distill(teacher: Path, corpus: Path, out: Path, **overrides) -> DistillConfig:  # noqa: F811
    base = {"teacher": str(teacher), "corpus": corpus and str(corpus), "out": out, "layer_map": [0, 2], "max_steps": 2, "batch_size": 4,
                "max_seq_length": 32, "save_every": 2, "log_every": 1, "cache_dir": out.parent / "cache"}  # fmt: skip
    return DistillConfig(**(base | overrides))


def _finetune(model: Path, glue: Path, out: Path, **overrides) -> FinetuneConfig:
    base = {
        "model": str(model),
        "task": "sst2",
        "out": out,
        "glue_dir": glue,
        "batch_size": 8,
        "max_steps": 2,
        "log_every": 1,
    }
    return FinetuneConfig(**(base | overrides))


# -- 1. --overwrite replaces only what distilcli wrote ---------------------------------------------


def test_overwrite_refuses_a_folder_distilcli_did_not_write(
    tiny_models: dict[str, Path], tiny_encoders: dict[str, Path], tiny_glue: Path, corpus: Path, tmp_path: Path,  # noqa: F811
    no_model_loading: None,
) -> None:  # fmt: skip
    home = _user_folder(tmp_path / "home")
    runs = [
        lambda: run_student(_student(tiny_models["bert"], home, overwrite=True)),
        lambda: run_distill(_distill(tiny_models["bert"], corpus, home, overwrite=True)),
        lambda: run_finetune(_finetune(tiny_encoders["bert"], tiny_glue, home, overwrite=True)),
        lambda: run_distill(_distill(tiny_models["bert"], None, home, overwrite=True, task="glue:sst2", glue_dir=tiny_glue)),
    ]  # fmt: skip
    for run in runs:
        with pytest.raises(BadInput, match="not written by distilcli") as refused:
            run()
        assert "pass --overwrite" not in str(refused.value)
    assert sorted(p.name for p in home.rglob("*")) == ["docs", "notes.txt", "thesis.tex"]


def test_the_refusal_suggests_overwrite_only_for_distilcli_folders(tmp_path: Path) -> None:
    user = _user_folder(tmp_path / "user")
    with pytest.raises(BadInput) as refused:
        check_output_dir(user, overwrite=False)
    assert "--overwrite to" not in str(refused.value) and "choose another --out" in str(refused.value)
    run = tmp_path / "run"
    run.mkdir()
    rundir.write_marker(run, "distill")
    (run / "config.json").write_text("{}")
    with pytest.raises(BadInput, match="pass --overwrite to replace it"):
        check_output_dir(run, overwrite=False)
    check_output_dir(run, overwrite=True)
    pipeline = tmp_path / "pipeline"
    pipeline.mkdir()
    (pipeline / PIPELINE_MARKER).touch()
    (pipeline / "pipeline.json").write_text("{}")
    check_output_dir(pipeline, overwrite=True)  # the pipeline's own marker counts too
    empty = tmp_path / "empty"
    empty.mkdir()
    check_output_dir(empty, overwrite=True)


def test_overwrite_replaces_a_run_distilcli_wrote(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "student"
    run_student(_student(tiny_models["bert"], out))
    marker = json.loads((out / MARKER).read_text())
    assert marker["command"] == "models student" and marker["distilcli_version"] and marker["created_at"]
    (out / "stale.txt").write_text("from the old run")  # inside distilcli's folder: goes with it
    run_student(_student(tiny_models["bert"], out, layers=1, overwrite=True))
    assert not (out / "stale.txt").exists() and (out / MARKER).is_file() and not (out / LOCK).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student"]


def test_clearing_checks_the_marker_again(tmp_path: Path) -> None:
    folder = _user_folder(tmp_path / "f")
    with pytest.raises(BadInput, match="nothing was deleted"):
        clear_run_folder(folder)
    assert (folder / "docs" / "thesis.tex").is_file()
    rundir.write_marker(folder, "distill")
    (folder / LOCK).write_text("{}")
    clear_run_folder(folder)
    assert [p.name for p in folder.iterdir()] == [LOCK]  # the run's own lock stays


def test_no_input_inside_an_out_that_is_replaced(
    tiny_models: dict[str, Path], tiny_encoders: dict[str, Path], tiny_glue: Path, corpus: Path, tmp_path: Path,  # noqa: F811
    no_model_loading: None,
) -> None:  # fmt: skip
    proj = tmp_path / "proj"
    proj.mkdir()
    rundir.write_marker(proj, "distill")  # an old run of distilcli's, into which the user put inputs
    shutil.copy(corpus, proj / "corpus.txt")
    shutil.copytree(tiny_models["bert"], proj / "teacher")
    shutil.copytree(tiny_glue / "SST-2", proj / "sst2")
    with pytest.raises(BadInput, match="--corpus .* is inside --out"):
        run_distill(_distill(tiny_models["bert"], proj / "corpus.txt", proj, overwrite=True))
    with pytest.raises(BadInput, match="--teacher .* is inside --out"):
        run_distill(_distill(proj / "teacher", corpus, proj, overwrite=True))
    with pytest.raises(BadInput, match="--teacher .* is inside --out"):
        run_student(_student(proj / "teacher", proj, overwrite=True))
    with pytest.raises(BadInput, match="--train-file .* is inside --out"):
        run_finetune(_finetune(tiny_encoders["bert"], None, proj, overwrite=True, glue_dir=None,
                               train_file=proj / "sst2" / "train.tsv", dev_file=tiny_glue / "SST-2" / "dev.tsv"))  # fmt: skip
    with pytest.raises(BadInput, match="--glue-dir .* is inside --out"):
        run_finetune(_finetune(tiny_encoders["bert"], proj, proj, overwrite=True))
    assert (proj / "corpus.txt").is_file() and (proj / "teacher" / "config.json").is_file()
    assert (proj / "sst2" / "train.tsv").is_file()


# -- 4. finetune --resume only into a finetune run ----------------------------------------------


def test_finetune_resume_refuses_a_folder_that_is_not_a_finetune_run(
    tiny_models: dict[str, Path], tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "README.md").write_text("my model card")
    (model / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(BadInput, match="not a finetune run folder"):
        run_finetune(_finetune(tiny_encoders["bert"], tiny_glue, model, resume=True))
    assert (model / "README.md").read_text() == "my model card"
    assert (model / "config.json").read_text() == '{"model_type": "bert"}'
    student = tmp_path / "student"
    run_student(_student(tiny_models["bert"], student))
    (student / "run_config.json").write_text("{}")
    with pytest.raises(BadInput, match="'models student' run folder"):
        run_finetune(_finetune(tiny_encoders["bert"], tiny_glue, student, resume=True))


# -- 5. one run per folder: the lock ------------------------------------------------------------


def _plant_lock(folder: Path, pid: int, host: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK
    lock.write_text(
        json.dumps({"pid": pid, "host": host or socket.gethostname(), "since": "2024-01-01T00:00:00+00:00"})
    )
    return lock


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_lock_refuses_a_second_run(tiny_models: dict[str, Path], tmp_path: Path, no_model_loading: None) -> None:
    out = tmp_path / "run"
    lock = _plant_lock(out, os.getpid())  # alive: this very process, but not a lock it took
    with pytest.raises(
        BadInput, match=rf"in use by another distil run \(pid {os.getpid()} on host {socket.gethostname()}, since 2024"
    ):
        run_student(_student(tiny_models["bert"], out))
    elsewhere = _plant_lock(tmp_path / "remote", _dead_pid(), host="another-host")
    with pytest.raises(BadInput, match="on host another-host"):  # another host's pid cannot be checked: kept
        run_student(_student(tiny_models["bert"], elsewhere.parent))
    assert lock.is_file() and elsewhere.is_file()


def test_a_stale_lock_is_taken_over(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    _plant_lock(out, _dead_pid())
    run_student(_student(tiny_models["bert"], out))
    assert (out / "config.json").is_file() and not (out / LOCK).exists()
    # A live pid that started long after the lock was taken: reused by another process, the holder is gone.
    reused = tmp_path / "reused"
    lock = _plant_lock(reused, os.getpid())
    lock.write_text(json.dumps(json.loads(lock.read_text()) | {"started": 1.0}))
    run_student(_student(tiny_models["bert"], reused))
    assert (reused / "config.json").is_file() and not (reused / LOCK).exists()


def test_the_lock_is_released_on_error_and_ctrl_c(tiny_encoders: dict[str, Path], corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), run_lock(out):
        assert json.loads((out / LOCK).read_text())["pid"] == os.getpid()
        raise KeyboardInterrupt
    assert not out.exists()  # made by the lock, nothing written: removed again
    # A teacher without an MLM head is found once it is loaded, after the lock was taken.
    with pytest.raises(BadInput, match="no trained MLM head"):
        run_distill(_distill(tiny_encoders["bert"], corpus, out))
    assert not out.exists()


def test_runs_nest_under_a_lock_this_process_holds(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline"
    with run_lock(pipeline):  # as `distil pipeline` holds its DIR while its stages run in-process
        run_student(_student(tiny_models["bert"], pipeline / "student" / "run"))
        with run_lock(pipeline):  # re-entrant
            pass
        assert (pipeline / LOCK).is_file()
    assert not (pipeline / LOCK).exists() and (pipeline / "student" / "run" / "config.json").is_file()


def test_a_folder_inside_another_runs_folder_is_refused(
    tiny_models: dict[str, Path], tmp_path: Path, no_model_loading: None
) -> None:
    pipeline = tmp_path / "pipeline"
    _plant_lock(pipeline, os.getppid())
    with pytest.raises(BadInput, match=f"--out {pipeline} is in use"):
        run_student(_student(tiny_models["bert"], pipeline / "student" / "run"))
    assert not (pipeline / "student").exists()


def test_two_processes_on_one_out(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out, started = tmp_path / "run", tmp_path / "started"
    holder = f"""
import pathlib, time
from distilcli.rundir import run_lock
with run_lock(pathlib.Path({str(out)!r})):
    pathlib.Path({str(started)!r}).touch()
    time.sleep(120)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    other = subprocess.Popen([sys.executable, "-c", holder], env=env)
    try:
        deadline = time.time() + 60
        while not started.exists():
            assert other.poll() is None and time.time() < deadline, "the other run did not start"
            time.sleep(0.05)
        with pytest.raises(BadInput, match=f"in use by another distil run \\(pid {other.pid}"):
            run_student(_student(tiny_models["bert"], out, overwrite=True))
    finally:
        other.kill()  # like kill -9: its lock stays behind, stale
        other.wait()
    assert (out / LOCK).is_file()
    run_student(_student(tiny_models["bert"], out, overwrite=True))
    assert (out / "config.json").is_file() and not (out / LOCK).exists()


# -- 8. symlinks, read-only folders, a full disk -------------------------------------------------


def test_a_symlink_or_read_only_out_is_refused_up_front(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path, no_model_loading: None, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:  # fmt: skip
    real = tmp_path / "real"
    real.mkdir()
    rundir.write_marker(real, "distill")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(BadInput, match="symbolic link"):
        run_student(_student(tiny_models["bert"], link, overwrite=True))
    with pytest.raises(BadInput, match="symbolic link"):
        run_distill(_distill(tiny_models["bert"], corpus, link, overwrite=True))
    monkeypatch.setattr(
        rundir, "_writable", lambda folder: Path(folder).resolve() != real.resolve()
    )  # a read-only mount
    with pytest.raises(BadInput, match="read-only"):
        run_student(_student(tiny_models["bert"], real, overwrite=True))
    with pytest.raises(BadInput, match="read-only"):
        run_distill(_distill(tiny_models["bert"], corpus, real, overwrite=True))
    assert (real / MARKER).is_file()


def test_a_full_disk_is_said_plainly(
    tiny_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import distilcli.models.student as student_module
    from distilcli.training.saving import save_student

    out = tmp_path / "student"
    run_student(_student(tiny_models["bert"], out))
    before = sorted(p.name for p in out.iterdir())

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(student_module, "write_model_card", full)
    with pytest.raises(DistilError, match="no space left on device while writing") as failed:
        run_student(_student(tiny_models["bert"], out, overwrite=True))
    assert failed.value.exit_code == 1 and "\n" not in str(failed.value)
    assert sorted(p.name for p in out.iterdir()) == before  # the old student is kept whole

    class Model:
        def save_pretrained(self, folder: Path) -> None:
            raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 35584 vs 35478")

    monkeypatch.setattr("distilcli.fsutil.shutil.disk_usage", lambda path: shutil._ntuple_diskusage(10, 10, 0))
    with pytest.raises(DistilError, match="no space left on device"):
        save_student(tmp_path / "run", Model(), None, "card")
    assert [p.name for p in (tmp_path / "run").iterdir()] == []  # no temp folder left behind


# -- 10. file modes follow the umask -----------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_follow_the_umask(tiny_models: dict[str, Path], tmp_path: Path, umask: int) -> None:
    from transformers import AutoModelForMaskedLM

    from distilcli.training.saving import save_student

    old = os.umask(umask)
    try:
        run_student(_student(tiny_models["bert"], tmp_path / "student"))
        model = AutoModelForMaskedLM.from_pretrained(tiny_models["bert"])
        save_student(tmp_path / "distilled", model, None, "card")
    finally:
        os.umask(old)
    for folder in (tmp_path / "student", tmp_path / "distilled"):
        assert folder.stat().st_mode & 0o777 == 0o777 & ~umask
        for path in folder.iterdir():
            assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name



@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_checkpoints_follow_the_umask_and_say_a_full_disk_plainly(tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from distilcli.training import checkpoint as ckpt

    state = {"model": {"w": torch.ones(2)}, "step": 1}
    old = os.umask(umask)
    try:
        folder = ckpt.save_checkpoint(tmp_path / "run", 1, state)
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700
    assert all(path.stat().st_mode & 0o777 == 0o666 & ~umask for path in folder.iterdir())

    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 35584 vs 35478")

    monkeypatch.setattr(ckpt.torch, "save", full)
    monkeypatch.setattr("distilcli.fsutil.shutil.disk_usage", lambda path: shutil._ntuple_diskusage(10, 10, 0))
    with pytest.raises(DistilError, match="no space left on device"):
        ckpt.save_checkpoint(tmp_path / "run", 2, state)
    assert [p.name for p in (tmp_path / "run" / ckpt.CHECKPOINTS).iterdir()] == [folder.name]  # no half-written step
