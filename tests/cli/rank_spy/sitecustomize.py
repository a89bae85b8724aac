"""A test spy: every write a non-zero global rank makes under the watched folders, recorded.

Put this folder on ``PYTHONPATH`` and Python imports it at start-up, in every process of a launch
(the launchers, their workers and whatever those start). It arms itself only where ``RANK`` is set
and is not ``0`` (torchrun sets ``RANK`` to the global rank in each worker) and both
``DISTILCLI_SPY_WATCH`` (folders, separated by ``os.pathsep``) and ``DISTILCLI_SPY_LOG`` (a file
outside them) are set. It then appends one line to the log for:

- every write Python's audit events report under a watched folder: a file opened for writing or
  created (``open``, ``os.open``), a folder made, a rename or replace, a removal (file, folder,
  ``shutil.rmtree``), a temporary file or folder made there, a copy or move into it, a change of
  mode, owner or times, a truncation, a link (a ``mkdir`` of a folder that exists, as
  ``mkdir(exist_ok=True)`` does, changes nothing and is not recorded);
- ``torch.save`` and ``safetensors.torch.save_file`` into a watched folder, which write from C/C++
  / Rust without an audit event (they are wrapped as their modules are imported).

It records and lets the write happen, so the run behaves as it would; the test reads the log. An
``armed`` line is written first, so a test can tell "no write" from "spy never ran".
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: Audit events that change the file system, with the positions of their path and dir_fd arguments.
_EVENTS: dict[str, tuple[tuple[int, int | None], ...]] = {
    "os.mkdir": ((0, 2),), "os.rename": ((0, 2), (1, 3)), "os.remove": ((0, 1),), "os.rmdir": ((0, 1),),
    "os.truncate": ((0, None),), "os.chmod": ((0, 2),), "os.chown": ((0, 3),), "os.utime": ((0, 3),),
    "os.link": ((1, 3),), "os.symlink": ((1, 2),), "os.mkfifo": ((0, 2),), "os.mknod": ((0, 3),),
    "os.setxattr": ((0, None),), "os.removexattr": ((0, None),), "shutil.rmtree": ((0, 1),),
    "shutil.copyfile": ((1, None),), "shutil.copytree": ((1, None),), "shutil.move": ((0, None), (1, None)),
    "shutil.copymode": ((1, None),), "shutil.copystat": ((1, None),),
    "tempfile.mkdtemp": ((0, None),), "tempfile.mkstemp": ((0, None),),
}  # fmt: skip


def _install() -> None:
    rank, watch, log = (
        os.environ.get("RANK"),
        os.environ.get("DISTILCLI_SPY_WATCH"),
        os.environ.get("DISTILCLI_SPY_LOG"),
    )
    if rank in (None, "", "0") or not watch or not log:
        return
    roots = [os.path.realpath(p) for p in watch.split(os.pathsep) if p]
    busy = [False]

    def resolve(path: Any, dir_fd: Any) -> str | None:
        if isinstance(path, int) or path is None:
            return None  # a file descriptor: its opening was checked
        path = os.fsdecode(os.fspath(path))
        if isinstance(dir_fd, int) and not os.path.isabs(path):
            path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
        return os.path.realpath(path)

    def record(what: str, path: str) -> None:
        busy[0] = True
        try:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"rank {rank} pid {os.getpid()} {what} {path}\n")
        finally:
            busy[0] = False

    def check(what: str, path: Any, dir_fd: Any = None) -> None:
        resolved = resolve(path, dir_fd)
        if resolved is not None and any(resolved == r or resolved.startswith(r + os.sep) for r in roots):
            record(what, resolved)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if busy[0]:
            return
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writes = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and set(mode) & set("wax+")
            )
            if writes:
                busy[0] = True
                try:
                    check("open-for-write", path)
                finally:
                    busy[0] = False
            return
        spots = _EVENTS.get(event)
        if spots is None:
            return
        busy[0] = True
        try:
            for at, fd_at in spots:
                if at < len(args):
                    dir_fd = args[fd_at] if fd_at is not None and fd_at < len(args) else None
                    if event == "os.mkdir" and os.path.isdir(resolve(args[at], dir_fd) or ""):
                        continue  # mkdir(exist_ok=True) of a folder that exists: it changes nothing
                    check(event, args[at], dir_fd)
        finally:
            busy[0] = False

    def wrap(module: Any, name: str, at: int) -> None:
        original = getattr(module, name, None)
        if original is None or getattr(original, "_spied", False):
            return

        def spied(*args: Any, **kwargs: Any) -> Any:
            target = args[at] if at < len(args) else kwargs.get("f", kwargs.get("filename"))
            if isinstance(target, (str, bytes, os.PathLike)):
                check(f"{module.__name__}.{name}", target)
            return original(*args, **kwargs)

        spied._spied = True  # type: ignore[attr-defined]
        setattr(module, name, spied)

    patches = {"torch": lambda m: wrap(m, "save", 1), "safetensors.torch": lambda m: wrap(m, "save_file", 1)}

    class AfterImport(importlib.abc.MetaPathFinder):
        """Wrap the C-level writers as soon as their module has run."""

        def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
            if name not in patches:
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None and spec.loader is not None:
                    run = spec.loader.exec_module

                    def exec_module(module: Any, run: Any = run, name: str = name) -> None:
                        run(module)
                        patches[name](module)

                    spec.loader.exec_module = exec_module  # type: ignore[method-assign]
                    return spec
            return None

    for name, patch in patches.items():
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, AfterImport())
    record("armed", "")
    sys.addaudithook(hook)


_install()
