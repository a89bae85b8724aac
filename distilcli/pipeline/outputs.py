"""What a pipeline leaves in ``DIR``: ``pipeline.json``, ``tables.md`` and ``summary.png``, from the stage reports.

``distil report tables DIR`` calls :func:`write_outputs` again on a finished (or partly
finished) pipeline folder: the recipe and inputs it ran with are kept in ``DIR``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from distilcli.errors import BadInput
from distilcli.fsutil import atomic_write_text
from distilcli.pipeline.recipe import Recipe, parse_recipe
from distilcli.pipeline.stages import Inputs, Stage, plan
from distilcli.pipeline.state import stage_models, stage_reports, stage_state
from distilcli.pipeline.tables import Results, flat_metrics, gather, render_tables
from distilcli.reports import Report

RECIPE_FILE = "recipe.yaml"
INPUTS_FILE = "inputs.json"
TABLES_FILE = "tables.md"
SUMMARY_FILE = "summary.png"
REPORT_FILE = "pipeline.json"


def keep_recipe(out: Path, recipe: Recipe, inputs: Inputs) -> None:
    """Record what the pipeline in ``out`` runs, so its tables can be made again later."""
    atomic_write_text(Path(out) / RECIPE_FILE, yaml.safe_dump(recipe.to_yaml_dict(), sort_keys=False))
    atomic_write_text(Path(out) / INPUTS_FILE, json.dumps(asdict(inputs), indent=2))


def load_kept(out: Path) -> tuple[Recipe, Inputs]:
    """The recipe and inputs a pipeline folder ran with."""
    out = Path(out)
    if not (out / RECIPE_FILE).is_file():
        raise BadInput(f"{out} is not a pipeline folder (no {RECIPE_FILE}): pass the --out of a distil pipeline run")
    recipe = parse_recipe(yaml.safe_load((out / RECIPE_FILE).read_text(encoding="utf-8")), str(out / RECIPE_FILE))
    inputs = Inputs(**json.loads((out / INPUTS_FILE).read_text(encoding="utf-8")))
    return recipe, inputs


def regenerate(out: Path) -> Report:
    """``distil report tables DIR``: ``tables.md`` and ``summary.png`` again from the stage reports of ``out``."""
    recipe, inputs = load_kept(out)
    return write_outputs(Path(out), recipe, inputs, 0.0, {"folder": str(out)})


def write_outputs(out: Path, recipe: Recipe, inputs: Inputs, duration_s: float, config: dict[str, Any]) -> Report:
    """Gather the stage reports into the pipeline report, ``tables.md`` and ``summary.png``."""
    out = Path(out)
    stages = plan(recipe, inputs)
    reports = stage_reports(out, stages)
    if recipe.embeddings is not None:
        from distilcli.pipeline import embed_tables as embed

        results = embed.gather_embeddings(recipe, stages, reports, stage_models(out, stages))
        metrics = embed.embed_metrics(recipe, results)
        tables = embed.render_embed_tables(recipe, results, metrics)
        summary, results_body = embed.write_embed_summary, embed.embed_body(results)
    else:
        results = gather(recipe, stages, reports, stage_models(out, stages))
        metrics = flat_metrics(recipe, results)
        tables = render_tables(recipe, results, metrics)
        summary, results_body = (
            _write_summary,
            {"glue": results.glue, "squad": results.squad, "benchmark": results.bench},
        )
    atomic_write_text(out / TABLES_FILE, tables)
    artifacts = {f"stage.{name}": str(out / name / "report.json") for name in reports} | {
        "tables": str(out / TABLES_FILE)
    }
    if summary(out / SUMMARY_FILE, recipe, results, metrics):
        artifacts["summary"] = str(out / SUMMARY_FILE)
    body = {
        "recipe": recipe.to_yaml_dict(),
        "stages": [
            {
                "name": s.name,
                "kind": s.kind,
                "arm": s.arm,
                "task": s.task,
                "fingerprint": s.fingerprint,
                "finished": s.name in reports,
                "wall_s": _wall(out, s),
            }
            for s in stages
        ],
        "tables": tables,
        **results_body,
    }
    primary = next(
        (
            m
            for m in (
                "glue.student.macro_retention",
                "embeddings.distilled_cka.stsb_retention",
                "embeddings.distilled_even.stsb_retention",
            )
            if m in metrics
        ),
        None,
    )
    return Report.create(
        "pipeline",
        config=config,
        metrics=metrics,
        primary_metric=primary,
        artifacts=artifacts,
        body=body,
        duration_s=duration_s,
    )


def _wall(out: Path, stage: Stage) -> float | None:
    state = stage_state(out, stage.name)
    return state.get("wall_s") if state else None


def _write_summary(path: Path, recipe: Recipe, results: Results, metrics: dict[str, float]) -> bool:
    """Every arm's GLUE macro (each task's median seed) and the spread of its per-seed macros; False if nothing to plot.

    One row per arm, whether or not a benchmark ran (its speed-up, when measured, is in the label):
    a gain that sits inside the seed spread looks like one.
    """
    from distilcli.pipeline.tables import ARM_LABELS

    tasks = list(recipe.glue_tasks)
    arms = [arm for arm in ARM_LABELS if f"glue.{arm}.macro" in metrics]
    if not arms:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False  # matplotlib is the optional [plot] extra; tables.md carries the same numbers
    from distilcli.fsutil import atomic_file

    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(arms) + 1.6))
    for row, arm in enumerate(reversed(arms)):
        macro = metrics[f"glue.{arm}.macro"] * 100
        spread = [m * 100 for m in results.seed_macros(arm, tasks)]
        if len(spread) > 1:
            ax.plot([min(spread), max(spread)], [row, row], color="0.6", linewidth=3, solid_capstyle="round")
            ax.scatter(spread, [row] * len(spread), s=12, color="0.35", zorder=2)
        ax.scatter([macro], [row], s=60, color="C3" if arm == "teacher" else "C0", zorder=3)
        bench = results.bench.get(arm)
        speed = f", {bench['speedup']:.2f}× faster" if bench and arm != "teacher" else ""
        ax.annotate(
            f"{macro:.1f}{speed}", (macro, row), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8
        )
    ax.set_yticks(range(len(arms)), [ARM_LABELS[arm] for arm in reversed(arms)], fontsize=8)
    ax.set_xlabel(
        f"GLUE dev macro ×100 ({', '.join(tasks)}): each task's median seed (dot), each seed (grey)", fontsize=9
    )
    ax.set_title(f"{recipe.name}: each arm's score and its seed spread", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return True
