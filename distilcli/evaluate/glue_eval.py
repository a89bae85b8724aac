"""``run_eval_glue``: score fine-tuned models on GLUE dev sets, with retention and CI gates.

Order of work: parse the gates, read every dev file, resolve every model folder, check
that every gate can be measured, and only then load weights. So a malformed row, a bad
``--fail-under`` (a metric no task has, a macro over tasks that cannot be scored) or a
missing model fails in seconds with exit 2 and no report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli import progress
from distilcli.config import config_to_dict
from distilcli.errors import BadInput
from distilcli.evaluate.cards import check_update_card, glue_results, write_cards
from distilcli.evaluate.gates import Gate, check_gates, check_targets, parse_gate
from distilcli.evaluate.glue_models import assign_models, parse_tasks
from distilcli.evaluate.glue_outputs import (
    add_macro,
    add_retention,
    check_predictions_out,
    macro_tasks,
    teacher_scores,
    write_predictions,
)
from distilcli.models.card import CardResult
from distilcli.models.loading import check_positions, load_config, usable_positions
from distilcli.models.quantize import quantize_dynamic_int8
from distilcli.models.resolve import resolve_model
from distilcli.reports import Report
from distilcli.tasks.glue.features import encode
from distilcli.tasks.glue.head import check_classifier_config, load_classifier
from distilcli.tasks.glue.metrics import score_predictions
from distilcli.tasks.glue.predict import logits_to_predictions, predict_logits
from distilcli.tasks.glue.sources import ColumnMap, GlueSplit, load_task_split
from distilcli.tasks.glue.spec import GlueTask
from distilcli.tasks.heads import LoadedClassifier, finetune_setting
from distilcli.training.run_files import subsample

if TYPE_CHECKING:  # pragma: no cover
    import torch


#: How eval-glue can run a model: as saved, or with dynamic int8 weights.
QUANTIZATIONS = ("none", "dynamic-int8")


@dataclass
class EvalGlueConfig:
    """Options of ``distil eval-glue``."""

    model: list[str]
    task: str = "all"
    glue_dir: Path | None = None
    hub_dir: Path | None = None
    dev_file: Path | None = None
    text_a: str | None = None
    text_b: str | None = None
    label_column: str | None = None
    batch_size: int = 128
    max_seq_length: int | None = None
    predictions_out: Path | None = None
    teacher_report: Path | None = None
    fail_under: list[str] = field(default_factory=list)
    #: "dynamic-int8": score a copy with int8 weights in every linear layer (on the CPU), to see what int8 costs.
    quantize: str = "none"
    #: Write the scores into each evaluated model's README.md as model-index results.
    update_card: bool = False
    #: Score a fixed subsample of this many dev examples per task (the draw --train-limit makes).
    limit: int | None = None


@dataclass
class TaskResult:
    """One task's evaluation: its dev data, its model and, once scored, its metrics."""

    task: GlueTask
    status: str  # "ok" or "missing"
    reason: str | None = None
    split: GlueSplit | None = None
    #: The dev-file row of each example scored (a --limit subsample), None when all are.
    rows: list[int] | None = None
    total: int | None = None
    model: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    predictions: Any = None
    seconds: float = 0.0


def run_eval_glue(cfg: EvalGlueConfig) -> tuple[Report, list[dict[str, Any]]]:
    """Evaluate; return the report and the gate outcomes (the caller writes, then exits 3 on a failure)."""
    import torch

    start = time.perf_counter()
    gates, tasks, teacher = check_options(cfg)
    results = _read_dev_sets(cfg, tasks)  # every dev file read (and a bad row refused) before any model
    _attach_models(cfg, tasks, results)
    # A gate on a task that cannot be scored (or a macro missing one) is known now: exit 2 before any weights.
    check_targets(gates, tasks, teacher, {name: r.reason or "" for name, r in results.items() if r.status != "ok"})
    if cfg.update_card:  # every card writable and parseable before any weights are read
        check_update_card([r.model for r in results.values() if r.status == "ok" and r.model], cfg.quantize)
    # Dynamically quantized linear layers run on the CPU only.
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.quantize == "none" else "cpu")
    _score_all(cfg, results, device)
    ok = {name: r for name, r in results.items() if r.status == "ok"}
    written = write_predictions(
        cfg.predictions_out, {n: (r.split, r.predictions, r.rows) for n, r in ok.items() if r.split}, len(results) > 1
    )
    metrics = {f"{name}.{metric}": value for name, r in ok.items() for metric, value in r.metrics.items()}
    scores = {name: r.metrics["score"] for name, r in ok.items()}
    asked = [task.name for task in tasks]
    macro_body = add_macro(scores, asked, metrics) if len(tasks) > 1 else None
    retention_body = add_retention(scores, teacher, metrics, asked) if teacher is not None else None
    outcomes = check_gates(gates, metrics, list(ok))
    cards = _update_cards(cfg, ok) if cfg.update_card else []
    body = _body(results, written, several=len(tasks) > 1) | {
        "macro": macro_body,
        "limit": cfg.limit,
        "retention": retention_body,
        "gates": outcomes,
        "device": str(device),
        "quantize": cfg.quantize,
        "cards_updated": cards,
    }
    first = next(iter(ok.values()))
    primary = f"{first.task.name}.{first.task.primary_metric}" if macro_body is None else macro_body["metric"]
    report = Report.create(
        "eval-glue",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric=primary,
        artifacts={f"predictions.{name}": path for name, path in written.items()},
        body=body,
        duration_s=time.perf_counter() - start,
    )
    return report, outcomes


