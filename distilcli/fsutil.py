"""Atomic file and folder writes: nothing half-written, nothing clobbered by accident."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from distilcli.errors import BadInput, DistilError


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
        with disk_full_error(path):
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


@contextlib.contextmanager
def atomic_output_dir(out: Path, keep: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a temp folder beside ``out``; on success it replaces ``out`` in one rename.

    The caller has checked ``out`` may be replaced. ``keep`` names files of the old ``out``
    that go on into the new one (the run's lock). Modes follow the umask. On any failure the
    temp folder is removed and ``out`` is left as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with disk_full_error(out):
            yield tmp
            apply_umask(tmp)
        for name in keep:
            if (out / name).is_file():
                os.link(out / name, tmp / name)  # the same file in both: never a moment without it
        if out.exists():
            # Move the old folder aside first so the swap itself is a single rename;
            # if that rename fails, the old folder goes back where it was.
            trash = make_temp_dir(out.parent, prefix=f".{out.name}.", suffix=".old")
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


def umask_mode(mode: int) -> int:
    """``mode`` (0o666 for a file, 0o777 for a folder) less the user's umask: what ``open`` would give."""
    return mode & ~_umask()


def make_temp_dir(parent: Path, prefix: str, suffix: str) -> Path:
    """``tempfile.mkdtemp`` in ``parent``, with the mode of an ordinary folder (mkdtemp makes it 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    os.chmod(tmp, umask_mode(0o777))
    return tmp


def apply_umask(folder: Path) -> None:
    """Give every file and folder under ``folder`` the user's usual mode.

    Some writers make private files (``save_pretrained`` writes model.safetensors 0600); an
    output is an ordinary file, readable as the umask says like everything else the user writes.
    """
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), umask_mode(0o777))
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, umask_mode(0o666))


def is_disk_full(exc: BaseException, where: Path | None = None) -> bool:
    """Whether ``exc`` means the disk is full: ENOSPC, or a library's wording of it.

    torch.save reports a full disk as ``unexpected pos N vs M`` (or ``file write failed``) and
    safetensors as ``os error 28``: those count when ``where``'s file system has no space left.
    """
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    text = str(exc)
    if "No space left on device" in text or "os error 28" in text:
        return True
    if where is not None and ("unexpected pos" in text or "file write failed" in text):
        folder = Path(where)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder).free < 1 << 20
    return False


@contextlib.contextmanager
def disk_full_error(where: Path) -> Iterator[None]:
    """Turn a full disk while writing ``where`` into one line (exit 1), not a library's riddle."""
    try:
        yield
    except DistilError:
        raise
    except Exception as exc:
        if is_disk_full(exc, where):
            raise DistilError(
                f"no space left on device while writing {where}: free some space, then run again"
            ) from None
        raise
