"""The new inputs of a task distillation: augmented copies and transfer text, made once and kept in the run folder.

``--augment N`` makes N copies of every training example with :mod:`distilcli.data.augment`'s
rules; the words to replace get candidates from the teacher's own input embeddings (the 15
nearest whole-word vocabulary entries by cosine, TinyBERT's candidate count), or from a masked LM
given with ``--augment-mlm`` (one forward pass per new sentence, every replaced word masked at
once). ``--transfer-corpus`` adds unlabeled text as further inputs (pair tasks pair consecutive
sentences). New inputs have no gold label (``label`` None): only the teacher labels them.

The set is written to ``augmented.jsonl`` in the run folder (with a readable sample in
``augmented-sample.md``) and read back on ``--resume``, so a resumed run trains on the same inputs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli import progress
from distilcli.data.augment import AugmentRules, Plan, TableReplacer, augment_texts, words_of
from distilcli.errors import BadInput
from distilcli.fsutil import atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.distill.config import DistillConfig

AUGMENTED_FILE = "augmented.jsonl"
SAMPLE_FILE = "augmented-sample.md"
#: Candidates per word: TinyBERT's K.
CANDIDATES = 15


@dataclass
class NewInput:
    """One new training input: its text, how it was made, and the original it came from (None: transfer text)."""

    text_a: str
    text_b: str | None
    source: str  # "augment" or "transfer"
    of: int | None


def rules_of(cfg: DistillConfig) -> AugmentRules:
    """The augmentation rules the options describe."""
    return AugmentRules(
        count=cfg.augment,
        p_mask=cfg.augment_mask,
        p_replace=cfg.augment_replace,
        p_delete=cfg.augment_delete,
        p_ngram=cfg.augment_ngram,
        seed=cfg.seed,
    )


def check_options(cfg: DistillConfig) -> None:
    """Augmentation options and the transfer corpus, before any model is read."""
    from distilcli.data.corpus import CorpusSpec, check_corpus

    problems = rules_of(cfg).check()
    if problems:
        raise BadInput(problems[0])
    if cfg.augment_mlm and cfg.augment == 0:
        raise BadInput("--augment-mlm gives candidates for --augment: add --augment N (new inputs per example)")
    layer_losses = cfg.alpha_hidden or cfg.alpha_attention or cfg.alpha_pkd
    if (cfg.augment or cfg.transfer_corpus) and not cfg.alpha_ce:
        flag = "--augment" if cfg.augment else "--transfer-corpus"
        if not layer_losses:
            raise BadInput(
                f"{flag} adds inputs only the teacher labels, and --alpha-ce 0 with no layer loss learns nothing "
                f"from them: set --alpha-ce above 0, or leave {flag} out"
            )
        if cfg.intermediate_epochs:
            # The prediction stage has no layer loss, so its passes over the new inputs would train nothing.
            raise BadInput(
                f"{flag} with --intermediate-epochs: the prediction stage learns from the new inputs only through "
                "--alpha-ce, and it is 0: set --alpha-ce above 0, or drop --intermediate-epochs"
            )
    if cfg.transfer_corpus:
        check_corpus(CorpusSpec(str(cfg.transfer_corpus), cfg.text_field, "sentence"))


# -- candidates ------------------------------------------------------------------------------------


def whole_word_ids(tokenizer: Any) -> list[int]:
    """Vocabulary entries that are whole alphabetic words (no ``##`` pieces, special or unused tokens)."""
    special = set(tokenizer.all_special_ids)
    ids = []
    for token, index in tokenizer.get_vocab().items():
        if index in special or token.startswith(("##", "[", "<")):
            continue
        word = token.lstrip("Ġ▁")  # BPE / SentencePiece word starts
        if len(word) > 1 and word.isalpha():
            ids.append(index)
    return sorted(ids)


def single_piece_words(words: set[str], tokenizer: Any) -> dict[str, int]:
    """The words of ``words`` that the tokenizer keeps as one vocabulary entry (other words are never replaced)."""
    found = {}
    for word in sorted(words):
        if not word[:1].isalpha():
            continue
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(ids) == 1 and ids[0] != tokenizer.unk_token_id:
            found[word] = ids[0]
    return found


def embedding_neighbours(embeddings: Any, tokenizer: Any, words: set[str], k: int = CANDIDATES) -> dict[str, list[str]]:
    """Each single-piece word of ``words`` -> its ``k`` nearest whole words by cosine of the input embeddings."""
    import torch

    pool = whole_word_ids(tokenizer)
    pieces = single_piece_words(words, tokenizer)
    if not pieces or not pool:
        return {}
    table = torch.nn.functional.normalize(embeddings.detach().float(), dim=-1)
    pool_vectors = table[pool]
    names = tokenizer.convert_ids_to_tokens(pool)
    neighbours: dict[str, list[str]] = {}
    items = list(pieces.items())
    for start in range(0, len(items), 1024):
        chunk = items[start : start + 1024]
        scores = table[[i for _, i in chunk]] @ pool_vectors.T
        top = scores.topk(min(k + 1, len(pool)), dim=-1).indices.tolist()
        for (word, index), row in zip(chunk, top):
            close = [names[j].lstrip("Ġ▁") for j in row if pool[j] != index]
            neighbours[word] = [w for w in close if w.lower() != word.lower()][:k]
    return neighbours


class MaskedLMReplacer:
    """Candidates from a masked LM: each new sentence masked at its replaced words, one batched forward pass per
    sentence."""

    def __init__(self, model: Any, tokenizer: Any, k: int = CANDIDATES, batch_size: int = 64) -> None:
        self.model, self.tokenizer, self.k, self.batch_size = model, tokenizer, k, batch_size
        self.pieces: dict[str, int] = {}

    def choose(self, plans: Sequence[Plan], rngs: Sequence[random.Random]) -> list[list[str | None]]:
        import torch

        tokenizer = self.tokenizer
        self.pieces.update(
            single_piece_words({p.words[i] for p in plans for i in p.replace} - set(self.pieces), tokenizer)
        )
        chosen: list[list[str | None]] = [[None] * len(plan.replace) for plan in plans]
        todo = [n for n, plan in enumerate(plans) if any(plan.words[i] in self.pieces for i in plan.replace)]
        for start in range(0, len(todo), self.batch_size):
            rows = todo[start : start + self.batch_size]
            targets = [[j for j, i in enumerate(plans[n].replace) if plans[n].words[i] in self.pieces] for n in rows]
            masked = []
            for n, mine in zip(rows, targets):
                words = list(plans[n].words)
                for j in mine:
                    words[plans[n].replace[j]] = tokenizer.mask_token
                masked.append(words)
            # Words, not text: each target word is one token, found through word_ids (a mask-op word is not a target).
            encoded = tokenizer(
                masked, is_split_into_words=True, return_tensors="pt", padding=True, truncation=True, max_length=128
            )
            with torch.no_grad():
                logits = self.model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits
            for row, (n, mine) in enumerate(zip(rows, targets)):
                token_of = {w: t for t, w in reversed(list(enumerate(encoded.word_ids(row)))) if w is not None}
                for j in mine:
                    position = token_of.get(plans[n].replace[j])
                    if position is None:  # cut by truncation
                        continue
                    original = self.pieces[plans[n].words[plans[n].replace[j]]]
                    top = [t for t in logits[row, position].topk(self.k + 1).indices.tolist() if t != original]
                    words = [
                        w
                        for w in tokenizer.convert_ids_to_tokens(top)
                        if w.lstrip("Ġ▁").isalpha() and not w.startswith("##")
                    ][: self.k]
                    chosen[n][j] = rngs[n].choice(words).lstrip("Ġ▁") if words else None
        return chosen


def load_masked_lm(spec: str) -> tuple[Any, Any]:
    """``--augment-mlm``: a model with a trained masked-LM head and its tokenizer, or exit 2 saying why not."""
    from distilcli.models.loading import load_mlm_model, load_tokenizer

    loaded = load_mlm_model(spec)
    if not loaded.has_trained_mlm_head:
        raise BadInput(
            f"--augment-mlm {spec}: it has no trained masked-LM head, so its guesses would be noise: "
            "give a masked LM (e.g. bert-base-uncased), or leave the option out to use the teacher's "
            "embedding neighbours"
        )
    tokenizer = load_tokenizer(loaded.ref)
    if tokenizer is None or tokenizer.mask_token is None:
        raise BadInput(f"--augment-mlm {spec}: no tokenizer with a mask token in {loaded.ref.path}")
    return loaded.model, tokenizer


# -- the new inputs ------------------------------------------------------------------------------------


def transfer_inputs(cfg: DistillConfig, pairs: bool) -> list[NewInput]:
    """The transfer corpus as sentences (pair tasks: consecutive sentences paired)."""
    from distilcli.data.corpus import CorpusSpec, read_documents

    assert cfg.transfer_corpus is not None
    sentences = [
        s
        for s in read_documents(CorpusSpec(str(cfg.transfer_corpus), cfg.text_field, "sentence"))
        if len(words_of(s)) >= 3
    ]
    if not sentences:
        raise BadInput(
            f"--transfer-corpus {cfg.transfer_corpus}: no sentence of three words or more: give a corpus with text"
        )
    if not pairs:
        return [NewInput(s, None, "transfer", None) for s in sentences]
    return [NewInput(a, b, "transfer", None) for a, b in zip(sentences[0::2], sentences[1::2])]


def make_new_inputs(cfg: DistillConfig, examples: Sequence[Any], teacher_model: Any, tokenizer: Any) -> list[NewInput]:
    """Augmented copies of ``examples`` and transfer text, as the options ask (deterministic for the seed)."""
    made: list[NewInput] = []
    if cfg.augment > 0:
        texts = [(e.text_a, e.text_b) for e in examples]
        if cfg.augment_mlm:
            model, mlm_tokenizer = load_masked_lm(cfg.augment_mlm)
            replacer: Any = MaskedLMReplacer(model, mlm_tokenizer)
            mask = mlm_tokenizer.mask_token
        else:
            words = {w for a, b in texts for w in words_of(a) + (words_of(b) if b else [])}
            embeddings = teacher_model.get_input_embeddings().weight
            lowercase = bool(getattr(tokenizer, "do_lower_case", False))
            table = embedding_neighbours(embeddings, tokenizer, {w.lower() for w in words} if lowercase else words)
            replacer = TableReplacer(table, lowercase)
            mask = tokenizer.mask_token or "[MASK]"
        # The mask token the teacher reads: the teacher's own, even when a masked LM picks the words.
        copies = augment_texts(texts, rules_of(cfg), replacer, tokenizer.mask_token or mask)
        made.extend(NewInput(a, b, "augment", i) for i, rows in enumerate(copies) for a, b in rows)
    if cfg.transfer_corpus:
        made.extend(transfer_inputs(cfg, pairs=bool(examples) and examples[0].text_b is not None))
    return made


def save_new_inputs(out: Path, inputs: list[NewInput], originals: Sequence[Any]) -> None:
    """``augmented.jsonl`` (every new input) and ``augmented-sample.md`` (a few originals beside their copies)."""
    lines = [json.dumps({"text_a": x.text_a, "text_b": x.text_b, "source": x.source, "of": x.of}) for x in inputs]
    atomic_write_text(out / AUGMENTED_FILE, "\n".join(lines) + ("\n" if lines else ""))
    by_original: dict[int, list[NewInput]] = {}
    for x in inputs:
        if x.of is not None and len(by_original.setdefault(x.of, [])) < 4:
            by_original[x.of].append(x)
    sample = [
        "# New inputs (labelled by the teacher only)",
        "",
        f"{len(inputs)} new inputs; the first originals with up to 4 copies each.",
        "",
    ]
    for i in sorted(by_original)[:12]:
        sample.append(f"- **original:** {_shown(originals[i].text_a, originals[i].text_b)}")
        sample.extend(f"  - {_shown(x.text_a, x.text_b)}" for x in by_original[i])
    transfer = [x for x in inputs if x.source == "transfer"][:5]
    if transfer:
        sample += ["", "Transfer text:"] + [f"- {_shown(x.text_a, x.text_b)}" for x in transfer]
    atomic_write_text(out / SAMPLE_FILE, "\n".join(sample) + "\n")


def load_new_inputs(out: Path) -> list[NewInput] | None:
    """The new inputs an earlier run of this folder made (None when it made none)."""
    path = out / AUGMENTED_FILE
    if not path.is_file():
        return None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [NewInput(r["text_a"], r["text_b"], r["source"], r["of"]) for r in rows]


def _shown(text_a: str, text_b: str | None) -> str:
    return text_a if text_b is None else f"{text_a} ‖ {text_b}"


def prepare_new_inputs(
    cfg: DistillConfig, examples: Sequence[Any], teacher_model: Any, tokenizer: Any
) -> list[NewInput]:
    """This run's new inputs: read back on --resume, else made (and saved by the main process)."""
    import time

    from distilcli.training.runtime import is_main_process

    if cfg.augment == 0 and not cfg.transfer_corpus:
        return []
    out = Path(cfg.out)
    if cfg.resume:
        found = load_new_inputs(out)
        if found is not None:
            progress.log(f"new inputs: {len(found)} read back from {out / AUGMENTED_FILE}")
            return found
    start = time.perf_counter()
    made = make_new_inputs(cfg, examples, teacher_model, tokenizer)
    if is_main_process():
        save_new_inputs(out, made, examples)
    augmented = sum(x.source == "augment" for x in made)
    progress.log(
        f"new inputs: {augmented} augmented, {len(made) - augmented} transfer, "
        f"made in {time.perf_counter() - start:.1f} s"
    )
    return made
