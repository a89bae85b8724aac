"""How each kind of stage runs: the existing ``run_*`` functions, called in process.

Each executor gets the stage's options (model references already resolved to folders), the
stage's run folder and whether to resume, and returns the run's report and the model folder
it produced (None for stages that only measure).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from distilcli.config import coerce_options
from distilcli.reports import Report
from distilcli.rundir import RUN_CONFIG
from distilcli.training.scope import refuse_inert

C = TypeVar("C")

#: (options, run folder, resume) -> (report, model folder or None)
Executor = Callable[[dict[str, Any], Path, bool], tuple[Report, Path | None]]


def _config(cls: type[C], options: dict[str, Any], **fixed: Any) -> C:
    """``cls`` from a stage's YAML-typed options (checked as a config file's), plus what the pipeline sets."""
    return cls(**coerce_options(cls, options, "recipe"), **fixed)


def _has_checkpoint(run_dir: Path) -> bool:
    return any((run_dir / "checkpoints").glob("step-*"))


def _run_flags(run_dir: Path, resume_here: bool) -> dict[str, bool]:
    """Resume the run in ``run_dir``, or start over in the folder the pipeline made.

    Every training stage runs with ``final_only``: a finished run's checkpoints are dropped (a finished stage
    is never resumed, and later stages read its model), which keeps a 5-seed recipe at about a quarter of the disk.
    """
    if resume_here:
        return {"resume": True, "overwrite": False, "final_only": True}
    return {"resume": False, "overwrite": run_dir.exists(), "final_only": True}


def _continue_flags(run_dir: Path, resume: bool) -> dict[str, bool]:
    """Resume a run that left a checkpoint; otherwise start over (see :func:`_run_flags`)."""
    return _run_flags(run_dir, resume and _has_checkpoint(run_dir))


def run_student_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.distill.suggest import run_student_auto  # --layer-map auto: measured on the corpus first
    from distilcli.models.student import StudentConfig

    report = run_student_auto(_config(StudentConfig, options, out=run_dir, overwrite=run_dir.exists()))
    return report, run_dir


def run_random_init_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.models.student import StudentConfig, run_student

    report = run_student(_config(StudentConfig, options, out=run_dir, random_init=True, overwrite=run_dir.exists()))
    return report, run_dir


def run_distill_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.distill.config import DistillConfig
    from distilcli.distill.engine import run_distill

    report = run_distill(_config(DistillConfig, options, out=run_dir, **_continue_flags(run_dir, resume)))
    return report, run_dir


def _seeded_flags(run_dir: Path, resume: bool) -> dict[str, bool]:
    """A task run resumes from its folder (finished seeds are kept, the current one continues); each seed drops
    its checkpoints once it has finished (see :func:`_run_flags`)."""
    return _run_flags(run_dir, resume and (run_dir / RUN_CONFIG).is_file())


def run_finetune_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.finetune.config import FinetuneConfig
    from distilcli.finetune.engine import run_finetune

    report = run_finetune(_config(FinetuneConfig, options, out=run_dir, **_seeded_flags(run_dir, resume)))
    return report, Path(report.artifacts["model"])


def run_task_distill_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.distill.config import DistillConfig
    from distilcli.distill.engine import run_distill

    report = run_distill(_config(DistillConfig, options, out=run_dir, **_seeded_flags(run_dir, resume)))
    return report, Path(report.artifacts["model"])  # the median seed's student


def run_eval_int8_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.evaluate.glue_eval import EvalGlueConfig, run_eval_glue

    model = options.pop("model")
    report, _ = run_eval_glue(_config(EvalGlueConfig, options, model=[str(model)], quantize="dynamic-int8"))
    return report, None


def run_benchmark_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.benchmark.config import BenchmarkConfig
    from distilcli.benchmark.run import run_benchmark

    run_dir.mkdir(parents=True, exist_ok=True)
    report = run_benchmark(_config(BenchmarkConfig, options, plot=run_dir / "benchmark.png"))
    return report, None


def run_eval_sts_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.evaluate.sts_eval import EvalStsConfig, run_eval_sts

    model = options.pop("model")
    report, _ = run_eval_sts(_config(EvalStsConfig, options, model=[str(model)]))
    return report, None


def run_eval_retrieval_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.evaluate.retrieval_eval import EvalRetrievalConfig, run_eval_retrieval

    model = options.pop("model")
    report, _ = run_eval_retrieval(_config(EvalRetrievalConfig, options, model=[str(model)]))
    return report, None


def run_export_stage(options: dict[str, Any], run_dir: Path, resume: bool) -> tuple[Report, Path | None]:
    from distilcli.export.config import ExportConfig
    from distilcli.export.run import check_failed, run_export

    cfg = _config(ExportConfig, options, out=run_dir, overwrite=run_dir.exists())
    report, failed = run_export(cfg)
    if failed:
        raise check_failed(failed, cfg)
    return report, run_dir


EXECUTORS: dict[str, Executor] = {
    "student": run_student_stage,
    "random_init": run_random_init_stage,
    "distill": run_distill_stage,
    "task_distill": run_task_distill_stage,
    "finetune": run_finetune_stage,
    "eval_int8": run_eval_int8_stage,
    "benchmark": run_benchmark_stage,
    "eval_sts": run_eval_sts_stage,
    "eval_retrieval": run_eval_retrieval_stage,
    "export": run_export_stage,
}


# -- pre-flight: every stage's options checked before the first stage runs ------------------------


def check_stage(kind: str, options: dict[str, Any], run_dir: Path, seen: set[str] | None = None) -> None:
    """Build the stage's config and run its command's checks: options, data files, corpus, models (no weights).

    A bad option or a missing task file in the last stage of a recipe fails in seconds, not after an
    hour of the others. Model references to earlier stages (``@stage``) stand for folders that do not
    exist yet. ``seen`` (shared across the stages of one pre-flight) keeps each input checked once.
    """
    seen = set() if seen is None else seen
    options = {
        k: (f"{run_dir}/@{v[1:]}" if isinstance(v, str) and v.startswith("@") else v) for k, v in options.items()
    }
    if kind in ("student", "random_init"):
        from distilcli.distill.layer_choice import is_auto
        from distilcli.models.student import StudentConfig, parse_layer_map

        cfg = _config(StudentConfig, options, out=run_dir)
        if not is_auto(cfg.layer_map) or not cfg.corpus:
            parse_layer_map(cfg.layer_map)  # auto without a corpus: its one-line refusal
    elif kind in ("distill", "task_distill", "finetune"):
        _check_training(kind, options, run_dir, seen)
    elif kind == "eval_int8":
        from distilcli.evaluate.glue_eval import EvalGlueConfig
        from distilcli.evaluate.glue_eval import check_options as check_eval_options

        check_eval_options(
            _config(
                EvalGlueConfig, {k: v for k, v in options.items() if k != "model"}, model=["@"], quantize="dynamic-int8"
            )
        )
    elif kind == "benchmark":
        from distilcli.benchmark.config import BenchmarkConfig, check_options

        check_options(_config(BenchmarkConfig, {k: v for k, v in options.items() if k != "model"}, model=["a", "b"]))
    elif kind in ("eval_sts", "eval_retrieval", "export"):
        from distilcli.pipeline.checks import check_scoring

        check_scoring(kind, options, run_dir, seen)


def _check_training(kind: str, options: dict[str, Any], run_dir: Path, seen: set[str]) -> None:
    if kind == "finetune":
        from distilcli.finetune.config import FinetuneConfig, inert_fields
        from distilcli.finetune.engine import check_options as check_finetune_options

        cfg: Any = _config(FinetuneConfig, options, out=run_dir)
        check_finetune_options(cfg)  # the very checks `distil finetune` makes of its options
        refuse_inert(options, inert_fields(cfg))  # as the printed command would be refused when pasted
        _check_inputs(cfg, cfg.task, [cfg.model], seen)
        return
    from distilcli.distill.config import DistillConfig, inert_fields, with_mode_defaults

    cfg = with_mode_defaults(_config(DistillConfig, options, out=run_dir))
    refuse_inert(options, inert_fields(cfg))
    if kind == "task_distill":
        from distilcli.distill.task import check_options as check_task_distill_options

        entry = check_task_distill_options(cfg)  # the very checks `distil distill --task` makes of its options
        _check_inputs(cfg, entry.spec.name, [cfg.teacher, cfg.student], seen)
    else:
        from distilcli.data.corpus import CorpusSpec, check_corpus
        from distilcli.distill.engine import check_options

        check_options(cfg)  # the very checks `distil distill` makes of its options
        if cfg.corpus and f"corpus:{cfg.corpus}" not in seen:
            check_corpus(CorpusSpec(str(cfg.corpus), cfg.text_field, cfg.document_per or "line"))
            seen.add(f"corpus:{cfg.corpus}")
        _check_inputs(cfg, None, [cfg.teacher, cfg.student], seen)


def _check_inputs(cfg: Any, task: str | None, models: list[str | None], seen: set[str]) -> None:
    """The task's training and dev data read and checked (once per source), and each model resolved (not loaded)."""
    from distilcli.models.resolve import resolve_model
    from distilcli.tasks.registry import get_task

    if task is not None:
        key = (
            f"data:{task}:{cfg.glue_dir}:{cfg.hub_dir}:{cfg.train_file}:{cfg.dev_file}"
            f":{cfg.text_a}:{cfg.text_b}:{cfg.label_column}"
        )
        if key not in seen:
            get_task(task).load_data(cfg)  # BadInput naming the missing file and the fix
            seen.add(key)
    for model in models:
        # A reference to an earlier stage is made by the pipeline; an alias, folder or hub id must resolve now.
        if model and "/@" not in str(model) and not str(model).startswith("@") and f"model:{model}" not in seen:
            resolve_model(str(model))
            seen.add(f"model:{model}")
