"""Rule-based augmentation (``distilcli.data.augment``) and its candidates (``distilcli.distill.augmentation``)."""

from __future__ import annotations

import random

import pytest
import torch

from distilcli.data.augment import AugmentRules, Plan, TableReplacer, augment_texts, plan_segment, words_of
from distilcli.distill.augmentation import MaskedLMReplacer, embedding_neighbours, whole_word_ids

TEXTS = [("the good film is a fast book", None), ("a slow river at night", None), ("the dog was bad", None)]
PAIRS = [("the good film is fast", "a slow river at night"), ("the cat and the dog", "music of the world")]
TABLE = {"good": ["fast", "light"], "film": ["book"], "slow": ["bad"], "river": ["water"], "dog": ["cat"]}


def _augment(texts, seed: int, **rules) -> list:
    return augment_texts(texts, AugmentRules(count=4, seed=seed, **rules), TableReplacer(TABLE, lowercase=True), "[MASK]")


def test_deterministic_for_a_seed_and_different_between_seeds() -> None:
    assert _augment(TEXTS, 1) == _augment(TEXTS, 1)
    assert _augment(TEXTS, 1) != _augment(TEXTS, 2)


def test_count_and_order_follow_the_inputs() -> None:
    made = _augment(TEXTS, 3)
    assert [len(copies) for copies in made] == [4, 4, 4]
    # Copies of one example are that example's words, changed: most share a word with it.
    for (text, _), copies in zip(TEXTS, made):
        assert all(set(words_of(a)) & (set(words_of(text)) | {"[MASK]"} | {w for ws in TABLE.values() for w in ws}) for a, _ in copies)


def test_each_copy_is_independent_of_how_many_are_made() -> None:
    few = augment_texts(TEXTS, AugmentRules(count=2, seed=5), TableReplacer(TABLE, True), "[MASK]")
    many = augment_texts(TEXTS, AugmentRules(count=6, seed=5), TableReplacer(TABLE, True), "[MASK]")
    assert [c[:2] for c in many] == few


def test_pairs_keep_both_segments_and_are_never_cut_to_an_ngram() -> None:
    made = _augment(PAIRS, 4, p_ngram=1.0, p_mask=0.0, p_replace=0.0, p_delete=0.0)
    for (a, b), copies in zip(PAIRS, made):
        for new_a, new_b in copies:
            assert new_b is not None
            assert (new_a, new_b) == (a, b)  # n-gram sampling is for single sentences only; nothing else is on


def test_ngram_sampling_keeps_one_contiguous_run_of_one_to_five_words() -> None:
    text = "the a of to and in is was for on with"
    rng = random.Random(0)
    for _ in range(50):
        plan = plan_segment(text.split(), AugmentRules(count=1, p_mask=0, p_replace=0, p_ngram=1.0), rng, "[MASK]", single=True)
        assert 1 <= len(plan.words) <= 5
        assert " ".join(plan.words) in text


def test_every_operation_at_probability_one() -> None:
    words = ["the", "good", "film"]
    rng = random.Random(0)
    assert plan_segment(words, AugmentRules(count=1, p_mask=1.0, p_replace=0, p_ngram=0), rng, "[M]", True).words == ["[M]"] * 3
    replaced = plan_segment(words, AugmentRules(count=1, p_mask=0, p_replace=1.0, p_ngram=0), rng, "[M]", True)
    assert replaced.replace == [0, 1, 2]
    deleted = plan_segment(words, AugmentRules(count=1, p_mask=0, p_replace=0, p_delete=1.0, p_ngram=0), rng, "[M]", True)
    assert deleted.words == words  # deleting every word would leave nothing: the words are kept


def test_replacement_takes_a_candidate_and_leaves_words_without_one() -> None:
    rng = random.Random(0)
    chosen = TableReplacer(TABLE, lowercase=True).choose([Plan(["Good", "zebra"], [0, 1])], [rng])
    assert chosen[0][0] in TABLE["good"]
    assert chosen[0][1] is None


@pytest.mark.parametrize(("rules", "problem"), [
    (AugmentRules(count=-1), "--augment -1"),
    (AugmentRules(count=1, p_mask=1.5), "--augment-mask 1.5"),
    (AugmentRules(count=1, p_mask=0.5, p_replace=0.4, p_delete=0.2), "exceed 1"),
])  # fmt: skip
def test_rules_name_their_problem(rules: AugmentRules, problem: str) -> None:
    assert problem in rules.check()[0]


def test_embedding_neighbours_are_the_nearest_whole_words_by_cosine(tokenizer) -> None:
    torch.manual_seed(0)
    embeddings = torch.randn(len(tokenizer), 8)
    table = embedding_neighbours(embeddings, tokenizer, {"good", "film", "##a", "unknownword"}, k=3)
    assert set(table) == {"good", "film"}  # pieces and unknown words have no entry
    pool = whole_word_ids(tokenizer)
    assert all(not tokenizer.convert_ids_to_tokens(i).startswith(("##", "[")) for i in pool)
    for word, found in table.items():
        index = tokenizer.convert_tokens_to_ids(word)
        # Independent: cosine to every pool word, best first, the word itself left out.
        cos = torch.nn.functional.cosine_similarity(embeddings[index][None], embeddings[pool], dim=-1)
        ranked = [tokenizer.convert_ids_to_tokens(pool[j]) for j in cos.argsort(descending=True).tolist() if pool[j] != index]
        assert found == ranked[:3]


def test_masked_lm_replacer_masks_the_targets_only_and_runs_once_per_sentence(tokenizer) -> None:
    calls = []

    class FakeMLM(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            calls.append(input_ids.clone())
            logits = torch.full((*input_ids.shape, len(tokenizer)), -10.0)
            logits[..., tokenizer.convert_tokens_to_ids("cat")] = 5.0  # every masked slot guesses "cat"
            return type("Out", (), {"logits": logits})()

    plans = [Plan(["the", "good", "[MASK]", "film"], [1, 3]), Plan(["a", "dog"], [1])]
    chosen = MaskedLMReplacer(FakeMLM(), tokenizer, k=1).choose(plans, [random.Random(0)] * 2)
    assert chosen == [["cat", "cat"], ["cat"]]
    assert len(calls) == 1 and calls[0].shape[0] == 2  # one batched pass, one row per sentence
    masked = (calls[0] == tokenizer.mask_token_id).sum(dim=1).tolist()
    assert masked == [3, 1]  # the mask-op word stays masked as context; the two targets are masked too
