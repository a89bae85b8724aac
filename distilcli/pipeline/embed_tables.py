"""An embeddings recipe's results: metrics for ``pipeline.json``, ``tables.md`` and ``summary.png``, from the stage
reports.

Metric names: ``embeddings.<arm>.stsb`` (STS-B dev Spearman of cosine similarity, zero-shot),
``embeddings.<arm>.ndcg_at_10`` (retrieval, when ``--retrieval-data`` was given), each with
``_retention`` (the arm's value / the teacher's), ``embeddings.<arm>.gain_over_undistilled`` (a distilled
arm's STS-B minus its undistilled start's), and ``benchmark.<arm>.speedup`` / ``.parameter_reduction``
(arms of one architecture share the benchmarked row). Nothing is measured again here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distilcli.pipeline.embed_recipe import SHAPES, bench_arms
from distilcli.pipeline.embeddings import arm_model
from distilcli.pipeline.recipe import Recipe
from distilcli.pipeline.stages import Stage
from distilcli.pipeline.tables import Results, _fmt, gather_benchmark
from distilcli.reports import Report

EMBED_LABELS = {
    "teacher": "teacher",
    "student_even": "layers copied evenly, not distilled",
    "student_cka": "layers chosen by CKA, not distilled",
    "distilled_even": "layers copied evenly, distilled",
    "distilled_cka": "layers chosen by CKA, distilled",
    "other_family": "other family, not distilled",
    "other_family_distilled": "other family, distilled",
}
#: A distilled arm -> the undistilled arm it starts from.
_STARTS = {"distilled_even": "student_even", "distilled_cka": "student_cka", "other_family_distilled": "other_family"}
_RETRIEVAL = {"ndcg@10": "ndcg_at_10", "mrr@10": "mrr_at_10", "recall@100": "recall_at_100"}


def gather_embeddings(
    recipe: Recipe, stages: list[Stage], reports: dict[str, Report], models: dict[str, str]
) -> Results:
    """Read every finished stage's report; ``models`` maps a stage to the model folder it produced."""
    results = Results()
    layers = results.facts.setdefault("layers", {})
    for stage in stages:
        report = reports.get(stage.name)
        if report is None or stage.arm is None:
            continue
        row = (report.body.get("models") or [{}])[0]
        if stage.kind == "eval_sts":
            results.embed.setdefault(stage.arm, {}).update(
                stsb=float(row["spearman"]), stsb_pearson=float(row["pearson"])
            )
        elif stage.kind == "eval_retrieval":
            results.embed.setdefault(stage.arm, {}).update({name: float(row[key]) for key, name in _RETRIEVAL.items()})
        elif stage.kind == "student":
            layers[stage.arm] = layers[f"distilled_{stage.arm.split('_')[1]}"] = report.body.get("layer_map")
        elif stage.kind == "export":
            metrics = report.metrics
            results.facts["export"] = {
                "arm": stage.arm,
                "onnx_mb": metrics["onnx_bytes"] / 1e6,
                "folder": report.body.get("folder"),
                "onnx": metrics.get("onnx.spearman"),
                "pytorch": metrics.get("pytorch.spearman"),
            }
    if "benchmark" in reports:
        benched = bench_arms(recipe.arms)
        labels = {recipe.teacher: "teacher"}
        for arm in benched.values():
            model = arm_model(arm, recipe)
            labels[models.get(model[1:], "") if model.startswith("@") else model] = arm
        gather_benchmark(results, reports["benchmark"], labels)
        for shape, arm in benched.items():  # one architecture, one speed: the sibling arms share the row
            for sibling in SHAPES[shape]:
                if sibling in recipe.arms and arm in results.bench:
                    results.bench[sibling] = results.bench[arm]
    return results


def embed_metrics(recipe: Recipe, results: Results) -> dict[str, float]:
    """The pipeline report's metrics (names in the module docstring)."""
    metrics: dict[str, float] = {}
    teacher = results.embed.get("teacher", {})
    for arm, scores in results.embed.items():
        for name in ("stsb", "ndcg_at_10"):
            if name in scores:
                metrics[f"embeddings.{arm}.{name}"] = scores[name]
                if teacher.get(name):
                    metrics[f"embeddings.{arm}.{name}_retention"] = scores[name] / teacher[name]
        start = results.embed.get(_STARTS.get(arm, ""), {})
        if "stsb" in scores and "stsb" in start:
            metrics[f"embeddings.{arm}.gain_over_undistilled"] = scores["stsb"] - start["stsb"]
    for arm, row in results.bench.items():
        metrics[f"benchmark.{arm}.speedup"] = row["speedup"]
        metrics[f"benchmark.{arm}.parameter_reduction"] = row["parameter_reduction"]
    return metrics


