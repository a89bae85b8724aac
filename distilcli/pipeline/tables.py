"""The pipeline's results: flat metrics for ``pipeline.json`` and the paper's tables for ``tables.md``.

Everything here is read from the stage reports; nothing is measured again. Metric names:
``glue.<arm>.<task>`` (the task score: the mean of its metrics, as GLUE), ``glue.<arm>.macro``,
``glue.<arm>.macro_retention`` (arm macro / teacher macro on the same tasks),
``squad.<arm>.exact_match`` / ``.f1``, ``benchmark.<arm>.speedup`` / ``.parameter_reduction``,
``ablation.<arm>.delta_macro`` (arm macro − student macro), ``glue.<arm>.gain_over_baseline`` (arm macro
− the better of ``baseline`` and ``baseline_long``, the undistilled student at its two budgets).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from distilcli.pipeline.recipe import PAPER_ABLATION_DELTAS, Recipe
from distilcli.pipeline.stages import Stage
from distilcli.reports import Report

#: Row labels of the arms, in table order.
ARM_LABELS = {
    "teacher": "teacher",
    "student": "student (distilled)",
    "baseline": "baseline (not distilled)",
    "student_int8": "student, dynamic int8",
    "student_d": "student + task distillation (D)",
    "student_td": "student + task distillation",
    "student_td_int8": "student + task distillation, dynamic int8",
    "baseline_td": "baseline + task distillation",
    "baseline_long": "baseline, fine-tuned as long as student_td",
    "student_td_noaug": "student + task distillation, no augmentation",
    "student_td_nointer": "student + task distillation, no intermediate losses",
    "no_ce": "without L_ce",
    "no_mlm": "without L_mlm",
    "no_cos": "without L_cos",
    "random_init": "random initialisation",
}


@dataclass
class Results:
    """The numbers the tables show, gathered from the stage reports."""

    glue: dict[str, dict[str, float]] = field(default_factory=dict)
    squad: dict[str, dict[str, float]] = field(default_factory=dict)
    #: arm -> {parameters, size_mb, time_s, speedup, parameter_reduction}
    bench: dict[str, dict[str, float]] = field(default_factory=dict)
    bench_mode: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    #: arm -> task -> each seed's task score, in seed order (the spread the medians hide)
    seeds: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    #: An embeddings recipe's zero-shot scores: arm -> {stsb, ndcg_at_10, ...}
    embed: dict[str, dict[str, float]] = field(default_factory=dict)

    def macro(self, arm: str, tasks: list[str]) -> float | None:
        """Mean task score over ``tasks``; None unless the arm has every one of them."""
        scores = self.glue.get(arm, {})
        return statistics.fmean(scores[t] for t in tasks) if tasks and all(t in scores for t in tasks) else None

    def seed_macros(self, arm: str, tasks: list[str]) -> list[float]:
        """The macro of each seed position (the k-th seed of every task); empty unless every task has them all."""
        runs = self.seeds.get(arm, {})
        if not tasks or not all(t in runs for t in tasks) or len({len(runs[t]) for t in tasks}) != 1:
            return []
        return [statistics.fmean(runs[t][k] for t in tasks) for k in range(len(runs[tasks[0]]))]


def gather(recipe: Recipe, stages: list[Stage], reports: dict[str, Report], models: dict[str, str]) -> Results:
    """Read every finished stage's report; ``models`` maps a stage to the model folder it produced."""
    results = Results()
    for stage in stages:
        report = reports.get(stage.name)
        if report is None or stage.arm is None:
            continue
        if (stage.kind == "finetune" and stage.name.startswith("glue-")) or (
            stage.kind == "task_distill" and stage.name.startswith("td-")
        ):
            results.glue.setdefault(stage.arm, {})[stage.task or ""] = float(report.metrics["score"])
            results.seeds.setdefault(stage.arm, {})[stage.task or ""] = [
                float(r["best"]["metrics"]["score"]) for r in report.body.get("runs", [])
            ]
            results.facts.setdefault("glue", {})[stage.task] = {
                "train_examples": report.metrics.get("train_examples"),
                "dev_examples": report.metrics.get("dev_examples"),
                "selection": report.body.get("selection", {"on": recipe.selection}),
            }
        elif stage.kind == "eval_int8":
            results.glue.setdefault(stage.arm, {})[stage.task or ""] = float(report.metrics[f"{stage.task}.score"])
        elif stage.kind in ("finetune", "task_distill"):
            # v1.1 names it exact_match, v2.0 exact (the official scripts' keys).
            exact = report.metrics["exact_match"] if "exact_match" in report.metrics else report.metrics["exact"]
            results.squad[stage.arm] = {"exact_match": float(exact), "f1": float(report.metrics["f1"])}
    if "benchmark" in reports:
        gather_benchmark(
            results, reports["benchmark"], {recipe.teacher: "teacher", models.get("distill", ""): "student"}
        )
    return results


