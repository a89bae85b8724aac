"""A run's output folder through its life: check it, claim it, start or resume the run in it (:class:`RunFolder`).

- Every command that writes a folder (``distill``, ``finetune``, ``models student``, ``export``, ``pipeline``)
  leaves a marker file in it (:data:`MARKER`; a pipeline's folder carries :data:`PIPELINE_MARKER`).
  ``--overwrite`` replaces only a folder carrying one of them, or an empty one: never a home folder,
  a project folder or a folder another tool wrote.
- No input of the run may lie inside an ``--out`` that will be replaced.
- ``--resume`` continues only a started run of the same command, with the options it recorded.
- While it runs, a run holds the folder's lock (:mod:`distilcli.runlock`): one run per folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distilcli import __version__
from distilcli.config import check_unchanged, config_to_dict
from distilcli.errors import BadInput
from distilcli.fsutil import atomic_output_dir, atomic_write_text
from distilcli.runlock import LOCK, is_main_process, run_lock

MARKER = ".distilcli-run"
#: The marker ``distil pipeline`` leaves in its folder (``pipeline/state.py``): a distilcli folder too.
PIPELINE_MARKER = ".distil-pipeline"
#: The options naming a run's inputs, by config field: none may lie inside an --out to be replaced.
INPUT_OPTIONS = {
    "teacher": "--teacher",
    "student": "--student",
    "model": "--model",
    "corpus": "--corpus",
    "glue_dir": "--glue-dir",
    "hub_dir": "--hub-dir",
    "train_file": "--train-file",
    "dev_file": "--dev-file",
    "cache_dir": "--cache-dir",
}


# -- the marker ------------------------------------------------------------------------------------


def is_distilcli_folder(folder: Path) -> bool:
    """Whether ``folder`` carries distilcli's run marker (or a pipeline's): distilcli wrote it."""
    return any(
        (Path(folder) / name).is_file() and not (Path(folder) / name).is_symlink() for name in (MARKER, PIPELINE_MARKER)
    )


def is_empty(folder: Path) -> bool:
    """No entry but a run lock: nothing --overwrite could lose."""
    return all(entry.name == LOCK for entry in Path(folder).iterdir())


def _only_a_lock(folder: Path) -> bool:
    """A folder a run is starting in: it holds its lock and nothing else yet (the lock step names the holder)."""
    names = [entry.name for entry in Path(folder).iterdir()]
    return names == [LOCK]


def write_marker(folder: Path, command: str) -> None:
    """Mark ``folder`` as written by ``command``; a later --overwrite may then replace it."""
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    body = {"command": command, "distilcli_version": __version__, "created_at": created}
    atomic_write_text(Path(folder) / MARKER, json.dumps(body, indent=2) + "\n")


def marker_command(folder: Path) -> str | None:
    """The command recorded in ``folder``'s marker; None without a (readable) marker."""
    try:
        return json.loads((Path(folder) / MARKER).read_text(encoding="utf-8")).get("command")
    except (OSError, ValueError, AttributeError):
        return None


# -- what --out may be ---------------------------------------------------------------------------


def _writable(folder: Path) -> bool:
    # os.access is False on a read-only mount even for root (EROFS); tests stand in for one here.
    return os.access(folder, os.W_OK | os.X_OK)


def check_output_dir(out: Path, overwrite: bool, inputs: Mapping[str, Any] | None = None) -> None:
    """Refuse an ``--out`` a new run may not write, before any model is loaded.

    A new folder is fine. An existing one only with ``overwrite``, and only when distilcli wrote
    it (it carries the marker) or it is empty; never the current folder or one of its parents,
    a symbolic link or a folder that cannot be written. ``inputs`` (option -> value) must not lie
    inside ``out``.
    """
    out = Path(out)
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise BadInput(f"--out {out} is the current folder or one of its parents: choose a new folder")
    if out.is_symlink():
        raise BadInput(f"--out {out} is a symbolic link: give a real folder (--overwrite never replaces a link)")
    if out.exists() and not (out.is_dir() and _only_a_lock(out)):
        _check_existing(out, overwrite)
        check_inputs_outside(out, inputs or {})
        if not _writable(out) or not _writable(resolved.parent):
            raise BadInput(f"cannot replace --out {out}: it or its parent folder is read-only")
        return
    parent = resolved.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not _writable(parent):
        raise BadInput(f"cannot create output folder {out}: {parent} is not a writable folder")


def _check_existing(out: Path, overwrite: bool) -> None:
    if not out.is_dir():
        raise BadInput(f"output {out} exists and is not a folder: choose another --out")
    if is_empty(out):
        if not overwrite:
            raise BadInput(
                f"output folder {out} already exists (empty): pass --overwrite to use it, or choose another --out"
            )
        return
    if not is_distilcli_folder(out):
        # Never suggest --overwrite here: it would delete files distilcli did not write.
        raise BadInput(
            f"output folder {out} already exists and was not written by distilcli (no {MARKER} file): choose another "
            "--out (--overwrite replaces only distilcli's own run folders)"
        )
    if not overwrite:
        raise BadInput(f"output folder {out} already exists: pass --overwrite to replace it, or choose another --out")


def run_inputs(cfg: Any) -> dict[str, Any]:
    """The inputs a run's config names (models, corpus, data files and folders), by option."""
    return {flag: getattr(cfg, name) for name, flag in INPUT_OPTIONS.items() if getattr(cfg, name, None)}


