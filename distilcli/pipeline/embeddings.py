"""The ``embeddings`` kind of recipe: sentence-embedding students scored zero-shot, instead of fine-tuned on GLUE.

A recipe with a top-level ``embeddings:`` section compares the teacher with half-depth students
made from it (layers copied evenly or chosen by CKA on the corpus, each undistilled and distilled
with ``--task embeddings``) and, if given, a small encoder of another family (its own tokenizer),
undistilled and distilled. Every model is scored zero-shot on STS-B dev (``eval-sts``) and, when
``--retrieval-data`` is given, on passage retrieval (``eval-retrieval``); then benchmarked, and one
student exported. The stages are ordinary pipeline stages (fingerprints, skip, resume, redo):
:func:`distilcli.pipeline.stages.plan` makes them from the fields returned here.
"""

from __future__ import annotations

from typing import Any

from distilcli.pipeline.embed_recipe import ARM_STAGE, bench_arms, export_arm
from distilcli.pipeline.recipe import Recipe


def arm_model(arm: str, recipe: Recipe) -> str:
    """The model an arm scores: the teacher, the other family's encoder, or a stage's output."""
    if arm == "teacher":
        return recipe.teacher
    if arm == "other_family":
        return str((recipe.embeddings or {})["other_family"])
    return f"@{ARM_STAGE[arm]}"


def embedding_stages(recipe: Recipe, inputs: Any) -> list[dict[str, Any]]:
    """Every stage of an embeddings recipe (``Stage`` fields), dependencies first; ``inputs``: the ``Inputs``."""
    section = recipe.embeddings or {}
    arms = set(recipe.arms)
    corpus = inputs.corpus or recipe.distill.get("corpus")
    distill = {**recipe.distill, "corpus": corpus, "task": "embeddings"}
    shape = {"layers": recipe.layers, "layer_map": recipe.layer_map, "arch": recipe.arch}
    stages = []
    if arms & {"student_even", "distilled_even"}:
        stages.append(_stage("student-even", "student", {"teacher": recipe.teacher, **shape}, arm="student_even"))
    if arms & {"student_cka", "distilled_cka"}:
        text = {k: recipe.distill[k] for k in ("text_field", "document_per") if k in recipe.distill}
        cka = {
            "teacher": recipe.teacher,
            "layers": recipe.layers or len(recipe.layer_map or []),
            "layer_map": "auto",
            "arch": recipe.arch,
            "corpus": corpus,
            "document_per": "sentence",
            **text,
        }
        stages.append(_stage("student-cka", "student", cka, arm="student_cka"))
    for arm, start in (("distilled_even", "@student-even"), ("distilled_cka", "@student-cka")):
        if arm in arms:
            stages.append(
                _stage(
                    str(ARM_STAGE[arm]), "distill", {"teacher": recipe.teacher, "student": start, **distill}, arm=arm
                )
            )
    if "other_family_distilled" in arms:
        # Another tokenizer: only the sentence embeddings are compared (L_cos needs the teacher's tokens).
        other = {
            "teacher": recipe.teacher,
            "student": section["other_family"],
            **distill,
            "alpha_cos": 0.0,
            **section["other_family_distill"],
        }
        stages.append(_stage("distill-other", "distill", other, arm="other_family_distilled"))
    data = {"glue_dir": inputs.glue_dir, "hub_dir": inputs.hub_dir}
    for arm in recipe.arms:
        stages.append(
            _stage(
                f"sts-{arm}",
                "eval_sts",
                {"model": arm_model(arm, recipe), **data, **section["sts"]},
                arm=arm,
                task="stsb",
            )
        )
    if inputs.retrieval_data:
        for arm in recipe.arms:
            retrieval = {"model": arm_model(arm, recipe), "data": inputs.retrieval_data, **section["retrieval"]}
            stages.append(_stage(f"retrieval-{arm}", "eval_retrieval", retrieval, arm=arm, task="retrieval"))
    if recipe.benchmark is not None:
        models = [recipe.teacher] + [arm_model(arm, recipe) for arm in bench_arms(recipe.arms).values()]
        paper = {"glue_dir": inputs.glue_dir} if recipe.benchmark.get("preset") == "paper" else {}
        stages.append(_stage("benchmark", "benchmark", {"model": models, **recipe.benchmark, **paper}))
    if section.get("export") is not None:
        arm = str(export_arm(recipe.arms, section))
        check = {"task": "stsb", **data} if (inputs.glue_dir or inputs.hub_dir) else {}
        options = {k: v for k, v in section["export"].items() if k != "arm"}
        stages.append(
            _stage("export", "export", {"model": arm_model(arm, recipe), **check, **options}, arm=arm, task="export")
        )
    return stages


def _stage(
    name: str, kind: str, options: dict[str, Any], arm: str | None = None, task: str | None = None
) -> dict[str, Any]:
    return {"name": name, "kind": kind, "options": options, "arm": arm, "task": task}