def gather_benchmark(results: Results, report: Report, labels: dict[str, str]) -> None:
    """The benchmark's rows into ``results.bench``: ``labels`` maps each model as given to its arm."""
    body = report.body
    results.bench_mode = body["mode"]
    if body["mode"] == "paper":
        times = {row["label"]: (row["total_s"], row["speedup"]) for row in body["paper"]["results"]}
    else:
        shape = next((s for s in body["shapes"] if (s["batch_size"], s["seq_length"]) == (1, 128)), body["shapes"][0])
        results.facts["bench_shape"] = f"{shape['batch_size']}x{shape['seq_length']}"
        times = {row["label"]: (row["latency_ms"]["p50"] / 1000, row["speedup"]) for row in shape["results"]}
    for model in body["models"]:
        base = labels.get(model["model"]["spec"])
        if base is None:
            continue
        arm = (
            base
            if model["quantize"] == "none" and model["backend"] == "eager"
            else f"{base}_int8"
            if model["quantize"] != "none" and model["backend"] == "eager"
            else None
        )
        if arm is None:
            continue
        seconds, speedup = times[model["label"]]
        results.bench[arm] = {
            "parameters": model["parameters"]["total"],
            "size_mb": model["variant_bytes"] / 1e6,
            "time_s": seconds,
            "speedup": speedup if speedup is not None else 1.0,
            "parameter_reduction": model["parameter_reduction"] or 0.0,
        }


def flat_metrics(recipe: Recipe, results: Results) -> dict[str, float]:
    """The pipeline report's metrics (names in the module docstring)."""
    tasks = list(recipe.glue_tasks)
    metrics: dict[str, float] = {}
    for arm, scores in results.glue.items():
        metrics.update({f"glue.{arm}.{task}": value for task, value in scores.items()})
        macro = results.macro(arm, tasks)
        if macro is not None:
            metrics[f"glue.{arm}.macro"] = macro
    teacher = metrics.get("glue.teacher.macro")
    for arm in results.glue:
        if teacher and f"glue.{arm}.macro" in metrics:
            metrics[f"glue.{arm}.macro_retention"] = metrics[f"glue.{arm}.macro"] / teacher
    for arm, scores in results.squad.items():
        metrics.update({f"squad.{arm}.{name}": value for name, value in scores.items()})
    for arm, row in results.bench.items():
        metrics[f"benchmark.{arm}.speedup"] = row["speedup"]
        metrics[f"benchmark.{arm}.parameter_reduction"] = row["parameter_reduction"]
    baselines = [
        metrics[f"glue.{arm}.macro"] for arm in ("baseline", "baseline_long") if f"glue.{arm}.macro" in metrics
    ]
    for arm in results.glue:
        if baselines and arm not in ("baseline", "baseline_long", "teacher") and f"glue.{arm}.macro" in metrics:
            metrics[f"glue.{arm}.gain_over_baseline"] = metrics[f"glue.{arm}.macro"] - max(baselines)
    student = metrics.get("glue.student.macro")
    for arm in recipe.ablations:
        if student is not None and f"glue.{arm}.macro" in metrics:
            metrics[f"ablation.{arm}.delta_macro"] = metrics[f"glue.{arm}.macro"] - student
    return metrics


def _fmt(value: float | None, scale: float = 100.0, digits: int = 1) -> str:
    return "—" if value is None else f"{value * scale:.{digits}f}"


def render_tables(recipe: Recipe, results: Results, metrics: dict[str, float]) -> str:
    """``tables.md``: the paper's Tables 1–4 as far as the recipe ran them."""
    parts = [f"# {recipe.name}: results\n", _provenance(recipe, results)]
    parts.append(_table_glue(recipe, results, metrics))
    if results.squad:
        parts.append(_table_squad(results))
    if results.bench:
        parts.append(_table_speed(recipe, results, metrics))
    if recipe.ablations:
        parts.append(_table_ablation(recipe, metrics))
    if {"student_td_noaug", "student_td_nointer"} & set(recipe.arms):
        parts.append(_table_td_ablation(recipe, metrics))
    if any(len(runs) > 1 for arm in results.seeds.values() for runs in arm.values()):
        parts.append(_table_seeds(recipe, results))
    return "\n".join(parts)


def _provenance(recipe: Recipe, results: Results) -> str:
    shape = (
        f"layers {','.join(map(str, recipe.layer_map))}"
        if recipe.layer_map
        else f"{recipe.layers or 'half the'} layers"
    )
    glue = results.facts.get("glue", {})
    sizes = ", ".join(
        f"{t} {f['train_examples']:,.0f} train / {f['dev_examples']:,.0f} dev"
        for t, f in glue.items()
        if f["train_examples"]
    )
    distill = ", ".join(f"{k} {v}" for k, v in recipe.distill.items())
    selected = "a held-out slice of the training data" if recipe.selection == "holdout" else "dev (the paper practice)"
    return (
        f"Recipe `{recipe.name}`: teacher `{recipe.teacher}`, student {shape}. "
        f"General distillation: {distill or 'defaults'}.  \n"
        "GLUE dev scores ×100 (task score = mean of the task's metrics) of each task's "
        f"median seed of {', '.join(map(str, recipe.seeds))} by its primary metric (one model's scores); "
        f"checkpoint selected on {selected}.  \n"
        f"Data: {sizes or 'see the stage reports'}.\n"
    )


