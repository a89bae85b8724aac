"""The report envelope (schema version 1), its atomic writer and its validating reader.

Every command writes the same envelope: ``schema_version``, ``command``,
``distilcli_version``, ``created_at`` (UTC, ISO 8601), ``argv``, the resolved
``config``, ``env``, ``duration_s``, flat numeric ``metrics``, ``primary_metric``,
``artifacts`` (paths) and a command-specific ``body``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from distilcli import __version__
from distilcli.errors import BadInput
from distilcli.fsutil import atomic_write_text

SCHEMA_VERSION = 1
KNOWN_SCHEMA_VERSIONS = (1,)
REQUIRED_KEYS = (
    "schema_version",
    "command",
    "distilcli_version",
    "created_at",
    "argv",
    "config",
    "env",
    "duration_s",
    "metrics",
    "primary_metric",
    "artifacts",
    "body",
)


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "command": (str,),
    "distilcli_version": (str,),
    "created_at": (str,),
    "argv": (list,),
    "config": (dict,),
    "env": (dict,),
    "duration_s": (int, float),
    "metrics": (dict,),
    "primary_metric": (str, type(None)),
    "artifacts": (dict,),
    "body": (dict,),
}


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class Report:
    """One command's result. Build it with :meth:`create`; serialise with :meth:`to_json`."""

    command: str
    config: dict[str, Any]
    metrics: dict[str, float]
    primary_metric: str | None
    artifacts: dict[str, str]
    body: dict[str, Any]
    duration_s: float
    env: dict[str, Any] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=_utc_now)
    distilcli_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def create(
        cls,
        command: str,
        *,
        config: dict[str, Any],
        metrics: dict[str, float],
        primary_metric: str | None = None,
        artifacts: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        duration_s: float,
    ) -> Report:
        """Make a report, collecting ``env`` and ``argv`` from the running process."""
        from distilcli.reports.env import collect_env

        for name, value in metrics.items():
            if not _is_number(value):
                raise TypeError(f"metric {name!r} must be a number, got {value!r}")
        if primary_metric is not None and primary_metric not in metrics:
            raise ValueError(f"primary metric {primary_metric!r} is not among the metrics")
        return cls(
            command=command,
            config=config,
            metrics=dict(metrics),
            primary_metric=primary_metric,
            artifacts={k: str(v) for k, v in (artifacts or {}).items()},
            body=body or {},
            duration_s=round(float(duration_s), 3),
            env=collect_env(),
            argv=["distil", *sys.argv[1:]],
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {key: data[key] for key in REQUIRED_KEYS}

    def to_json(self) -> str:
        # allow_nan=False: NaN/inf are not JSON; a metric that could be one must be handled upstream.
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_report(report: Report, path: Path) -> None:
    """Write ``report`` exactly to ``path``, atomically (temp file + rename)."""
    atomic_write_text(Path(path), report.to_json())


def load_report(path: Path) -> Report:
    """Read and validate a report file; any problem raises :class:`BadInput` with one line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"report {path} does not exist") from None
    except IsADirectoryError:
        raise BadInput(f"report {path} is a folder, not a report file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"report {path} is not readable: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path} is not a distilcli report: invalid JSON at line {exc.lineno} ({exc.msg})") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise BadInput(f"{path} is not a distilcli report: no schema_version field")
    version = data["schema_version"]
    if isinstance(version, bool) or version not in KNOWN_SCHEMA_VERSIONS:
        known = ", ".join(str(v) for v in KNOWN_SCHEMA_VERSIONS)
        raise BadInput(
            f"{path} has report schema version {version!r}, which this distilcli ({__version__}) "
            f"does not know (it reads {known}): upgrade distilcli"
        )
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise BadInput(f"{path} is not a valid distilcli report: missing {', '.join(missing)}")
    for key, kinds in _FIELD_TYPES.items():
        value = data[key]
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise BadInput(f"{path} is not a valid distilcli report: {key} has the wrong type ({type(value).__name__})")
    if not all(isinstance(v, str) for v in data["artifacts"].values()):
        raise BadInput(f"{path} is not a valid distilcli report: artifacts must map names to paths")
    metrics = data["metrics"]
    if not isinstance(metrics, dict) or not all(_is_number(v) for v in metrics.values()):
        raise BadInput(f"{path} is not a valid distilcli report: metrics must map names to numbers")
    bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise BadInput(f"{path} is not a valid distilcli report: non-finite metric(s) {', '.join(bad)}")
    return Report(**{key: data[key] for key in REQUIRED_KEYS})
