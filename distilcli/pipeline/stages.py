"""The stages a recipe runs, in order, each with its options and a fingerprint.

A stage is one call of a ``run_*`` function (``models student``, ``distill``, ``finetune``,
``eval-glue``, ``benchmark``) writing into ``DIR/<stage>/``. Options may name another stage's
model as ``"@<stage>"``; those are the stage's dependencies. The fingerprint hashes the stage's
kind, options and its dependencies' fingerprints, so editing one stage in the recipe changes
its fingerprint and every dependant's, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from distilcli.pipeline.embeddings import embedding_stages
from distilcli.pipeline.recipe import ABLATIONS, TD_ABLATION_DEPENDENTS, TD_ABLATIONS, TD_STUDENTS, Recipe

#: What each kind of stage runs.
KINDS = {
    "student": "distil models student",
    "random_init": "distil models student --random-init",
    "distill": "distil distill",
    "finetune": "distil finetune",
    "task_distill": "distil distill",
    "eval_int8": "distil eval-glue --quantize dynamic-int8",
    "benchmark": "distil benchmark",
    "eval_sts": "distil eval-sts",
    "eval_retrieval": "distil eval-retrieval",
    "export": "distil export",
}
#: Kinds that only score: they write no folder of their own (no ``--out``).
_SCORING = ("eval_int8", "eval_sts", "eval_retrieval")


@dataclass
class Inputs:
    """Where the data comes from on this machine: given on the command line, not in the recipe."""

    corpus: str | None = None
    glue_dir: str | None = None
    hub_dir: str | None = None
    #: ``eval-retrieval --data`` of an embeddings recipe (its retrieval stages are left out without it).
    retrieval_data: str | None = None


@dataclass
class Stage:
    """One run of the pipeline."""

    name: str
    kind: str
    options: dict[str, Any]
    #: The arm (teacher, student, baseline, an ablation) and task a result belongs to, for the tables.
    arm: str | None = None
    task: str | None = None
    fingerprint: str = ""
    deps: list[str] = field(default_factory=list)

    def describe(self, resolve: Callable[[str], str] | None = None, out: str | None = None) -> str:
        """The command the stage runs, as it would be typed: ``resolve`` turns ``@stage`` into its model folder
        (unresolved references stay ``@stage``), ``out`` adds the stage's ``--out``."""
        options = {k: _resolved(v, resolve) for k, v in self.options.items() if v is not None}
        shown = " ".join(_flag(k, v) for k, v in options.items())
        if self.kind == "export":  # MODEL is export's argument
            model = options.pop("model")
            shown = " ".join([shlex.quote(str(model))] + [_flag(k, v) for k, v in options.items()])
        where = ""
        if out and self.kind == "benchmark":
            where = f" --plot {shlex.quote(out + '/benchmark.png')}"
        elif out and self.kind not in _SCORING:  # scoring writes no folder
            where = f" --out {shlex.quote(out)}"
        return f"{KINDS[self.kind]} {shown}{where}".strip()


def _resolved(value: Any, resolve: Callable[[str], str] | None) -> Any:
    if resolve is None:
        return value
    if isinstance(value, list):
        return [_resolved(v, resolve) for v in value]
    return resolve(value) if isinstance(value, str) and value.startswith("@") else value


#: Options given once per value (``--model a --model b``); every other list is one comma-separated value.
_REPEATED = {"model"}


def _flag(name: str, value: Any) -> str:
    """``--name value``; a switch as ``--name`` or ``--no-name``; a path or text quoted for the shell."""
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    if isinstance(value, list) and name in _REPEATED:
        return " ".join(f"--{flag} {shlex.quote(str(v))}" for v in value)
    return f"--{flag} {shlex.quote(_show(value))}"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _references(value: Any) -> list[str]:
    if isinstance(value, str) and value.startswith("@"):
        return [value[1:]]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    return []


def arm_model(arm: str, recipe: Recipe) -> str:
    """The model an arm is fine-tuned from: the teacher itself, or a stage's output."""
    if arm == "teacher":
        return recipe.teacher
    if arm == "baseline":
        return "@student-init"
    return "@distill" if arm == "student" else f"@distill-{arm}"


