"""A pipeline recipe: teacher, student shape, general distillation, the arms compared, GLUE, SQuAD, benchmark.

Recipes are YAML. The built-in ones live beside this module (``recipes/<name>.yaml``);
``distil pipeline --recipe NAME --print`` writes one out to edit. Every run option inside a
recipe is a field of the command it feeds (``distill``, ``finetune``, ``benchmark``), checked
here by name, so a typo fails before any model is loaded.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distilcli.errors import BadInput
from distilcli.pipeline.embed_recipe import check_embeddings_recipe, default_arms, parse_embeddings
from distilcli.pipeline.recipe_keys import _check_keys, _mapping, _options

RECIPES_DIR = Path(__file__).parent / "recipes"

#: The arms a recipe may compare. Ablations are general distillations with one change (the paper's Table 4).
#: ``*_td`` arms are taught by task distillation from the teacher's fine-tune (``glue.task_distill``);
#: ``baseline_long`` fine-tunes the baseline for as many optimizer steps as ``student_td`` takes.
ARMS = (
    "teacher",
    "student",
    "baseline",
    "no_ce",
    "no_mlm",
    "no_cos",
    "random_init",
    "student_td",
    "baseline_td",
    "student_td_noaug",
    "student_td_nointer",
    "baseline_long",
)
ABLATIONS = {"no_ce": {"alpha_ce": 0.0}, "no_mlm": {"alpha_mlm": 0.0}, "no_cos": {"alpha_cos": 0.0}, "random_init": {}}
#: GLUE macro deltas of DistilBERT's ablation (paper, Table 4), for the table beside ours.
PAPER_ABLATION_DELTAS = {"no_ce": -2.96, "no_cos": -1.46, "no_mlm": -0.31, "random_init": -3.69}
SELECTIONS = ("holdout", "dev")
#: Task-distillation arms: the student each starts from, and what it changes in ``glue.task_distill``.
TD_STUDENTS = {
    "student_td": "@distill",
    "baseline_td": "@student-init",
    "student_td_noaug": "@distill",
    "student_td_nointer": "@distill",
}
TD_ABLATIONS = {
    "student_td_noaug": {"augment": 0, "transfer_corpus": None},
    "student_td_nointer": {"alpha_hidden": 0.0, "alpha_attention": 0.0, "alpha_pkd": 0.0, "intermediate_epochs": 0},
}
#: What an ablation arm also leaves out because it would do nothing there: the rules of the augmentation
#: it turns off (so that the stage's printed command runs when pasted: distil refuses an inert flag).
TD_ABLATION_DEPENDENTS = {
    "student_td_noaug": (
        "augment_mask",
        "augment_replace",
        "augment_delete",
        "augment_ngram",
        "augment_mlm",
        "text_field",
    ),
}

_TOP_KEYS = {
    "recipe",
    "description",
    "teacher",
    "student",
    "distill",
    "arms",
    "glue",
    "squad",
    "benchmark",
    "embeddings",
}
_STUDENT_KEYS = {"layers", "layer_map", "arch"}
_GLUE_KEYS = {"tasks", "seeds", "selection", "finetune", "int8", "task_distill"}
_SQUAD_KEYS = {"task", "train_file", "dev_file", "finetune", "distill"}


@dataclass
class Recipe:
    """One experiment: what to distill, which arms to compare, and how each is measured."""

    name: str
    teacher: str
    description: str = ""
    layers: int | None = None
    layer_map: list[int] | None = None
    arch: str | None = None
    #: ``distil distill`` options of the general distillation (corpus included).
    distill: dict[str, Any] = field(default_factory=dict)
    arms: list[str] = field(default_factory=lambda: ["teacher", "student", "baseline"])
    #: GLUE task name -> ``distil finetune`` options for that task (on top of ``finetune``).
    glue_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)
    #: ``distil distill --task`` options of the task-distillation arms (on top of ``finetune`` and the task's).
    task_distill: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [42])
    selection: str = "holdout"
    #: Score a dynamic-int8 copy of the fine-tuned student on every GLUE task too.
    int8: bool = False
    #: ``{task, train_file, dev_file, finetune: {...}, distill: {...}}`` or None.
    squad: dict[str, Any] | None = None
    #: ``distil benchmark`` options (models are the arms), or None to skip the benchmark.
    benchmark: dict[str, Any] | None = None
    #: A sentence-embedding recipe (:mod:`distilcli.pipeline.embeddings`) instead of GLUE: its section, checked.
    embeddings: dict[str, Any] | None = None

    @property
    def ablations(self) -> list[str]:
        return [arm for arm in self.arms if arm in ABLATIONS]

    @property
    def td_arms(self) -> list[str]:
        return [arm for arm in self.arms if arm in TD_STUDENTS]

    def to_yaml_dict(self) -> dict[str, Any]:
        """The recipe in its YAML layout (what ``--print`` writes and ``load_recipe`` reads)."""
        student = {
            k: v
            for k, v in (("layers", self.layers), ("layer_map", self.layer_map), ("arch", self.arch))
            if v is not None
        }
        common = {
            "recipe": self.name,
            "description": self.description,
            "teacher": self.teacher,
            "student": student,
            "distill": self.distill,
            "arms": self.arms,
        }
        if self.embeddings is not None:  # no GLUE or SQuAD in an embeddings recipe
            return {**common, "embeddings": self.embeddings, "benchmark": self.benchmark}
        glue = {
            "tasks": self.glue_tasks,
            "seeds": self.seeds,
            "selection": self.selection,
            "finetune": self.finetune,
            "int8": self.int8,
            **({"task_distill": self.task_distill} if self.task_distill else {}),
        }
        return {**common, "glue": glue, "squad": self.squad, "benchmark": self.benchmark}


def builtin_names() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_recipe(spec: str | Path) -> Recipe:
    """A built-in recipe by name, or a YAML file; every key is checked."""
    import yaml

    path = Path(spec)
    if not path.suffix and (RECIPES_DIR / f"{spec}.yaml").is_file():
        path = RECIPES_DIR / f"{spec}.yaml"
    elif not path.is_file():
        close = difflib.get_close_matches(str(spec), builtin_names(), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise BadInput(
            f"--recipe {spec}: no such built-in recipe or file: {hint}built-in: {', '.join(builtin_names())}"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInput(
            f"recipe {path} is not readable YAML ({str(exc).strip().splitlines()[0]}): fix the file"
        ) from None
    if not isinstance(data, dict):
        raise BadInput(f"recipe {path} must be a mapping (recipe, teacher, student, distill, arms, glue, ...)")
    return parse_recipe(data, str(path))


def parse_recipe(data: dict[str, Any], source: str) -> Recipe:
    """Check a recipe mapping key by key and build the :class:`Recipe`."""
    _check_keys(data, _TOP_KEYS, source, "")
    if not data.get("teacher"):
        raise BadInput(f"recipe {source}: 'teacher' is required (a folder, an alias such as minilm-l6, or a hub id)")
    student = _mapping(data.get("student"), source, "student")
    _check_keys(student, _STUDENT_KEYS, source, "student.")
    glue = _mapping(data.get("glue"), source, "glue")
    _check_keys(glue, _GLUE_KEYS, source, "glue.")
    embeddings, arms = None, data.get("arms") or ["teacher", "student", "baseline"]
    if data.get("embeddings") is not None:
        embeddings = parse_embeddings(data["embeddings"], source)
        arms = data.get("arms") or default_arms(embeddings)
    recipe = Recipe(
        name=str(data.get("recipe") or Path(source).stem),
        teacher=str(data["teacher"]),
        description=str(data.get("description") or ""),
        layers=student.get("layers"),
        layer_map=student.get("layer_map"),
        arch=student.get("arch"),
        distill=_options(data.get("distill"), "distill", source, allow={"corpus"}),
        arms=list(arms),
        glue_tasks={
            str(k): _options(v, "finetune", source, prefix=f"glue.tasks.{k}.")
            for k, v in _mapping(glue.get("tasks"), source, "glue.tasks").items()
        },
        finetune=_options(glue.get("finetune"), "finetune", source, prefix="glue.finetune."),
        task_distill=_options(glue.get("task_distill"), "distill", source, prefix="glue.task_distill."),
        seeds=[int(s) for s in glue.get("seeds") or [42]],
        selection=str(glue.get("selection") or "holdout"),
        int8=bool(glue.get("int8", False)),
        squad=_squad(data.get("squad"), source),
        benchmark=_options(data["benchmark"], "benchmark", source) if data.get("benchmark") is not None else None,
        embeddings=embeddings,
    )
    _check_recipe(recipe, source)
    return recipe


def _check_recipe(recipe: Recipe, source: str) -> None:
    if recipe.embeddings is not None:
        check_embeddings_recipe(recipe, source)
        return
    unknown = [arm for arm in recipe.arms if arm not in ARMS]
    if unknown:
        raise BadInput(f"recipe {source}: unknown arm(s) {', '.join(unknown)}; known: {', '.join(ARMS)}")
    if "student" not in recipe.arms:
        raise BadInput(
            f"recipe {source}: arms must include 'student' (the distilled student every other arm is compared with)"
        )
    if len(set(recipe.arms)) != len(recipe.arms):
        raise BadInput(f"recipe {source}: an arm is listed twice in {recipe.arms}")
    if recipe.selection not in SELECTIONS:
        raise BadInput(f"recipe {source}: glue.selection must be holdout or dev, got {recipe.selection!r}")
    if not recipe.seeds or len(set(recipe.seeds)) != len(recipe.seeds):
        raise BadInput(f"recipe {source}: glue.seeds must be distinct integers, got {recipe.seeds}")
    for arm in recipe.ablations:
        change = ABLATIONS[arm]
        if change and all(float(recipe.distill.get(k, _distill_default(k))) == v for k, v in change.items()):
            raise BadInput(
                f"recipe {source}: ablation {arm} changes nothing: the recipe's distill already sets {change}"
            )
    if recipe.int8 and not recipe.glue_tasks:
        raise BadInput(f"recipe {source}: glue.int8 needs GLUE tasks to score")
    _check_task_distill(recipe, source)


def _check_task_distill(recipe: Recipe, source: str) -> None:
    """Task-distillation arms learn from the teacher arm's fine-tunes; baseline_long matches student_td's steps."""
    if recipe.td_arms and "teacher" not in recipe.arms:
        raise BadInput(
            f"recipe {source}: arms {', '.join(recipe.td_arms)} learn from the fine-tuned teacher: "
            "add the arm 'teacher'"
        )
    if recipe.td_arms and not recipe.glue_tasks:
        raise BadInput(f"recipe {source}: arms {', '.join(recipe.td_arms)} need glue.tasks")
    if "baseline_long" in recipe.arms and "student_td" not in recipe.arms:
        raise BadInput(f"recipe {source}: baseline_long is fine-tuned as long as student_td: add the arm 'student_td'")
    if "baseline_long" in recipe.arms and recipe.task_distill.get("transfer_corpus"):
        raise BadInput(
            f"recipe {source}: baseline_long matches student_td's steps from --augment; "
            "a transfer corpus would change them"
        )
    for arm, change in TD_ABLATIONS.items():
        if arm in recipe.arms and all(not recipe.task_distill.get(k) for k in change):
            raise BadInput(
                f"recipe {source}: ablation {arm} changes nothing: "
                f"glue.task_distill already leaves out {', '.join(change)}"
            )


def _distill_default(name: str) -> Any:
    """A general distillation's default for ``name`` (its mode's default where the field has one)."""
    from distilcli.distill.config import MODE_DEFAULTS, DistillConfig

    return MODE_DEFAULTS["general"].get(name, {f.name: f.default for f in dataclasses.fields(DistillConfig)}[name])


def _squad(value: Any, source: str) -> dict[str, Any] | None:
    if value is None:
        return None
    squad = _mapping(value, source, "squad")
    _check_keys(squad, _SQUAD_KEYS, source, "squad.")
    if str(squad.get("task", "squad")) not in ("squad", "squad_v2"):
        raise BadInput(f"recipe {source}: squad.task must be squad or squad_v2, got {squad.get('task')!r}")
    return {
        "task": str(squad.get("task", "squad")),
        "train_file": squad.get("train_file"),
        "dev_file": squad.get("dev_file"),
        "finetune": _options(squad.get("finetune"), "finetune", source, prefix="squad.finetune."),
        "distill": _options(squad.get("distill"), "distill", source, prefix="squad.distill."),
    }
