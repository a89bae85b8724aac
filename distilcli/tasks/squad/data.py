"""SQuAD v1.1 and v2.0: the official JSON files and the hub's ``rajpurkar/squad(_v2)``.

Every reader returns :class:`SquadExample` rows, one per question, in file order. A file
that is not JSON, or a record missing a field, raises :class:`BadInput` naming the file
and the record (article, paragraph, question id), before any model is read.

The readers never need a particular folder: callers pass the user's own copy, or use
:func:`load_squad_hub` where the Hugging Face hub is reachable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distilcli.errors import BadInput, first_line
from distilcli.models.loading import quiet_hub


@dataclass(frozen=True)
class SquadTask:
    """SQuAD v1.1 (every question has an answer) or v2.0 (some have none)."""

    name: str
    display_name: str
    version_2: bool
    hub_dataset: str
    #: The metric the best checkpoint is chosen by, as the official script names it.
    primary_metric: str = "f1"
    is_regression: bool = False

    @property
    def metrics(self) -> tuple[str, ...]:
        return ("exact", "f1") if self.version_2 else ("exact_match", "f1")


SQUAD = SquadTask("squad", "SQuAD v1.1", False, "rajpurkar/squad")
SQUAD_V2 = SquadTask("squad_v2", "SQuAD v2.0", True, "rajpurkar/squad_v2")
_NAMES = {
    "squad": SQUAD,
    "squad1": SQUAD,
    "squad11": SQUAD,
    "squadv1": SQUAD,
    "squadv11": SQUAD,
    "squad2": SQUAD_V2,
    "squadv2": SQUAD_V2,
    "squad20": SQUAD_V2,
    "squadv20": SQUAD_V2,
}


def squad_task(name: str | SquadTask) -> SquadTask | None:
    """``squad``, ``squad_v2``, ``SQuAD-v2.0`` ... as a :class:`SquadTask`; None for other names."""
    if isinstance(name, SquadTask):
        return name
    key = "".join(ch for ch in str(name).lower() if ch.isalnum())
    return _NAMES.get(key)


@dataclass(frozen=True)
class Answer:
    text: str
    #: Character offset of the answer in the context.
    start: int


@dataclass(frozen=True)
class SquadExample:
    """One question about one paragraph."""

    id: str
    title: str
    question: str
    context: str
    answers: tuple[Answer, ...]
    is_impossible: bool = False
    #: 0-based index of the article in the file (for article splits and error messages).
    article: int = 0

    @property
    def answer_texts(self) -> list[str]:
        return [answer.text for answer in self.answers]

    def misaligned(self) -> bool:
        """The first answer's text is not at its ``answer_start`` in the context (training needs it there)."""
        if not self.answers:
            return False
        first = self.answers[0]
        return self.context[first.start : first.start + len(first.text)] != first.text


@dataclass
class SquadSplit:
    """A split's questions with where they came from."""

    task: SquadTask
    split: str  # "train" or "dev"
    examples: list[SquadExample]
    source: str
    kind: str = "json"
    #: Articles in the file (questions are grouped in them).
    articles: int = 0


