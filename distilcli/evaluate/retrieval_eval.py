"""``run_eval_retrieval``: zero-shot passage retrieval with sentence embeddings, no fine-tuning.

Each model embeds every distinct passage and every distinct query once (longest first,
dynamically padded, pooled as for eval-sts: its sentence-transformers files, else mean
pooling), then searches the whole collection exactly by cosine similarity, and the rankings are
scored with nDCG@10, MRR@10 and recall@1/10/100 (:mod:`distilcli.evaluate.retrieval_metrics`).
With several models, each one's retention is its nDCG@10 over the first's.

Order of work: parse the gates, read the collection, resolve every model, and only then load
weights, so a bad option, file or model fails in seconds with exit 2.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.config import config_to_dict
from distilcli.errors import BadInput, DistilError
from distilcli.evaluate.encoder import check_embedding_options, embed, load_encoder, per_model_metrics, score_models
from distilcli.evaluate.gates import ModelGate, check_model_gates, parse_model_gate
from distilcli.evaluate.retrieval_metrics import METRICS, mean_metrics, normalized, per_query, top_k
from distilcli.models.pooling import SentencePooling
from distilcli.models.resolve import ModelRef
from distilcli.reports import Report
from distilcli.tasks.retrieval import RetrievalSet, load_retrieval
from distilcli.training.run_files import subsample

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

PRIMARY = "ndcg@10"
_FRACTION = (0.0, 1.0, "a fraction from 0 to 1 (0.8 means 80%)")
#: Each metric's range in the report's scale, so a percentage bar (ndcg@10=80) is refused with the fix.
_RANGES = {
    **dict.fromkeys(METRICS, _FRACTION),
    "retention": (0.0, 2.0, "a ratio to the first model's ndcg@10, up to 2 (0.97 means 97%)"),
}
_ALIASES = {"ndcg": "ndcg@10", "ndcg_cut_10": "ndcg@10", "mrr": "mrr@10"}
_GATE_EXAMPLE = "ndcg@10=0.7 (every model), model2.recall@10=0.9 or retention=0.95"
#: The deepest cut-off of the metrics: how many passages each query's ranking keeps.
_DEPTH = max(int(name.split("@")[1]) for name in METRICS)


@dataclass
class EvalRetrievalConfig:
    """Options of ``distil eval-retrieval``."""

    model: list[str]
    data: Path | None = None
    batch_size: int = 128
    #: Tokens per query or passage; unset: the model's sentence-transformers max_seq_length, else 128.
    max_seq_length: int | None = None
    fail_under: list[str] = field(default_factory=list)
    #: Score a fixed subsample of this many queries (the draw --train-limit makes), against the whole collection.
    limit: int | None = None


def parse_retrieval_gate(spec: str, n_models: int) -> ModelGate:
    """One gate, checked against the metric names and the number of models."""
    return parse_model_gate(spec, n_models, _RANGES, _GATE_EXAMPLE, _ALIASES)


def check_options(cfg: EvalRetrievalConfig) -> list[ModelGate]:
    """The gates, after every plain option is checked."""
    check_embedding_options(cfg.model, cfg.batch_size, cfg.max_seq_length)
    if cfg.limit is not None and cfg.limit < 1:
        raise BadInput(f"--limit must be at least 1 (queries), got {cfg.limit}: leave it out for all")
    return [parse_retrieval_gate(spec, len(cfg.model)) for spec in cfg.fail_under]


def run_eval_retrieval(cfg: EvalRetrievalConfig) -> tuple[Report, list[dict[str, Any]]]:
    """Score every model; return the report and the gate outcomes (the caller exits 3 on a failure)."""
    start = time.perf_counter()
    gates = check_options(cfg)
    collection = load_retrieval(cfg.data)
    total = len(collection)
    if cfg.limit is not None and cfg.limit < total:
        collection = collection.subset(subsample(total, cfg.limit))

    def score(ref: ModelRef, pooling: SentencePooling, length: int, device: torch.device) -> dict[str, Any]:
        return _score_model(ref, pooling, length, collection, cfg, device)

    rows, device = score_models(cfg.model, cfg.max_seq_length, PRIMARY, score)
    metrics: dict[str, float] = {name: rows[0][name] for name in METRICS}
    metrics.update(per_model_metrics(rows, _RANGES))
    outcomes = check_model_gates(gates, rows)
    body = {
        "source": collection.source,
        "kind": collection.kind,
        "queries": len(collection),
        "queries_total": total,  # more than "queries" under --limit
        "queries_without_relevant": collection.without_relevant,  # judged, but no grade above 0: not scored
        "passages": len(collection.passages),
        "judgements": sum(len(relevant) for relevant in collection.qrels.values()),
        # Queries whose id is also a passage's: that passage is left out of their results, as BEIR does.
        "own_id_left_out": len(set(collection.query_ids) & set(collection.passage_ids)),
        "search": "exact, cosine similarity",
        "models": rows,
        "gates": outcomes,
        "device": str(device),
    }
    report = Report.create(
        "eval-retrieval",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric=PRIMARY,
        body=body,
        duration_s=time.perf_counter() - start,
    )
    return report, outcomes


def _vectors(
    texts: list[str],
    what: str,
    model: Any,
    tokenizer: Any,
    pooling: SentencePooling,
    length: int,
    cfg: EvalRetrievalConfig,
    device: torch.device,
    spec: str,
) -> np.ndarray:
    """Unit-length embeddings of the distinct ``texts`` (each embedded once), one row per text of ``texts``."""
    distinct = list(dict.fromkeys(texts))
    vectors = embed(
        model,
        tokenizer,
        distinct,
        pooling,
        max_seq_length=length,
        batch_size=cfg.batch_size,
        device=device,
        description=f"embedding {what}",
        unit=what,
    ).numpy()
    if not vectors.size or not (abs(vectors) < float("inf")).all():
        raise DistilError(f"model {spec} gave non-finite embeddings of the {what}: it cannot be scored")
    row_of = {text: i for i, text in enumerate(distinct)}
    return normalized(vectors[[row_of[text] for text in texts]])


def _score_model(
    ref: ModelRef,
    pooling: SentencePooling,
    length: int,
    collection: RetrievalSet,
    cfg: EvalRetrievalConfig,
    device: torch.device,
) -> dict[str, Any]:
    """One model's metrics and speed."""
    tokenizer, model = load_encoder(ref, device)
    began = time.perf_counter()
    passages = _vectors(collection.passages, "passages", model, tokenizer, pooling, length, cfg, device, ref.spec)
    queries = _vectors(collection.queries, "queries", model, tokenizer, pooling, length, cfg, device, ref.spec)
    embedded = time.perf_counter() - began
    index = {pid: i for i, pid in enumerate(collection.passage_ids)}
    # BEIR's rule: a passage with the query's own id is never a result (duplicate-question collections).
    exclude = {row: index[qid] for row, qid in enumerate(collection.query_ids) if qid in index}
    ranked = top_k(queries, passages, _DEPTH, exclude)
    relevant = [{index[p]: grade for p, grade in collection.qrels[q].items()} for q in collection.query_ids]
    values = mean_metrics(per_query(ranked, relevant))
    texts = len(set(collection.passages)) + len(set(collection.queries))
    return {
        **values,
        "texts_per_s": texts / embedded if embedded > 0 else 0.0,
        "search_s": time.perf_counter() - began - embedded,
    }
