"""Sentence-embedding distillation beyond a student cut from its teacher: another tokenizer, another width, fewer
dimensions.

* ``--student`` with its own tokenizer (``--task embeddings``): every sentence (or line, with
  ``--document-per line``) is tokenised by each model itself (:mod:`distilcli.data.sentence_pairs`),
  the teacher reads its ids, the student its own, and only the sentence embeddings are compared
  (token-level losses are refused: the two tokenizers cut the text at different places). The saved
  student keeps its own tokenizer.
* The student's pooling is its own when its folder has sentence-transformers files, else the teacher's;
  its saved folder keeps those files.
* Where the embeddings' widths differ, or with ``--embedding-dim``, an
  :class:`~distilcli.distill.embedding_head.EmbeddingHead` sits between the pooled embeddings and the loss,
  started as the teacher's PCA where the widths allow, else as the least-squares map from the student's
  embeddings to the teacher's on a sample of the corpus (one pass of each model over it, before training);
  with similarity losses alone (``--alpha-sim``, ``--alpha-rank``), as the PCA of the student's own embeddings
  (the teacher keeps its width).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from distilcli.data.corpus import CorpusSpec
from distilcli.data.token_rows import TokenRows
from distilcli.distill.config import DistillConfig
from distilcli.distill.embedding_head import (
    LSQ_SENTENCES,
    EmbeddingHead,
    Pca,
    fit_least_squares,
    fit_pca,
    pca_sample,
    pooled_embeddings,
)
from distilcli.distill.objective import DistillationObjective, fit_to_models
from distilcli.distill.run_parts import EMBEDDING_HEAD_DIR, HEAD_FILE, Corpus, load_head, save_head
from distilcli.distill.sentence_checks import same_tokenizer, tokenizer_of
from distilcli.errors import BadInput
from distilcli.models.pooling import SentencePooling, read_pooling
from distilcli.training.batches import Batches

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

    from distilcli.models.adapters import ArchitectureAdapter
    from distilcli.models.loading import LoadedModel
    from distilcli.models.sentence_files import DenseLayer


def other_tokenizer(cfg: DistillConfig, teacher_tokenizer: Any) -> Any | None:
    """The student's tokenizer when it is not the teacher's (a ``--student`` with its own), else None.

    A student folder without tokenizer files reads the teacher's ids, and is saved with the teacher's tokenizer.
    """
    if not cfg.student:
        return None
    student = tokenizer_of(cfg.student)
    return None if student is None or same_tokenizer(teacher_tokenizer, student) else student


def prepare(cfg: DistillConfig, accelerator: Accelerator, tokenizer: Any, student_tokenizer: Any | None) -> Corpus:
    """The run's corpus: the teacher's token chunks, or (a student with its own tokenizer, or ``--query-passage``)
    whole sentences, lines or query–passage pairs in each model's ids."""
    from distilcli.data.masking import DynamicMasker, mlm_token_weights
    from distilcli.data.query_passage import PAIR, query_passage_texts
    from distilcli.data.sentence_pairs import tokenize_pairs
    from distilcli.distill.corpus_prep import prepare_corpus

    if student_tokenizer is None and not cfg.query_passage:
        return prepare_corpus(cfg, accelerator, tokenizer)
    assert cfg.max_seq_length is not None
    spec = CorpusSpec(str(cfg.corpus), cfg.text_field, cfg.document_per)
    group = PAIR if cfg.query_passage else 1
    texts = query_passage_texts(spec, cfg.seed) if cfg.query_passage else None
    own = student_tokenizer if student_tokenizer is not None else tokenizer
    pairs = tokenize_pairs(spec, tokenizer, own, cfg.max_seq_length, cfg.min_tokens, texts=texts, group=group)
    rank, world = accelerator.process_index, accelerator.num_processes
    batches = Batches(cfg, pairs.teacher, tokenizer.pad_token_id, rank, world, group=group)
    if batches.steps_per_epoch == 0:
        raise BadInput(
            f"the corpus gives {pairs.stats.kept} texts: too few for --batch-size {cfg.batch_size} × --grad-accum "
            f"{cfg.grad_accum} × {accelerator.num_processes} process(es); use a larger corpus or smaller batches"
        )
    # No loss masks anything here (check_student_tokenizer, check_query_passage): the masker is never called.
    weights = mlm_token_weights(np.ones(len(tokenizer)), tokenizer.all_special_ids)
    masker = DynamicMasker(weights, tokenizer.mask_token_id, len(tokenizer), cfg.mlm_probability)
    stats = vars(pairs.stats) | ({"query_passage_pairs": pairs.stats.kept // PAIR} if cfg.query_passage else {})
    return Corpus(
        pairs.teacher,
        TokenRows.from_lists([]),
        batches,
        masker,
        accelerator.device,
        False,
        tokenizer.pad_token_id,
        student_rows=pairs.student if student_tokenizer is not None else None,
        student_pad_id=own.pad_token_id,
        pair_stats=stats,
    )


@dataclass(frozen=True)
class TeacherSample:
    """The teacher's embeddings of a sample of the training sequences (``indices`` into the corpus), and their PCA."""

    indices: np.ndarray
    embeddings: np.ndarray  # [len(indices), width]
    pca: Pca | None


def _teacher_sample(teacher: LoadedModel, corpus: Corpus, indices: np.ndarray) -> np.ndarray:
    """The teacher's embeddings of the corpus's sequences at ``indices``, with its own pooling."""
    from distilcli.data.batching import pad_collate

    rows = [corpus.train_ids[int(i)] for i in indices]
    return pooled_embeddings(
        teacher.model,
        rows,
        pad_collate(corpus.pad_id),
        read_pooling(teacher.ref.path),
        corpus.device,
        "the teacher's embeddings of a sample",
    )


def teacher_pca(
    cfg: DistillConfig,
    objective: DistillationObjective,
    teacher: LoadedModel,
    corpus: Corpus,
    log: Callable[[str], None],
) -> TeacherSample | None:
    """With ``--embedding-dim D``: the PCA of the teacher's embeddings of (up to 20,000 of) the training sentences.

    None when the losses compare only similarities: the teacher then keeps its full width (see
    :func:`start_own_pca`).
    """
    if cfg.embedding_dim is None or not objective.compares_vectors or _saved_start(cfg):
        return None
    picked = pca_sample(len(corpus.train_ids), cfg.seed)
    embeddings = _teacher_sample(teacher, corpus, picked)
    pca = fit_pca(embeddings, cfg.embedding_dim)
    log(
        f"--embedding-dim {cfg.embedding_dim}: the PCA of the teacher's embeddings of {pca.sentences:,} sentences "
        f"keeps {pca.explained_variance:.1%} of their variance"
    )
    return TeacherSample(picked, embeddings, pca)


def _student_sample(
    student_model: Any, student_pooling: SentencePooling, corpus: Corpus, indices: np.ndarray, what: str
) -> np.ndarray:
    """The student's embeddings of the corpus's sequences at ``indices``, each read with its own tokens; the student
    in eval mode (no dropout), then put back."""
    from distilcli.data.batching import pad_collate

    own_rows = corpus.student_rows if corpus.student_rows is not None else corpus.train_ids
    pad_id = corpus.student_pad_id if corpus.student_rows is not None else corpus.pad_id
    was_training = student_model.training
    student_model.eval()
    device = next(student_model.parameters()).device
    rows = [own_rows[int(i)] for i in indices]
    try:
        return pooled_embeddings(student_model, rows, pad_collate(pad_id), student_pooling, device, what)
    finally:
        student_model.train(was_training)


def start_own_pca(
    head: EmbeddingHead,
    student_model: Any,
    student_pooling: SentencePooling,
    corpus: Corpus,
    seed: int,
    log: Callable[[str], None],
) -> None:
    """Start ``head``'s Dense as the PCA of the student's own embeddings of (up to 20,000 of) the training sentences.

    For ``--embedding-dim`` when the losses compare only similarities: no teacher pass (the teacher is not reduced),
    and the student starts from its own ``D`` most varied directions, as sentence-transformers reduces a model.
    """
    assert head.dim is not None  # wider than the student's embeddings: refused by check_embedding_dim
    picked = pca_sample(len(corpus.train_ids), seed)
    embeddings = _student_sample(student_model, student_pooling, corpus, picked, "the student's embeddings of a sample")
    pca = fit_pca(embeddings, head.dim)
    head.set_own_pca(pca)
    log(
        f"--embedding-dim {head.dim}: the student's Dense starts as the PCA of its own embeddings of "
        f"{pca.sentences:,} sentences, keeping {pca.explained_variance:.1%} of their variance; the teacher keeps its "
        f"{head.teacher_width} dimensions (only similarities are compared)"
    )


def start_least_squares(
    head: EmbeddingHead,
    sample: TeacherSample | None,
    teacher: LoadedModel,
    student_model: Any,
    student_pooling: SentencePooling,
    corpus: Corpus,
    seed: int,
    log: Callable[[str], None],
) -> None:
    """Start ``head``'s Dense as the least-squares map from the student's embeddings to the teacher side's.

    Fitted on up to :data:`LSQ_SENTENCES` training sequences (drawn from the PCA's sample when there is one),
    each read by each model with its own tokens; the student in eval mode (no dropout), then put back.
    """
    count = len(corpus.train_ids)
    if sample is not None:
        kept = pca_sample(len(sample.indices), seed, LSQ_SENTENCES)
        indices, embeddings = sample.indices[kept], sample.embeddings[kept]
    else:
        indices = pca_sample(count, seed, LSQ_SENTENCES)
        embeddings = _teacher_sample(teacher, corpus, indices)
    inputs = _student_sample(student_model, student_pooling, corpus, indices, "the student's embeddings of the sample")
    with torch.no_grad():
        targets = head.teacher_side(torch.tensor(embeddings)).double().numpy()
    fit = fit_least_squares(inputs, targets)
    head.set_least_squares(fit)
    log(
        f"the student's Dense ({head.student_width} → {head.dense.out_features}) starts as the least-squares map "
        f"to the teacher's embeddings of {fit.sentences:,} sentences (R² {fit.r2:.3f})"
    )


def _unit_length(pooling: SentencePooling) -> bool:
    """Whether the embeddings ``pooling`` gives are L2-normalised last."""
    return pooling.after[-1][0] == "normalize" if pooling.after else pooling.normalize


def sentence_objective(
    cfg: DistillConfig,
    objective: DistillationObjective,
    teacher: LoadedModel,
    student_model: Any,
    adapter: ArchitectureAdapter,
    student_path: Path | None,
    corpus: Corpus,
    sample: TeacherSample | None,
    log: Callable[[str], None],
) -> Path:
    """Fit the run's ``objective`` to the two models (their widths, each one's pooling, a head where needed).

    A head starts as the teacher's PCA (``sample``'s, from :func:`teacher_pca`) where the widths allow, else as the
    least-squares map on the corpus. Returns the folder whose sentence-transformers files the student keeps.
    """
    dims = adapter.hidden_size(student_model.config), teacher.adapter.hidden_size(teacher.config)
    own = student_path is not None and (Path(student_path) / "modules.json").is_file()
    files = Path(student_path) if own and student_path is not None else Path(teacher.ref.path)
    if not objective.needs_pooled:
        fit_to_models(objective, *dims)
        return files
    pooling = read_pooling(teacher.ref.path)
    student_pooling = read_pooling(files) if own else pooling
    widths = student_pooling.width(dims[0]), pooling.width(dims[1])
    head = None
    # Similarity losses alone (--alpha-sim, --alpha-rank) need no common width: the student keeps its own space.
    if cfg.embedding_dim is not None or (widths[0] != widths[1] and objective.compares_vectors):
        head = EmbeddingHead(
            *widths, cfg.embedding_dim, normalize=_unit_length(pooling), reduce_teacher=objective.compares_vectors
        )
        saved = _saved_start(cfg)
        if saved:  # resumed: the start the run fitted, not minutes of passes to fit it again
            state, start = load_head(saved, _shapes(head), "embedding head")
            head.restore(state, start)
            log(f"the embedding head starts as the run being resumed fitted it ({start['init']})")
        elif not objective.compares_vectors:
            start_own_pca(head, student_model, student_pooling, corpus, cfg.seed, log)
        else:
            if sample is not None and sample.pca is not None:
                head.set_pca(sample.pca)
            if head.init != "pca":
                start_least_squares(head, sample, teacher, student_model, student_pooling, corpus, cfg.seed, log)
    fit_to_models(objective, *dims, pooling, student_pooling=student_pooling, head=head)
    return files


def _saved_start(cfg: DistillConfig) -> Path | None:
    """The embedding head's start saved by the run that ``--resume`` continues (None: not resuming, or none saved)."""
    path = cfg.out / EMBEDDING_HEAD_DIR / HEAD_FILE
    return path if cfg.resume and path.is_file() else None


def _shapes(head: EmbeddingHead) -> dict[str, torch.Size]:
    return {name: tensor.shape for name, tensor in head.state_dict().items()}


def save_head_start(cfg: DistillConfig, objective: DistillationObjective) -> None:
    """Keep the embedding head's start (tensors and fits) in the run folder, so that ``--resume`` need not fit it
    again (a PCA of mpnet-base's embeddings is many CPU-minutes). Written before the first step."""
    head = objective.embedding_head
    if head is not None:
        save_head(cfg.out / EMBEDDING_HEAD_DIR, head.state_dict(), head.start_record(), cfg.teacher)


def dense_layer(objective: DistillationObjective) -> DenseLayer | None:
    """The trained Dense layer to save after the student's pooling (None without a head)."""
    from distilcli.models.sentence_files import DenseLayer

    head = objective.embedding_head
    if head is None:
        return None
    return DenseLayer(head.dense.weight.detach(), head.dense.bias.detach(), normalize=head.normalize)


def embedding_record(objective: DistillationObjective, corpus: Corpus) -> dict[str, Any] | None:
    """The report's ``distillation.embedding``: whose tokenizer and pooling the student reads with, the head, the
    PCA."""
    if not objective.needs_pooled:
        return None
    pooling = objective.student_pooling
    head = objective.embedding_head
    return {
        "tokenizer": "student's own" if corpus.student_rows is not None else "teacher's",
        "sentences": corpus.pair_stats,
        "student_pooling": {"modes": list(pooling.modes), "normalize": pooling.normalize, "source": pooling.source},
        "width": head.dense.out_features if head is not None else None,
        **(head.record() if head is not None else {"dense": None, "pca": None, "least_squares": None}),
    }
