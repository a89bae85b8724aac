"""The state of a pipeline's stages on disk: run them in order, skip finished ones, resume interrupted ones.

Each stage owns ``DIR/<stage>/``: ``stage.json`` (its fingerprint and state: the pipeline's
marker), ``report.json`` and ``run/`` (the folder the ``run_*`` function writes). A stage whose
``stage.json`` says done with the same fingerprint is skipped; one that says running resumes
from its checkpoint; one with another fingerprint (its recipe entry, or a stage it depends on,
was edited) is redone from scratch. Only folders carrying the pipeline's marker are ever
removed.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from distilcli import progress
from distilcli.errors import BadInput
from distilcli.fsutil import atomic_write_text
from distilcli.pipeline.executors import EXECUTORS
from distilcli.pipeline.stages import Stage
from distilcli.reports import Report, load_report, write_report

STATE_FILE = "stage.json"
REPORT_FILE = "report.json"
RUN_DIR = "run"
PIPELINE_MARKER = ".distil-pipeline"


def stage_state(out: Path, name: str) -> dict[str, Any] | None:
    """What ``DIR/<name>/stage.json`` records, or None for a stage never started."""
    path = Path(out) / name / STATE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise BadInput(f"{path} is not a pipeline stage file: remove {path.parent} or choose another --out") from None


def _finished_at(out: Path, name: str) -> float | None:
    state = stage_state(out, name)
    return state.get("finished_at") if state and state.get("status") == "done" else None


def status(out: Path, stage: Stage) -> str:
    """``done`` (same fingerprint, finished), ``resume`` (interrupted), ``redo`` (edited) or ``todo``.

    A finished stage is redone too when a stage it depends on finished again since (its model
    changed although no option did, e.g. after that stage's report was removed).
    """
    state = stage_state(out, stage.name)
    if state is None:
        return "todo"
    if state.get("fingerprint") != stage.fingerprint:
        return "redo"
    if state.get("status") == "done" and (Path(out) / stage.name / REPORT_FILE).is_file():
        inputs = {dep: _finished_at(out, dep) for dep in stage.deps}
        return "done" if state.get("inputs", {}) == inputs else "redo"
    return "resume"


def check_out(out: Path) -> None:
    """``--out`` is a new folder or one this pipeline made (its marker file is there)."""
    out = Path(out)
    if out.exists() and not (out / PIPELINE_MARKER).is_file() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(
            f"--out {out} exists and is not a pipeline folder: "
            "choose a new folder (a finished or interrupted pipeline's folder is fine)"
        )


def _resolve(value: Any, out: Path) -> Any:
    """``@stage`` -> the model folder that stage recorded."""
    if isinstance(value, list):
        return [_resolve(v, out) for v in value]
    if isinstance(value, str) and value.startswith("@"):
        state = stage_state(out, value[1:])
        assert state is not None and state.get("model"), value  # dependencies run first
        return state["model"]
    return value


#: The stage kinds that train, and so take the pipeline's --report-to / --tracking-dir.
TRAINING_KINDS = ("distill", "task_distill", "finetune")


def run_stage(out: Path, stage: Stage, how: str, tracking: dict[str, Any] | None = None) -> Report:
    """Run one stage into ``DIR/<stage>/`` and mark it done.

    ``tracking`` (``report_to``, ``tracking_dir``) goes to the training stages on top of the
    recipe's options, outside the fingerprint: where a run is logged does not change its result.
    """
    folder = out / stage.name
    if how == "redo":
        shutil.rmtree(folder)  # carries the pipeline's stage marker: this pipeline made it
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    state = {
        "stage": stage.name,
        "kind": stage.kind,
        "fingerprint": stage.fingerprint,
        "status": "running",
        "options": stage.options,
    }
    atomic_write_text(folder / STATE_FILE, json.dumps(state, indent=2, default=str))
    options = {k: _resolve(v, out) for k, v in stage.options.items() if v is not None}
    if tracking and stage.kind in TRAINING_KINDS:
        options |= {
            k: (str(Path(v) / stage.name) if k == "tracking_dir" else v) for k, v in tracking.items() if v is not None
        }
    report, model = EXECUTORS[stage.kind](options, folder / RUN_DIR, how == "resume")
    write_report(report, folder / REPORT_FILE)
    state |= {
        "status": "done",
        "model": str(model) if model else None,
        "wall_s": round(time.perf_counter() - started, 1),
        "finished_at": time.time(),
        # When each dependency finished: a dependency run again later makes this stage stale.
        "inputs": {dep: _finished_at(out, dep) for dep in stage.deps},
    }
    atomic_write_text(folder / STATE_FILE, json.dumps(state, indent=2, default=str))
    return report


def run_stages(out: Path, stages: list[Stage], tracking: dict[str, Any] | None = None) -> list[tuple[Stage, str]]:
    """Run every stage not yet done, in order; returns each stage with what was done (one log line each).

    :func:`distilcli.pipeline.parallel.run_parallel` is the same with independent stages side by side.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / PIPELINE_MARKER).touch()
    done: list[tuple[Stage, str]] = []
    for number, stage in enumerate(stages, 1):
        how = status(out, stage)
        head = f"[{number}/{len(stages)}] {stage.name}"
        if how == "done":
            progress.log(f"{head}: done earlier, skipped")
            done.append((stage, "skipped"))
            continue
        command = stage.describe(lambda ref: _resolve(ref, out), str(out / stage.name / RUN_DIR))
        progress.log(f"{head}: {'resuming' if how == 'resume' else 'running'} {command}")
        started = time.perf_counter()
        run_stage(out, stage, how, tracking)
        progress.log(f"{head}: done in {time.perf_counter() - started:,.0f} s")
        done.append((stage, how))
    return done


def stage_reports(out: Path, stages: list[Stage]) -> dict[str, Report]:
    """The report of every finished stage, by stage name."""
    return {s.name: load_report(Path(out) / s.name / REPORT_FILE) for s in stages if status(out, s) == "done"}


def stage_models(out: Path, stages: list[Stage]) -> dict[str, str]:
    """The model folder of every finished stage that made one, by stage name."""
    models = {}
    for stage in stages:
        state = stage_state(out, stage.name)
        if state and state.get("model") and status(out, stage) == "done":
            models[stage.name] = state["model"]
    return models
