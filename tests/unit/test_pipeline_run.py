"""``run_pipeline`` end to end on tiny models: every arm, two GLUE tasks, SQuAD, int8 and the benchmark.

Also: an interrupted stage resumes to the same final report, a finished pipeline is skipped
stage by stage, and editing one stage in the recipe redoes it and its dependants only.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from distilcli.errors import BadInput, Interrupted
from distilcli.pipeline import executors
from distilcli.pipeline.run import PipelineConfig, plan_pipeline, run_pipeline
from tests.conftest import WORDS


def _recipe(teacher: Path, squad_dir: Path, **changes: Any) -> dict[str, Any]:
    recipe = {
        "recipe": "tiny",
        "teacher": str(teacher),
        "student": {"layer_map": [0]},
        "distill": {"max_steps": 4, "batch_size": 4, "max_seq_length": 32, "save_every": 2, "log_every": 2},
        "arms": ["teacher", "student", "baseline", "no_ce", "no_mlm", "no_cos", "random_init"],
        "glue": {
            "tasks": {"sst2": {}, "stsb": {"max_steps": 3}},
            "seeds": [1],
            "selection": "holdout",
            "finetune": {"max_steps": 4, "batch_size": 8, "max_seq_length": 32, "eval_batch_size": 64},
            "int8": True,
        },
        "squad": {
            "task": "squad",
            "train_file": str(squad_dir / "train.json"),
            "dev_file": str(squad_dir / "dev.json"),
            "finetune": {
                "max_steps": 3,
                "batch_size": 8,
                "max_seq_length": 64,
                "doc_stride": 32,
                "max_query_length": 16,
            },
            "distill": {
                "max_steps": 3,
                "batch_size": 8,
                "max_seq_length": 64,
                "doc_stride": 32,
                "max_query_length": 16,
            },
        },  # fmt: skip
        "benchmark": {
            "batch_sizes": [1],
            "seq_lengths": [16],
            "warmup": 1,
            "repeats": 2,
            "quantize": ["none", "dynamic-int8"],
            "memory": False,
        },
    }
    recipe.update(changes)
    return recipe


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40))) for _ in range(64)) + "\n")
    return path


def _cfg(
    tmp_path: Path, recipe: dict[str, Any], out: Path, corpus: Path | None, glue: Path, **extra: Any
) -> PipelineConfig:
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return PipelineConfig(recipe=str(path), out=out, corpus=str(corpus) if corpus else None, glue_dir=glue, **extra)


@pytest.fixture(scope="module")
def finished(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_models: dict[str, Path],
    tiny_squad: Path,
    tiny_glue: Path,
    corpus: Path,
):
    tmp = tmp_path_factory.mktemp("pipeline")
    recipe = _recipe(tiny_models["bert"], tiny_squad)
    cfg = _cfg(tmp, recipe, tmp / "run", corpus, tiny_glue)
    report, outcomes = run_pipeline(cfg)
    return tmp, recipe, cfg, report


def test_every_arm_and_table(finished) -> None:
    tmp, recipe, cfg, report = finished
    out = cfg.out
    for arm in recipe["arms"]:
        assert f"glue.{arm}.macro" in report.metrics, arm
        assert 0 < report.metrics[f"glue.{arm}.macro_retention"]
    assert report.metrics["glue.teacher.macro_retention"] == 1.0
    for arm in ("no_ce", "no_mlm", "no_cos", "random_init"):
        assert report.metrics[f"ablation.{arm}.delta_macro"] == pytest.approx(
            report.metrics[f"glue.{arm}.macro"] - report.metrics["glue.student.macro"]
        )
    for arm in ("teacher", "student", "baseline", "student_d"):
        assert f"squad.{arm}.f1" in report.metrics
    assert "glue.student_int8.macro" in report.metrics
    assert report.metrics["benchmark.student.parameter_reduction"] > 0
    tables = (out / "tables.md").read_text()
    for heading in ("Table 1", "Table 2", "Table 3", "Table 4"):
        assert heading in tables
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((out / "pipeline.json").read_text())
    assert saved["command"] == "pipeline" and saved["metrics"] == report.metrics
    # Each fine-tuning stage selected its checkpoint on held-out training data, as the recipe said.
    stage = json.loads((out / "glue-student-sst2" / "report.json").read_text())
    assert stage["body"]["selection"]["on"] == "holdout"
    # A finished stage keeps its models, not its checkpoints (it is never resumed).
    assert (out / "distill" / "run" / "model.safetensors").is_file()
    assert not list(out.glob("**/checkpoints/step-*"))


def test_a_second_run_skips_every_stage(finished) -> None:
    tmp, recipe, cfg, report = finished
    again, _ = run_pipeline(cfg)
    assert {row["done"] for row in again.body["this_run"]} == {"skipped"}
    assert again.metrics == report.metrics


def test_editing_one_stage_redoes_it_and_its_dependants(finished, corpus: Path, tiny_glue: Path) -> None:
    tmp, recipe, cfg, report = finished
    edited = json.loads(json.dumps(recipe))
    edited["glue"]["tasks"]["stsb"]["max_steps"] = 2
    again, _ = run_pipeline(_cfg(tmp, edited, cfg.out, corpus, tiny_glue))
    redone = {row["stage"] for row in again.body["this_run"] if row["done"] != "skipped"}
    assert redone == {f"glue-{arm}-stsb" for arm in recipe["arms"]} | {"int8-stsb"}
    assert again.metrics["glue.teacher.sst2"] == report.metrics["glue.teacher.sst2"]


def test_an_interrupted_stage_resumes_to_the_same_results(
    finished, tiny_models, tiny_squad, corpus, tiny_glue, monkeypatch
) -> None:
    tmp, _, _, report = finished
    # The same stages as the finished run for three arms on SST-2 (same options, so the same results).
    recipe = _recipe(
        tiny_models["bert"], tiny_squad, arms=["teacher", "student", "baseline"], squad=None, benchmark=None
    )
    recipe["glue"] |= {"tasks": {"sst2": {}}, "int8": False}
    cfg = _cfg(tmp, recipe, tmp / "cut", corpus, tiny_glue)
    real = executors.EXECUTORS["distill"]
    from distilcli.distill import engine

    run_distill = engine.run_distill

    def interrupted(options, run_dir, resume):
        # Ctrl-C after step 3 of the general distillation (a checkpoint exists at step 2).
        def stop(step: int) -> None:
            if step == 3:
                raise KeyboardInterrupt

        monkeypatch.setattr(engine, "run_distill", lambda c: run_distill(c, on_step=stop))
        try:
            return real(options, run_dir, resume)
        finally:
            monkeypatch.setattr(engine, "run_distill", run_distill)

    monkeypatch.setitem(executors.EXECUTORS, "distill", interrupted)
    with pytest.raises(Interrupted):
        run_pipeline(cfg)
    monkeypatch.setitem(executors.EXECUTORS, "distill", real)
    _, states = plan_pipeline(cfg)
    assert dict((s.name, state) for s, state in states)["distill"] == "resume"
    resumed, _ = run_pipeline(cfg)
    assert resumed.body["this_run"][:2] == [
        {"stage": "student-init", "done": "skipped"},
        {"stage": "distill", "done": "resume"},
    ]
    for arm in ("teacher", "student", "baseline"):
        assert resumed.metrics[f"glue.{arm}.sst2"] == report.metrics[f"glue.{arm}.sst2"]


def test_bad_inputs_fail_before_any_stage(tmp_path: Path, tiny_models, tiny_squad, corpus, tiny_glue) -> None:
    recipe = _recipe(tiny_models["bert"], tiny_squad)
    with pytest.raises(BadInput, match="pass --corpus"):
        run_pipeline(_cfg(tmp_path, recipe, tmp_path / "a", None, tiny_glue))
    with pytest.raises(BadInput, match="not a pipeline metric"):
        run_pipeline(_cfg(tmp_path, recipe, tmp_path / "b", corpus, tiny_glue, fail_under=["student.macro=0.9"]))
    late = _recipe(tiny_models["bert"], tiny_squad)
    late["squad"]["finetune"]["max_query_length"] = 64  # leaves no room for the context in 64 tokens: the last stages
    with pytest.raises(BadInput, match="max-seq-length 64 leaves no room"):
        run_pipeline(_cfg(tmp_path, late, tmp_path / "late", corpus, tiny_glue))
    assert not (tmp_path / "late").exists()  # refused before the first stage
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("mine")
    with pytest.raises(BadInput, match="not a pipeline folder"):
        run_pipeline(_cfg(tmp_path, recipe, tmp_path / "c", corpus, tiny_glue))
    assert (tmp_path / "c" / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_missing_task_file_fails_the_dry_run_and_the_run_before_any_stage(tmp_path: Path, tiny_models, tiny_squad, corpus, tiny_glue) -> None:
    import shutil

    glue = tmp_path / "glue"
    shutil.copytree(tiny_glue, glue)
    shutil.rmtree(glue / "STS-B")
    recipe = _recipe(tiny_models["bert"], tiny_squad)
    with pytest.raises(BadInput, match="no STS-B training data"):
        plan_pipeline(_cfg(tmp_path, recipe, tmp_path / "dry", corpus, glue))  # --dry-run
    with pytest.raises(BadInput, match="no STS-B training data"):
        run_pipeline(_cfg(tmp_path, recipe, tmp_path / "run", corpus, glue))
    assert not (tmp_path / "run").exists()
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(BadInput, match="empty"):
        plan_pipeline(_cfg(tmp_path, recipe, tmp_path / "dry2", empty, tiny_glue))


def test_a_bad_distill_option_fails_the_dry_run(tmp_path: Path, tiny_models, tiny_squad, corpus, tiny_glue) -> None:
    recipe = _recipe(tiny_models["bert"], tiny_squad)
    recipe["distill"]["mlm_probability"] = 1.5
    with pytest.raises(BadInput, match="--mlm-probability must be between 0 and 1"):
        plan_pipeline(_cfg(tmp_path, recipe, tmp_path / "dry", corpus, tiny_glue))


def test_the_dry_run_checks_finetune_stages_with_the_commands_own_check(
    tmp_path: Path, tiny_models, tiny_squad, corpus, tiny_glue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-flight runs `distil finetune`'s own check_options on every fine-tuning stage, not a copy of it."""
    from distilcli.finetune import engine

    checked = []
    original = engine.check_options
    monkeypatch.setattr(engine, "check_options", lambda cfg: checked.append(cfg.task) or original(cfg))
    recipe = _recipe(tiny_models["bert"], tiny_squad)
    plan_pipeline(_cfg(tmp_path, recipe, tmp_path / "dry", corpus, tiny_glue))
    assert checked and set(checked) >= set(recipe["glue"]["tasks"])


