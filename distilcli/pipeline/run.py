"""``run_pipeline``: the whole DistilBERT experiment of a recipe, stage by stage, then its tables.

Every stage calls an existing ``run_*`` function in this process and writes under
``DIR/<stage>/``; killing the pipeline anywhere and running the same command again finishes
the work without redoing finished stages (see :mod:`distilcli.pipeline.state`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from distilcli.config import config_to_dict
from distilcli.errors import BadInput
from distilcli.evaluate.gates import gate_outcome, split_gate
from distilcli.pipeline.executors import check_stage
from distilcli.pipeline.outputs import REPORT_FILE, keep_recipe, write_outputs
from distilcli.pipeline.parallel import run_parallel
from distilcli.pipeline.recipe import Recipe, load_recipe
from distilcli.pipeline.stages import Inputs, Stage, plan
from distilcli.pipeline.state import check_out, run_stages, status
from distilcli.reports import Report, write_report
from distilcli.training.runtime import check_positive
from distilcli.training.tracking import check_tracking

#: What ``--fail-under`` may name: the pipeline report's metrics (``glue.student.macro_retention``, ...).
_METRIC = re.compile(r"^(glue|squad|benchmark|ablation|embeddings)\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")


@dataclass
class PipelineConfig:
    """Options of ``distil pipeline``."""

    recipe: str
    out: Path
    corpus: str | None = None
    glue_dir: Path | None = None
    hub_dir: Path | None = None
    #: An embeddings recipe's retrieval collection (eval-retrieval --data); unset: no retrieval stages.
    retrieval_data: Path | None = None
    fail_under: list[str] = field(default_factory=list)
    #: Given: every training stage logs there (on top of the recipe's report_to); tracking_dir gets a folder per stage.
    report_to: str | None = None
    tracking_dir: Path | None = None
    #: Stages run at once, each in its own process with cores // jobs threads (1: one after another, here).
    jobs: int = 1


def parse_gates(specs: list[str]) -> list[tuple[str, str, float]]:
    """``glue.student.macro_retention=0.97`` -> (spec, metric, bar); a name that is no pipeline metric is refused."""
    gates = []
    for spec in specs:
        metric, bar = split_gate(spec, "glue.student.macro_retention=0.97")
        if not _METRIC.match(metric):
            raise BadInput(
                f"--fail-under {spec!r}: {metric!r} is not a pipeline metric: "
                "use glue.<arm>.<task|macro|macro_retention>, squad.<arm>.<exact_match|f1>, "
                "benchmark.<arm>.<speedup|parameter_reduction>, ablation.<arm>.delta_macro "
                "or embeddings.<arm>.<stsb|ndcg_at_10|stsb_retention|ndcg_at_10_retention>"
            )
        gates.append((spec, metric, bar))
    return gates


def gate_outcomes(gates: list[tuple[str, str, float]], metrics: dict[str, float]) -> list[dict[str, Any]]:
    """One outcome per gate, as eval-glue's; a metric not measured fails."""
    return [gate_outcome(spec, metric, bar, metrics.get(metric)) for spec, metric, bar in gates]


def _absolute(value: str | Path | None) -> str | None:
    """A local path made absolute (the same data gives the same fingerprints from any folder); hub ids as given."""
    if value is None:
        return None
    return str(Path(value).resolve()) if Path(value).exists() else str(value)


def _inputs(cfg: PipelineConfig) -> Inputs:
    return Inputs(_absolute(cfg.corpus), _absolute(cfg.glue_dir), _absolute(cfg.hub_dir), _absolute(cfg.retrieval_data))


