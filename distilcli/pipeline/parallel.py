"""``pipeline --jobs N``: independent stages at the same time, each in a fresh process with its share of the cores.

A recipe's stages form a graph (a fine-tune needs its student, a task distillation its teacher's
fine-tune), and most of them are small models that one thread keeps as busy as two: on a 2-core
machine, two one-thread stages side by side finish the recipe far sooner than one two-thread stage
after another (and two processes with two threads each slow each other tenfold). A stage starts when
every stage it depends on is done, in recipe order; each runs in its own process (its state, resume
and redo rules unchanged: :func:`distilcli.pipeline.state.run_stage`), writing what it prints to
``DIR/<stage>/stage.log``. The first failure stops new starts; the running stages finish, then it is raised.
A SIGTERM to the pipeline (``kill``, a scheduler's time limit) stops the running stages too, so that no
stage goes on training unseen after the pipeline is gone; a rerun resumes them from their checkpoints.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from types import FrameType
from typing import Any

from distilcli import progress
from distilcli.pipeline.stages import Stage
from distilcli.pipeline.state import PIPELINE_MARKER, run_stage, status
from distilcli.runlock import INSIDE_ENV

LOG_FILE = "stage.log"


def threads_per_job(jobs: int) -> int:
    """The cores this process may use, shared out between ``jobs`` stages (at least one each)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, cores // jobs)


def _run_in_process(out: Path, stage: Stage, how: str, tracking: dict[str, Any] | None, threads: int) -> float:
    """A worker: this stage alone, its output in its log file, ``threads`` threads; returns its seconds."""
    # Before torch is imported in this fresh process: its thread pools read these once.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ[INSIDE_ENV] = str(out.resolve())  # the stage's lock may sit inside the pipeline's locked folder
    log = out / stage.name / LOG_FILE
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        started = time.perf_counter()
        with progress.use_reporter(progress.LineReporter(sink)):
            run_stage(out, stage, how, tracking)
        sys.stdout.flush()
        sys.stderr.flush()
        return time.perf_counter() - started


@contextmanager
def stages_stop_with_pipeline() -> Iterator[None]:
    """SIGTERM to this process ends the stage processes it started, then this one (exit status 143).

    The worker processes are this process's children, not part of its signal: without this, a
    ``kill`` of the pipeline left every running stage training on, holding its run folder's lock.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in multiprocessing.active_children():
            child.terminate()
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_parallel(
    out: Path,
    stages: list[Stage],
    jobs: int,
    tracking: dict[str, Any] | None = None,
    worker: Callable[[Path, Stage, str, dict[str, Any] | None, int], float] = _run_in_process,
) -> list[tuple[Stage, str]]:
    """Run every stage not yet done, up to ``jobs`` at once; each stage with what was done, in recipe order.

    ``worker`` runs one stage in a worker process (tests give a stand-in; it must be importable there).
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / PIPELINE_MARKER).touch()
    number = {stage.name: n for n, stage in enumerate(stages, 1)}
    head = {stage.name: f"[{number[stage.name]}/{len(stages)}] {stage.name}" for stage in stages}
    done: dict[str, str] = {}
    waiting = list(stages)
    running: dict[Future, tuple[Stage, str]] = {}
    failure: BaseException | None = None
    threads = threads_per_job(jobs)
    context = get_context("spawn")  # a fresh interpreter per stage: its own torch threads and memory
    with stages_stop_with_pipeline(), ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        while waiting or running:
            started = len(running) + len(done)
            for stage in list(waiting):
                if failure is not None or len(running) >= jobs:
                    break
                if any(dep not in done for dep in stage.deps):
                    continue
                waiting.remove(stage)
                # Decided now, not at the start: a dependency run again makes this stage a redo.
                how = status(out, stage)
                if how == "done":
                    progress.log(f"{head[stage.name]}: done earlier, skipped")
                    done[stage.name] = "skipped"
                    continue
                log = out / stage.name / LOG_FILE
                progress.log(f"{head[stage.name]}: {'resuming' if how == 'resume' else 'running'} (output: {log})")
                running[pool.submit(worker, out, stage, how, tracking, threads)] = (stage, how)
            if not running:
                if failure is not None or not waiting:
                    break
                if len(done) == started:  # nothing started or skipped: what is left waits on no stage here
                    raise RuntimeError(f"stages {[s.name for s in waiting]} depend on stages that are not in the plan")
                continue  # stages were skipped: look again for ones that are ready now
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stage, how = running.pop(future)
                try:
                    seconds = future.result()
                except BaseException as exc:  # noqa: BLE001 - the first failure is raised once the running stages end
                    progress.log(f"{head[stage.name]}: failed (see {out / stage.name / LOG_FILE})")
                    failure = failure or exc
                    continue
                progress.log(f"{head[stage.name]}: done in {seconds:,.0f} s")
                done[stage.name] = how
    if failure is not None:
        raise failure
    return [(stage, done[stage.name]) for stage in stages if stage.name in done]
