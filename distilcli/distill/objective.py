"""The general-distillation objective: the weighted loss modules, built from the options; the seeds of its masks."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from torch import Tensor, nn

from distilcli.distill.config import DistillConfig, with_mode_defaults
from distilcli.distill.embedding_head import EmbeddingHead
from distilcli.distill.losses import (
    HIDDEN_KINDS,
    AttentionKLLoss,
    EmbeddingMSELoss,
    HiddenCosineLoss,
    HiddenStateLoss,
    LogitsMSELoss,
    MaskedLMLoss,
    PooledCosineLoss,
    SimilarityMatrixLoss,
    SimilarityRankingLoss,
    SoftTargetLoss,
)
from distilcli.errors import BadInput
from distilcli.models.pooling import SentencePooling
from distilcli.training.runtime import check_positive


class DistillationObjective(nn.Module):
    """Weights of the distillation recipe and the loss modules they switch on.

    Defaults are DistilBERT's (``alpha_ce=5, alpha_mlm=2, alpha_cos=1, T=2``). A term whose
    alpha is 0 is neither computed nor reported, and its inputs may be left out. Give the
    optimizer this module's parameters too: the hidden-state projection lives here.

    What depends on the two models (their widths, poolings, an embedding head) may be given here or
    later, by :meth:`fit_models`: a run builds its objective from the options first, since its
    ``needs_*`` decide how the models are loaded, and fits it once the student is built.
    """

    def __init__(
        self,
        alpha_ce: float = 5.0,
        alpha_mlm: float = 2.0,
        alpha_cos: float = 1.0,
        alpha_mse: float = 0.0,
        temperature: float = 2.0,
        alpha_hidden: float = 0.0,
        hidden_kind: str = "mse",
        alpha_attention: float = 0.0,
        student_dim: int | None = None,
        teacher_dim: int | None = None,
        alpha_pooled: float = 0.0,
        alpha_mse_emb: float = 0.0,
        alpha_sim: float = 0.0,
        alpha_rank: float = 0.0,
        pooling: SentencePooling | None = None,
        student_pooling: SentencePooling | None = None,
        embedding_head: EmbeddingHead | None = None,
    ) -> None:
        super().__init__()
        alphas = {
            "ce": alpha_ce,
            "mlm": alpha_mlm,
            "cos": alpha_cos,
            "pooled": alpha_pooled,
            "mse_emb": alpha_mse_emb,
            "sim": alpha_sim,
            "rank": alpha_rank,
            "mse": alpha_mse,
            "hidden": alpha_hidden,
            "attention": alpha_attention,
        }
        for name, value in alphas.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise ValueError(f"alpha_{name} must be a finite number >= 0, got {value!r}")
        if not any(value > 0 for value in alphas.values()):
            raise ValueError("at least one alpha must be > 0, or there is nothing to train on")
        check_positive("temperature", temperature)
        self.temperature = float(temperature)
        if hidden_kind not in HIDDEN_KINDS:
            raise ValueError(f"hidden_kind must be one of {', '.join(HIDDEN_KINDS)}, got {hidden_kind!r}")
        self.hidden_kind = hidden_kind
        #: Name -> weight of the active terms only, in a fixed order.
        self.alphas: dict[str, float] = {name: float(value) for name, value in alphas.items() if value > 0}

        self.ce = SoftTargetLoss(temperature) if "ce" in self.alphas else None
        self.mlm = MaskedLMLoss() if "mlm" in self.alphas else None
        self.cos = HiddenCosineLoss() if "cos" in self.alphas else None
        self.pooled = PooledCosineLoss() if "pooled" in self.alphas else None
        self.mse_emb = EmbeddingMSELoss() if "mse_emb" in self.alphas else None
        self.sim = SimilarityMatrixLoss() if "sim" in self.alphas else None
        self.rank = SimilarityRankingLoss() if "rank" in self.alphas else None
        self.mse = LogitsMSELoss() if "mse" in self.alphas else None
        self.attention = AttentionKLLoss() if "attention" in self.alphas else None
        self.fit_models(
            student_dim, teacher_dim, pooling, student_pooling=student_pooling, embedding_head=embedding_head
        )

    def fit_models(
        self,
        student_dim: int | None = None,
        teacher_dim: int | None = None,
        pooling: SentencePooling | None = None,
        *,
        student_pooling: SentencePooling | None = None,
        embedding_head: EmbeddingHead | None = None,
    ) -> None:
        """Set what depends on the two models: their widths (checked), poolings, the projection and the head.

        Before training only: the hidden-state projection is built anew, so the optimizer must come after.
        """
        #: How token states become the sentence embedding the pooled and mse_emb terms compare: the teacher's
        #: pooling, and the student's own (its sentence-transformers files) or the same.
        self.pooling = pooling or SentencePooling()
        self.student_pooling = student_pooling or self.pooling
        widths = {"cos": (student_dim, teacher_dim)}
        if student_dim is not None and teacher_dim is not None and embedding_head is None:
            widths["pooled"] = widths["mse_emb"] = (
                self.student_pooling.width(student_dim),
                self.pooling.width(teacher_dim),
            )
        for name, (student_width, teacher_width) in widths.items():
            known = student_width is not None and teacher_width is not None
            if name in self.alphas and known and student_width != teacher_width:
                # L_cos compares last hidden states directly; the embeddings meet through an EmbeddingHead.
                raise ValueError(
                    f"alpha_{name} > 0 needs student and teacher of the same hidden size, "
                    f"got {student_width} and {teacher_width}"
                )
        #: The Dense layer (and the teacher's PCA) between the pooled embeddings and their terms, where needed.
        self.embedding_head = embedding_head if self.needs_pooled else None
        # Built only when used, so an unused projection never sits in the optimizer.
        self.hidden = HiddenStateLoss(self.hidden_kind, student_dim, teacher_dim) if "hidden" in self.alphas else None

    @property
    def needs_vocab_logits(self) -> bool:
        """Whether the student's MLM head must run (ce, mlm or mse is on)."""
        return any(name in self.alphas for name in ("ce", "mlm", "mse"))

    @property
    def needs_teacher_logits(self) -> bool:
        """Whether the teacher's MLM head must run (ce or mse is on)."""
        return any(name in self.alphas for name in ("ce", "mse"))

    @property
    def needs_hidden_states(self) -> bool:
        """Whether hidden states are needed (cos on the last layer, or intermediate layers)."""
        return any(name in self.alphas for name in ("cos", "hidden"))

    @property
    def needs_pooled(self) -> bool:
        """Whether sentence embeddings are needed (the pooled cosine, the embedding MSE or the similarities is on)."""
        return any(name in self.alphas for name in ("pooled", "mse_emb", "sim", "rank"))

    @property
    def compares_vectors(self) -> bool:
        """Whether a term compares the two embeddings coordinate by coordinate (they must then have one width)."""
        return "pooled" in self.alphas or "mse_emb" in self.alphas

    @property
    def needs_attentions(self) -> bool:
        """Whether attention maps are needed (the model must run eager attention to return them)."""
        return "attention" in self.alphas

    def forward(
        self,
        *,
        student_logits: Tensor | None = None,
        teacher_logits: Tensor | None = None,
        mlm_logits: Tensor | None = None,
        mlm_labels: Tensor | None = None,
        student_last_hidden: Tensor | None = None,
        teacher_last_hidden: Tensor | None = None,
        student_pooled: Tensor | None = None,
        teacher_pooled: Tensor | None = None,
        student_layer_states: Sequence[Tensor] | None = None,
        teacher_layer_states: Sequence[Tensor] | None = None,
        student_attentions: Sequence[Tensor] | None = None,
        teacher_attentions: Sequence[Tensor] | None = None,
        attention_mask: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """``{"loss": sum of alpha_i * term_i, <term>: term_i ...}`` for the active terms only.

        Logits and hidden states are token-selected [N, ...]; pooled embeddings are [B, H];
        attentions are full [B, heads, L, L] with ``attention_mask`` [B, L].
        """
        inputs = {
            "ce": (student_logits, teacher_logits),
            "mlm": (mlm_logits, mlm_labels),
            "cos": (student_last_hidden, teacher_last_hidden),
            "pooled": (student_pooled, teacher_pooled),
            "mse_emb": (student_pooled, teacher_pooled),
            "sim": (student_pooled, teacher_pooled),
            "rank": (student_pooled, teacher_pooled),
            "mse": (student_logits, teacher_logits),
            "hidden": (student_layer_states, teacher_layer_states),
            "attention": (student_attentions, teacher_attentions, attention_mask),
        }
        needed = {
            "ce": "student_logits, teacher_logits",
            "mlm": "mlm_logits, mlm_labels",
            "cos": "student_last_hidden, teacher_last_hidden",
            "pooled": "student_pooled, teacher_pooled",
            "mse_emb": "student_pooled, teacher_pooled",
            "sim": "student_pooled, teacher_pooled",
            "rank": "student_pooled, teacher_pooled",
            "mse": "student_logits, teacher_logits",
            "hidden": "student_layer_states, teacher_layer_states",
            "attention": "student_attentions, teacher_attentions, attention_mask",
        }
        if self.embedding_head is not None and student_pooled is not None and teacher_pooled is not None:
            student_pooled, teacher_pooled = self.embedding_head(student_pooled, teacher_pooled)
            inputs["pooled"] = inputs["mse_emb"] = inputs["sim"] = inputs["rank"] = (student_pooled, teacher_pooled)
        out: dict[str, Tensor] = {}
        total: Tensor | None = None
        for name, alpha in self.alphas.items():
            args = inputs[name]
            if any(a is None for a in args):
                raise ValueError(f"alpha_{name} > 0 needs {needed[name]}")
            term = getattr(self, name)(*args)
            out[name] = term
            total = alpha * term if total is None else total + alpha * term
        assert total is not None  # __init__ guarantees at least one active term
        return {"loss": total, **out}

    def extra_repr(self) -> str:
        return ", ".join(f"alpha_{k}={v}" for k, v in self.alphas.items()) + f", temperature={self.temperature}"


@contextmanager
def _options_named() -> Iterator[None]:
    """The objective's ``ValueError`` as :class:`BadInput` naming the command's option (``--alpha-cos``,
    ``--hidden-loss``)."""
    try:
        yield
    except ValueError as exc:
        raise BadInput(str(exc).replace("alpha_", "--alpha-").replace("hidden_kind", "--hidden-loss")) from None


def make_objective(cfg: DistillConfig) -> DistillationObjective:
    """The weighted losses of ``cfg`` (its mode's defaults filled in); a bad weight or kind is :class:`BadInput` naming
    the option.

    Not yet fitted to the models (:func:`fit_to_models`): its ``needs_*`` already say what the run computes.
    """
    cfg = with_mode_defaults(cfg)
    assert cfg.alpha_ce is not None and cfg.alpha_mlm is not None and cfg.alpha_mse_emb is not None
    with _options_named():
        return DistillationObjective(
            alpha_ce=cfg.alpha_ce,
            alpha_mlm=cfg.alpha_mlm,
            alpha_cos=cfg.alpha_cos,
            alpha_mse=cfg.alpha_mse,
            temperature=cfg.temperature,
            alpha_hidden=cfg.alpha_hidden,
            hidden_kind=cfg.hidden_loss,
            alpha_attention=cfg.alpha_attention,
            alpha_pooled=cfg.alpha_pooled,
            alpha_mse_emb=cfg.alpha_mse_emb,
            alpha_sim=cfg.alpha_sim,
            alpha_rank=cfg.alpha_rank,
        )


def fit_to_models(
    objective: DistillationObjective,
    student_dim: int,
    teacher_dim: int,
    pooling: SentencePooling | None = None,
    *,
    student_pooling: SentencePooling | None = None,
    head: EmbeddingHead | None = None,
) -> None:
    """:meth:`DistillationObjective.fit_models`; widths that cannot meet are :class:`BadInput` naming the option."""
    with _options_named():
        objective.fit_models(student_dim, teacher_dim, pooling, student_pooling=student_pooling, embedding_head=head)


def mask_seed(*parts: int) -> int:
    """One seed from several counters (run seed, epoch, position, micro-batch, rank): each mask drawn once."""
    value = 0
    for part in parts:
        value = (value * 1_000_003 + part) % (2**62)
    return value
