"""Model cards (README.md) for the folders distilcli writes, in the form the Hugging Face Hub reads.

Cards are built with ``huggingface_hub.ModelCard`` / ``ModelCardData``: YAML metadata
(``base_model``, ``library_name``, ``tags``, ``datasets``, ``pipeline_tag`` and, once a model is
evaluated with ``--update-card``, ``model-index`` results) above the prose. The metadata is
written by the Hub's own library, so what the Hub parses is what we wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    from huggingface_hub import ModelCard

CARD_FILE = "README.md"
#: Tags every distilcli card carries (the Hub's search filters on them).
BASE_TAGS = ("distilcli", "distillation")
#: The Hub's pipeline tag for each transformers auto class distilcli saves.
PIPELINE_TAGS = {
    "AutoModelForMaskedLM": "fill-mask",
    "AutoModelForSequenceClassification": "text-classification",
    "AutoModelForQuestionAnswering": "question-answering",
}


@dataclass(frozen=True)
class CardResult:
    """One evaluation result, as a ``model-index`` entry: a metric on a dataset's split for a task."""

    task_type: str
    task_name: str
    dataset_type: str
    dataset_name: str
    dataset_config: str | None
    dataset_split: str | None
    metric_type: str
    metric_name: str
    value: float


def base_model_id(spec: str | None) -> str | None:
    """``spec`` as a Hub model id for ``base_model``: an alias's id, a hub id itself; a local folder has none.

    The Hub refuses a card whose ``base_model`` is not a model id, so local paths stay in the prose only.
    """
    from distilcli.models.aliases import ALIASES
    from distilcli.models.resolve import hub_id_of

    if not spec:
        return None
    if spec in ALIASES:
        return ALIASES.get(spec).hub_id
    return hub_id_of(spec)


def is_sentence_encoder(folder: str | Path) -> bool:
    """Whether ``folder`` holds sentence-transformers files (``modules.json``): its students keep them."""
    return (Path(folder) / "modules.json").is_file()


def layer_choice_facts(choice: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The card line saying how ``--layer-map auto`` chose the layers (none for a map given by hand)."""
    if not choice:
        return []
    uniform = ",".join(map(str, choice["uniform_map"]))
    return [
        (
            "layers chosen by",
            f"{choice['method']} {choice['coverage']:.3f} (evenly spread {uniform}: {choice['uniform_coverage']:.3f})",
        )
    ]


def render_model_card(
    title: str,
    summary: str,
    facts: list[tuple[str, str]],
    usage_path: str,
    tags: list[str],
    auto_class: str = "AutoModelForMaskedLM",
    *,
    base_model: str | None = None,
    datasets: list[str] | None = None,
    sentence_encoder: bool = False,
) -> str:
    """A Hugging Face model card: Hub metadata, then a title, a facts table and how to load the model.

    ``base_model`` is what the model was made from (the teacher, or the fine-tuned-from model), as typed:
    it goes into the metadata only when it is a Hub id (see :func:`base_model_id`).
    ``sentence_encoder``: the folder is also a sentence-transformers one (a sentence encoder's
    student), so the Hub should offer sentence similarity, not the fill-mask widget of an MLM head
    that was never trained.
    """
    from huggingface_hub import ModelCard, ModelCardData

    extra_tags = ["sentence-transformers", "sentence-similarity"] if sentence_encoder else []
    data = ModelCardData(
        base_model=base_model_id(base_model),
        library_name="sentence-transformers" if sentence_encoder else "transformers",
        tags=list(dict.fromkeys([*BASE_TAGS, *tags, *extra_tags])),
        datasets=list(dict.fromkeys(datasets)) if datasets else None,
        pipeline_tag="sentence-similarity" if sentence_encoder else PIPELINE_TAGS.get(auto_class),
    )
    lines = [f"# {title}", "", summary, "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in facts]
    lines += ["", "## Loading", "", "```python"]
    if sentence_encoder:
        lines += [
            "from sentence_transformers import SentenceTransformer",
            "",
            f'encoder = SentenceTransformer("{usage_path}")  # the teacher\'s pooling and normalisation',
            'embeddings = encoder.encode(["A first sentence.", "A second one."])',
            "",
        ]
    lines += [
        f"from transformers import {auto_class}, AutoTokenizer",
        "",
        f'model = {auto_class}.from_pretrained("{usage_path}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{usage_path}")',
        "```",
        "",
    ]
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))
    return str(card)


def write_model_card(folder: Path, text: str) -> None:
    """Write ``text`` as ``folder``'s README.md (atomically)."""
    from distilcli.fsutil import atomic_write_text

    atomic_write_text(Path(folder) / CARD_FILE, text)


def check_card_folder(model: str | Path, flag: str = "--update-card") -> Path:
    """The local model folder whose card ``flag`` will update; anything else is :class:`BadInput`, before any work.

    Only a folder the user named is written: never a packaged alias or a hub cache.
    """
    folder = Path(model).expanduser()
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise BadInput(f"{flag}: model {model} is not a local model folder: its card can only be written there")
    card = folder / CARD_FILE
    if not os.access(folder, os.W_OK) or (card.exists() and not os.access(card, os.W_OK)):
        raise BadInput(f"{flag}: cannot write {card}: no permission")
    if card.exists():
        _load(card)  # a card we could not parse would be lost: refuse now, not after the evaluation
    return folder


def _load(card: Path) -> ModelCard:
    from huggingface_hub import ModelCard

    try:
        return ModelCard.load(card)
    except Exception as exc:  # noqa: BLE001 - the Hub's parser raises several types for bad metadata
        raise BadInput(
            f"{card}: its metadata cannot be parsed ({type(exc).__name__}: {exc}); fix or remove it"
        ) from None


def update_card_results(folder: str | Path, results: list[CardResult]) -> Path:
    """Write ``results`` into ``folder``'s card as ``model-index`` entries, atomically; return the card's path.

    An earlier entry of the same task, dataset (type, config, split) and metric is replaced, not repeated;
    other entries and the card's text are kept. A folder without a card gets a minimal one.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    folder = Path(folder)
    path = folder / CARD_FILE
    if path.exists():
        card = _load(path)
    else:
        data = ModelCardData(library_name="transformers", tags=list(BASE_TAGS))
        card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n# {folder.resolve().name}\n")
    new = [
        EvalResult(
            task_type=r.task_type,
            task_name=r.task_name,
            dataset_type=r.dataset_type,
            dataset_name=r.dataset_name,
            dataset_config=r.dataset_config,
            dataset_split=r.dataset_split,
            metric_type=r.metric_type,
            metric_name=r.metric_name,
            metric_value=r.value,
        )
        for r in results
    ]
    replaced = {_result_key(n) for n in new}
    kept = [old for old in card.data.eval_results or [] if _result_key(old) not in replaced]
    card.data.eval_results = kept + new
    # model-index needs a name; keep the card's own, else the folder's.
    card.data.model_name = card.data.model_name or folder.resolve().name
    write_model_card(folder, str(card))
    return path


def _result_key(result: Any) -> tuple[Any, ...]:
    """What makes two results the same measurement: task, dataset (type, config, split) and metric."""
    return (result.task_type, result.dataset_type, result.dataset_config, result.dataset_split, result.metric_type)


def card_metadata(folder: str | Path) -> dict[str, Any]:
    """The card's metadata as a dict (what the Hub reads), or {} when the folder has no card."""
    path = Path(folder) / CARD_FILE
    return _load(path).data.to_dict() if path.exists() else {}
