"""Distillation losses against independent computations (plain Python loops with math.log/exp).

Every loss is checked on small fixed tensors with padding: padded positions hold garbage,
the result must equal the computation over real tokens only and must not move when the
garbage does. Gradients must reach the student (and the projection), never the teacher.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from distilcli.distill.losses import (
    AttentionKLLoss,
    HiddenCosineLoss,
    HiddenStateLoss,
    LogitsMSELoss,
    MaskedLMLoss,
    SoftTargetLoss,
    select_tokens,
)
from distilcli.distill.objective import DistillationObjective
from distilcli.errors import BadInput

# Two sequences of length 4; the second has two padded positions.
MASK = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
REAL = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]  # (b, position) of the real tokens, in order
V, H = 5, 6


def _rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _with_garbage(x: torch.Tensor, seed: int, scale: float = 1e3) -> torch.Tensor:
    """``x`` [B, L, ...] with large random values at the padded positions of MASK."""
    x = x.clone()
    pad = ~MASK.bool()
    x[pad] = _rand(*x[pad].shape, seed=seed) * scale
    return x


# -- independent references ------------------------------------------------------------------
def _softmax(row: list[float]) -> list[float]:
    m = max(row)
    e = [math.exp(v - m) for v in row]
    z = sum(e)
    return [v / z for v in e]


def _log_softmax(row: list[float]) -> list[float]:
    m = max(row)
    log_z = m + math.log(sum(math.exp(v - m) for v in row))
    return [v - log_z for v in row]


def ref_soft_target(student: list[list[float]], teacher: list[list[float]], T: float) -> float:
    total = 0.0
    for s_row, t_row in zip(student, teacher):
        p_t = _softmax([v / T for v in t_row])
        log_p_s = _log_softmax([v / T for v in s_row])
        total += sum(p * (math.log(p) - lq) for p, lq in zip(p_t, log_p_s))
    return total / len(student) * T * T


def ref_cross_entropy(logits: list[list[float]], labels: list[int]) -> float:
    losses = [-_log_softmax(row)[y] for row, y in zip(logits, labels) if y != -100]
    return sum(losses) / len(losses)


def _cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def ref_one_minus_cos(student: list[list[float]], teacher: list[list[float]]) -> float:
    return sum(1 - _cos(s, t) for s, t in zip(student, teacher)) / len(student)


def ref_mse_sum_over_n(student: list[list[float]], teacher: list[list[float]]) -> float:
    return sum((a - b) ** 2 for s, t in zip(student, teacher) for a, b in zip(s, t)) / len(student)


def ref_mse_mean(student: list[list[float]], teacher: list[list[float]]) -> float:
    diffs = [(a - b) ** 2 for s, t in zip(student, teacher) for a, b in zip(s, t)]
    return sum(diffs) / len(diffs)


def ref_attention_kl(student: list, teacher: list, mask: list[list[int]]) -> float:
    """Mean over valid (b, head, query) of sum over valid keys of t * log(t / s); one layer pair."""
    total, count = 0.0, 0
    for b, row_mask in enumerate(mask):
        for h in range(len(student[b])):
            for q, q_valid in enumerate(row_mask):
                if not q_valid:
                    continue
                kl = 0.0
                for k, k_valid in enumerate(row_mask):
                    t = teacher[b][h][q][k]
                    if k_valid and t > 0:
                        kl += t * (math.log(t) - math.log(student[b][h][q][k]))
                total += kl
                count += 1
    return total / count


def _attention(batch: int, heads: int, seed: int) -> torch.Tensor:
    """Softmax attention [B, heads, L, L] with padded keys at zero and garbage in padded query rows."""
    scores = _rand(batch, heads, 4, 4, seed=seed) * 2
    scores = scores.masked_fill(~MASK.bool()[:, None, None, :], float("-inf"))
    probs = scores.softmax(-1)
    pad_queries = ~MASK.bool()[:, None, :].expand(-1, heads, -1)  # [B, heads, L]
    probs[pad_queries] = _rand(int(pad_queries.sum()), 4, seed=seed + 1).abs()
    return probs


def _head_mean(att: list) -> list:
    """Plain-Python mean over heads: [B][heads][L][L] -> [B][1][L][L]."""
    return [
        [[[sum(att[b][h][q][k] for h in range(len(att[b]))) / len(att[b]) for k in range(len(att[b][0][q]))]
          for q in range(len(att[b][0]))]]
        for b in range(len(att))
    ]


# -- select_tokens ---------------------------------------------------------------------------
def test_select_tokens_keeps_real_rows_in_order() -> None:
    x = torch.arange(2 * 4 * 3).reshape(2, 4, 3)
    for mask in (MASK, MASK.bool()):
        out = select_tokens(x, mask)
        assert out.shape == (6, 3)
        assert out.tolist() == [x[b, i].tolist() for b, i in REAL]
    with pytest.raises(ValueError):
        select_tokens(x, MASK[:, :3])


# -- SoftTargetLoss ----------------------------------------------------------------------------
def test_soft_target_hand_worked_two_tokens_three_words() -> None:
    # Student uniform over 3 words; teacher logits log(1), log(2), log(3).
    student = torch.zeros(2, 3)
    teacher = torch.log(torch.tensor([[1.0, 2.0, 3.0]] * 2))
    # T=1: p_t = (1/6, 2/6, 3/6), KL(p_t || uniform) = sum p log(3p) = 0.0872080...
    assert SoftTargetLoss(1.0)(student, teacher).item() == pytest.approx(0.0872080, abs=1e-6)
    # T=2: p_t ∝ sqrt(1), sqrt(2), sqrt(3); 4 * KL = 0.0963207...
    assert SoftTargetLoss(2.0)(student, teacher).item() == pytest.approx(0.0963207, abs=1e-6)


@pytest.mark.parametrize("T", [1.0, 2.0, 3.5])
def test_soft_target_matches_reference_over_real_tokens(T: float) -> None:
    s_full = _with_garbage(_rand(2, 4, V, seed=1) * 3, seed=10)
    t_full = _with_garbage(_rand(2, 4, V, seed=2) * 3, seed=11)
    s, t = select_tokens(s_full, MASK), select_tokens(t_full, MASK)
    expected = ref_soft_target([s_full[b, i].tolist() for b, i in REAL], [t_full[b, i].tolist() for b, i in REAL], T)
    got = SoftTargetLoss(T)(s, t)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # What HF's distiller.py computes.
    hf = nn.KLDivLoss(reduction="batchmean")(
        torch.log_softmax(s / T, dim=-1), torch.softmax(t / T, dim=-1)
    ) * T**2
    assert got.item() == pytest.approx(hf.item(), rel=1e-6)
    # Other garbage at the padded positions changes nothing.
    s2 = select_tokens(_with_garbage(s_full, seed=20), MASK)
    t2 = select_tokens(_with_garbage(t_full, seed=21), MASK)
    assert SoftTargetLoss(T)(s2, t2).item() == pytest.approx(got.item(), rel=1e-6)


def test_soft_target_applies_t_squared() -> None:
    s, t = _rand(6, V, seed=3), _rand(6, V, seed=4)
    s_l, t_l = s.tolist(), t.tolist()
    for T in (1.0, 2.0):
        assert SoftTargetLoss(T)(s, t).item() == pytest.approx(ref_soft_target(s_l, t_l, T), rel=1e-5)
    # Without the T**2 factor the T=2 value would be a quarter of this.
    kl_only = ref_soft_target(s_l, t_l, 2.0) / 4
    assert SoftTargetLoss(2.0)(s, t).item() == pytest.approx(4 * kl_only, rel=1e-5)
    assert SoftTargetLoss(2.0)(s, t).item() != pytest.approx(kl_only, rel=1e-2)


def test_soft_target_gradient_reaches_student_only() -> None:
    s = _rand(6, V, seed=5).requires_grad_(True)
    t = _rand(6, V, seed=6).requires_grad_(True)
    SoftTargetLoss(2.0)(s, t).backward()
    assert t.grad is None
    assert s.grad is not None and s.grad.abs().sum() > 0


def test_soft_target_half_precision_computes_in_float32() -> None:
    s, t = (_rand(6, V, seed=7) * 4).half(), (_rand(6, V, seed=8) * 4).half()
    out = SoftTargetLoss(2.0)(s, t)
    assert out.dtype == torch.float32
    expected = ref_soft_target(s.float().tolist(), t.float().tolist(), 2.0)
    assert out.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("T", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_soft_target_rejects_bad_temperature(T: float) -> None:
    # The one positive-number check (the command's): BadInput naming the option, exit 2 at the CLI.
    with pytest.raises(BadInput, match="--temperature must be a finite number > 0"):
        SoftTargetLoss(T)


def test_logits_losses_refuse_unselected_or_mismatched_tensors() -> None:
    with pytest.raises(ValueError, match="select_tokens"):
        SoftTargetLoss()(_rand(2, 4, V, seed=1), _rand(2, 4, V, seed=2))
    with pytest.raises(ValueError):
        LogitsMSELoss()(_rand(6, V, seed=1), _rand(6, V + 1, seed=2))
    with pytest.raises(ValueError):
        HiddenCosineLoss()(_rand(6, H, seed=1), _rand(5, H, seed=2))


# -- MaskedLMLoss ------------------------------------------------------------------------------
def test_mlm_matches_reference_and_ignores_unlabelled_rows() -> None:
    logits_full = _with_garbage(_rand(2, 4, V, seed=30) * 2, seed=31)
    labels_full = torch.tensor([[3, -100, 0, -100], [4, -100, 2, 1]])  # padded labels are garbage too
    logits, labels = select_tokens(logits_full, MASK), select_tokens(labels_full, MASK)
    assert labels.tolist() == [3, -100, 0, -100, 4, -100]
    expected = ref_cross_entropy(logits.tolist(), labels.tolist())
    got = MaskedLMLoss()(logits, labels)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    # Changing the logits of -100 rows changes nothing.
    changed = logits.clone()
    changed[labels == -100] = _rand(3, V, seed=32) * 100
    assert MaskedLMLoss()(changed, labels).item() == pytest.approx(got.item(), rel=1e-6)


def test_mlm_without_labels_is_zero_with_grad() -> None:
    logits = _rand(4, V, seed=33).requires_grad_(True)
    out = MaskedLMLoss()(logits, torch.full((4,), -100))
    assert out.item() == 0.0 and not math.isnan(out.item())
    out.backward()
    assert logits.grad is not None and torch.equal(logits.grad, torch.zeros_like(logits))


def test_mlm_gradient_and_shape_check() -> None:
    logits = _rand(4, V, seed=34).requires_grad_(True)
    MaskedLMLoss()(logits, torch.tensor([1, -100, 2, -100])).backward()
    assert logits.grad[0].abs().sum() > 0 and logits.grad[1].abs().sum() == 0
    with pytest.raises(ValueError):
        MaskedLMLoss()(_rand(2, 4, V, seed=1), torch.zeros(2, 4, dtype=torch.long))


# -- HiddenCosineLoss / LogitsMSELoss ----------------------------------------------------------
def test_hidden_cosine_matches_reference_over_real_tokens() -> None:
    s_full = _with_garbage(_rand(2, 4, H, seed=40), seed=41)
    t_full = _with_garbage(_rand(2, 4, H, seed=42), seed=43)
    s, t = select_tokens(s_full, MASK), select_tokens(t_full, MASK)
    expected = ref_one_minus_cos([s_full[b, i].tolist() for b, i in REAL], [t_full[b, i].tolist() for b, i in REAL])
    got = HiddenCosineLoss()(s, t)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    reference = nn.CosineEmbeddingLoss(reduction="mean")(s, t, torch.ones(s.shape[0]))
    assert got.item() == pytest.approx(reference.item(), rel=1e-5)
    s2 = select_tokens(_with_garbage(s_full, seed=44), MASK)
    assert HiddenCosineLoss()(s2, t).item() == pytest.approx(got.item(), rel=1e-6)


def test_pooled_cosine_is_one_minus_cos_of_masked_means() -> None:
    from distilcli.distill.losses import EmbeddingMSELoss, PooledCosineLoss
    from distilcli.models.pooling import SentencePooling, pool

    def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return pool(hidden, mask, SentencePooling())

    s_full = _with_garbage(_rand(2, 4, H, seed=50), seed=51)  # padding rows hold garbage
    t_full = _with_garbage(_rand(2, 4, H, seed=52), seed=53)
    means = []
    for full in (s_full, t_full):
        rows = [[sum(full[b, i, h].item() for b2, i in REAL if b2 == b) / sum(1 for b2, _ in REAL if b2 == b) for h in range(H)] for b in range(2)]
        means.append(rows)
    torch.testing.assert_close(mean_pool(s_full, MASK), torch.tensor(means[0]))
    expected = ref_one_minus_cos(means[0], means[1])
    s = mean_pool(s_full, MASK).requires_grad_(True)
    got = PooledCosineLoss()(s, mean_pool(t_full, MASK))
    assert got.item() == pytest.approx(expected, rel=1e-5)
    got.backward()
    assert s.grad.abs().sum() > 0
    obj = DistillationObjective(alpha_ce=0, alpha_mlm=0, alpha_cos=0, alpha_pooled=2.0)
    out = obj(student_pooled=mean_pool(s_full, MASK), teacher_pooled=mean_pool(t_full, MASK))
    assert set(out) == {"loss", "pooled"} and out["loss"].item() == pytest.approx(2 * expected, rel=1e-5)
    with pytest.raises(ValueError, match="same hidden size"):
        DistillationObjective(alpha_pooled=1.0, student_dim=4, teacher_dim=8)
    # The embedding MSE: each sentence's squared distance, averaged over the sentences.
    s_emb, t_emb = mean_pool(s_full, MASK), mean_pool(t_full, MASK)
    squared = [sum((a - b) ** 2 for a, b in zip(row_s, row_t)) for row_s, row_t in zip(s_emb.tolist(), t_emb.tolist())]
    assert EmbeddingMSELoss()(s_emb, t_emb).item() == pytest.approx(sum(squared) / len(squared), rel=1e-5)
    # For unit-length embeddings that is 2 - 2 cos: the pooled cosine's scale, at any width.
    unit_s, unit_t = F.normalize(s_emb, dim=-1), F.normalize(t_emb, dim=-1)
    one_minus_cos = PooledCosineLoss()(unit_s, unit_t).item()
    assert EmbeddingMSELoss()(unit_s, unit_t).item() == pytest.approx(2 * one_minus_cos, rel=1e-5)
    both = DistillationObjective(alpha_ce=0, alpha_mlm=0, alpha_cos=0, alpha_pooled=1.0, alpha_mse_emb=3.0)
    out = both(student_pooled=s_emb, teacher_pooled=t_emb)
    assert set(out) == {"loss", "pooled", "mse_emb"}
    assert out["loss"].item() == pytest.approx(expected + 3 * sum(squared) / len(squared), rel=1e-5)
    with pytest.raises(ValueError, match="does not match"):
        mean_pool(s_full, MASK[:, :2])


def test_similarity_matrix_loss_is_the_mean_squared_gap_between_pairwise_cosines() -> None:
    from itertools import permutations

    from distilcli.distill.losses import SimilarityMatrixLoss

    torch.manual_seed(0)
    student, teacher = torch.randn(5, 3, requires_grad=True), torch.randn(5, 7)  # two widths: nothing projects

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    s, t = student.tolist(), teacher.tolist()
    gaps = [(cos(s[i], s[j]) - cos(t[i], t[j])) ** 2 for i, j in permutations(range(5), 2)]
    loss = SimilarityMatrixLoss()(student, teacher)
    assert loss.item() == pytest.approx(sum(gaps) / len(gaps), rel=1e-5)
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    # Only the similarities count: rescaled or rotated, the teacher's embeddings teach the same.
    rotation, _ = torch.linalg.qr(torch.randn(7, 7))
    assert SimilarityMatrixLoss()(student, 3.0 * teacher @ rotation).item() == pytest.approx(loss.item(), rel=1e-4)
    assert SimilarityMatrixLoss()(teacher, teacher).item() == pytest.approx(0.0, abs=1e-7)
    assert SimilarityMatrixLoss()(student[:1], teacher[:1]).item() == 0.0  # one sentence: no pair
    with pytest.raises(ValueError, match="same B sentences"):
        SimilarityMatrixLoss()(student, teacher[:4])


def test_similarity_ranking_loss_is_the_kl_between_each_sentences_neighbour_softmaxes() -> None:
    from distilcli.distill.losses import RANK_TEMPERATURE, SimilarityRankingLoss

    torch.manual_seed(0)
    student, teacher = torch.randn(5, 3, requires_grad=True), torch.randn(5, 7)  # two widths: nothing projects

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    def softmax(values: list[float]) -> list[float]:
        exps = [math.exp(v / RANK_TEMPERATURE) for v in values]
        return [e / sum(exps) for e in exps]

    s, t = student.tolist(), teacher.tolist()
    rows = []
    for i in range(5):
        others = [j for j in range(5) if j != i]
        p = softmax([cos(t[i], t[j]) for j in others])
        q = softmax([cos(s[i], s[j]) for j in others])
        rows.append(sum(pk * math.log(pk / qk) for pk, qk in zip(p, q)))
    loss = SimilarityRankingLoss()(student, teacher)
    assert RANK_TEMPERATURE == 0.05 and loss.item() == pytest.approx(sum(rows) / 5, rel=1e-4)
    loss.backward()
    assert student.grad is not None and torch.isfinite(student.grad).all() and student.grad.abs().sum() > 0
    # Only the similarities count: rescaled or rotated, the teacher's embeddings teach the same.
    rotation, _ = torch.linalg.qr(torch.randn(7, 7))
    assert SimilarityRankingLoss()(student, 3.0 * teacher @ rotation).item() == pytest.approx(loss.item(), rel=1e-4)
    assert SimilarityRankingLoss()(teacher, teacher).item() == pytest.approx(0.0, abs=1e-6)
    assert SimilarityRankingLoss(temperature=1.0)(student, teacher).item() < loss.item()  # softer: closer rankings
    assert SimilarityRankingLoss()(student[:1], teacher[:1]).item() == 0.0  # one sentence: no neighbour
    with pytest.raises(ValueError, match="same B sentences"):
        SimilarityRankingLoss()(student, teacher[:4])


def test_hidden_cosine_gradient_reaches_student_only() -> None:
    s = _rand(6, H, seed=45).requires_grad_(True)
    t = _rand(6, H, seed=46).requires_grad_(True)
    HiddenCosineLoss()(s, t).backward()
    assert t.grad is None and s.grad.abs().sum() > 0


def test_logits_mse_matches_reference_over_real_tokens() -> None:
    s_full = _with_garbage(_rand(2, 4, V, seed=50), seed=51)
    t_full = _with_garbage(_rand(2, 4, V, seed=52), seed=53)
    s, t = select_tokens(s_full, MASK), select_tokens(t_full, MASK)
    expected = ref_mse_sum_over_n([s_full[b, i].tolist() for b, i in REAL], [t_full[b, i].tolist() for b, i in REAL])
    got = LogitsMSELoss()(s, t)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert got.item() == pytest.approx((nn.MSELoss(reduction="sum")(s, t) / 6).item(), rel=1e-6)
    s.requires_grad_(True)
    t.requires_grad_(True)
    LogitsMSELoss()(s, t).backward()
    assert t.grad is None and s.grad.abs().sum() > 0


def test_losses_on_no_rows_are_zero_with_grad() -> None:
    s = torch.zeros(0, V, requires_grad=True)
    t = torch.zeros(0, V)
    for loss in (SoftTargetLoss(), LogitsMSELoss(), HiddenCosineLoss()):
        out = loss(s, t)
        assert out.item() == 0.0
        out.backward()


# -- HiddenStateLoss ---------------------------------------------------------------------------
def test_hidden_state_mse_and_cosine_are_means_over_pairs() -> None:
    pairs = [(_rand(6, H, seed=60 + i), _rand(6, H, seed=70 + i)) for i in range(3)]
    students, teachers = [p[0] for p in pairs], [p[1] for p in pairs]
    mse = sum(ref_mse_mean(s.tolist(), t.tolist()) for s, t in pairs) / 3
    cos = sum(ref_one_minus_cos(s.tolist(), t.tolist()) for s, t in pairs) / 3
    assert HiddenStateLoss("mse")(students, teachers).item() == pytest.approx(mse, rel=1e-5)
    assert HiddenStateLoss("cosine")(students, teachers).item() == pytest.approx(cos, rel=1e-5)
    # Equal widths: no projection, no parameters.
    assert HiddenStateLoss("mse", H, H).projection is None
    assert list(HiddenStateLoss("mse", H, H).parameters()) == []


def test_hidden_state_excludes_padding_after_selection() -> None:
    s_full = _with_garbage(_rand(2, 4, H, seed=80), seed=81)
    t_full = _with_garbage(_rand(2, 4, H, seed=82), seed=83)
    expected = ref_mse_mean([s_full[b, i].tolist() for b, i in REAL], [t_full[b, i].tolist() for b, i in REAL])
    loss = HiddenStateLoss("mse")
    got = loss([select_tokens(s_full, MASK)], [select_tokens(t_full, MASK)])
    assert got.item() == pytest.approx(expected, rel=1e-5)
    again = loss([select_tokens(_with_garbage(s_full, seed=84), MASK)], [select_tokens(t_full, MASK)])
    assert again.item() == pytest.approx(got.item(), rel=1e-6)


@pytest.mark.parametrize("kind", ["mse", "cosine"])
def test_hidden_state_projection_is_applied_and_trained(kind: str) -> None:
    torch.manual_seed(0)
    loss = HiddenStateLoss(kind, student_dim=4, teacher_dim=H)
    assert isinstance(loss.projection, nn.Linear)
    assert {name for name, _ in loss.named_parameters()} == {"projection.weight", "projection.bias"}
    s = [_rand(6, 4, seed=90).requires_grad_(True), _rand(6, 4, seed=91).requires_grad_(True)]
    t = [_rand(6, H, seed=92).requires_grad_(True), _rand(6, H, seed=93).requires_grad_(True)]
    # Independent projection: y = x W^T + b with plain Python on the module's weights.
    W, bias = loss.projection.weight.tolist(), loss.projection.bias.tolist()
    proj = [[[sum(x[j] * W[o][j] for j in range(4)) + bias[o] for o in range(H)] for x in si.tolist()] for si in s]
    ref = ref_mse_mean if kind == "mse" else ref_one_minus_cos
    expected = sum(ref(p, ti.tolist()) for p, ti in zip(proj, t)) / 2
    out = loss(s, t)
    assert out.item() == pytest.approx(expected, rel=1e-5)
    out.backward()
    assert loss.projection.weight.grad is not None and loss.projection.weight.grad.abs().sum() > 0
    assert all(si.grad.abs().sum() > 0 for si in s)
    assert all(ti.grad is None for ti in t)


def test_hidden_state_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        HiddenStateLoss("l1")
    with pytest.raises(ValueError, match="both"):
        HiddenStateLoss("mse", student_dim=4)
    with pytest.raises(ValueError):
        HiddenStateLoss("mse", student_dim=0, teacher_dim=4)
    loss = HiddenStateLoss("mse")
    with pytest.raises(ValueError):
        loss([_rand(6, H, seed=1)], [])
    with pytest.raises(ValueError):
        loss([], [])
    with pytest.raises(ValueError):  # different widths and no projection
        loss([_rand(6, 4, seed=1)], [_rand(6, H, seed=2)])


# -- AttentionKLLoss ---------------------------------------------------------------------------
def test_attention_kl_matches_reference_and_ignores_padding() -> None:
    s_att = [_attention(2, 2, seed=100), _attention(2, 2, seed=110)]
    t_att = [_attention(2, 2, seed=120), _attention(2, 2, seed=130)]
    mask = MASK.tolist()
    expected = sum(ref_attention_kl(s.tolist(), t.tolist(), mask) for s, t in zip(s_att, t_att)) / 2
    got = AttentionKLLoss()(s_att, t_att, MASK)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert got.item() > 0
    # New garbage in padded query rows and padded key columns changes nothing.
    pad_q = ~MASK.bool()[:, None, :, None].expand(-1, 2, -1, 4)
    pad_k = ~MASK.bool()[:, None, None, :].expand(-1, 2, 4, -1)
    def noisy(atts: list[torch.Tensor], seed: int) -> list[torch.Tensor]:
        out = []
        for i, a in enumerate(atts):
            a = a.clone()
            a[pad_q | pad_k] = _rand(int((pad_q | pad_k).sum()), seed=seed + i).abs() * 10
            out.append(a)
        return out

    assert AttentionKLLoss()(noisy(s_att, 140), noisy(t_att, 145), MASK).item() == pytest.approx(got.item(), rel=1e-6)


def test_attention_kl_is_zero_for_identical_maps_and_finite_with_zeros() -> None:
    att = [_attention(2, 2, seed=150)]
    assert AttentionKLLoss()(att, att, MASK).item() == pytest.approx(0.0, abs=1e-6)
    # A student that puts exactly zero on a key the teacher uses: clamped, not inf/nan.
    s = att[0].clone()
    s[0, 0, 0] = torch.tensor([1.0, 0.0, 0.0, 0.0])
    out = AttentionKLLoss()([s], att, MASK)
    assert math.isfinite(out.item())


def test_attention_kl_averages_heads_when_counts_differ() -> None:
    s = _attention(2, 2, seed=160)
    t = _attention(2, 4, seed=170)
    expected = ref_attention_kl(_head_mean(s.tolist()), _head_mean(t.tolist()), MASK.tolist())
    assert AttentionKLLoss()([s], [t], MASK).item() == pytest.approx(expected, rel=1e-5)


def test_attention_kl_gradient_float32_and_validation() -> None:
    s = _attention(2, 2, seed=180).half().requires_grad_(True)
    t = _attention(2, 2, seed=190).half().requires_grad_(True)
    out = AttentionKLLoss()([s], [t], MASK.bool())
    assert out.dtype == torch.float32
    out.backward()
    assert t.grad is None and s.grad.abs().sum() > 0
    with pytest.raises(BadInput, match="eps"):
        AttentionKLLoss(eps=0)
    with pytest.raises(ValueError):
        AttentionKLLoss()([s], [t, t], MASK)
    with pytest.raises(ValueError):
        AttentionKLLoss()([s.detach()[:, :, :3, :3]], [t.detach()], MASK)


# -- DistillationObjective ---------------------------------------------------------------------
def _inputs(seed: int = 200) -> dict:
    return dict(
        student_logits=_rand(6, V, seed=seed).requires_grad_(True),
        teacher_logits=_rand(6, V, seed=seed + 1).requires_grad_(True),
        mlm_logits=_rand(6, V, seed=seed + 2).requires_grad_(True),
        mlm_labels=torch.tensor([1, -100, 2, 3, -100, 0]),
        student_last_hidden=_rand(6, H, seed=seed + 3).requires_grad_(True),
        teacher_last_hidden=_rand(6, H, seed=seed + 4).requires_grad_(True),
        student_layer_states=[_rand(6, 4, seed=seed + 5).requires_grad_(True)],
        teacher_layer_states=[_rand(6, H, seed=seed + 6).requires_grad_(True)],
        student_attentions=[_attention(2, 2, seed=seed + 7).requires_grad_(True)],
        teacher_attentions=[_attention(2, 2, seed=seed + 8).requires_grad_(True)],
        attention_mask=MASK,
    )


def test_objective_total_is_weighted_sum_of_independent_terms() -> None:
    x = _inputs()
    x["student_layer_states"] = [_rand(6, H, seed=300).requires_grad_(True)]
    obj = DistillationObjective(
        alpha_ce=5.0, alpha_mlm=2.0, alpha_cos=1.0, alpha_mse=0.5, temperature=3.0,
        alpha_hidden=0.25, hidden_kind="cosine", alpha_attention=0.75, student_dim=H, teacher_dim=H,
    )
    out = obj(**x)
    assert set(out) == {"loss", "ce", "mlm", "cos", "mse", "hidden", "attention"}
    T = 3.0
    expected = {
        "ce": ref_soft_target(x["student_logits"].tolist(), x["teacher_logits"].tolist(), T),
        "mlm": ref_cross_entropy(x["mlm_logits"].tolist(), x["mlm_labels"].tolist()),
        "cos": ref_one_minus_cos(x["student_last_hidden"].tolist(), x["teacher_last_hidden"].tolist()),
        "mse": ref_mse_sum_over_n(x["student_logits"].tolist(), x["teacher_logits"].tolist()),
        "hidden": ref_one_minus_cos(x["student_layer_states"][0].tolist(), x["teacher_layer_states"][0].tolist()),
        "attention": ref_attention_kl(
            x["student_attentions"][0].tolist(), x["teacher_attentions"][0].tolist(), MASK.tolist()
        ),
    }
    alphas = {"ce": 5.0, "mlm": 2.0, "cos": 1.0, "mse": 0.5, "hidden": 0.25, "attention": 0.75}
    for name, value in expected.items():
        assert out[name].item() == pytest.approx(value, rel=1e-5), name
    assert out["loss"].item() == pytest.approx(sum(alphas[k] * expected[k] for k in alphas), rel=1e-5)
    out["loss"].backward()
    for key in ("teacher_logits", "teacher_last_hidden"):
        assert x[key].grad is None, key
    assert x["teacher_layer_states"][0].grad is None and x["teacher_attentions"][0].grad is None
    for key in ("student_logits", "mlm_logits", "student_last_hidden"):
        assert x[key].grad.abs().sum() > 0, key
    assert x["student_layer_states"][0].grad.abs().sum() > 0
    assert x["student_attentions"][0].grad.abs().sum() > 0


def test_objective_owns_and_trains_the_projection() -> None:
    x = _inputs(seed=500)  # student layer states are 4 wide, the teacher's H
    obj = DistillationObjective(alpha_ce=1.0, alpha_mlm=0, alpha_cos=0, alpha_hidden=2.0, student_dim=4, teacher_dim=H)
    out = obj(
        student_logits=x["student_logits"], teacher_logits=x["teacher_logits"],
        student_layer_states=x["student_layer_states"], teacher_layer_states=x["teacher_layer_states"],
    )
    assert set(out) == {"loss", "ce", "hidden"}
    W, b = obj.hidden.projection.weight.tolist(), obj.hidden.projection.bias.tolist()
    rows = x["student_layer_states"][0].tolist()
    proj = [[sum(v[j] * W[o][j] for j in range(4)) + b[o] for o in range(H)] for v in rows]
    hidden = ref_mse_mean(proj, x["teacher_layer_states"][0].tolist())
    ce = ref_soft_target(x["student_logits"].tolist(), x["teacher_logits"].tolist(), 2.0)
    assert out["hidden"].item() == pytest.approx(hidden, rel=1e-5)
    assert out["loss"].item() == pytest.approx(ce + 2.0 * hidden, rel=1e-5)
    out["loss"].backward()
    # The projection is one of the objective's parameters (to give to the optimizer) and is trained.
    params = dict(obj.named_parameters())
    assert set(params) == {"hidden.projection.weight", "hidden.projection.bias"}
    assert params["hidden.projection.weight"].grad.abs().sum() > 0
    assert x["teacher_layer_states"][0].grad is None


def test_objective_defaults_are_distilbert_and_zero_terms_are_absent() -> None:
    x = _inputs(seed=400)
    obj = DistillationObjective()
    assert obj.alphas == {"ce": 5.0, "mlm": 2.0, "cos": 1.0} and obj.temperature == 2.0
    assert list(obj.parameters()) == []
    out = obj(
        student_logits=x["student_logits"], teacher_logits=x["teacher_logits"],
        mlm_logits=x["mlm_logits"], mlm_labels=x["mlm_labels"],
        student_last_hidden=x["student_last_hidden"], teacher_last_hidden=x["teacher_last_hidden"],
    )
    assert set(out) == {"loss", "ce", "mlm", "cos"}
    ce = ref_soft_target(x["student_logits"].tolist(), x["teacher_logits"].tolist(), 2.0)
    mlm = ref_cross_entropy(x["mlm_logits"].tolist(), x["mlm_labels"].tolist())
    cos = ref_one_minus_cos(x["student_last_hidden"].tolist(), x["teacher_last_hidden"].tolist())
    assert out["loss"].item() == pytest.approx(5 * ce + 2 * mlm + 1 * cos, rel=1e-5)

    only_mlm = DistillationObjective(alpha_ce=0, alpha_mlm=1.0, alpha_cos=0)
    out = only_mlm(mlm_logits=x["mlm_logits"], mlm_labels=x["mlm_labels"])
    assert set(out) == {"loss", "mlm"}
    assert out["loss"].item() == pytest.approx(mlm, rel=1e-5)


def test_objective_needs_properties() -> None:
    default = DistillationObjective()
    assert default.needs_vocab_logits and default.needs_teacher_logits
    assert default.needs_hidden_states and not default.needs_attentions
    mlm_only = DistillationObjective(alpha_ce=0, alpha_cos=0)
    assert mlm_only.needs_vocab_logits and not mlm_only.needs_teacher_logits and not mlm_only.needs_hidden_states
    mse_only = DistillationObjective(alpha_ce=0, alpha_mlm=0, alpha_cos=0, alpha_mse=1)
    assert mse_only.needs_vocab_logits and mse_only.needs_teacher_logits
    feature_only = DistillationObjective(alpha_ce=0, alpha_mlm=0, alpha_cos=0, alpha_hidden=1, alpha_attention=1)
    assert not feature_only.needs_vocab_logits and not feature_only.needs_teacher_logits
    assert feature_only.needs_hidden_states and feature_only.needs_attentions
    similarities = DistillationObjective(alpha_ce=0, alpha_mlm=0, alpha_cos=0, alpha_sim=1)
    assert similarities.needs_pooled and not similarities.compares_vectors and not similarities.needs_hidden_states
    rankings = DistillationObjective(alpha_ce=0, alpha_mlm=0, alpha_cos=0, alpha_rank=1)
    assert rankings.needs_pooled and not rankings.compares_vectors and rankings.alphas == {"rank": 1.0}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha_ce=-1.0), "alpha_ce"),
        (dict(alpha_attention=float("nan")), "alpha_attention"),
        (dict(alpha_ce=0, alpha_mlm=0, alpha_cos=0), "at least one"),
        (dict(hidden_kind="l2"), "hidden_kind"),
        (dict(alpha_hidden=1.0, student_dim=4), "both"),
        # L_cos compares last hidden states directly: they must have the same width.
        (dict(alpha_cos=1.0, student_dim=4, teacher_dim=8), "same hidden size"),
    ],
)
def test_objective_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DistillationObjective(**kwargs)


@pytest.mark.parametrize("kwargs", [{"temperature": 0.0}, {"temperature": -2.0}, {"alpha_ce": 0, "temperature": 0.0}])
def test_objective_temperature_is_the_options_positive_check(kwargs: dict) -> None:
    # Checked even when no term uses it, by the commands' one positive-number check: BadInput, option named.
    with pytest.raises(BadInput, match="--temperature must be a finite number > 0"):
        DistillationObjective(**kwargs)


def test_an_objective_built_from_the_options_is_fitted_to_the_models_later() -> None:
    from dataclasses import replace

    from distilcli.distill.config import DistillConfig
    from distilcli.distill.objective import fit_to_models, make_objective

    cfg = DistillConfig(teacher="t", corpus="c", out="o", alpha_hidden=1.0, alpha_cos=0.0)
    objective = make_objective(cfg)  # what a run builds first: its needs_* decide how the models load
    assert objective.needs_vocab_logits and objective.needs_hidden_states
    assert objective.hidden is not None and objective.hidden.projection is None  # no widths yet
    fit_to_models(objective, 4, H)  # the same instance, now with the projection between the widths
    assert objective.hidden.projection is not None and tuple(objective.hidden.projection.weight.shape) == (H, 4)
    assert [name for name, _ in objective.named_parameters()] == ["hidden.projection.weight", "hidden.projection.bias"]
    # L_cos compares the last hidden states: widths that differ are the command's error, the option named.
    with pytest.raises(BadInput, match="--alpha-cos > 0 needs student and teacher of the same hidden size"):
        fit_to_models(make_objective(replace(cfg, alpha_cos=1.0)), 4, 8)


def test_objective_reports_missing_inputs() -> None:
    with pytest.raises(ValueError, match="teacher_logits"):
        DistillationObjective(alpha_mlm=0, alpha_cos=0)(student_logits=_rand(6, V, seed=1))