def render_embed_tables(recipe: Recipe, results: Results, metrics: dict[str, float]) -> str:
    """``tables.md`` of an embeddings recipe: every arm's zero-shot scores, retention, size and speed."""
    section = recipe.embeddings or {}
    distill = ", ".join(f"{k} {v}" for k, v in recipe.distill.items())
    retrieval = any("ndcg_at_10" in s for s in results.embed.values())
    parts = [
        f"# {recipe.name}: results\n",
        (
            f"Recipe `{recipe.name}`: teacher `{recipe.teacher}`, "
            f"students of {recipe.layers or len(recipe.layer_map or [])} layers"
            f"{', other family `' + section['other_family'] + '`' if section.get('other_family') else ''}. "
            f"Distillation (`--task embeddings`): {distill or 'defaults'}.  \n"
            "Zero-shot, no fine-tuning: STS-B dev Spearman of cosine similarity ×100"
            f"{', retrieval nDCG@10 ×100' if retrieval else ''}; retention against the teacher. "
            "Speed and size: each architecture benchmarked once (the copied-layer students share a row).\n"
        ),
    ]
    head = "| model | layers | STS-B | retention |" + (" nDCG@10 | retention |" if retrieval else "")
    lines = [
        "## Table E1: sentence embeddings, zero-shot\n",
        head + " parameters | size MB | speed-up |",
        "|---" * (head.count("|") + 2) + "|",
    ]
    for arm in [a for a in EMBED_LABELS if a in recipe.arms]:
        layer_map = results.facts["layers"].get(arm)
        cells = [
            EMBED_LABELS[arm],
            ",".join(map(str, layer_map)) if layer_map else "all",
            _fmt(metrics.get(f"embeddings.{arm}.stsb")),
            _pct(metrics.get(f"embeddings.{arm}.stsb_retention")),
        ]
        if retrieval:
            cells += [
                _fmt(metrics.get(f"embeddings.{arm}.ndcg_at_10")),
                _pct(metrics.get(f"embeddings.{arm}.ndcg_at_10_retention")),
            ]
        bench = results.bench.get(arm)
        cells += (
            [f"{bench['parameters']:,.0f}", f"{bench['size_mb']:.1f}", f"{bench['speedup']:.2f}×"]
            if bench
            else ["—"] * 3
        )
        lines.append("| " + " | ".join(cells) + " |")
    parts.append("\n".join(lines) + "\n")
    export = results.facts.get("export")
    if export:
        scores = (
            f": STS-B ×100 {_fmt(export['onnx'])} (ONNX) against {_fmt(export['pytorch'])} (PyTorch)"
            if export["onnx"] is not None
            else ""
        )
        parts.append(
            f"Exported: {EMBED_LABELS[export['arm']]} to `{export['folder']}` ({export['onnx_mb']:.1f} MB){scores}.\n"
        )
    return "\n".join(parts)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def write_embed_summary(path: Path, recipe: Recipe, results: Results, metrics: dict[str, float]) -> bool:
    """Each benchmarked arm's STS-B retention (and nDCG@10's) against its speed-up; False when nothing to plot."""
    arms = [a for a in EMBED_LABELS if f"embeddings.{a}.stsb_retention" in metrics and a in results.bench]
    if not arms:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False  # the optional [plot] extra; tables.md carries the same numbers
    from distilcli.fsutil import atomic_file

    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    for number, arm in enumerate(arms):
        speed = results.bench[arm]["speedup"]
        sts = metrics[f"embeddings.{arm}.stsb_retention"] * 100
        ax.scatter([speed], [sts], s=60, color=f"C{number}", label=EMBED_LABELS[arm], zorder=3)
        ndcg = metrics.get(f"embeddings.{arm}.ndcg_at_10_retention")
        if ndcg is not None:
            ax.scatter([speed], [ndcg * 100], s=60, color=f"C{number}", marker="^", zorder=3)
        ax.annotate(f"{sts:.1f}%", (speed, sts), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel("speed-up over the teacher (×)", fontsize=9)
    ax.set_ylabel("retention of the teacher's score (%): STS-B ●, nDCG@10 ▲", fontsize=9)
    ax.set_title(f"{recipe.name}: what each student keeps, against its speed", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return True


def embed_body(results: Results) -> dict[str, Any]:
    """What ``pipeline.json``'s body carries of an embeddings recipe."""
    return {
        "embeddings": results.embed,
        "benchmark": results.bench,
        "layers": results.facts.get("layers", {}),
        "export": results.facts.get("export"),
    }
