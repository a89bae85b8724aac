"""Experiment tracking (``--report-to``, ``--tracking-dir``) through Accelerate's tracker API.

The trackers (TensorBoard, Weights & Biases, MLflow, trackio) are Accelerate's own: the run's
``Accelerator`` is made with ``log_with`` and ``project_dir`` (:func:`accelerator_kwargs`), the
loop starts them with the resolved options as hyper-parameters (:func:`start`) and logs with
``accelerator.log`` (main process only: Accelerate's trackers write on the main process alone).
Nothing here writes an event file itself.

A tracker asked for but not installed is refused with :class:`~distilcli.errors.BadInput` before
any model is loaded (Accelerate would drop it silently and the run would log nowhere).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from distilcli.config import parse_list
from distilcli.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

TRACKERS = ("tensorboard", "wandb", "mlflow", "trackio")
#: ``project_name`` of ``init_trackers``: the W&B project, MLflow experiment, trackio project, TensorBoard sub-folder.
PROJECT = "distilcli"
#: Trackers that write under ``--tracking-dir`` (the others have their own server or cache).
LOCAL = ("tensorboard", "mlflow")
EXTRA = "pip install 'distilcli[tracking]'"


class TrackingOptions(Protocol):
    """What tracking reads of a run's options (:class:`~distilcli.training.options.TrainOptions` has them)."""

    out: Path
    report_to: list[str] | str
    tracking_dir: Path | None


def parse_report_to(value: list[str] | str | None) -> list[str]:
    """``none`` (or unset) -> []; ``tensorboard,wandb`` -> the trackers, repeats dropped; else :class:`BadInput`."""
    names = parse_list(value if value is not None else "none", "--report-to", ("none", *TRACKERS))
    if "none" in names and len(names) > 1:
        raise BadInput(f"--report-to {','.join(names)}: 'none' cannot be combined with trackers; give one or the other")
    return list(dict.fromkeys(name for name in names if name != "none"))


def _installed(name: str) -> bool:
    """Accelerate's own availability test, so that what passes here is a tracker Accelerate will start."""
    import accelerate.utils as accelerate_utils

    return bool(getattr(accelerate_utils, f"is_{name}_available")())


def check_tracking(opts: TrackingOptions) -> None:
    """``--report-to`` names known, installed trackers and ``--tracking-dir`` is usable; else :class:`BadInput`."""
    names = parse_report_to(opts.report_to)
    for name in names:
        if not _installed(name):
            fix = EXTRA if name == "tensorboard" else f"pip install {name} ({EXTRA} brings TensorBoard only)"
            raise BadInput(f"--report-to {name}: the {name} package is not installed: {fix}")
    if names and opts.tracking_dir is not None and Path(opts.tracking_dir).is_file():
        raise BadInput(f"--tracking-dir {opts.tracking_dir} is a file: give a folder (default: OUT/tracking)")


def tracking_dir(opts: TrackingOptions) -> Path:
    """Where local trackers write: ``--tracking-dir``, or ``OUT/tracking``."""
    return Path(opts.tracking_dir) if opts.tracking_dir is not None else Path(opts.out) / "tracking"


def accelerator_kwargs(opts: TrackingOptions) -> dict[str, Any]:
    """``log_with`` and ``project_dir`` for the run's ``Accelerator`` (nothing when tracking is off)."""
    names = parse_report_to(opts.report_to)
    if not names:
        return {}
    return {"log_with": names, "project_dir": str(tracking_dir(opts))}


def run_label(out: Path) -> str:
    """The run's name in W&B, MLflow and trackio: its folder, with the parent for generic names (``seed-1``,
    ``run``)."""
    out = Path(out)
    generic = out.name == "run" or out.name.startswith("seed-")
    return f"{out.parent.name}/{out.name}" if generic and out.parent.name else out.name


def hyperparameters(config: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """The resolved options as the scalar values every tracker accepts (lists and None written as text)."""
    return {
        key: value if isinstance(value, (bool, int, float, str)) else json.dumps(value) for key, value in config.items()
    }


def active(accelerator: Accelerator) -> bool:
    """Whether the run logs anywhere (``log_with`` set: the loop then collects gradient norms)."""
    return bool(getattr(accelerator, "log_with", None))


def start(accelerator: Accelerator, config: dict[str, Any], out: Path) -> None:
    """Start the trackers of ``accelerator`` with ``config`` as the run's hyper-parameters (no-op without any)."""
    if not active(accelerator):
        return
    label = run_label(out)
    names = {"wandb": {"name": label}, "mlflow": {"run_name": label}, "trackio": {"name": label}}
    accelerator.init_trackers(PROJECT, config=hyperparameters(config), init_kwargs=names)


def finish(accelerator: Accelerator) -> None:
    """Flush and close the trackers.

    Each tracker's ``finish`` is what ``accelerator.end_training()`` calls; end_training also
    destroys the process group, which the run (the final checks across processes) and the next
    stage of a pipeline in this process still need.
    """
    for tracker in getattr(accelerator, "trackers", []):
        tracker.finish()
    accelerator.trackers = []
