"""--select-on: the best checkpoint chosen on held-out training data, dev scored once on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from distilcli.errors import BadInput
from distilcli.evaluate.glue_eval import EvalGlueConfig, run_eval_glue
from distilcli.finetune.config import FinetuneConfig
from distilcli.finetune.engine import run_finetune
from distilcli.training.options import Selection, parse_select_on
from distilcli.training.selection import hold_out
from distilcli.training.task_protocols import TaskData
from distilcli.tasks.glue.sources import load_task_split
from distilcli.tasks.glue.spec import resolve_task


def test_parse_select_on() -> None:
    assert parse_select_on("dev") == Selection("dev")
    assert parse_select_on("holdout") == Selection("holdout", 0.1)
    assert parse_select_on("holdout:0.25") == Selection("holdout", 0.25)
    for bad in ("test", "holdout:0", "holdout:0.9", "holdout:x", "dev:0.1"):
        with pytest.raises(BadInput, match="expected dev, holdout or holdout:FRACTION"):
            parse_select_on(bad)


def test_hold_out_is_a_fixed_disjoint_slice(tiny_glue: Path) -> None:
    task = resolve_task("sst2")
    train = load_task_split(task, "train", glue_dir=tiny_glue, use_hub=False)
    dev = load_task_split(task, "dev", glue_dir=tiny_glue, use_hub=False)
    data = TaskData(task, train, dev, list(train.examples))
    held = hold_out(data, Selection("holdout", 0.25))
    assert held.selection is not None and held.selection.split == "heldout"
    assert len(held.selection.examples) == round(len(train.examples) * 0.25)
    assert len(held.train_examples) + len(held.selection.examples) == len(train.examples)
    assert not {id(e) for e in held.train_examples} & {id(e) for e in held.selection.examples}
    assert hold_out(data, Selection("holdout", 0.25)).selection.examples == held.selection.examples  # same draw
    assert hold_out(data, Selection("dev")) is data


def test_finetune_selects_on_held_out_data_and_scores_dev_once(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = FinetuneConfig(model=str(tiny_encoders["bert"]), task="sst2", out=out, glue_dir=tiny_glue, batch_size=8, lr=1e-3,
                         max_steps=8, eval_every=2, select_on="holdout:0.25")  # fmt: skip
    report = run_finetune(cfg)
    run = report.body["runs"][0]
    assert report.body["selection"] == {"on": "holdout", "fraction": 0.25, "heldout_examples": 24}
    assert report.metrics["train_examples"] == 72  # 96 - 24 held out
    # Every evaluation during training scored the held-out slice; the best by it was kept.
    best_step = max(run["history"], key=lambda h: h["metrics"]["accuracy"])["step"]
    assert run["best"]["step"] == best_step
    assert run["best"]["selection_metrics"] == next(h["metrics"] for h in run["history"] if h["step"] == best_step)
    # The reported metrics are dev's, on the saved (chosen) model: eval-glue finds the same.
    dev_report, _ = run_eval_glue(EvalGlueConfig(model=[str(out)], task="sst2", glue_dir=tiny_glue))
    assert report.metrics["accuracy"] == pytest.approx(dev_report.metrics["sst2.accuracy"], abs=1e-12)
    assert report.metrics["dev_examples"] == 40
