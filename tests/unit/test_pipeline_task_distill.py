"""The pipeline's task-distillation arms on tiny models: stages, compute matching, tables checked against the stage reports."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml

from distilcli.errors import BadInput
from distilcli.pipeline.recipe import parse_recipe
from distilcli.pipeline.run import PipelineConfig, run_pipeline
from distilcli.pipeline.stages import Inputs, plan

ARMS = ["teacher", "student", "baseline", "student_td", "baseline_td", "baseline_long", "student_td_noaug", "student_td_nointer"]


def _recipe(teacher: str, **changes: Any) -> dict[str, Any]:
    recipe = {
        "recipe": "tiny-td",
        "teacher": teacher,
        "student": {"layer_map": [0, 2]},
        "distill": {"max_steps": 2, "batch_size": 4, "max_seq_length": 32, "save_every": 2, "log_every": 2},
        "arms": ARMS,
        "glue": {
            "tasks": {"sst2": {"train_limit": 40}, "rte": {"train_limit": 40}},
            "seeds": [1, 2],
            "selection": "holdout",
            "finetune": {"epochs": 1, "batch_size": 8, "max_seq_length": 32, "eval_batch_size": 64, "lr": 1e-3},
            "task_distill": {"augment": 1, "alpha_pkd": 1.0, "cache_teacher": True},
            "int8": True,
        },
    }
    recipe.update(changes)
    return recipe


def test_stages_of_the_task_distillation_arms() -> None:
    recipe = parse_recipe(_recipe("minilm-l6"), "test")
    stages = {s.name: s for s in plan(recipe, Inputs(corpus="c", glue_dir="g"))}
    td = stages["td-student_td-sst2"]
    assert td.kind == "task_distill" and td.options["teacher"] == "@glue-teacher-sst2" and td.options["student"] == "@distill"
    assert td.options["augment"] == 1 and td.options["train_limit"] == 40 and td.options["seeds"] == [1, 2]
    # Taught the same way as the fine-tuned arms: fine-tuning's optimizer, not general distillation's.
    assert td.options["warmup_ratio"] == 0.1 and td.options["max_grad_norm"] == 1.0 and td.options["lr"] == 1e-3
    assert stages["td-baseline_td-rte"].options["student"] == "@student-init"
    assert stages["td-student_td_noaug-sst2"].options["augment"] == 0
    assert stages["td-student_td_nointer-sst2"].options["alpha_pkd"] == 0.0
    # As many optimizer steps as student_td: (1 + augment) epochs over the gold data per epoch of it.
    long = stages["glue-baseline_long-sst2"]
    assert long.kind == "finetune" and long.options["model"] == "@student-init" and long.options["epochs"] == 2
    assert "int8-student_td-sst2" in stages and "glue-student_td-sst2" not in stages
    for command in (s.describe() for s in stages.values()):
        assert "@" not in command.split()[0]


@pytest.mark.parametrize(("changes", "message"), [
    ({"arms": ["student", "student_td"]}, "add the arm 'teacher'"),
    ({"arms": ["teacher", "student", "baseline_long"]}, "add the arm 'student_td'"),
    ({"arms": ["teacher", "student", "student_td", "student_td_noaug"], "glue": {"tasks": {"sst2": {}}, "task_distill": {}}}, "changes nothing"),
])  # fmt: skip
def test_recipes_with_arms_that_cannot_run_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_recipe(_recipe("minilm-l6", **changes), "test")


def test_the_arms_run_and_the_tables_match_the_stage_reports(tiny_models: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join("the good film was fast and the dog was slow at night" for _ in range(32)) + "\n")
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(_recipe(str(tiny_models["bert"]))))
    out = tmp_path / "run"
    gates = ["glue.student_td.macro=0.0", "glue.student_td.gain_over_baseline=0.5"]
    report, outcomes = run_pipeline(PipelineConfig(recipe=str(path), out=out, corpus=str(corpus), glue_dir=tiny_glue, fail_under=gates))
    assert [o["passed"] for o in outcomes] == [True, False]  # a gain of 50 points (fractions) over the better baseline: not here
    for arm in ARMS:
        assert f"glue.{arm}.macro" in report.metrics, arm
    # Numbers in the tables are those of the stage reports (median of seeds), and each seed is shown.
    tables = (out / "tables.md").read_text()
    for arm, label in (("student_td", "student + task distillation"), ("baseline_long", "baseline, fine-tuned as long as student_td")):
        scores = {task: json.loads((out / f"{'td' if arm == 'student_td' else 'glue'}-{arm}-{task}" / "report.json").read_text())
                  for task in ("sst2", "rte")}  # fmt: skip
        header = next(line for line in tables.splitlines() if line.startswith("| model |"))
        order = [c.strip() for c in header.split("|")[2:4]]
        row = next(line for line in tables.splitlines() if line.startswith(f"| {label} |"))
        cells = [c.strip() for c in row.split("|")[2:4]]
        assert sorted(order) == ["rte", "sst2"] and cells == [f"{scores[t]['metrics']['score'] * 100:.1f}" for t in order]
        assert report.metrics[f"glue.{arm}.macro"] == pytest.approx(statistics.fmean(scores[t]["metrics"]["score"] for t in ("sst2", "rte")))
    assert "Table 5: task-distillation ablation" in tables and "Per-seed scores" in tables
    best_baseline = max(report.metrics["glue.baseline.macro"], report.metrics["glue.baseline_long.macro"])
    assert report.metrics["glue.student_td.gain_over_baseline"] == pytest.approx(report.metrics["glue.student_td.macro"] - best_baseline)
    assert "glue.student_td_int8.macro" in report.metrics
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    # The task-distillation stage learned from the teacher's median-seed fine-tune, on augmented inputs.
    td = json.loads((out / "td-student_td-sst2" / "report.json").read_text())
    teacher = json.loads((out / "glue-teacher-sst2" / "report.json").read_text())
    assert td["config"]["teacher"] == teacher["artifacts"]["model"] and re.search(r"seed-\d$", td["config"]["teacher"])
    assert td["body"]["inputs"]["augmented"] == td["body"]["inputs"]["gold"]


def test_a_bad_task_distillation_option_fails_the_dry_run(tiny_models: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    from distilcli.pipeline.run import plan_pipeline

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the good film was fast\n")
    recipe = _recipe(str(tiny_models["bert"]))
    recipe["glue"]["task_distill"] = {"augment": 1, "intermediate_epochs": 1}  # two stages with no intermediate loss
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(BadInput, match="set --alpha-hidden"):
        plan_pipeline(PipelineConfig(recipe=str(path), out=tmp_path / "run", corpus=str(corpus), glue_dir=tiny_glue))


def test_the_augmentation_ablation_drops_the_rules_it_turns_off() -> None:
    """Its printed command runs when pasted: distil refuses --augment-mask without --augment."""
    recipe = _recipe("minilm-l6")
    recipe["glue"]["task_distill"] = {"augment": 1, "augment_mask": 0.2, "alpha_pkd": 1.0}
    stages = {s.name: s for s in plan(parse_recipe(recipe, "test"), Inputs(corpus="c", glue_dir="g"))}
    assert stages["td-student_td-sst2"].options["augment_mask"] == 0.2
    noaug = stages["td-student_td_noaug-sst2"]
    assert noaug.options["augment"] == 0 and "augment_mask" not in noaug.options
    assert "--augment-mask" not in noaug.describe()


def test_an_option_a_stage_would_ignore_fails_the_dry_run(tiny_models: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    from distilcli.pipeline.run import plan_pipeline

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the good film was fast\n")
    recipe = _recipe(str(tiny_models["bert"]))
    recipe["distill"]["eval_batch_size"] = 64  # general distillation evaluates nothing
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(BadInput, match="^--eval-batch-size is an option of task distillation"):
        plan_pipeline(PipelineConfig(recipe=str(path), out=tmp_path / "run", corpus=str(corpus), glue_dir=tiny_glue))
