"""Pipeline stages: dependencies, and fingerprints that change for an edited stage and its dependants only."""

from __future__ import annotations

import copy

import pytest

from distilcli.pipeline.recipe import parse_recipe
from distilcli.pipeline.stages import Inputs, plan

RECIPE = {
    "recipe": "t",
    "teacher": "teacher-dir",
    "student": {"layer_map": [0, 2]},
    "distill": {"max_steps": 4},
    "arms": ["teacher", "student", "baseline", "random_init"],
    "glue": {
        "tasks": {"sst2": {"train_limit": 8}, "stsb": {}},
        "seeds": [1, 2],
        "finetune": {"epochs": 1},
        "int8": True,
    },
    "squad": {
        "task": "squad",
        "train_file": "train.json",
        "dev_file": "dev.json",
        "finetune": {"epochs": 1},
        "distill": {"epochs": 1},
    },
    "benchmark": {"batch_sizes": [1], "seq_lengths": [16]},
}


def _fingerprints(data: dict) -> dict[str, str]:
    return {s.name: s.fingerprint for s in plan(parse_recipe(data, "t"), Inputs(corpus="c.txt", glue_dir="glue"))}


def test_arms_fine_tune_the_right_models() -> None:
    stages = {s.name: s for s in plan(parse_recipe(RECIPE, "t"), Inputs(corpus="c.txt", glue_dir="glue"))}
    assert stages["glue-teacher-sst2"].options["model"] == "teacher-dir"
    assert stages["glue-student-sst2"].options["model"] == "@distill"
    assert stages["glue-baseline-sst2"].options["model"] == "@student-init"
    assert stages["glue-random_init-stsb"].deps == ["distill-random_init"]
    assert stages["distill-random_init"].deps == ["random-init"]
    assert stages["int8-sst2"].deps == ["glue-student-sst2"]
    assert stages["squad-student-d"].deps == ["distill", "squad-teacher"]
    assert stages["benchmark"].options["model"] == ["teacher-dir", "@distill"]
    # Every arm is fine-tuned with the same options, the task's own on top.
    for arm in ("teacher", "student", "baseline"):
        options = stages[f"glue-{arm}-sst2"].options
        assert (options["epochs"], options["train_limit"], options["seeds"], options["select_on"]) == (
            1,
            8,
            [1, 2],
            "holdout",
        )
    names = list(stages)
    for stage in stages.values():
        assert all(names.index(dep) < names.index(stage.name) for dep in stage.deps)


def test_editing_one_stage_changes_it_and_its_dependants_only() -> None:
    before = _fingerprints(RECIPE)
    edited = copy.deepcopy(RECIPE)
    edited["distill"]["max_steps"] = 5
    after = _fingerprints(edited)
    changed = {name for name in before if before[name] != after[name]}
    expected = {"distill", "distill-random_init", "glue-student-sst2", "glue-student-stsb", "int8-sst2", "int8-stsb",
                "glue-random_init-sst2", "glue-random_init-stsb", "squad-student", "squad-student-d", "benchmark"}  # fmt: skip
    assert changed == expected

    edited = copy.deepcopy(RECIPE)
    edited["glue"]["tasks"]["stsb"] = {"epochs": 2}
    changed = {name for name, fp in _fingerprints(edited).items() if before[name] != fp}
    assert changed == {f"glue-{arm}-stsb" for arm in ("teacher", "student", "baseline", "random_init")} | {"int8-stsb"}


def test_same_recipe_same_fingerprints() -> None:
    assert _fingerprints(RECIPE) == _fingerprints(copy.deepcopy(RECIPE))


def test_the_command_line_corpus_wins_over_the_recipe() -> None:
    recipe = copy.deepcopy(RECIPE)
    recipe["distill"]["corpus"] = "recipe.txt"
    stages = {s.name: s for s in plan(parse_recipe(recipe, "t"), Inputs(corpus="given.txt"))}
    assert stages["distill"].options["corpus"] == "given.txt"
    stages = {s.name: s for s in plan(parse_recipe(recipe, "t"), Inputs())}
    assert stages["distill"].options["corpus"] == "recipe.txt"


def test_a_stage_is_stale_when_a_dependency_finished_again(tmp_path) -> None:
    import json

    from distilcli.pipeline.state import REPORT_FILE, STATE_FILE, status

    stages = {s.name: s for s in plan(parse_recipe(RECIPE, "t"), Inputs(corpus="c.txt", glue_dir="glue"))}

    def finish(name: str, at: float, inputs: dict) -> None:
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / REPORT_FILE).write_text("{}")
        state = {"status": "done", "fingerprint": stages[name].fingerprint, "finished_at": at, "inputs": inputs}
        (tmp_path / name / STATE_FILE).write_text(json.dumps(state))

    finish("distill", 1.0, {})
    finish("glue-student-sst2", 2.0, {"distill": 1.0})
    assert status(tmp_path, stages["glue-student-sst2"]) == "done"
    finish("distill", 3.0, {})  # the distillation ran again (same options, a new model)
    assert status(tmp_path, stages["glue-student-sst2"]) == "redo"
    assert status(tmp_path, stages["glue-teacher-sst2"]) == "todo"


@pytest.mark.parametrize("name", ["smoke", "cpu", "cpu-td-ablation", "paper", "embeddings"])
def test_every_printed_command_parses_as_the_cli(name: str) -> None:
    """What the pipeline logs for each stage is a command the CLI accepts when pasted (references resolved)."""
    import shlex

    import typer

    from distilcli.cli import app
    from distilcli.pipeline.recipe import load_recipe

    root = typer.main.get_command(app)
    for stage in plan(load_recipe(name), Inputs(corpus="corpus.txt", glue_dir="glue", retrieval_data="dev.json")):
        words = shlex.split(stage.describe(lambda ref: f"runs/{ref[1:]}/run", out=f"runs/{stage.name}/run"))
        assert words[0] == "distil" and "@" not in " ".join(words), words
        command, args = root, words[1:]
        while hasattr(command, "commands") and args and args[0] in command.commands:  # a group: models student
            command, args = command.commands[args[0]], args[1:]
        command.make_context(" ".join(words[:2]), list(args), resilient_parsing=False)  # raises on an unknown option
        assert words.count("--task") <= 1
