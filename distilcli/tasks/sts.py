"""Sentence pairs with a similarity score, for zero-shot STS: STS-B dev or a file of the user's.

STS-B dev comes from the GLUE sources (``--glue-dir`` TSV or ``--hub-dir`` parquet); a file is
TSV, CSV or JSONL with the columns ``sentence1``, ``sentence2`` and ``score`` (``label`` is
accepted for the score, as the hub's STS-B names it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distilcli.errors import BadInput
from distilcli.tasks.glue.readers import read_custom
from distilcli.tasks.glue.sources import load_task_split


@dataclass(frozen=True)
class StsPairs:
    """Pairs of sentences and their gold similarity, with where they came from."""

    sentence1: list[str]
    sentence2: list[str]
    scores: list[float]
    source: str

    def __len__(self) -> int:
        return len(self.scores)

    def sentences(self) -> list[str]:
        """Every distinct sentence once, in first-seen order (each is embedded once)."""
        return list(dict.fromkeys(self.sentence1 + self.sentence2))


def _score_column(path: Path) -> str:
    """``score``, or ``label`` when the file's header names no score (the hub's STS-B layout)."""
    head = path.read_text(encoding="utf-8", errors="replace")[:4096].splitlines()[:1]
    return "label" if head and "score" not in head[0] and "label" in head[0] else "score"


def load_pairs(*, pairs: Path | None = None, glue_dir: Path | None = None, hub_dir: Path | None = None) -> StsPairs:
    """The pairs of ``pairs`` (a file), else STS-B dev from ``glue_dir`` or ``hub_dir``; BadInput when none is given
    or found."""
    if pairs is not None:
        path = Path(pairs)
        if not path.is_file():
            raise BadInput(f"--pairs {path}: no such file")
        examples = read_custom(path, "sentence1", "sentence2", _score_column(path), None)
        source = str(path)
    elif glue_dir is not None or hub_dir is not None:
        split = load_task_split("stsb", "dev", glue_dir=glue_dir, hub_dir=hub_dir)
        if split is None:
            raise BadInput(
                f"no STS-B dev set under {glue_dir or hub_dir}: expected STS-B/dev.tsv (GLUE) or stsb/ parquet (hub)"
            )
        examples, source = split.examples, split.source
    else:
        raise BadInput(
            "no pairs to score: pass --glue-dir (STS-B dev), --hub-dir, or --pairs FILE (sentence1, sentence2, score)"
        )
    if len(examples) < 3:
        raise BadInput(f"{source} has {len(examples)} pair(s): a correlation needs at least 3")
    scores = [float(example.label) for example in examples]  # read_custom / the GLUE readers require labels
    if len(set(scores)) == 1:
        raise BadInput(f"{source}: every gold score is {scores[0]}: a correlation needs scores that vary")
    return StsPairs([e.text_a for e in examples], [e.text_b or "" for e in examples], scores, source)