def test_jobs_run_stages_side_by_side_to_the_same_results(
    tmp_path: Path, tiny_models: dict[str, Path], tiny_squad: Path, tiny_glue: Path, corpus: Path
) -> None:
    """--jobs 2: each stage in its own process, its output in stage.log; the numbers are the one-process run's."""
    recipe = _recipe(tiny_models["bert"], tiny_squad, arms=["teacher", "student", "baseline"], squad=None, benchmark=None)
    recipe["glue"]["tasks"] = {"sst2": {}}
    recipe["glue"]["int8"] = False
    one, _ = run_pipeline(_cfg(tmp_path, recipe, tmp_path / "one", corpus, tiny_glue))
    two, _ = run_pipeline(_cfg(tmp_path, recipe, tmp_path / "two", corpus, tiny_glue, jobs=2))
    assert two.metrics == pytest.approx(one.metrics, abs=1e-6)
    assert {row["done"] for row in two.body["this_run"]} == {"todo"}
    log = (tmp_path / "two" / "glue-student-sst2" / "stage.log").read_text()
    assert "dev" in log  # the stage's own lines went to its log
    again, _ = run_pipeline(_cfg(tmp_path, recipe, tmp_path / "two", corpus, tiny_glue, jobs=2))
    assert {row["done"] for row in again.body["this_run"]} == {"skipped"}
