"""One run per folder: the lock a run holds on its ``--out`` while it runs.

A run holds :data:`LOCK` (its pid, host and start time, as JSON) in its ``--out``, so a second run
on the same folder, or inside it, is refused. A lock whose process is gone (same host, pid not alive)
is stale and taken over. Locks are re-entrant within one process: the pipeline holds its folder's
lock while its stages, run in-process, lock their own folders. The rest of a run folder's life
(check, claim, start, resume) is :class:`distilcli.rundir.RunFolder`'s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distilcli.errors import BadInput
from distilcli.fsutil import umask_mode

LOCK = ".distilcli-lock"
#: A lock file without a readable body is being written: older than this, its writer died.
_UNREADABLE_LOCK_GRACE_S = 30.0

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
        host, since = holder.get("host", "?"), holder.get("since", "?")
        who = f"another distil run (pid {holder['pid']} on host {host}, since {since})"
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
        if (
            handed
            and Path(handed).resolve() == parent
            and holder is not None
            and holder["pid"] == os.getppid()
            and holder.get("host") == socket.gethostname()
        ):
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
def run_lock(out: Path, marks: tuple[str, ...] = ()) -> Iterator[None]:
    """Hold the lock on ``out`` (created if new) for the duration of a run.

    Released on return, on error and on Ctrl-C; a folder this lock created and that nothing
    else was written into (but the run's marker files, ``marks``) is removed again.
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
        _release(folder, created, marks)


def _release(folder: Path, created: bool, marks: tuple[str, ...]) -> None:
    lock = folder / LOCK
    holder = _holder(lock)
    if holder is not None and holder.get("pid") == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
    if created and folder.is_dir() and all(e.name in marks for e in folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)  # nothing but the run's marker: it wrote nothing