def _table_glue(recipe: Recipe, results: Results, metrics: dict[str, float]) -> str:
    tasks = list(recipe.glue_tasks)
    lines = [
        "## Table 1: GLUE dev\n",
        "| model | " + " | ".join(tasks) + " | macro | retention |",
        "|---" * (len(tasks) + 3) + "|",
    ]
    for arm in [a for a in ARM_LABELS if a in results.glue]:
        scores = results.glue[arm]
        cells = [_fmt(scores.get(t)) for t in tasks]
        retention = metrics.get(f"glue.{arm}.macro_retention")
        kept = "—" if retention is None else f"{retention * 100:.1f}%"
        lines.append(
            f"| {ARM_LABELS[arm]} | " + " | ".join(cells) + f" | {_fmt(metrics.get(f'glue.{arm}.macro'))} | {kept} |"
        )
    return "\n".join(lines) + "\n"


def _table_squad(results: Results) -> str:
    lines = ["## Table 2: SQuAD dev\n", "| model | EM | F1 |", "|---|---|---|"]
    for arm in [a for a in ARM_LABELS if a in results.squad]:
        row = results.squad[arm]
        lines.append(f"| {ARM_LABELS[arm]} | {row['exact_match']:.1f} | {row['f1']:.1f} |")
    return "\n".join(lines) + "\n"


def _table_speed(recipe: Recipe, results: Results, metrics: dict[str, float]) -> str:
    if results.bench_mode == "paper":
        timing = "STS-B dev, one pass at batch 1 on the CPU (s)"
    else:
        timing = f"p50 latency at {results.facts.get('bench_shape', '1x128')} (s)"
    lines = [
        "## Table 3: size and speed\n",
        f"| model | parameters | size MB | {timing} | speed-up | GLUE macro |",
        "|---|---|---|---|---|---|",
    ]
    for arm in [a for a in ARM_LABELS if a in results.bench]:
        row = results.bench[arm]
        lines.append(
            f"| {ARM_LABELS[arm]} | {row['parameters']:,.0f} | {row['size_mb']:.1f} | {row['time_s']:.3f} "
            f"| {row['speedup']:.2f}× | {_fmt(metrics.get(f'glue.{arm}.macro'))} |"
        )
    return "\n".join(lines) + "\n"


def _table_td_ablation(recipe: Recipe, metrics: dict[str, float]) -> str:
    """TinyBERT's ablation at our scale: the task-distilled student without augmentation, without intermediate
    losses."""
    best = metrics.get("glue.student_td.macro")
    lines = [
        "## Table 5: task-distillation ablation (Δ GLUE macro against student + task distillation, points)\n",
        "| change | macro | Δ macro |",
        "|---|---|---|",
    ]
    for arm in ("student_td_noaug", "student_td_nointer"):
        if arm in recipe.arms:
            macro = metrics.get(f"glue.{arm}.macro")
            delta = None if macro is None or best is None else macro - best
            lines.append(f"| {ARM_LABELS[arm]} | {_fmt(macro)} | {_fmt(delta, digits=2)} |")
    return "\n".join(lines) + "\n"


def _table_seeds(recipe: Recipe, results: Results) -> str:
    """Every seed's task score (×100), so a gain inside the spread reads as one."""
    tasks = list(recipe.glue_tasks)
    lines = [
        "## Per-seed scores (×100, seeds " + ", ".join(map(str, recipe.seeds)) + ")\n",
        "| model | " + " | ".join(tasks) + " | macro per seed |",
        "|---" * (len(tasks) + 2) + "|",
    ]
    for arm in [a for a in ARM_LABELS if a in results.seeds]:
        cells = [" ".join(f"{v * 100:.1f}" for v in results.seeds[arm].get(t, [])) or "—" for t in tasks]
        macros = " ".join(f"{v * 100:.1f}" for v in results.seed_macros(arm, tasks)) or "—"
        lines.append(f"| {ARM_LABELS[arm]} | " + " | ".join(cells) + f" | {macros} |")
    return "\n".join(lines) + "\n"


def _table_ablation(recipe: Recipe, metrics: dict[str, float]) -> str:
    lines = [
        "## Table 4: ablation (Δ GLUE macro against the distilled student, points)\n",
        "| change | Δ macro here | Δ macro, DistilBERT paper |",
        "|---|---|---|",
    ]
    for arm in recipe.ablations:
        delta = metrics.get(f"ablation.{arm}.delta_macro")
        lines.append(f"| {ARM_LABELS[arm]} | {_fmt(delta, digits=2)} | {PAPER_ABLATION_DELTAS[arm]:+.2f} |")
    return "\n".join(lines) + "\n"
