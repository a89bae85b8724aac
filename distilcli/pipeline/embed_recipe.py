"""The ``embeddings:`` section of a recipe: its arms, keys and options, checked before anything runs.

The stages it plans are in :mod:`distilcli.pipeline.embeddings`.
"""

from __future__ import annotations

from typing import Any

from distilcli.config import coerce_options
from distilcli.errors import BadInput
from distilcli.pipeline.recipe_keys import _check_keys, _mapping, _options, command_config

#: The arms of an embeddings recipe, in table order.
EMBED_ARMS = (
    "teacher",
    "student_even",
    "student_cka",
    "distilled_even",
    "distilled_cka",
    "other_family",
    "other_family_distilled",
)
#: Arm -> the stage that makes its model (None: the model is named in the recipe).
ARM_STAGE = {
    "teacher": None,
    "student_even": "student-even",
    "student_cka": "student-cka",
    "distilled_even": "distill-even",
    "distilled_cka": "distill-cka",
    "other_family": None,
    "other_family_distilled": "distill-other",
}
#: Arms of one architecture share a benchmark row: speed and size do not depend on the weights.
SHAPES = {
    "copied": ("distilled_cka", "distilled_even", "student_cka", "student_even"),
    "other": ("other_family_distilled", "other_family"),
}
_KEYS = {"other_family", "other_family_distill", "sts", "retrieval", "export"}
_EVAL_KEYS = {"batch_size", "max_seq_length", "limit"}
_EXPORT_KEYS = {"arm", "quantize", "limit", "max_seq_length", "batch_size"}


def default_arms(section: dict[str, Any]) -> list[str]:
    """Every arm, the other family's only when the recipe names one."""
    return [arm for arm in EMBED_ARMS if section.get("other_family") or not arm.startswith("other_family")]


def _limited(value: Any, command: str, keys: set[str], source: str, where: str) -> dict[str, Any]:
    options = _mapping(value, source, where)
    _check_keys(options, keys, source, f"{where}.")
    coerce_options(command_config(command), {k: v for k, v in options.items() if k != "arm"}, source)
    return options


def parse_embeddings(value: Any, source: str) -> dict[str, Any]:
    """The ``embeddings:`` section, every key checked (options against the command they feed)."""
    section = _mapping(value, source, "embeddings")
    _check_keys(section, _KEYS, source, "embeddings.")
    export = section.get("export")
    return {
        "other_family": str(section["other_family"]) if section.get("other_family") else None,
        "other_family_distill": _options(
            section.get("other_family_distill"), "distill", source, prefix="embeddings.other_family_distill."
        ),
        "sts": _limited(section.get("sts"), "eval-sts", _EVAL_KEYS, source, "embeddings.sts"),
        "retrieval": _limited(section.get("retrieval"), "eval-retrieval", _EVAL_KEYS, source, "embeddings.retrieval"),
        "export": None if export is None else _limited(export, "export", _EXPORT_KEYS, source, "embeddings.export"),
    }


def check_embeddings_recipe(recipe: Any, source: str) -> None:
    """A :class:`~distilcli.pipeline.recipe.Recipe` with an embeddings section: its arms, student shape and export."""
    section = recipe.embeddings or {}
    unknown = [arm for arm in recipe.arms if arm not in EMBED_ARMS]
    if unknown:
        raise BadInput(
            f"recipe {source}: unknown arm(s) {', '.join(unknown)} of an embeddings recipe; "
            f"known: {', '.join(EMBED_ARMS)}"
        )
    if len(set(recipe.arms)) != len(recipe.arms):
        raise BadInput(f"recipe {source}: an arm is listed twice in {recipe.arms}")
    if "teacher" not in recipe.arms:
        raise BadInput(f"recipe {source}: arms must include 'teacher' (every retention is against it)")
    if recipe.glue_tasks or recipe.squad is not None:
        raise BadInput(f"recipe {source}: an embeddings recipe scores zero-shot: leave out glue and squad")
    if any(arm.startswith("other_family") for arm in recipe.arms) and not section.get("other_family"):
        raise BadInput(
            f"recipe {source}: arms other_family* need embeddings.other_family (a small encoder, e.g. minilm-l6)"
        )
    if any(ARM_STAGE[arm] and not arm.startswith("other") for arm in recipe.arms) and not (
        recipe.layers or recipe.layer_map
    ):
        raise BadInput(f"recipe {source}: the students need student.layers (or student.layer_map)")
    arm = export_arm(recipe.arms, section)
    if section.get("export") is not None and (arm not in recipe.arms or ARM_STAGE.get(arm) is None):
        raise BadInput(
            f"recipe {source}: embeddings.export.arm {arm!r} must be a student arm of the recipe: one of "
            f"{', '.join(a for a in recipe.arms if ARM_STAGE[a]) or 'none'}"
        )


def export_arm(arms: list[str], section: dict[str, Any]) -> str | None:
    """The student exported: ``embeddings.export.arm``, else the first distilled arm (CKA first)."""
    chosen = (section.get("export") or {}).get("arm")
    return chosen or next((a for a in ("distilled_cka", "distilled_even", "other_family_distilled") if a in arms), None)


def bench_arms(arms: list[str]) -> dict[str, str]:
    """Shape -> the arm benchmarked for it (a distilled one where the recipe has it)."""
    return {shape: next(a for a in group if a in arms) for shape, group in SHAPES.items() if set(group) & set(arms)}