def plan(recipe: Recipe, inputs: Inputs) -> list[Stage]:
    """Every stage of ``recipe``, dependencies first, fingerprints filled in."""
    if recipe.embeddings is not None:
        return fingerprinted([Stage(**fields) for fields in embedding_stages(recipe, inputs)])
    shape = {"layers": recipe.layers, "layer_map": recipe.layer_map, "arch": recipe.arch}
    stages = [Stage("student-init", "student", {"teacher": recipe.teacher, **shape}, arm="baseline")]
    # --corpus on the command line wins over a corpus the recipe names.
    general = {
        "teacher": recipe.teacher,
        **shape,
        **recipe.distill,
        "corpus": inputs.corpus or recipe.distill.get("corpus"),
    }
    stages.append(Stage("distill", "distill", general, arm="student"))
    for arm in recipe.ablations:
        if arm == "random_init":
            stages.append(Stage("random-init", "random_init", {"teacher": recipe.teacher, **shape}, arm=arm))
            stages.append(
                Stage(f"distill-{arm}", "distill", {**general, "student": "@random-init", "arch": None}, arm=arm)
            )
        else:
            stages.append(Stage(f"distill-{arm}", "distill", {**general, **ABLATIONS[arm]}, arm=arm))
    data = {"glue_dir": inputs.glue_dir, "hub_dir": inputs.hub_dir}
    for arm in [a for a in recipe.arms if a not in TD_STUDENTS and a != "baseline_long"]:
        for task, options in recipe.glue_tasks.items():
            finetune = {
                "model": arm_model(arm, recipe),
                "task": task,
                **data,
                "seeds": recipe.seeds,
                "select_on": recipe.selection,
                **recipe.finetune,
                **options,
            }
            stages.append(Stage(f"glue-{arm}-{task}", "finetune", finetune, arm=arm, task=task))
    stages.extend(_task_distill_stages(recipe, data))
    if recipe.int8:
        for arm, prefix in (("student", "glue-student"), ("student_td", "td-student_td")):
            if arm not in recipe.arms:
                continue
            for task in recipe.glue_tasks:
                name = f"int8-{task}" if arm == "student" else f"int8-{arm}-{task}"
                stages.append(
                    Stage(
                        name,
                        "eval_int8",
                        {"model": f"@{prefix}-{task}", "task": task, **data},
                        arm=f"{arm}_int8",
                        task=task,
                    )
                )
    if recipe.squad is not None:
        stages.extend(_squad_stages(recipe, recipe.squad))
    if recipe.benchmark is not None:
        models = [recipe.teacher, "@distill"]
        paper = {"glue_dir": inputs.glue_dir} if recipe.benchmark.get("preset") == "paper" else {}  # STS-B dev
        stages.append(Stage("benchmark", "benchmark", {"model": models, **recipe.benchmark, **paper}))
    return fingerprinted(stages)


#: Fine-tuning's optimizer defaults (FinetuneConfig's): task distillation in the pipeline trains the same way,
#: so an arm differs from the fine-tuned ones by its teacher and inputs only.
FINETUNE_OPTIMIZER = {
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "adam_eps": 1e-8,
    "adam_beta2": 0.999,
    "max_grad_norm": 1.0,
}


def _task_distill_stages(recipe: Recipe, data: dict[str, Any]) -> list[Stage]:
    """Each task-distillation arm on each task (from the teacher's median-seed fine-tune), and baseline_long."""
    stages = []
    for arm in recipe.td_arms:
        for task, options in recipe.glue_tasks.items():
            td = {
                "teacher": f"@glue-teacher-{task}",
                "student": TD_STUDENTS[arm],
                "task": task,
                **data,
                "seeds": recipe.seeds,
                "select_on": recipe.selection,
                **FINETUNE_OPTIMIZER,
                **recipe.finetune,
                **options,
                **recipe.task_distill,
                **TD_ABLATIONS.get(arm, {}),
                **dict.fromkeys(TD_ABLATION_DEPENDENTS.get(arm, ()), None),
            }
            stages.append(
                Stage(
                    f"td-{arm}-{task}",
                    "task_distill",
                    {k: v for k, v in td.items() if v is not None},
                    arm=arm,
                    task=task,
                )
            )
    if "baseline_long" in recipe.arms:
        for task, options in recipe.glue_tasks.items():
            finetune = {
                "model": "@student-init",
                "task": task,
                **data,
                "seeds": recipe.seeds,
                "select_on": recipe.selection,
                **recipe.finetune,
                **options,
                "epochs": matched_epochs(recipe, options),
            }
            stages.append(Stage(f"glue-baseline_long-{task}", "finetune", finetune, arm="baseline_long", task=task))
    return stages


def matched_epochs(recipe: Recipe, options: dict[str, Any]) -> int:
    """Epochs over the gold data that take as many optimizer steps as ``student_td``'s run on gold + augmented
    inputs."""
    from distilcli.finetune.config import FinetuneConfig

    ft_epochs = {**recipe.finetune, **options}.get("epochs", FinetuneConfig.__dataclass_fields__["epochs"].default)
    td = {**recipe.finetune, **options, **recipe.task_distill}
    epochs = int(td.get("epochs", ft_epochs)) + int(td.get("intermediate_epochs", 0))
    return epochs * (1 + int(td.get("augment", 0)))


def _squad_stages(recipe: Recipe, squad: dict[str, Any]) -> list[Stage]:
    files = {"task": squad["task"], "train_file": squad["train_file"], "dev_file": squad["dev_file"]}
    stages = [
        Stage(
            f"squad-{arm}",
            "finetune",
            {"model": arm_model(arm, recipe), **files, **squad["finetune"]},
            arm=arm,
            task=squad["task"],
        )
        for arm in ("teacher", "student", "baseline")
        if arm in recipe.arms
    ]
    if "teacher" in recipe.arms:
        distill = {"teacher": "@squad-teacher", "student": "@distill", **files, **squad["distill"]}
        stages.append(Stage("squad-student-d", "task_distill", distill, arm="student_d", task=squad["task"]))
    return stages


def fingerprinted(stages: list[Stage]) -> list[Stage]:
    """Fill in each stage's dependencies and fingerprint (a dependency must come first)."""
    done: dict[str, str] = {}
    for stage in stages:
        stage.deps = sorted({ref for value in stage.options.values() for ref in _references(value)})
        missing = [d for d in stage.deps if d not in done]
        if missing:
            raise ValueError(f"stage {stage.name} depends on {missing}, planned later or not at all")
        payload = {"kind": stage.kind, "options": stage.options, "deps": {d: done[d] for d in stage.deps}}
        stage.fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
        done[stage.name] = stage.fingerprint
    return stages
