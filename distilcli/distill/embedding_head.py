"""What the sentence-embedding losses compare: a Dense layer on the student's embedding, a PCA of the teacher's.

Two cases need more than the two pooled embeddings side by side:

* the widths differ (a student of another width or pooling): a learned ``nn.Linear`` maps the
  student's embedding to the teacher's width, as the hidden-state loss projects (TinyBERT). Unlike
  that projection it is kept: saved after the pooling as a sentence-transformers ``Dense`` module,
  so the saved student gives the vectors it was trained to give, in the teacher's space. It starts
  as the least-squares map from the student's embeddings to the teacher's on a sample of the corpus
  (:func:`fit_least_squares`), not at random: a random map's first gradients, at a distillation
  learning rate, rewrite what an already trained student knows;
* ``--embedding-dim D``: the teacher's embeddings are reduced by a PCA fitted on the corpus
  (its top ``D`` components, centred: ``W (t - mean)``, fixed), and the student's Dense layer maps
  to ``D`` (initialised as that same PCA when the student's embedding has the teacher's width,
  then trained), so the student learns the teacher's ``D``-wide projection (sentence-transformers'
  recipe for smaller vectors, with the reduction trained instead of fixed). When the losses compare
  only similarities (``--alpha-sim``, ``--alpha-rank``), the teacher keeps its full width and the Dense starts as
  the PCA of the *student's own* embeddings (:meth:`EmbeddingHead.set_own_pca`): the student's
  ``D`` most varied directions, learning to reproduce the teacher's similarities.

When the teacher's embeddings are unit-length (it normalises), both sides are normalised again
after these layers: the loss compares what a cosine search would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from distilcli import progress
from distilcli.errors import BadInput
from distilcli.models.pooling import SentencePooling, pool

#: Sentences of the corpus the PCA is fitted on (sentence-transformers' recipe uses 20,000).
PCA_SENTENCES = 20_000
#: Sentences the least-squares start of the Dense is fitted on: ten times the unknowns per output of a 384-wide input.
LSQ_SENTENCES = 4_096
#: The ridge added to the least-squares normal equations, as a share of the Gram matrix's mean diagonal (sentences ×
#: the inputs' mean variance): negligible, but it keeps the system solvable.
_RIDGE = 1e-6
PCA_BATCH = 64


@dataclass(frozen=True)
class Pca:
    """The top components of a set of embeddings: ``project(x) = (x - mean) @ components.T``."""

    mean: np.ndarray  # [width]
    components: np.ndarray  # [dim, width], each row unit length, its largest coefficient positive
    explained_variance: float  # the share of the variance the components keep
    sentences: int

    def record(self) -> dict[str, Any]:
        dim = int(self.components.shape[0])
        return {"dim": dim, "explained_variance": self.explained_variance, "sentences": self.sentences}


def fit_pca(embeddings: np.ndarray, dim: int) -> Pca:
    """The PCA of ``embeddings`` [n, width] (SVD of the centred matrix, float64) kept to ``dim`` components.

    Signs are fixed as scikit-learn fixes them (each component's largest coefficient positive), so
    the same embeddings always give the same layer.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if not 1 <= dim <= min(x.shape):
        raise BadInput(
            f"--embedding-dim {dim} needs at least {dim} sentences and an embedding at least {dim} wide; "
            f"got {x.shape[0]} sentences, width {x.shape[1]}"
        )
    mean = x.mean(axis=0)
    _, singular, vt = np.linalg.svd(x - mean, full_matrices=False)
    components = vt[:dim].copy()
    components *= np.sign(components[np.arange(dim), np.abs(components).argmax(axis=1)])[:, None]
    variance = singular**2
    explained = float(variance[:dim].sum() / variance.sum()) if variance.sum() > 0 else 1.0
    return Pca(mean, components, explained, int(x.shape[0]))


@dataclass(frozen=True)
class LeastSquares:
    """The affine map ``x @ weight.T + bias`` closest to the targets in squared error, and how much it explains."""

    weight: np.ndarray  # [out, in]
    bias: np.ndarray  # [out]
    r2: float  # the share of the targets' variance the map explains on the sample
    sentences: int

    def record(self) -> dict[str, Any]:
        return {"sentences": self.sentences, "r2": self.r2}


def fit_least_squares(inputs: np.ndarray, targets: np.ndarray) -> LeastSquares:
    """The affine map from ``inputs`` [n, in] to ``targets`` [n, out] of least squared error (ridge-regularised by a
    negligible :data:`_RIDGE`, so a sample with fewer sentences than widths still has one answer), float64."""
    x, y = np.asarray(inputs, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - x_mean, y - y_mean
    gram = xc.T @ xc
    ridge = _RIDGE * max(float(np.trace(gram)) / gram.shape[0], 1e-12)
    weight = np.linalg.solve(gram + ridge * np.eye(gram.shape[0]), xc.T @ yc).T  # [out, in]
    residual = yc - xc @ weight.T
    total = float((yc**2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    return LeastSquares(weight, y_mean - weight @ x_mean, r2, int(x.shape[0]))


class EmbeddingHead(nn.Module):
    """The layers between the pooled embeddings and the loss: the student's Dense, the teacher's fixed PCA."""

    def __init__(
        self,
        student_width: int,
        teacher_width: int,
        dim: int | None = None,
        normalize: bool = False,
        reduce_teacher: bool = True,
    ) -> None:
        super().__init__()
        self.student_width, self.teacher_width, self.dim, self.normalize = student_width, teacher_width, dim, normalize
        # Without reduce_teacher (the losses compare similarities only) the teacher side keeps its full width.
        self.reduce_teacher = reduce_teacher and dim is not None
        self.dense = nn.Linear(student_width, dim or teacher_width)
        self.init = "random"
        if self.reduce_teacher:
            self.register_buffer("pca_weight", torch.zeros(dim, teacher_width))
            self.register_buffer("pca_bias", torch.zeros(dim))
        # How the head started, as the report says it (kept as records, so a resumed run can restore them).
        self.pca_record: dict[str, Any] | None = None
        self.least_squares_record: dict[str, Any] | None = None

    def set_pca(self, pca: Pca) -> None:
        """Fix the teacher's reduction to ``pca``; start the student's Dense as the same projection where widths
        allow."""
        weight = torch.tensor(pca.components, dtype=torch.float32)
        bias = -(torch.tensor(pca.components) @ torch.tensor(pca.mean)).float()  # W (x - mean) = W x - W mean
        with torch.no_grad():
            self.pca_weight.copy_(weight)
            self.pca_bias.copy_(bias)
            if self.student_width == self.teacher_width:
                self.dense.weight.copy_(weight)
                self.dense.bias.copy_(bias)
                self.init = "pca"
        self.pca_record = {**pca.record(), "of": "teacher"}

    def set_own_pca(self, pca: Pca) -> None:
        """Start the student's Dense as ``pca``, the PCA of the student's own embeddings (the teacher side is not
        reduced)."""
        assert not self.reduce_teacher and pca.components.shape == (self.dense.out_features, self.student_width)
        with torch.no_grad():
            self.dense.weight.copy_(torch.tensor(pca.components, dtype=torch.float32))
            self.dense.bias.copy_(-(torch.tensor(pca.components) @ torch.tensor(pca.mean)).float())
        self.init, self.pca_record = "pca", {**pca.record(), "of": "student"}

    def set_least_squares(self, fit: LeastSquares) -> None:
        """Start the Dense as ``fit``: the least-squares map from the student's embeddings to the teacher side's."""
        with torch.no_grad():
            self.dense.weight.copy_(torch.tensor(fit.weight, dtype=torch.float32))
            self.dense.bias.copy_(torch.tensor(fit.bias, dtype=torch.float32))
        self.init, self.least_squares_record = "least-squares", fit.record()

    def start_record(self) -> dict[str, Any]:
        """How the head started (its init and fits), for :meth:`restore` in a resumed run."""
        return {"init": self.init, "pca": self.pca_record, "least_squares": self.least_squares_record}

    def restore(self, state: dict[str, torch.Tensor], start: dict[str, Any]) -> None:
        """Start as a run that saved ``state`` (this head's tensors) and ``start`` (:meth:`start_record`) did."""
        self.load_state_dict(state)
        self.init, self.pca_record, self.least_squares_record = start["init"], start["pca"], start["least_squares"]

    def teacher_side(self, teacher: torch.Tensor) -> torch.Tensor:
        """The teacher's embeddings [B, width] as the losses see them: PCA-reduced (and normalised again) with a
        ``dim``."""
        teacher = teacher.float()
        if not self.reduce_teacher:
            return teacher
        teacher = F.linear(teacher, self.pca_weight, self.pca_bias)
        return F.normalize(teacher, dim=-1) if self.normalize else teacher

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(student [B, out], teacher [B, out]): the vectors the sentence-embedding losses compare."""
        student = self.dense(student.float())
        if self.normalize:
            student = F.normalize(student, dim=-1)
        return student, self.teacher_side(teacher)

    def record(self) -> dict[str, Any]:
        """What the report and the card say: widths, how the Dense started, the PCA's dimension and explained
        variance."""
        return {
            "dense": {
                "in": self.student_width,
                "out": self.dense.out_features,
                "init": self.init,
                "normalize": self.normalize,
            },
            "pca": self.pca_record,
            "least_squares": self.least_squares_record,
        }


def pooled_embeddings(
    model: Any,
    rows: Sequence[Sequence[int]],
    collate: Callable[[list[dict]], dict[str, torch.Tensor]],
    pooling: SentencePooling,
    device: torch.device,
    description: str = "embedding sentences",
) -> np.ndarray:
    """The sentence embeddings [n, width] of ``rows`` (the model's token ids) by ``model`` and ``pooling``, float64.

    The caller puts the model in eval mode (the teacher always is). A progress bar named ``description`` on a
    terminal: on a CPU, 20,000 sentences through a 12-layer teacher take many minutes.
    """
    order = np.argsort([-len(row) for row in rows], kind="stable")  # longest first: little padding
    out = np.zeros((len(rows), 0))
    with torch.no_grad(), progress.task(description, total=len(rows), unit="examples") as bar:
        for start in range(0, len(rows), PCA_BATCH):
            picked = order[start : start + PCA_BATCH]
            batch = collate([{"input_ids": rows[int(i)]} for i in picked])
            mask = batch["attention_mask"].to(device)
            hidden = model.base_model(input_ids=batch["input_ids"].to(device), attention_mask=mask).last_hidden_state
            vectors = pool(hidden, mask, pooling).double().cpu().numpy()
            if out.shape[1] == 0:
                out = np.zeros((len(rows), vectors.shape[1]))
            out[picked] = vectors
            bar.advance(len(picked))
    return out


def pca_sample(count: int, seed: int, limit: int = PCA_SENTENCES) -> np.ndarray:
    """Which of ``count`` training sequences a layer is fitted on: at most ``limit`` (the PCA's
    :data:`PCA_SENTENCES`), drawn from ``seed``."""
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, limit, replace=False))