# -- phases ---------------------------------------------------------------------------------------


def check_options(cfg: EvalGlueConfig) -> tuple[list[Gate], list[GlueTask], dict[str, float] | None]:
    """(gates, tasks, teacher scores): every option checked before any file is read."""
    if not cfg.model:
        raise BadInput("missing required option --model: a fine-tuned model folder (or TASK=DIR, repeatable)")
    if cfg.batch_size <= 0:
        raise BadInput(f"--batch-size must be > 0, got {cfg.batch_size}")
    if cfg.max_seq_length is not None and cfg.max_seq_length < 8:
        raise BadInput(f"--max-seq-length {cfg.max_seq_length} is too short: use at least 8")
    if cfg.limit is not None and cfg.limit < 1:
        raise BadInput(f"--limit must be at least 1 (dev examples per task), got {cfg.limit}: leave it out for all")
    if cfg.quantize not in QUANTIZATIONS:
        raise BadInput(f"--quantize {cfg.quantize!r}: eval-glue scores one form, {' or '.join(QUANTIZATIONS)}")
    if cfg.update_card:
        check_update_card([], cfg.quantize)  # no int8 score as the model's: refused before any file is read
    if cfg.update_card and cfg.limit is not None:
        raise BadInput("--update-card records full dev-set scores: leave out --limit (it scores a subsample)")
    gates = [parse_gate(spec) for spec in cfg.fail_under]
    if any("retention" in gate.metric for gate in gates) and cfg.teacher_report is None:
        raise BadInput("--fail-under on retention needs --teacher-report FILE (an eval-glue report of the teacher)")
    tasks = parse_tasks(cfg.task)
    if cfg.dev_file is not None and len(tasks) != 1:
        raise BadInput("--dev-file goes with a single --task (the file holds one task's dev set)")
    teacher = teacher_scores(cfg.teacher_report) if cfg.teacher_report else None
    check_predictions_out(cfg.predictions_out, len(tasks))
    check_targets(gates, tasks, teacher, {})  # a metric no task of --task has: exit 2 before any file is read
    return gates, tasks, teacher


def _read_dev_sets(cfg: EvalGlueConfig, tasks: list[GlueTask]) -> dict[str, TaskResult]:
    """Each task's dev split, or a "missing" result when no source has it; an empty one is refused."""
    use_hub = cfg.glue_dir is None and cfg.hub_dir is None and cfg.dev_file is None
    columns = ColumnMap(cfg.text_a, cfg.text_b, cfg.label_column)
    results: dict[str, TaskResult] = {}
    for task in tasks:
        split = load_task_split(
            task, "dev", glue_dir=cfg.glue_dir, hub_dir=cfg.hub_dir, file=cfg.dev_file, columns=columns, use_hub=use_hub
        )
        if split is None:
            folders = (("--glue-dir", cfg.glue_dir), ("--hub-dir", cfg.hub_dir))
            where = " or ".join(f"{flag} {value}" for flag, value in folders if value)
            results[task.name] = TaskResult(task, "missing", f"no dev file in {where}")
        elif not split.examples:
            raise BadInput(f"{split.source}: no examples in the {task.display_name} dev data")
        elif cfg.limit is not None and cfg.limit < len(split.examples):
            rows = subsample(len(split.examples), cfg.limit)
            kept = replace(split, examples=[split.examples[i] for i in rows])
            results[task.name] = TaskResult(task, "ok", split=kept, rows=rows, total=len(split.examples))
        else:
            results[task.name] = TaskResult(task, "ok", split=split, total=len(split.examples))
    return results


