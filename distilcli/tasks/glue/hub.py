"""The hub's ``nyu-mll/glue`` data: a local copy of its parquet files, or the hub itself.

Read with pyarrow (``Dataset.from_parquet`` would copy every file into the datasets cache
first); the hub writes label indices in its ``ClassLabel`` order, -1 where a split has
no labels (test).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput, first_line
from distilcli.models.loading import quiet_hub
from distilcli.tasks.glue.readers import labels_expected, parse_label
from distilcli.tasks.glue.spec import GlueExample, GlueTask, resolve_task

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pyarrow as pa

HUB_DATASET = "nyu-mll/glue"


def parquet_files(root: Path, task: GlueTask, split: str) -> list[Path]:
    """Shards of ``split``: ``root`` itself, ``root/<split>-*.parquet`` or ``root/<config>/<split>-*.parquet``."""
    if root.is_file():
        return [root]
    for folder in (root, root / task.hub_config):
        # "validation-*" does not match "validation_matched-*": the hyphen keeps splits apart.
        files = sorted(folder.glob(f"{split}-*.parquet"))
        if files:
            return files
    return []


def read_glue_parquet(
    path_or_folder: str | Path, task: str | GlueTask, split: str | None = None, *, require_labels: bool | None = None
) -> list[GlueExample]:
    """Read a local copy of the hub's ``nyu-mll/glue`` parquet files.

    ``path_or_folder`` is a parquet file, a config folder (``glue/mnli``) or the repository
    root (``glue``); ``split`` defaults to the task's dev split (``validation_matched`` for
    MNLI). Read with pyarrow: ``Dataset.from_parquet`` would copy every file into the
    datasets cache first. ``index`` is the file's ``idx`` column.
    """
    task = resolve_task(task)
    split = split or task.hub_dev_split
    root = Path(path_or_folder)
    if not root.exists():
        raise BadInput(f"{root}: no such file or folder")
    files = parquet_files(root, task, split)
    if not files:
        raise BadInput(
            f"{root}: no {split}-*.parquet for {task.display_name} (looked in {root} and {root / task.hub_config})"
        )
    if require_labels is None:
        require_labels = labels_expected(split)
    import pyarrow.parquet as pq

    examples: list[GlueExample] = []
    for file in files:
        try:
            table = pq.read_table(file)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged or non-parquet file
            raise BadInput(f"{file}: not a readable parquet file ({first_line(exc)})") from None
        examples += _from_arrow(table, task, str(file), require_labels, start=len(examples))
    return examples


def _from_arrow(
    table: pa.Table, task: GlueTask, source: str, require_labels: bool, start: int = 0
) -> list[GlueExample]:
    """Examples from hub-layout columns; the hub writes label -1 where a split has no labels (test)."""
    import pyarrow as pa

    names = table.column_names
    wanted = [task.hub_text_a] + ([task.hub_text_b] if task.hub_text_b else [])
    wanted += ["label"] if require_labels or "label" in names else []
    for name in wanted:
        if name not in names:
            raise BadInput(f"{source}: missing column {name!r} for {task.display_name} (columns: {', '.join(names)})")
    text_a = table.column(task.hub_text_a).to_pylist()
    text_b = table.column(task.hub_text_b).to_pylist() if task.hub_text_b else [None] * len(text_a)
    idx = table.column("idx").to_pylist() if "idx" in names else list(range(start, start + len(text_a)))
    labels: list[Any] = [None] * len(text_a)
    if "label" in names:
        column = table.column("label")
        labels = column.to_pylist()
        if column.type == pa.float32():
            # STS-B scores are stored as float32: 3.8 comes back as 3.799999952...; its shortest
            # float32 repr is the file's 3-decimal score again.
            import numpy as np

            labels = [None if v is None else float(str(np.float32(v))) for v in labels]
    examples = []
    for i, a, b, value in zip(idx, text_a, text_b, labels):
        where = f"{source}: idx {i}"
        label: int | float | None = None
        raw: str | None = None
        if value is None or (task.labels is not None and value == -1):
            if require_labels:
                raise BadInput(f"{where}: no label ({task.display_name}; test splits have none)")
        elif task.labels is None:
            label, raw = parse_label(value, None, where, task.display_name)
        elif isinstance(value, int) and 0 <= value < len(task.labels):
            label, raw = value, task.labels[value]
        else:
            raise BadInput(f"{where}: label {value!r} out of range for {task.display_name} (0..{task.num_labels - 1})")
        examples.append(GlueExample(int(i), a, b, label, raw))
    return examples


def load_glue_hub(
    task: str | GlueTask, split: str | None = None, *, cache_dir: str | Path | None = None
) -> list[GlueExample]:
    """Download (or reuse the cached) ``nyu-mll/glue`` split with ``datasets``; BadInput when unreachable."""
    task = resolve_task(task)
    split = split or task.hub_dev_split
    import datasets

    quiet_hub()
    try:
        dataset = datasets.load_dataset(
            HUB_DATASET, task.hub_config, split=split, cache_dir=None if cache_dir is None else str(cache_dir)
        )
    except Exception as exc:  # noqa: BLE001 - offline, unknown split, hub outage: all become one line for the user
        raise BadInput(
            f"cannot load {HUB_DATASET} config {task.hub_config!r} split {split!r} from the Hugging Face hub "
            f"({first_line(exc)}); point at a local copy (GLUE TSV folder or the hub's parquet files) instead"
        ) from None
    table = dataset.with_format("arrow")[:]
    return _from_arrow(table, task, f"{HUB_DATASET}/{task.hub_config}[{split}]", labels_expected(split))
