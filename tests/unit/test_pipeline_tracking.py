"""``distil pipeline --report-to``: every training stage logs, in its own run; tracking never makes a stage stale."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from distilcli.errors import BadInput
from distilcli.pipeline.run import run_pipeline
from tests.conftest import WORDS
from tests.unit.test_pipeline_run import _cfg


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40))) for _ in range(64)) + "\n")
    return path


def _small(teacher: Path, **changes: object) -> dict[str, object]:
    recipe: dict[str, object] = {
        "recipe": "tiny-tracked",
        "teacher": str(teacher),
        "student": {"layer_map": [0]},
        "distill": {"max_steps": 4, "batch_size": 4, "max_seq_length": 32, "save_every": 2, "log_every": 2},
        "arms": ["student"],
        "glue": {"tasks": {"sst2": {}}, "seeds": [1], "selection": "dev",
                 "finetune": {"max_steps": 4, "batch_size": 8, "max_seq_length": 32, "log_every": 2}},
    }  # fmt: skip
    recipe.update(changes)
    return recipe


def test_pipeline_report_to_reaches_every_training_stage(
    tiny_models, tiny_glue: Path, corpus: Path, tmp_path: Path
) -> None:
    tracking = tmp_path / "tb"
    cfg = _cfg(
        tmp_path,
        _small(tiny_models["bert"]),
        tmp_path / "run",
        corpus,
        tiny_glue,
        report_to="tensorboard",
        tracking_dir=tracking,
    )
    report, _ = run_pipeline(cfg)
    assert {row["stage"] for row in report.body["this_run"]} >= {"distill", "glue-student-sst2"}
    # One TensorBoard run per stage under --tracking-dir/<stage> (a folder per seed of a fine-tuning stage).
    assert list((tracking / "distill" / "distilcli").glob("events.out.tfevents.*"))
    assert list((tracking / "glue-student-sst2" / "seed-1" / "distilcli").glob("events.out.tfevents.*"))
    # Where a run is logged is no option of its result: without --report-to every stage is still done.
    cfg.report_to, cfg.tracking_dir = None, None
    again, _ = run_pipeline(cfg)
    assert {row["done"] for row in again.body["this_run"]} == {"skipped"}


def test_pipeline_refuses_a_missing_tracker_before_any_stage(
    tiny_models, tiny_glue: Path, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import accelerate.utils

    monkeypatch.setattr(accelerate.utils, "is_tensorboard_available", lambda: False)
    cfg = _cfg(tmp_path, _small(tiny_models["bert"]), tmp_path / "run", corpus, tiny_glue, report_to="tensorboard")
    with pytest.raises(BadInput, match=r"distilcli\[tracking\]"):
        run_pipeline(cfg)
    # The recipe may ask for a tracker too: checked with the stage's other options, before any stage runs.
    recipe = _small(tiny_models["bert"])
    recipe["distill"] = {**recipe["distill"], "report_to": "tensorboard"}  # type: ignore[dict-item]
    with pytest.raises(BadInput, match=r"distilcli\[tracking\]"):
        run_pipeline(_cfg(tmp_path, recipe, tmp_path / "run2", corpus, tiny_glue))
    assert not (tmp_path / "run" / "distill").exists() and not (tmp_path / "run2" / "distill").exists()
