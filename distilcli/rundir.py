"""A run's output folder: distilcli's marker in it, what ``--overwrite`` may replace, the lock a run holds on it.

- Every command that writes a folder (``distill``, ``finetune``, ``models student``, ``pipeline``) leaves
  a marker file in it (:data:`MARKER`; a pipeline's folder carries :data:`PIPELINE_MARKER`).
  ``--overwrite`` replaces only a folder carrying one of them, or an empty one: never a home folder,
  a project folder or a folder another tool wrote.
- No input of the run may lie inside an ``--out`` that will be replaced.
- A run holds :data:`LOCK` (its pid, host and start time, as JSON) in its ``--out`` while it runs,
  so a second run on the same folder, or inside it, is refused. A lock whose process is gone
  (same host, pid not alive) is stale and taken over. Locks are re-entrant within one process:
  the pipeline holds its folder's lock while its stages, run in-process, lock their own folders.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from distilcli import __version__
from distilcli.errors import BadInput
from distilcli.fsutil import atomic_write_text, umask_mode

MARKER = ".distilcli-run"
#: The marker ``distil pipeline`` leaves in its folder (``pipeline/state.py``): a distilcli folder too.
PIPELINE_MARKER = ".distil-pipeline"
LOCK = ".distilcli-lock"
#: The options naming a run's inputs, by config field: none may lie inside an --out to be replaced.
INPUT_OPTIONS = {
    "teacher": "--teacher", "student": "--student", "model": "--model", "corpus": "--corpus", "glue_dir": "--glue-dir",
    "hub_dir": "--hub-dir", "train_file": "--train-file", "dev_file": "--dev-file", "cache_dir": "--cache-dir",
}  # fmt: skip
#: A lock file without a readable body is being written: older than this, its writer died.
_UNREADABLE_LOCK_GRACE_S = 30.0


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


def prepare_run_folder(out: Path, overwrite: bool, command: str) -> None:
    """Start a new run in ``out``: emptied if --overwrite replaces an old run, created, marked as ``command``'s."""
    if overwrite:
        clear_run_folder(out)
    Path(out).mkdir(parents=True, exist_ok=True)
    write_marker(Path(out), command)


# -- the lock --------------------------------------------------------------------------------------

#: Locks this process holds: resolved folder -> how many times taken (re-entrant).
_HELD: dict[Path, int] = {}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (psutil comes with accelerate); None when unknown."""
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:  # noqa: BLE001 - no psutil, no such process, no access: unknown
        return None


def _holder(lock: Path) -> dict[str, Any] | None:
    """The lock's body; None when it cannot be read (being written, or garbage)."""
    try:
        body = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) and isinstance(body.get("pid"), int) else None


def _is_stale(lock: Path, holder: dict[str, Any] | None) -> bool:
    if holder is None:
        try:
            return time.time() - lock.stat().st_mtime > _UNREADABLE_LOCK_GRACE_S
        except FileNotFoundError:
            return True
    if holder.get("host") != socket.gethostname():
        return False  # another machine's process cannot be checked from here
    if not _pid_alive(holder["pid"]):
        return True
    # The pid is alive, but maybe reused by another process since the holder died.
    started, now = holder.get("started"), _start_time(holder["pid"])
    return isinstance(started, (int, float)) and now is not None and abs(now - started) > 1.0


def _in_use(folder: Path, lock: Path, holder: dict[str, Any] | None) -> BadInput:
    if holder is None:
        who = "another distil run (its lock file is being written)"
    else:
        who = f"another distil run (pid {holder['pid']} on host {holder.get('host', '?')}, since {holder.get('since', '?')})"
    return BadInput(
        f"--out {folder} is in use by {who}: wait for it to finish or choose another --out "
        f"(if that run is gone, remove {lock})"
    )


#: Set by a parent distil process (``pipeline --jobs``) to the locked folder its child runs inside.
INSIDE_ENV = "DISTILCLI_INSIDE"


def _check_ancestors(folder: Path) -> None:
    """A folder inside one another run holds is refused too.

    This process's own locks are fine, and so is the one folder its parent process handed it
    (``pipeline --jobs`` runs each stage in a child process inside the pipeline's locked folder, and
    names that folder in ``$DISTILCLI_INSIDE``).
    """
    handed = os.environ.get(INSIDE_ENV)
    for parent in folder.parents:
        lock = parent / LOCK
        if parent in _HELD or not lock.is_file():
            continue
        holder = _holder(lock)
        if (handed and Path(handed).resolve() == parent and holder is not None and holder["pid"] == os.getppid()
                and holder.get("host") == socket.gethostname()):  # fmt: skip
            continue
        if not _is_stale(lock, holder):
            raise _in_use(parent, lock, holder)


def _take(folder: Path) -> None:
    lock = folder / LOCK
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, umask_mode(0o666))
        except FileExistsError:
            holder = _holder(lock)
            if not _is_stale(lock, holder):
                raise _in_use(folder, lock, holder) from None
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()  # stale: its process is gone
            continue
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            body = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": since,
                "started": _start_time(os.getpid()),
            }
            json.dump(body, handle)
        return
    raise _in_use(folder, lock, _holder(lock))


def is_main_process() -> bool:
    """True outside distributed runs and on rank 0 of one (before Accelerate is set up).

    Under torchrun / accelerate launch every process runs the command; rank 0 holds the lock for all.
    """
    return int(os.environ.get("RANK", "0")) == 0


@contextlib.contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold the lock on ``out`` (created if new) for the duration of a run.

    Released on return, on error and on Ctrl-C; a folder this lock created and that nothing
    else was written into is removed again.
    """
    folder = Path(out).resolve()
    if not is_main_process():
        yield
        return
    if folder in _HELD:
        _HELD[folder] += 1
        try:
            yield
        finally:
            _HELD[folder] -= 1
        return
    _check_ancestors(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create output folder {out}: {exc.strerror}") from None
    try:
        _take(folder)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    _HELD[folder] = 1
    try:
        yield
    finally:
        del _HELD[folder]
        _release(folder, created)


def _release(folder: Path, created: bool) -> None:
    lock = folder / LOCK
    holder = _holder(lock)
    if holder is not None and holder.get("pid") == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
    if created and folder.is_dir() and all(e.name in (MARKER, PIPELINE_MARKER) for e in folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)  # nothing but our markers: the run wrote nothing