def _field(record: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(record, Mapping):
        raise BadInput(f"{where}: expected a JSON object, found {type(record).__name__}")
    if name not in record:
        raise BadInput(f"{where}: missing field {name!r}")
    value = record[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise BadInput(f"{where}: field {name!r} should be {expected}, found {type(value).__name__}")
    return value


def _answers(qa: Mapping[str, Any], context: str, where: str, required: bool) -> tuple[Answer, ...]:
    raw = qa.get("answers", None if required else [])
    if raw is None:
        raise BadInput(f"{where}: missing field 'answers'")
    if not isinstance(raw, list):
        raise BadInput(f"{where}: field 'answers' should be a list, found {type(raw).__name__}")
    answers = []
    for k, answer in enumerate(raw):
        at = f"{where} answer {k}"
        text = _field(answer, "text", str, at)
        if not text.strip():
            raise BadInput(f"{at}: the answer text is empty")
        start = _field(answer, "answer_start", int, at)
        if not 0 <= start <= len(context):
            raise BadInput(f"{at}: answer_start {start} is outside the context ({len(context)} characters)")
        answers.append(Answer(text, start))
    return tuple(answers)


def parse_squad(data: Any, source: str, task: SquadTask | None = None) -> tuple[list[SquadExample], int]:
    """The questions of an official SQuAD document (``{"version": ..., "data": [...]}``) and its article count.

    ``is_impossible`` questions (v2.0) keep empty answers. Answers are required for every
    question that is not impossible: the files we read are labelled train or dev files.
    """
    articles = _field(data, "data", list, source)
    examples: list[SquadExample] = []
    seen: set[str] = set()
    for a, article in enumerate(articles):
        title = article.get("title", "") if isinstance(article, Mapping) else ""
        at_article = f"{source}: article {a}" + (f" ({title!r})" if title else "")
        paragraphs = _field(article, "paragraphs", list, at_article)
        for p, paragraph in enumerate(paragraphs):
            at_paragraph = f"{at_article} paragraph {p}"
            context = _field(paragraph, "context", str, at_paragraph)
            if not context.strip():
                raise BadInput(f"{at_paragraph}: the context is empty")
            for q, qa in enumerate(_field(paragraph, "qas", list, at_paragraph)):
                qid = qa.get("id") if isinstance(qa, Mapping) else None
                where = f"{at_paragraph} question {qid!r}" if isinstance(qid, str) else f"{at_paragraph} question {q}"
                qid = _field(qa, "id", str, where)
                question = _field(qa, "question", str, where)
                impossible = qa.get("is_impossible", False)
                if not isinstance(impossible, bool):
                    raise BadInput(f"{where}: field 'is_impossible' should be true or false")
                answers = _answers(qa, context, where, required=not impossible)
                if not impossible and not answers:
                    raise BadInput(f"{where}: no answers and not marked is_impossible")
                if impossible and task is not None and not task.version_2:
                    raise BadInput(
                        f"{where}: an unanswerable question (is_impossible) in a SQuAD v1.1 task: use --task squad_v2"
                    )
                if qid in seen:
                    raise BadInput(f"{where}: question id {qid!r} appears twice")
                seen.add(qid)
                examples.append(
                    SquadExample(qid, str(title), question, context, () if impossible else answers, impossible, a)
                )
    return examples, len(articles)


def read_squad_json(path: str | Path, task: SquadTask | None = None, split: str = "dev") -> SquadSplit:
    """Read an official SQuAD JSON file (v1.1 or v2.0)."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text ({first_line(exc)})") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    examples, articles = parse_squad(data, str(path), task)
    version = str(data.get("version", "")) if isinstance(data, Mapping) else ""
    resolved = task or (SQUAD_V2 if version.startswith("v2") or any(e.is_impossible for e in examples) else SQUAD)
    return SquadSplit(resolved, split, examples, str(path), "json", articles)


def load_squad_hub(task: SquadTask, split: str = "validation") -> SquadSplit:
    """The hub's ``rajpurkar/squad`` / ``rajpurkar/squad_v2`` split; BadInput when unreachable."""
    import datasets

    quiet_hub()
    try:
        dataset = datasets.load_dataset(task.hub_dataset, split=split)
    except Exception as exc:  # noqa: BLE001 - offline, unknown split, hub outage: one line for the user
        raise BadInput(
            f"cannot load {task.hub_dataset} split {split!r} from the Hugging Face hub ({first_line(exc)}); "
            "pass the official JSON file with --train-file / --dev-file instead"
        ) from None
    source = f"{task.hub_dataset}[{split}]"
    examples, titles = [], {}
    for row in dataset:
        texts, starts = row["answers"]["text"], row["answers"]["answer_start"]
        article = titles.setdefault(row["title"], len(titles))
        answers = tuple(Answer(t, int(s)) for t, s in zip(texts, starts, strict=True))
        examples.append(
            SquadExample(row["id"], row["title"], row["question"], row["context"], answers, not answers, article)
        )
    if not task.version_2 and any(e.is_impossible for e in examples):
        raise BadInput(f"{source}: has unanswerable questions: use --task squad_v2")
    return SquadSplit(task, "dev" if split == "validation" else split, examples, source, "hub", len(titles))


def load_squad_split(task: SquadTask, split: str, file: str | Path | None, use_hub: bool) -> SquadSplit | None:
    """``split`` ("train" or "dev") from ``file``, else the hub when ``use_hub``, else None."""
    if file is not None:
        loaded = read_squad_json(file, task, split)
        if not loaded.examples:
            raise BadInput(f"{file}: no questions in this SQuAD file")
        return loaded
    if use_hub:
        return load_squad_hub(task, "train" if split == "train" else "validation")
    return None
