"""The real inputs the export is checked on: the task's dev set when given, else built-in English sentences."""

from __future__ import annotations

from dataclasses import dataclass, replace

from distilcli.errors import BadInput
from distilcli.export.config import CLASSIFIER, ExportConfig
from distilcli.export.source import ExportSource
from distilcli.tasks.glue.features import Features, encode
from distilcli.tasks.glue.sources import load_task_split
from distilcli.tasks.glue.spec import GlueExample
from distilcli.tasks.sts import StsPairs, load_pairs
from distilcli.training.run_files import subsample

#: Sentences of several lengths and kinds (so batches pad), for the check when no dev set is given.
SENTENCES = (
    "A small model can be fast and still good.",
    "The film was a delight from beginning to end, and the music carried every scene.",
    "I would not watch it again.",
    "Rain is expected in the north of the country tomorrow afternoon.",
    "The committee approved the budget after a long debate about schools, roads and the new hospital.",
    "Where is the nearest train station?",
    "He said the meeting had been moved to Thursday.",
    "Distillation trains a student to imitate its teacher's outputs.",
    "The soup was cold and the service slow.",
    "Scientists measured the river's temperature every hour for a year.",
    "What a waste of two hours.",
    "Our team released the second version of the library with faster tokenisation and fewer dependencies.",
    "Cats sleep for most of the day.",
    "The bridge was closed for repairs, so the buses took the long way round.",
    "An honest, funny and moving story about growing up.",
    "Please send the report before noon.",
    "Prices rose by three percent in the last quarter, the highest increase in two years.",
    "The garden is full of light in the morning.",
    "She plays the piano better than anyone I know.",
    "It is neither clever nor entertaining.",
    "The museum opens at nine and closes at five, except on public holidays.",
    "Two dogs ran across the field.",
    "Nobody expected the final chapter to be so good.",
    "The printer on the third floor is out of paper again.",
)


@dataclass
class CheckData:
    """What the graph and PyTorch both run on, and the gold labels or scores when there are any."""

    description: str
    features: Features
    #: A classifier's dev examples (their labels score it), when a dev set was given.
    examples: list[GlueExample] | None = None
    #: A sentence encoder's STS pairs (their gold scores score it), when given; ``features`` are their sentences.
    pairs: StsPairs | None = None
    texts: list[str] | None = None
    total: int | None = None  # the dev set's size, when --limit scored a subsample


def _single(texts: list[str] | tuple[str, ...]) -> list[GlueExample]:
    return [GlueExample(i, text, None, None, None) for i, text in enumerate(texts)]


def _builtin_examples(source: ExportSource) -> list[GlueExample]:
    """The built-in sentences, paired with the next one for a pair task (MRPC, RTE, STS-B ...)."""
    if source.task is None or source.task.hub_text_b is None:
        return _single(SENTENCES)
    n = len(SENTENCES)
    return [GlueExample(i, SENTENCES[i], SENTENCES[(i + 1) % n], None, None) for i in range(n)]


def check_data(cfg: ExportConfig, source: ExportSource) -> CheckData:
    """The check's inputs, read (and a bad dev file refused) before any weight is loaded."""
    encoding = (source.tokenizer, source.adapter, source.seq_length)
    if source.kind == CLASSIFIER:
        if not cfg.has_data:
            examples = _builtin_examples(source)
            return CheckData(f"{len(examples)} built-in sentences", encode(examples, *encoding))
        assert source.task is not None  # inspect_source: data needs a task
        task = source.task
        split = load_task_split(task, "dev", glue_dir=cfg.glue_dir, hub_dir=cfg.hub_dir, file=cfg.dev_file)
        if split is None:
            raise BadInput(
                f"no {task.display_name} dev set under {cfg.glue_dir or cfg.hub_dir}: "
                f"expected {task.folder}/{task.dev_file}"
            )
        if not split.examples:
            raise BadInput(f"{split.source}: no examples in the {task.display_name} dev data")
        total = len(split.examples)
        examples = [split.examples[i] for i in subsample(total, cfg.limit)]
        of = f" of {total:,}" if len(examples) < total else ""
        described = f"{task.display_name} dev, {len(examples):,}{of} examples ({split.source})"
        return CheckData(described, encode(examples, *encoding), examples=examples, total=total)
    if not (source.sts and cfg.has_data):
        return CheckData(
            f"{len(SENTENCES)} built-in sentences", encode(_single(SENTENCES), *encoding), texts=list(SENTENCES)
        )
    pairs = load_pairs(pairs=cfg.dev_file, glue_dir=cfg.glue_dir, hub_dir=cfg.hub_dir)
    total = len(pairs)
    keep = subsample(total, cfg.limit)
    pairs = replace(
        pairs,
        sentence1=[pairs.sentence1[i] for i in keep],
        sentence2=[pairs.sentence2[i] for i in keep],
        scores=[pairs.scores[i] for i in keep],
    )
    texts = pairs.sentences()
    of = f" of {total:,}" if len(pairs) < total else ""
    described = f"STS-B pairs, {len(pairs):,}{of} ({len(texts):,} sentences, {pairs.source})"
    return CheckData(described, encode(_single(texts), *encoding), pairs=pairs, texts=texts, total=total)