def _attach_models(cfg: EvalGlueConfig, tasks: list[GlueTask], results: dict[str, TaskResult]) -> None:
    """Give each task its model, and check every model's config (labels, recorded task) before any weights."""
    models = assign_models(cfg.model, tasks)
    for name, result in results.items():
        if result.status == "ok" and models[name] is None:
            result.status, result.reason = "missing", "no model for this task among --model"
        result.model = models[name]
    only = results[tasks[0].name]
    if len(tasks) == 1 and only.status == "missing":
        raise BadInput(
            f"{only.task.display_name}: {only.reason}; point --glue-dir, --hub-dir or --dev-file at its dev set"
        )
    for result in results.values():
        if result.status == "ok" and result.model is not None:
            if cfg.max_seq_length is not None:  # a longer pair would overflow the positions mid-run
                check_positions(str(result.model), load_config(resolve_model(str(result.model))), cfg.max_seq_length)
            check_classifier_config(resolve_model(str(result.model)), result.task)
    if not any(r.status == "ok" for r in results.values()):
        reasons = "; ".join(f"{r.task.display_name}: {r.reason}" for r in results.values())
        raise BadInput(f"no task could be evaluated ({reasons})")


def _score_all(cfg: EvalGlueConfig, results: dict[str, TaskResult], device: torch.device) -> None:
    """Load each model once (MNLI-m and -mm share theirs), predict its dev set and score it."""
    loaded_cache: dict[tuple[Path, str], LoadedClassifier] = {}
    for result in results.values():
        if result.status != "ok":
            continue
        assert result.model is not None
        key = (result.model, result.task.hub_config)
        if key not in loaded_cache:
            loaded_cache.clear()  # one model in memory at a time
            loaded = load_classifier(resolve_model(str(result.model)), result.task, for_training=False)
            if cfg.quantize == "dynamic-int8":
                loaded.model = quantize_dynamic_int8(loaded.model)
            loaded_cache[key] = loaded
        _score_task(cfg, result, loaded_cache[key], device)


def _score_task(cfg: EvalGlueConfig, result: TaskResult, loaded: LoadedClassifier, device: torch.device) -> None:
    """Predict ``result``'s dev set with ``loaded`` and fill in its predictions, metrics and time."""
    task, split = result.task, result.split
    assert split is not None
    loaded.model.to(device)
    # The length the model was fine-tuned with (distilcli provenance), else 128.
    max_len = (
        cfg.max_seq_length
        or finetune_setting(loaded.model.config, "max_seq_length")
        or min(128, usable_positions(loaded.model.config))
    )
    began = time.perf_counter()
    features = encode(split.examples, loaded.tokenizer, loaded.adapter, max_len)
    logits = predict_logits(
        loaded.model,
        features,
        loaded.tokenizer.pad_token_id,
        batch_size=cfg.batch_size,
        device=device,
        description=f"{task.display_name} dev",
    )
    result.predictions = logits_to_predictions(logits, task.is_regression, loaded.label_permutation)
    result.metrics = score_predictions(task, result.predictions, [e.label for e in split.examples])
    result.seconds = time.perf_counter() - began
    shown = "  ".join(f"{k} {v:.4f}" for k, v in result.metrics.items() if k != "score")
    of = f" of {result.total:,} (--limit)" if result.rows is not None and result.total else ""
    progress.log(f"{task.display_name}: {shown}  ({len(split.examples):,}{of} examples, {result.seconds:.1f} s)")


def _update_cards(cfg: EvalGlueConfig, ok: dict[str, TaskResult]) -> list[str]:
    """Each model's card gets its tasks' dev metrics (MNLI-m and -mm share one card)."""
    by_folder: dict[Path, list[CardResult]] = {}
    for result in ok.values():
        assert result.model is not None
        by_folder.setdefault(Path(result.model), []).extend(glue_results(result.task, result.metrics, cfg.dev_file))
    written = write_cards(by_folder)
    for path in written:
        progress.log(f"card updated: {path}")
    return written


def _task_body(result: TaskResult, predictions: str | None) -> dict[str, Any]:
    """One task's entry in the report body."""
    split = result.split
    return {
        "display_name": result.task.display_name,
        "status": result.status,
        "reason": result.reason,
        "model": None if result.model is None else str(result.model),
        "dev_source": None if split is None else split.source,
        "examples": None if split is None else len(split.examples),
        "examples_total": result.total,  # the dev set's size: more than "examples" under --limit
        "metrics": result.metrics,
        "primary_metric": result.task.primary_metric,
        "seconds": round(result.seconds, 3),
        "examples_per_s": (len(split.examples) / result.seconds) if split is not None and result.seconds > 0 else None,
        "predictions": predictions,
    }


def _body(results: dict[str, TaskResult], written: dict[str, str], several: bool) -> dict[str, Any]:
    """The report body's tasks and their summary lists."""
    evaluated = [name for name, r in results.items() if r.status == "ok"]
    return {
        "tasks": {name: _task_body(r, written.get(name)) for name, r in results.items()},
        "evaluated": evaluated,
        "missing": [name for name, r in results.items() if r.status != "ok"],
        # The paper's macro counts MNLI once: matched, when both are there.
        "macro_over": macro_tasks(evaluated) if several else [],
    }