def check_inputs_outside(out: Path, inputs: Mapping[str, Any]) -> None:
    """No local input may lie inside ``out`` (replacing ``out`` would delete it)."""
    resolved = Path(out).resolve()
    for flag, value in inputs.items():
        if value is None or not Path(str(value)).exists():
            continue  # a hub id or an alias, not a path
        path = Path(str(value)).resolve()
        if path == resolved or resolved in path.parents:
            raise BadInput(
                f"{flag} {value} is inside --out {out}, which this run replaces: write the run to another folder"
            )


def clear_run_folder(out: Path) -> None:
    """Empty ``out`` for a new run (its lock stays): only once every input has passed its checks.

    Checked again here, at the last moment: only distilcli's own (or an empty) folder is emptied.
    """
    out = Path(out)
    if not out.is_dir():
        return
    if not is_empty(out) and not is_distilcli_folder(out):
        raise BadInput(f"output folder {out} was not written by distilcli (no {MARKER} file): nothing was deleted")
    for entry in out.iterdir():
        if entry.name == LOCK:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


# -- the lifecycle: check, claim, start (or resume) ------------------------------------------------

#: The options a run records in its folder when it starts: what a later --resume is checked against.
RUN_CONFIG = "run_config.json"


@dataclass(frozen=True)
class RunFolder:
    """A run's ``--out`` through its life, the one path every command that writes a folder takes.

    1. :meth:`check`, before any weight is read: a new run needs a folder it may write
       (:func:`check_output_dir`), a resumed one a started run of ``command`` (:meth:`check_resume`).
    2. :meth:`claim`: the lock, and the same check again under it (another run may have changed the folder).
    3. :meth:`start` (main process, once every input has passed): an --overwrite clears the old run,
       the folder is marked as ``command``'s, the run's options are recorded; or :meth:`publish`, for a
       command that writes its folder whole and swaps it in. A resumed run keeps its folder.

    ``started``: what a started run of ``command`` leaves in its folder; --resume needs one of them.
    """

    out: Path
    command: str
    overwrite: bool = False
    resume: bool = False
    started: tuple[str, ...] = (RUN_CONFIG,)

    @classmethod
    def of(cls, cfg: Any, command: str, started: tuple[str, ...] = (RUN_CONFIG,)) -> RunFolder:
        """The folder of ``cfg.out`` (with its ``overwrite`` and ``resume``, where the command has them)."""
        flags = (bool(getattr(cfg, name, False)) for name in ("overwrite", "resume"))
        return cls(Path(cfg.out), command, *flags, started=started)

    def check(self, inputs: Mapping[str, Any] | None = None) -> None:
        """Refuse a folder this run may not use; ``inputs`` (option -> value) may not lie in one it replaces."""
        if self.resume:
            self.check_resume()
        else:
            check_output_dir(self.out, self.overwrite, inputs)

    def check_resume(self) -> None:
        """--resume continues only a started run of this command (the options are :meth:`check_options`')."""
        out = self.out
        if not any((out / name).exists() for name in self.started):
            if RUN_CONFIG not in self.started:  # a run known by its checkpoints (it records no options file)
                raise BadInput(f"--resume: no checkpoint in {out / self.started[0]}: start without --resume")
            if not out.is_dir():
                raise BadInput(f"--resume: {out} does not exist: start without --resume")
            raise BadInput(
                f"--resume: {out} is not a {self.command} run folder (no {RUN_CONFIG}):"
                " start without --resume, in a new folder"
            )
        made_by = marker_command(out)
        if made_by is not None and made_by != self.command:
            raise BadInput(
                f"--resume: {out} is a '{made_by}' run folder, not a {self.command} run: resume it with its own command"
            )

    def check_options(self, cfg: Any, resumable: frozenset[str]) -> None:
        """On --resume: ``cfg`` must be the recorded run's options, apart from ``resumable`` ones."""
        record = self.out / RUN_CONFIG
        if self.resume and record.is_file():
            check_unchanged(json.loads(record.read_text(encoding="utf-8")), cfg, resumable)

    @contextlib.contextmanager
    def claim(self) -> Iterator[None]:
        """Hold the folder's lock for the run, checked again under it: no other run writes it from here on."""
        with run_lock(self.out, marks=(MARKER,)):
            self.check()  # the inputs were checked before; the folder may have changed since
            yield

    def start(self, cfg: Any = None) -> None:
        """Start a new run (main process): an --overwrite empties the old one; the folder is marked, ``cfg`` recorded.

        Only ever after :meth:`claim`, once every input has passed its checks. A resumed run keeps its
        folder: only a marker it lacks (a run from before the marker) is added.
        """
        if not is_main_process():
            return
        if self.resume:
            if not (self.out / MARKER).is_file():
                write_marker(self.out, self.command)
            return
        if self.overwrite:
            clear_run_folder(self.out)  # no old file mixes with this run's
        self.out.mkdir(parents=True, exist_ok=True)
        write_marker(self.out, self.command)
        if cfg is not None:
            atomic_write_text(self.out / RUN_CONFIG, json.dumps(config_to_dict(cfg), indent=2))

    @contextlib.contextmanager
    def publish(self) -> Iterator[Path]:
        """Yield a temporary folder to write the run into; it replaces ``out`` whole, marked, once the body returns."""
        with atomic_output_dir(self.out, keep=(LOCK,)) as tmp:
            yield tmp
            write_marker(tmp, self.command)
