"""Dynamic MLM masking: the reference's prepare_batch_mlm, frequency weights, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from distilcli.data.masking import DynamicMasker, mlm_token_weights

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIALS = [PAD, UNK, CLS, SEP, MASK]
VOCAB = 100


def _weights() -> torch.Tensor:
    counts = np.arange(VOCAB, dtype=np.int64) * 3  # varied counts, 0 for id 0
    return mlm_token_weights(counts, SPECIALS)


def _batch(lengths: list[int], width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows ``[CLS] 10.. [SEP] [PAD]...`` with the given real lengths."""
    width = width or max(lengths)
    ids = torch.full((len(lengths), width), PAD, dtype=torch.long)
    mask = torch.zeros((len(lengths), width), dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.tensor([CLS, *[10 + (i % 80) for i in range(length - 2)], SEP])
        mask[row, :length] = 1
    return ids, mask


def _gen(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def test_weights_by_hand() -> None:
    # ids 0 and 4 are special; id 0's count of 0 would otherwise weigh as a count of 1.
    weights = mlm_token_weights(np.array([0, 1, 8, 1000, 3, 5]), [4, None, 0])
    assert weights.dtype == torch.float32
    assert weights.tolist() == pytest.approx([0.0, 1.0, 0.2332582, 0.0079433, 0.0, 0.3241313], rel=1e-5)
    assert mlm_token_weights(np.array([0, 9]), [], smoothing=0.0).tolist() == [1.0, 1.0]
    assert mlm_token_weights(np.array([0, 16]), [], smoothing=0.5).tolist() == [1.0, 0.25]


@pytest.mark.parametrize(
    ("counts", "specials", "smoothing"),
    [(np.array([1, 2]), [2], 0.7), (np.array([1, 2]), [-1], 0.7), (np.zeros((2, 2)), [], 0.7), (np.array([1]), [], -1)],
)
def test_weights_reject_bad_input(counts: np.ndarray, specials: list[int], smoothing: float) -> None:
    with pytest.raises(ValueError):
        mlm_token_weights(counts, specials, smoothing)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mlm_probability": 0.0},
        {"mlm_probability": 1.5},
        {"pred_probs": (0.8, 0.1, 0.2)},
        {"pred_probs": (1.1, -0.1, 0.0)},
        {"mask_token_id": VOCAB},
        {"vocab_size": 0},
        {"token_weights": torch.zeros(VOCAB)},
        {"token_weights": torch.full((VOCAB,), -1.0)},
        {"token_weights": torch.ones(2, 2)},
    ],
)
def test_masker_validates(kwargs: dict) -> None:
    args = {"token_weights": _weights(), "mask_token_id": MASK, "vocab_size": VOCAB, **kwargs}
    with pytest.raises(ValueError):
        DynamicMasker(**args)


def test_selects_ceil_fifteen_percent_of_real_tokens_never_special_or_pad() -> None:
    masker = DynamicMasker(_weights(), MASK, VOCAB)
    ids, mask = _batch([20, 13, 7], width=24)
    before = ids.clone(), mask.clone()
    for seed in range(50):
        masked, labels = masker(ids, mask, _gen(seed))
        picked = labels != -100
        assert int(picked.sum()) == math.ceil(0.15 * 40) == 6
        assert not picked[mask == 0].any()  # never padding
        assert not picked[(ids == CLS) | (ids == SEP)].any()  # never a special token
        assert torch.equal(labels[picked], ids[picked])  # labels are the original ids
        assert torch.equal(masked[~picked], ids[~picked])  # nothing else changes
        assert masked.dtype == ids.dtype and labels.dtype == ids.dtype and masked.shape == ids.shape
    assert torch.equal(ids, before[0]) and torch.equal(mask, before[1])  # inputs untouched


def test_padding_excluded_even_when_its_id_has_weight() -> None:
    masker = DynamicMasker(torch.ones(VOCAB), MASK, VOCAB, mlm_probability=0.5)
    ids, mask = _batch([6, 3], width=10)
    for seed in range(20):
        _, labels = masker(ids, mask, _gen(seed))
        assert int((labels != -100).sum()) == math.ceil(0.5 * 9)
        assert not (labels != -100)[mask == 0].any()


def test_targets_capped_at_positions_with_weight() -> None:
    masker = DynamicMasker(_weights(), MASK, VOCAB, mlm_probability=1.0)
    ids, mask = _batch([4, 2])  # two maskable tokens, six real tokens
    _, labels = masker(ids, mask, _gen(0))
    assert (labels != -100).nonzero().tolist() == [[0, 1], [0, 2]]
    empty_ids, empty_mask = torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long)
    masked, labels = masker(empty_ids, empty_mask, _gen(0))
    assert torch.equal(masked, empty_ids) and bool((labels == -100).all())


