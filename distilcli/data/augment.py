"""Rule-based text augmentation for task distillation: new inputs the teacher will label.

Small task sets leave a student too few inputs to learn its teacher's function from; TinyBERT
(Jiao et al. 2020) and Tang et al. (2019) multiply them with perturbed copies that the teacher
labels. The operations here need no external resource (no GloVe, no tagger):

* **mask** (Tang et al., p 0.1): a word becomes the tokenizer's mask token;
* **replace** (TinyBERT's, p 0.4 there): a word becomes one of its candidates, given by a
  :class:`Replacer` (the teacher's own input-embedding neighbours, or a masked LM's guesses);
* **delete** (EDA, Wei & Zou 2019): a word is dropped;
* **n-gram** (Tang et al., p 0.25, n 1–5): the whole input becomes one random n-gram of its words.
  Only single-sentence inputs: half a sentence pair out of a premise says nothing of the task.

Every word draws one operation (mask, then replace, then delete, by their probabilities; at most
one each). Pairs are augmented segment by segment and stay pairs. Randomness comes from
``random.Random`` seeded by ``(seed, example, copy)``, so a run is reproducible and each copy is
independent of how many others are made. New inputs never carry a label: the teacher gives them one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: A word: letters/digits (with an inner apostrophe, "don't"), or one punctuation mark.
_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
#: Copies that came out identical to their original are drawn again, at most this many times.
_RETRIES = 4


@dataclass(frozen=True)
class AugmentRules:
    """How many new inputs per example, and each operation's probability (per word; n-gram per input)."""

    count: int
    p_mask: float = 0.1
    p_replace: float = 0.3
    p_delete: float = 0.0
    p_ngram: float = 0.25
    ngram_max: int = 5
    seed: int = 42

    def check(self) -> list[str]:
        """The problems of these rules, as option names with what is wrong (empty when fine)."""
        problems = []
        if self.count < 0:
            problems.append(f"--augment {self.count}: the count of new inputs per example must be >= 0")
        for name, p in (
            ("mask", self.p_mask),
            ("replace", self.p_replace),
            ("delete", self.p_delete),
            ("ngram", self.p_ngram),
        ):
            if not 0.0 <= p <= 1.0:
                problems.append(f"--augment-{name} {p}: a probability must be within 0..1")
        if self.p_mask + self.p_replace + self.p_delete > 1.0:
            problems.append(
                "--augment-mask + --augment-replace + --augment-delete exceed 1: each word takes at most one"
            )
        if self.ngram_max < 1:
            problems.append(f"n-gram length {self.ngram_max} must be >= 1")
        return problems


@dataclass(frozen=True)
class Plan:
    """One copy of one segment before replacement: its words and the positions to replace."""

    words: list[str]
    replace: list[int]


class Replacer(Protocol):
    """Candidates for words: ``choose`` fills each plan's ``replace`` positions (one word each, or None to keep)."""

    def choose(self, plans: Sequence[Plan], rngs: Sequence[random.Random]) -> list[list[str | None]]: ...


def words_of(text: str) -> list[str]:
    """``text`` as words and punctuation marks (joined back with single spaces)."""
    return _WORD.findall(text)


def example_rng(seed: int, example: int, copy: int) -> random.Random:
    """The generator of one copy: a string seed is hashed by SHA-512, so it is stable across runs and machines."""
    return random.Random(f"distilcli-augment:{seed}:{example}:{copy}")


def plan_segment(words: list[str], rules: AugmentRules, rng: random.Random, mask_token: str, single: bool) -> Plan:
    """Draw one copy of a segment: the n-gram cut (single sentences only), masks, deletions and replacement
    positions."""
    if single and len(words) > 1 and rng.random() < rules.p_ngram:
        n = rng.randint(1, min(rules.ngram_max, len(words)))
        start = rng.randint(0, len(words) - n)
        words = words[start : start + n]
    out: list[str] = []
    replace: list[int] = []
    for word in words:
        u = rng.random()
        if u < rules.p_mask:
            out.append(mask_token)
        elif u < rules.p_mask + rules.p_replace and word[:1].isalpha():
            replace.append(len(out))
            out.append(word)
        elif u < rules.p_mask + rules.p_replace + rules.p_delete and len(words) > 1:
            continue
        else:
            out.append(word)
    return Plan(out or list(words), replace if out else [])


def augment_texts(
    texts: Sequence[tuple[str, str | None]], rules: AugmentRules, replacer: Replacer, mask_token: str
) -> list[list[tuple[str, str | None]]]:
    """``rules.count`` new ``(text_a, text_b)`` inputs for each input of ``texts``, in order; pairs stay pairs.

    Deterministic for ``rules.seed``. Every copy is planned first (a plan that changes nothing is
    drawn again, a few times), then the replacer fills all replacement positions in one call, so
    a masked LM runs batched, once per new sentence.
    """
    plans: list[Plan] = []
    rngs: list[random.Random] = []
    shapes: list[int] = []  # segments per example
    for index, (text_a, text_b) in enumerate(texts):
        segments = [words_of(text_a)] + ([words_of(text_b)] if text_b is not None else [])
        shapes.append(len(segments))
        for copy in range(rules.count):
            rng = example_rng(rules.seed, index, copy)
            for _ in range(_RETRIES):
                drawn = [plan_segment(words, rules, rng, mask_token, single=text_b is None) for words in segments]
                if any(plan.replace or plan.words != words for plan, words in zip(drawn, segments)):
                    break
            plans.extend(drawn)
            rngs.extend([rng] * len(drawn))
    filled = iter(_apply(plan, chosen) for plan, chosen in zip(plans, replacer.choose(plans, rngs)))
    results: list[list[tuple[str, str | None]]] = []
    for width in shapes:
        copies = []
        for _ in range(rules.count):
            made = [next(filled) for _ in range(width)]
            copies.append((made[0], made[1] if width > 1 else None))
        results.append(copies)
    return results


def _apply(plan: Plan, chosen: list[str | None]) -> str:
    words = list(plan.words)
    for position, word in zip(plan.replace, chosen):
        if word is not None:
            words[position] = word
    return " ".join(words)


class TableReplacer:
    """Candidates from a table: word -> its nearest words (the teacher's embedding neighbours); lookup lower-cased
    when asked."""

    def __init__(self, table: dict[str, list[str]], lowercase: bool) -> None:
        self.table, self.lowercase = table, lowercase

    def choose(self, plans: Sequence[Plan], rngs: Sequence[random.Random]) -> list[list[str | None]]:
        chosen = []
        for plan, rng in zip(plans, rngs):
            row: list[str | None] = []
            for position in plan.replace:
                word = plan.words[position]
                candidates = self.table.get(word.lower() if self.lowercase else word)
                row.append(rng.choice(candidates) if candidates else None)
            chosen.append(row)
        return chosen
