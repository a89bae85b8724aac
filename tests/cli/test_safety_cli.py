"""--out safety on the command line (issue 14): one line and exit 2 before any model is loaded."""

from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path

import pytest

from distilcli.rundir import LOCK, PIPELINE_MARKER, write_marker
from tests.cli.conftest import assert_one_line_error


def test_overwrite_of_a_home_folder_is_refused(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("key")
    (home / "notes.txt").write_text("mine")
    result = distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", home, "--overwrite")
    assert_one_line_error(result, 2, "not written by distilcli", "choose another --out")
    assert "pass --overwrite" not in result.stderr
    assert sorted(p.name for p in home.rglob("*")) == [".ssh", "id_ed25519", "notes.txt"]


def test_a_config_file_inside_the_out_it_replaces_is_refused(
    distil, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "s"
    assert distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", out).exit_code == 0
    config = out / "student.yaml"
    config.write_text("layers: 2\n")
    result = distil("models", "student", tiny_models["bert"], "--config", config, "--out", out, "--overwrite")
    assert_one_line_error(result, 2, "--config", "inside --out")
    assert config.is_file()


def test_a_second_run_on_a_locked_out_is_refused(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    (out / LOCK).write_text(
        json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "since": "2024-05-01T10:00:00+00:00"})
    )
    result = distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", out)
    assert_one_line_error(result, 2, "in use by another distil run", f"pid {os.getppid()}", "since 2024-05-01")
    assert [p.name for p in out.iterdir()] == [LOCK]


def test_a_pipeline_holds_one_lock_on_its_folder(distil, tmp_path: Path) -> None:
    out = tmp_path / "pipe"
    out.mkdir()
    (out / PIPELINE_MARKER).touch()
    (out / LOCK).write_text(
        json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "since": "2024-05-01T10:00:00+00:00"})
    )
    result = distil("pipeline", "--recipe", "smoke", "--out", out)
    assert_one_line_error(result, 2, f"--out {out} is in use", f"pid {os.getppid()}")


def test_a_symlink_out_is_refused(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    write_marker(real, "models student")
    (tmp_path / "link").symlink_to(real)
    result = distil(
        "models", "student", tiny_models["bert"], "--layers", "2", "--out", tmp_path / "link", "--overwrite"
    )
    assert_one_line_error(result, 2, "symbolic link")


def test_a_full_disk_is_one_line(
    distil, tiny_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distilcli.models import student

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(student, "write_model_card", full)
    result = distil("models", "student", tiny_models["bert"], "--layers", "2", "--out", tmp_path / "s")
    assert_one_line_error(result, 1, "no space left on device while writing")
    assert not (tmp_path / "s").exists()


def test_a_pipeline_runs_its_stages_under_its_own_lock(
    distil, tiny_models: dict[str, Path], tiny_glue: Path, tmp_path: Path
) -> None:
    import yaml

    from tests.unit.test_pipeline_run import _recipe

    recipe = _recipe(tiny_models["bert"], tmp_path, arms=["student"])
    recipe["glue"] |= {"tasks": {"sst2": {"max_steps": 2}}, "int8": False}
    for section in ("squad", "benchmark"):
        recipe.pop(section)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "\n".join(" ".join(["the", "good", "film", "was", "bad", "and", "long"] * 3) for _ in range(64)) + "\n"
    )
    out = tmp_path / "pipe"
    result = distil(
        "pipeline", "--recipe", tmp_path / "tiny.yaml", "--out", out, "--corpus", corpus, "--glue-dir", tiny_glue
    )
    assert result.exit_code == 0, result.stderr
    assert not list(out.rglob(LOCK))  # every lock released, the pipeline's and its stages'
    runs = [p.parent for p in out.rglob(".distilcli-run")]
    assert runs and all(p.name == "run" for p in runs)  # each stage's run folder is marked as distilcli's
    assert (out / PIPELINE_MARKER).is_file()