def _check_inputs(recipe: Recipe, inputs: Inputs) -> None:
    """What the recipe needs from the command line, before any stage runs."""
    if recipe.embeddings is not None:
        _check_embedding_inputs(recipe, inputs)
        return
    if inputs.retrieval_data:
        raise BadInput(
            f"--retrieval-data is read by embeddings recipes; recipe {recipe.name} has no embeddings section"
        )
    if not inputs.corpus and not recipe.distill.get("corpus"):
        raise BadInput(
            f"recipe {recipe.name} distills on a corpus: pass --corpus FILE|FOLDER (e.g. ../shared/data/wikitext-2)"
        )
    if (
        recipe.glue_tasks
        and not (inputs.glue_dir or inputs.hub_dir)
        and not all("train_file" in o for o in recipe.glue_tasks.values())
    ):
        raise BadInput(
            f"recipe {recipe.name} fine-tunes on GLUE: pass --glue-dir DIR (the original layout) or --hub-dir DIR"
        )
    if recipe.benchmark and recipe.benchmark.get("preset") == "paper" and not inputs.glue_dir:
        raise BadInput(f"recipe {recipe.name} benchmarks on STS-B dev (preset paper): pass --glue-dir DIR")


def _check_embedding_inputs(recipe: Recipe, inputs: Inputs) -> None:
    trained = [arm for arm in recipe.arms if arm not in ("teacher", "student_even", "other_family")]
    if trained and not inputs.corpus and not recipe.distill.get("corpus"):
        raise BadInput(f"recipe {recipe.name}: arms {', '.join(trained)} read a corpus: pass --corpus FILE|FOLDER")
    if not (inputs.glue_dir or inputs.hub_dir):
        raise BadInput(f"recipe {recipe.name} scores every model on STS-B dev: pass --glue-dir DIR or --hub-dir DIR")
    if recipe.benchmark and recipe.benchmark.get("preset") == "paper" and not inputs.glue_dir:
        raise BadInput(f"recipe {recipe.name} benchmarks on STS-B dev (preset paper): pass --glue-dir DIR")


def plan_pipeline(cfg: PipelineConfig) -> tuple[Recipe, list[tuple[Stage, str]]]:
    """The recipe and every stage with its state in ``--out`` (todo, done, resume, redo): ``--dry-run``."""
    recipe = load_recipe(cfg.recipe)
    parse_gates(cfg.fail_under)
    check_positive("jobs", cfg.jobs)
    _check_inputs(recipe, _inputs(cfg))
    check_out(cfg.out)
    planned = [(stage, status(Path(cfg.out), stage)) for stage in plan(recipe, _inputs(cfg))]
    preflight(Path(cfg.out), [stage for stage, state in planned if state != "done"])
    return recipe, planned


def preflight(out: Path, stages: list[Stage]) -> None:
    """Every stage's options and inputs (task files, corpora, models) checked before the first stage runs."""
    seen: set[str] = set()
    for stage in stages:
        check_stage(stage.kind, stage.options, out / stage.name / "run", seen)


def run_pipeline(cfg: PipelineConfig) -> tuple[Report, list[dict[str, Any]]]:
    """Run every stage not yet done, write ``pipeline.json``, ``tables.md`` and ``summary.png``; check the gates."""
    start = time.perf_counter()
    out = Path(cfg.out)
    recipe = load_recipe(cfg.recipe)
    gates = parse_gates(cfg.fail_under)
    check_positive("jobs", cfg.jobs)
    inputs = _inputs(cfg)
    _check_inputs(recipe, inputs)
    check_out(out)
    tracking = {"report_to": cfg.report_to, "tracking_dir": cfg.tracking_dir}
    if cfg.report_to is not None:
        check_tracking(SimpleNamespace(out=out, **tracking))  # a missing tracker fails before the first stage
    stages = plan(recipe, inputs)
    preflight(out, [stage for stage in stages if status(out, stage) != "done"])
    out.mkdir(parents=True, exist_ok=True)
    keep_recipe(out, recipe, inputs)
    ran = run_parallel(out, stages, cfg.jobs, tracking) if cfg.jobs > 1 else run_stages(out, stages, tracking)
    report = write_outputs(out, recipe, inputs, time.perf_counter() - start, config_to_dict(cfg))
    report.body["this_run"] = [{"stage": stage.name, "done": how} for stage, how in ran]
    outcomes = gate_outcomes(gates, report.metrics)
    report.body["gates"] = outcomes
    write_report(report, out / REPORT_FILE)
    return report, outcomes
