"""The loss terms of DistilBERT-style distillation, one ``nn.Module`` each.

DistilBERT trains the student on ``alpha_ce * L_ce + alpha_mlm * L_mlm + alpha_cos * L_cos``
(HF ``examples/research_projects/distillation/distiller.py``); ``alpha_mse`` on the logits,
TinyBERT-style intermediate hidden states and attention maps are optional extras.

Conventions shared by every loss here:

* The training loop selects the non-padding token rows (``select_tokens``) *before*
  calling the logits and hidden-state losses, so those take flat ``[N, ...]`` tensors
  and refuse anything else: a forgotten selection would silently let padding into the
  loss and change the normalisation.
* Teacher tensors are detached, so no gradient ever reaches the teacher even if the
  caller forgot ``torch.no_grad()``.
* Everything is computed in float32: softmax/log at temperature and KL sums lose too
  much precision in half precision.
* With no rows to average over, a loss returns ``0 * student.sum()``: a zero that still
  belongs to the graph, so ``backward()`` works on a batch with nothing to learn from.

Hyper-parameters are validated in ``__init__`` and raise ``ValueError``; a number that must be
positive (a temperature) is checked by the commands' own check, :func:`~distilcli.training.runtime.check_positive`,
and raises its :class:`~distilcli.errors.BadInput` (exit 2, the option named): one check, one message.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from distilcli.training.runtime import check_positive

#: Label value that ``MaskedLMLoss`` ignores (the PyTorch / HF convention).
IGNORE_INDEX = -100

HIDDEN_KINDS = ("mse", "cosine")


# -- helpers --------------------------------------------------------------------------------
def select_tokens(x: Tensor, mask: Tensor) -> Tensor:
    """Rows of ``x`` [B, L, ...] where ``mask`` [B, L] (bool or 0/1) is set: ``[N, ...]``."""
    if mask.shape != x.shape[:2]:
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not match x of shape {tuple(x.shape)} ([B, L, ...])")
    return x[mask.bool()]


def _zero_like_graph(t: Tensor) -> Tensor:
    # A zero that keeps ``t`` in the graph, so backward() on the total still works.
    return t.float().sum() * 0.0


def _check_rows(name: str, student: Tensor, teacher: Tensor) -> None:
    if student.dim() != 2 or teacher.dim() != 2:
        raise ValueError(
            f"{name} takes token-selected [N, D] tensors (see select_tokens), "
            f"got {tuple(student.shape)} and {tuple(teacher.shape)}"
        )
    if student.shape != teacher.shape:
        raise ValueError(f"{name}: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} differ in shape")


def _unit_sentences(name: str, student_pooled: Tensor, teacher_pooled: Tensor) -> tuple[Tensor, Tensor]:
    """The two models' [B, H] sentence embeddings of the same B sentences, L2-normalised in float32 (the teacher's
    detached): what the similarity losses compare. The widths may differ."""
    if student_pooled.dim() != 2 or teacher_pooled.dim() != 2 or student_pooled.shape[0] != teacher_pooled.shape[0]:
        raise ValueError(
            f"{name} takes [B, H] embeddings of the same B sentences, "
            f"got {tuple(student_pooled.shape)} and {tuple(teacher_pooled.shape)}"
        )
    return F.normalize(student_pooled.float(), dim=-1), F.normalize(teacher_pooled.detach().float(), dim=-1)


def tempered_kl(
    student_logits: Tensor, teacher_logits: Tensor, temperature: float, padding: Tensor | None = None
) -> Tensor:
    """``KL(softmax(t / T) ‖ softmax(s / T)) · T²``, "batchmean" over the rows: the one soft-target KL of every KD loss.

    The ``T²`` keeps the soft targets' gradients on the scale of hard ones whatever T (Hinton et al.
    2015). ``padding`` (bool, the logits' shape) marks entries with no probability; they are masked
    after scaling, since the lowest float divided by a temperature below 1 would be -inf.
    """
    s, t = student_logits / temperature, teacher_logits.detach() / temperature
    if padding is not None:
        lowest = torch.finfo(s.dtype).min
        s, t = s.masked_fill(padding, lowest), t.masked_fill(padding, lowest)
    return F.kl_div(F.log_softmax(s, dim=-1), F.softmax(t, dim=-1), reduction="batchmean") * temperature**2


def _mean_one_minus_cos(student: Tensor, teacher: Tensor) -> Tensor:
    # nn.CosineEmbeddingLoss with target 1 and reduction "mean": mean over rows of 1 - cos.
    if student.shape[0] == 0:
        return _zero_like_graph(student)
    return (1.0 - F.cosine_similarity(student.float(), teacher.detach().float(), dim=-1)).mean()


# -- DistilBERT's triple loss (+ logits MSE) ------------------------------------------------
class SoftTargetLoss(nn.Module):
    """DistilBERT's ``L_ce``: KL between teacher and student distributions at temperature T."""

    def __init__(self, temperature: float = 2.0) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        self.temperature = float(temperature)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        """``KL(softmax(t/T) || softmax(s/T)) * T**2``, "batchmean" over the N rows of [N, V].

        The ``T**2`` keeps the gradient scale independent of T (Hinton et al., 2015).
        """
        _check_rows("SoftTargetLoss", student_logits, teacher_logits)
        if student_logits.shape[0] == 0:
            return _zero_like_graph(student_logits)
        return tempered_kl(student_logits.float(), teacher_logits.float(), self.temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class MaskedLMLoss(nn.Module):
    """DistilBERT's ``L_mlm``: cross-entropy at T=1 against the masked-token labels."""

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy over rows of ``logits`` [N, V] whose ``labels`` [N] are not -100."""
        if logits.dim() != 2 or labels.dim() != 1 or labels.shape[0] != logits.shape[0]:
            raise ValueError(
                f"MaskedLMLoss takes logits [N, V] and labels [N], got {tuple(logits.shape)} and {tuple(labels.shape)}"
            )
        if not bool((labels != IGNORE_INDEX).any()):
            # cross_entropy would return nan (0 / 0) here.
            return _zero_like_graph(logits)
        return F.cross_entropy(logits.float(), labels.long(), ignore_index=IGNORE_INDEX)


class HiddenCosineLoss(nn.Module):
    """DistilBERT's ``L_cos``: aligns the directions of student and teacher last hidden states."""

    def forward(self, student_hidden: Tensor, teacher_hidden: Tensor) -> Tensor:
        """Mean over rows of ``1 - cos(s, t)`` for [N, H] tensors (``CosineEmbeddingLoss``, target 1)."""
        _check_rows("HiddenCosineLoss", student_hidden, teacher_hidden)
        return _mean_one_minus_cos(student_hidden, teacher_hidden)


class PooledCosineLoss(nn.Module):
    """Cosine between the sentence embeddings (mean-pooled last hidden states) of student and teacher.

    Token-level ``L_cos`` leaves each token's length free and weighs long sequences by their
    tokens; what a sentence encoder is used for is the direction of the pooled vector, one per
    sequence. Measured on minilm-l6 -> 3 layers, on sentences: this term beside ``L_cos`` lifted
    the student's zero-shot STS-B Spearman above the undistilled student's (docs/results.md).
    """

    def forward(self, student_pooled: Tensor, teacher_pooled: Tensor) -> Tensor:
        """Mean over sequences of ``1 - cos(s, t)`` for [B, H] pooled embeddings."""
        _check_rows("PooledCosineLoss", student_pooled, teacher_pooled)
        return _mean_one_minus_cos(student_pooled, teacher_pooled)


class EmbeddingMSELoss(nn.Module):
    """Squared distance between student and teacher sentence embeddings, averaged over sentences.

    sentence-transformers' distillation objective (Reimers & Gurevych 2020) is ``nn.MSELoss``,
    the mean over every element; this is that times the embedding width ``H``, i.e. each
    sentence's squared Euclidean error ``sum_h (s_h - t_h)^2``, as ``--alpha-mse`` treats logits.
    Why: the element mean shrinks as ``1/H`` (for unit-length embeddings it is ``(2 - 2 cos)/H``:
    8e-4 falling to 3e-4 in 768-wide mpnet-base runs, beside ``L_cos`` at 0.41 falling to 0.18), so
    at weight 1 it would weigh almost nothing against the other terms. Per sentence, unit-length
    embeddings give ``2 - 2 cos``: the same scale as every other term, whatever the width.
    The embeddings are the teacher's own (its pooling, normalised when it normalises).
    """

    def forward(self, student_pooled: Tensor, teacher_pooled: Tensor) -> Tensor:
        """``sum((s - t)^2) / B`` over [B, H] embeddings."""
        _check_rows("EmbeddingMSELoss", student_pooled, teacher_pooled)
        rows = student_pooled.shape[0]
        if rows == 0:
            return _zero_like_graph(student_pooled)
        return F.mse_loss(student_pooled.float(), teacher_pooled.detach().float(), reduction="sum") / rows


class SimilarityMatrixLoss(nn.Module):
    """Squared difference between the student's and the teacher's cosine similarities of every pair of sentences in
    the batch (similarity-preserving distillation, Tung & Mori 2019, on sentence embeddings).

    What a search or STS system reads from an encoder is how similar two texts are, not where each
    vector lies. This term asks only that, so it needs no common width and no projection: a student
    of another family keeps its own embedding space and learns the teacher's judgements of
    similarity, while ``--alpha-mse-emb`` must map it into the teacher's space first (a Dense layer
    that, fitted by least squares, explained 59% of mpnet-base's embeddings from minilm-l6's).
    Mean over the ``B (B - 1)`` ordered pairs of distinct sentences; cosines are in [-1, 1].
    """

    def forward(self, student_pooled: Tensor, teacher_pooled: Tensor) -> Tensor:
        """``mean_{i != j} (cos(s_i, s_j) - cos(t_i, t_j))^2`` over [B, Hs] and [B, Ht] embeddings."""
        student, teacher = _unit_sentences("SimilarityMatrixLoss", student_pooled, teacher_pooled)
        rows = student.shape[0]
        if rows < 2:  # no pair to compare
            return _zero_like_graph(student_pooled)
        difference = student @ student.T - teacher @ teacher.T
        off_diagonal = ~torch.eye(rows, dtype=torch.bool, device=difference.device)
        return difference[off_diagonal].pow(2).mean()


#: The temperature of :class:`SimilarityRankingLoss`: 1/20, the scale sentence-transformers' in-batch ranking loss
#: (MultipleNegativesRankingLoss) trains its encoders with, so the ranks it sharpens are those they were trained on.
RANK_TEMPERATURE = 0.05


class SimilarityRankingLoss(nn.Module):
    """KL divergence between the teacher's and the student's in-batch neighbour distributions: for each sentence,
    a softmax over its cosine similarities to the batch's other sentences at :data:`RANK_TEMPERATURE`.

    :class:`SimilarityMatrixLoss` weighs every pair alike; a search reads only the top of each ranking. At a
    low temperature each row's distribution is nearly all on the nearest few sentences, so this term asks the
    student to rank a sentence's neighbours as the teacher does (listwise distillation of the similarity matrix,
    as in-batch distillation for dense retrieval does). Like the matrix loss it needs no common width.
    Mean over the ``B`` rows of ``KL(p_t(. | i) || p_s(. | i))``, each row over the ``B - 1`` other sentences.
    """

    def __init__(self, temperature: float = RANK_TEMPERATURE) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        self.temperature = float(temperature)

    def forward(self, student_pooled: Tensor, teacher_pooled: Tensor) -> Tensor:
        """``mean_i KL(softmax_{j != i}(cos(t_i, t_j) / T) || softmax_{j != i}(cos(s_i, s_j) / T))``."""
        student, teacher = _unit_sentences("SimilarityRankingLoss", student_pooled, teacher_pooled)
        rows = student.shape[0]
        if rows < 2:  # no neighbour to rank
            return _zero_like_graph(student_pooled)
        others = ~torch.eye(rows, dtype=torch.bool, device=student.device)  # a sentence is not its own neighbour

        def neighbours(x: Tensor) -> Tensor:  # [B, B - 1] log-probabilities of each row's other sentences
            return F.log_softmax((x @ x.T)[others].view(rows, rows - 1) / self.temperature, dim=-1)

        teacher_logp = neighbours(teacher)
        return (teacher_logp.exp() * (teacher_logp - neighbours(student))).sum(-1).mean()


class LogitsMSELoss(nn.Module):
    """Optional ``L_mse`` on the logits: summed squared error divided by the number of rows."""

    def forward(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        """``MSELoss(reduction="sum")(s, t) / N`` for [N, V] tensors, as HF's distiller.py."""
        _check_rows("LogitsMSELoss", student_logits, teacher_logits)
        n = student_logits.shape[0]
        if n == 0:
            return _zero_like_graph(student_logits)
        return F.mse_loss(student_logits.float(), teacher_logits.detach().float(), reduction="sum") / n


# -- intermediate layers --------------------------------------------------------------------
class HiddenStateLoss(nn.Module):
    """Intermediate-layer loss over mapped (student layer, teacher layer) pairs.

    When the student is narrower than the teacher, a learned ``nn.Linear(student_dim,
    teacher_dim)`` projects the student states first (TinyBERT). Its parameters belong to
    this module, so the optimizer must be given ``objective.parameters()`` as well as the
    student's, and the projection is thrown away after training.
    """

    def __init__(self, kind: str = "mse", student_dim: int | None = None, teacher_dim: int | None = None) -> None:
        super().__init__()
        if kind not in HIDDEN_KINDS:
            raise ValueError(f"hidden loss kind must be one of {', '.join(HIDDEN_KINDS)}, got {kind!r}")
        if (student_dim is None) != (teacher_dim is None):
            raise ValueError("give both student_dim and teacher_dim, or neither")
        for name, dim in (("student_dim", student_dim), ("teacher_dim", teacher_dim)):
            if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0):
                raise ValueError(f"{name} must be a positive integer, got {dim!r}")
        self.kind = kind
        self.student_dim = student_dim
        self.teacher_dim = teacher_dim
        self.projection: nn.Linear | None = (
            nn.Linear(student_dim, teacher_dim) if student_dim is not None and student_dim != teacher_dim else None
        )

    def forward(self, student_states: Sequence[Tensor], teacher_states: Sequence[Tensor]) -> Tensor:
        """Mean over pairs of MSE (mean over elements) or of mean ``1 - cos`` over rows; [N, H] each."""
        if len(student_states) != len(teacher_states) or not student_states:
            raise ValueError(
                f"HiddenStateLoss needs as many student as teacher states (at least one), "
                f"got {len(student_states)} and {len(teacher_states)}"
            )
        terms = []
        for s, t in zip(student_states, teacher_states):
            if s.dim() != 2:
                raise ValueError(f"HiddenStateLoss takes token-selected [N, H] states, got {tuple(s.shape)}")
            s = s.float()
            if self.projection is not None:
                if s.shape[-1] != self.student_dim:
                    raise ValueError(
                        f"student states have width {s.shape[-1]}, expected student_dim={self.student_dim}"
                    )
                s = self.projection(s)
            _check_rows("HiddenStateLoss", s, t)
            if s.shape[0] == 0:
                terms.append(_zero_like_graph(s))
            elif self.kind == "mse":
                terms.append(F.mse_loss(s, t.detach().float(), reduction="mean"))
            else:
                terms.append(_mean_one_minus_cos(s, t))
        return torch.stack(terms).mean()

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, student_dim={self.student_dim}, teacher_dim={self.teacher_dim}"


class AttentionKLLoss(nn.Module):
    """Attention-map distillation: ``KL(teacher || student)`` of each query row over the keys.

    Attentions are [B, heads, L, L] (softmax over the last axis). The KL of every valid
    query row is summed over keys and averaged over valid query rows x heads x layer pairs.
    Padded query rows are excluded; padded key columns are dropped from the sum (a real
    model gives them ~0 probability anyway, so this only guards against garbage), and
    probabilities are clamped to ``eps`` before the log.

    When student and teacher have different head counts, each side's heads are averaged
    into one map first (a mean of distributions is still a distribution), so that pair
    compares mean attention rather than head-by-head.
    """

    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        check_positive("eps", eps)
        self.eps = float(eps)

    def forward(
        self, student_attentions: Sequence[Tensor], teacher_attentions: Sequence[Tensor], attention_mask: Tensor
    ) -> Tensor:
        """Mean KL(teacher || student) per valid query row, head and layer pair (float32)."""
        if len(student_attentions) != len(teacher_attentions) or not student_attentions:
            raise ValueError(
                f"AttentionKLLoss needs as many student as teacher attention maps (at least one), "
                f"got {len(student_attentions)} and {len(teacher_attentions)}"
            )
        if attention_mask.dim() != 2:
            raise ValueError(f"attention_mask must be [B, L], got {tuple(attention_mask.shape)}")
        mask = attention_mask.bool()
        batch, length = mask.shape
        query_mask = mask[:, None, :].float()  # [B, 1, L]
        key_mask = mask[:, None, None, :].float()  # [B, 1, 1, L]
        n_queries = query_mask.sum()

        terms = []
        for s, t in zip(student_attentions, teacher_attentions):
            for name, a in (("student", s), ("teacher", t)):
                if a.dim() != 4 or a.shape[0] != batch or a.shape[2:] != (length, length):
                    raise ValueError(
                        f"{name} attention must be [B, heads, L, L] = [{batch}, heads, {length}, {length}], "
                        f"got {tuple(a.shape)}"
                    )
            s = s.float()
            t = t.detach().float()
            if s.shape[1] != t.shape[1]:
                s = s.mean(dim=1, keepdim=True)
                t = t.mean(dim=1, keepdim=True)
            if n_queries == 0:
                terms.append(_zero_like_graph(s))
                continue
            # t * (log t - log s) is 0 where t is 0 (the xlogy convention), whatever s is.
            pointwise = t * (t.clamp_min(self.eps).log() - s.clamp_min(self.eps).log())
            per_query = (pointwise * key_mask).sum(dim=-1)  # [B, heads, L]
            heads = s.shape[1]
            terms.append((per_query * query_mask).sum() / (n_queries * heads))
        return torch.stack(terms).mean()

    def extra_repr(self) -> str:
        return f"eps={self.eps}"
