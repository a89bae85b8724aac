"""``--update-card``: an evaluation's scores written into the evaluated model's card as ``model-index`` results.

The entries name the task, the dataset (Hub id, config, split) and each metric, so the Hub shows
them on the model's page. Only the model as saved is scored into its card: a ``--quantize``
run measures a different model and is refused.
"""

from __future__ import annotations

from pathlib import Path

from distilcli.errors import BadInput
from distilcli.models.card import CardResult, check_card_folder, update_card_results
from distilcli.tasks.glue.hub import HUB_DATASET
from distilcli.tasks.glue.spec import GlueTask
from distilcli.tasks.squad.data import SquadTask

#: GLUE metric keys (HF ``evaluate``'s) -> the Hub's metric type and a display name.
_GLUE_METRICS = {
    "accuracy": ("accuracy", "Accuracy"),
    "f1": ("f1", "F1"),
    "matthews_correlation": ("matthews_correlation", "Matthews correlation"),
    "pearson": ("pearsonr", "Pearson correlation"),
    "spearmanr": ("spearmanr", "Spearman correlation"),
}
#: SQuAD's official metrics, in percent (v1.1's script says exact_match, v2.0's exact).
_SQUAD_METRICS = {
    "exact_match": ("exact_match", "Exact match"),
    "exact": ("exact_match", "Exact match"),
    "f1": ("f1", "F1"),
}


def check_update_card(models: list[Path | str], quantize: str = "none") -> list[Path]:
    """The folders whose cards ``--update-card`` will write, checked before any model is loaded."""
    if quantize != "none":
        raise BadInput(
            f"--update-card with --quantize {quantize}: the card holds the model's own scores, not those of "
            "a quantized copy; run without --quantize to update the card"
        )
    return [check_card_folder(model) for model in models]


def _dataset(
    name: str, standard_type: str, config: str | None, split: str, dev_file: Path | None
) -> dict[str, str | None]:
    """The dataset of a result: the Hub's when no --dev-file was given, else the file (no Hub id claimed)."""
    if dev_file is None:
        return {"dataset_type": standard_type, "dataset_name": name, "dataset_config": config, "dataset_split": split}
    file = Path(dev_file).name
    return {"dataset_type": file, "dataset_name": f"{name} ({file})", "dataset_config": None, "dataset_split": "dev"}


def glue_results(task: GlueTask, metrics: dict[str, float], dev_file: Path | None) -> list[CardResult]:
    """One task's GLUE dev metrics (fractions, as the report) as card results; ``score`` (their mean) is left out."""
    dataset = _dataset(f"GLUE {task.display_name}", HUB_DATASET, task.hub_config, task.hub_dev_split, dev_file)
    return [
        CardResult(
            "text-classification",
            "Text Classification",
            **dataset,  # type: ignore[arg-type]
            metric_type=_GLUE_METRICS[key][0],
            metric_name=_GLUE_METRICS[key][1],
            value=float(value),
        )
        for key, value in metrics.items()
        if key in _GLUE_METRICS
    ]


def squad_results(task: SquadTask, metrics: dict[str, float], dev_file: Path | None) -> list[CardResult]:
    """SQuAD's exact match and F1 (percent, as the official script) as card results."""
    dataset = _dataset(task.display_name, task.hub_dataset, None, "validation", dev_file)
    return [
        CardResult(
            "question-answering",
            "Question Answering",
            **dataset,  # type: ignore[arg-type]
            metric_type=_SQUAD_METRICS[key][0],
            metric_name=_SQUAD_METRICS[key][1],
            value=float(metrics[key]),
        )
        for key in _SQUAD_METRICS
        if key in metrics
    ]


def write_cards(by_folder: dict[Path, list[CardResult]]) -> list[str]:
    """Update each folder's card with its results; the cards' paths."""
    return [str(update_card_results(folder, results)) for folder, results in by_folder.items() if results]
