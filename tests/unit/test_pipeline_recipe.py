"""Pipeline recipes: the built-ins validate, bad keys are refused with a suggestion, the plan is what the recipe says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from distilcli.errors import BadInput
from distilcli.pipeline.recipe import builtin_names, load_recipe, parse_recipe
from distilcli.pipeline.stages import Inputs, plan


def test_builtin_recipes_all_load_and_plan() -> None:
    assert set(builtin_names()) >= {"smoke", "cpu", "cpu-ablation", "paper", "embeddings"}
    for name in builtin_names():
        recipe = load_recipe(name)
        stages = plan(recipe, Inputs(corpus="corpus.txt", glue_dir="glue"))
        names = [s.name for s in stages]
        assert len(names) == len(set(names)), name
        if recipe.embeddings is not None:
            assert {"student-cka", "distill-cka", "sts-teacher", "export"} <= set(names), name
            continue
        assert "distill" in names and "student-init" in names


def test_paper_recipe_is_the_paper() -> None:
    recipe = load_recipe("paper")
    assert recipe.teacher == "bert-base-uncased"
    assert recipe.layer_map == [0, 2, 4, 7, 9, 11]
    assert (recipe.distill["alpha_ce"], recipe.distill["alpha_mlm"], recipe.distill["alpha_cos"]) == (5.0, 2.0, 1.0)
    assert recipe.distill["lr"] == 5e-4 and recipe.distill["temperature"] == 2.0
    assert len(recipe.glue_tasks) == 9 and recipe.seeds == [1, 2, 3, 4, 5] and recipe.selection == "dev"
    stages = {s.name: s for s in plan(recipe, Inputs())}
    assert stages["squad-student-d"].deps == ["distill", "squad-teacher"]


def test_print_round_trip() -> None:
    recipe = load_recipe("cpu-ablation")
    again = parse_recipe(yaml.safe_load(yaml.safe_dump(recipe.to_yaml_dict())), "printed")
    assert again == recipe


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"distil": {}}, "unknown key distil: did you mean distill"),
        ({"distill": {"max_step": 3}}, "unknown key distill.max_step: did you mean distill.max_steps"),
        ({"distill": {"teacher": "x"}}, "unknown key distill.teacher"),
        ({"glue": {"tasks": {"sst2": {"epoch": 1}}}}, "glue.tasks.sst2.epoch: did you mean glue.tasks.sst2.epochs"),
        ({"arms": ["teacher", "baseline"]}, "arms must include 'student'"),
        ({"arms": ["student", "no_kd"]}, "unknown arm(s) no_kd"),
        ({"arms": ["student", "no_ce"], "distill": {"alpha_ce": 0}}, "ablation no_ce changes nothing"),
        ({"glue": {"selection": "test"}}, "glue.selection must be holdout or dev"),
        ({"squad": {"task": "squad3"}}, "squad.task must be squad or squad_v2"),
    ],
)
def test_bad_recipes_are_refused_with_the_fix(change: dict, message: str) -> None:
    data = {"recipe": "t", "teacher": "minilm-l6", "student": {"layer_map": [0, 2]}} | change
    with pytest.raises(BadInput) as info:
        parse_recipe(data, "t.yaml")
    assert message in str(info.value)


def test_unknown_recipe_names_the_builtins(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="did you mean 'smoke'"):
        load_recipe("smok")
    bad = tmp_path / "r.yaml"
    bad.write_text("teacher: [unclosed\n")
    with pytest.raises(BadInput, match="not readable YAML"):
        load_recipe(bad)
