"""The ``env`` block of a report: what ran, where."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_sha() -> str | None:
    """The commit of the distilcli source tree when it is a git checkout, else None."""
    source = Path(__file__).resolve().parents[2]
    try:
        result = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and len(sha) == 40 else None


def collect_env() -> dict[str, Any]:
    """Python, torch and transformers versions, device, threads and git sha.

    torch is described only if it is already imported: a report about files
    (``report compare``) must not pay for importing it.
    """
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "device": None,
        "threads": None,
        "git_sha": git_sha(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        env["threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["device"] = f"cuda ({torch.cuda.get_device_name(0)})"
        else:
            env["device"] = "cpu"
    return env