def test_eighty_ten_ten() -> None:
    vocab = 1000  # random replacements rarely equal the original id
    weights = torch.ones(vocab)
    weights[SPECIALS] = 0
    masker = DynamicMasker(weights, MASK, vocab)
    ids, mask = _batch([100] * 4)
    generator = _gen(123)
    outcomes = {"mask": 0, "keep": 0, "random": 0}
    for _ in range(100):
        masked, labels = masker(ids, mask, generator)
        picked = labels != -100
        new, old = masked[picked], ids[picked]
        outcomes["mask"] += int((new == MASK).sum())
        outcomes["keep"] += int((new == old).sum())
        outcomes["random"] += int(((new != MASK) & (new != old)).sum())
        assert bool(((new >= 0) & (new < vocab)).all())
    total = sum(outcomes.values())
    assert total == 100 * math.ceil(0.15 * 400)
    assert abs(outcomes["mask"] / total - 0.8) < 0.03
    assert abs(outcomes["keep"] / total - 0.1) < 0.02
    assert abs(outcomes["random"] / total - 0.1) < 0.02


def test_rare_tokens_masked_more_often() -> None:
    weights = torch.zeros(VOCAB)
    weights[10], weights[11] = 1.0, 0.05  # id 11 is "frequent"
    masker = DynamicMasker(weights, MASK, VOCAB)
    ids = torch.tensor([[10, 11] * 50])
    generator = _gen(7)
    rare = frequent = 0
    for _ in range(50):
        _, labels = masker(ids, torch.ones_like(ids), generator)
        rare += int((labels == 10).sum())
        frequent += int((labels == 11).sum())
    assert rare + frequent == 50 * 15
    assert rare / (rare + frequent) > 0.85


def test_same_seed_same_masks() -> None:
    masker = DynamicMasker(_weights(), MASK, VOCAB)
    ids, mask = _batch([30, 25, 12])
    first = masker(ids, mask, _gen(5))
    second = masker(ids, mask, _gen(5))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    other = masker(ids, mask, _gen(6))
    assert not torch.equal(first[1], other[1])
    # The global RNG plays no part when a generator is given.
    torch.manual_seed(0)
    a = masker(ids, mask, _gen(5))
    torch.manual_seed(1)
    b = masker(ids, mask, _gen(5))
    assert torch.equal(a[0], b[0])


def _reference_prepare_batch_mlm(token_ids, lengths, token_probs, pred_probs, mask_id, pad_id, vocab_size, g):
    """HF research_projects/distillation/distiller.py ``prepare_batch_mlm`` with a generator threaded in."""
    bs, max_seq_len = token_ids.size()
    mlm_labels = token_ids.new(token_ids.size()).copy_(token_ids)
    x_prob = token_probs[token_ids.flatten()]
    n_tgt = math.ceil(0.15 * lengths.sum().item())
    tgt_ids = torch.multinomial(x_prob / x_prob.sum(), n_tgt, replacement=False, generator=g)
    pred_mask = torch.zeros(bs * max_seq_len, dtype=torch.bool, device=token_ids.device)
    pred_mask[tgt_ids] = 1
    pred_mask = pred_mask.view(bs, max_seq_len)
    pred_mask[token_ids == pad_id] = 0
    _token_ids_real = token_ids[pred_mask]
    _token_ids_rand = _token_ids_real.clone().random_(vocab_size, generator=g)
    _token_ids_mask = _token_ids_real.clone().fill_(mask_id)
    probs = torch.multinomial(pred_probs, len(_token_ids_real), replacement=True, generator=g)
    _token_ids = (
        _token_ids_mask * (probs == 0).long()
        + _token_ids_real * (probs == 1).long()
        + _token_ids_rand * (probs == 2).long()
    )
    token_ids = token_ids.masked_scatter(pred_mask, _token_ids)
    mlm_labels[~pred_mask] = -100
    return token_ids, mlm_labels


def test_matches_the_reference_draw_for_draw() -> None:
    weights = _weights()
    masker = DynamicMasker(weights, MASK, VOCAB)
    ids, mask = _batch([40, 33, 17, 9])
    for seed in range(10):
        ours = masker(ids, mask, _gen(seed))
        ref = _reference_prepare_batch_mlm(
            ids.clone(), mask.sum(1), weights, torch.tensor([0.8, 0.1, 0.1]), MASK, PAD, VOCAB, _gen(seed)
        )
        assert torch.equal(ours[0], ref[0]) and torch.equal(ours[1], ref[1])
