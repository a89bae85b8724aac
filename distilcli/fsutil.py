"""Atomic file and folder writes: nothing half-written, nothing clobbered by accident."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from distilcli.errors import BadInput


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_file(path: Path | str | None) -> None:
    """Refuse an output file path that cannot be written, before any work is done."""
    if path is None:
        return
    text = str(path)
    path = Path(path)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise BadInput(f"output {text} is a folder: give a file name, e.g. {path / 'report.json'}")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BadInput(f"cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise BadInput(f"cannot write {path}: no permission to write in {parent}")


@contextlib.contextmanager
def atomic_file(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path beside ``path`` to write; on success it is renamed to ``path``, else removed.

    ``suffix`` lets writers that pick a format by extension (matplotlib) see the right one.
    """
    check_output_file(path)
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create folder {parent} for {path}: {exc.strerror}") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; an output is an ordinary file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder, then rename."""
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse an existing output folder unless ``overwrite`` is set (checked before any work)."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise BadInput(f"output folder {out} already exists: pass --overwrite to replace it, or choose another --out")
    if out.exists() and not out.is_dir():
        raise BadInput(f"output {out} exists and is not a folder: choose another --out")
    resolved = out.resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise BadInput(f"--out {out} is the current folder or one of its parents: choose a new folder")
    parent = resolved.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise BadInput(f"cannot create output folder {out}: {parent} is not a writable folder")


@contextlib.contextmanager
def atomic_output_dir(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temp folder beside ``out``; on success it replaces ``out`` in one rename.

    On any failure the temp folder is removed and ``out`` is left as it was.
    """
    out = Path(out)
    check_output_dir(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    # mkdtemp makes a private (0700) folder; the result should get the usual mode.
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if out.exists():
            # Move the old folder aside first so the swap itself is a single rename;
            # if that rename fails, the old folder goes back where it was.
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, trash / "old")
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(trash / "old", out)
                raise
            finally:
                shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
