"""``run_eval_sts``: zero-shot semantic similarity of sentence embeddings, no fine-tuning.

Each model embeds every distinct sentence once (longest first, dynamically padded), pooled as
its sentence-transformers files say (mean pooling without them); the cosine of a pair's two
embeddings is scored against the gold similarity with scipy's Spearman and Pearson
correlations. With several models, each one's retention is its Spearman over the first's.

Order of work: parse the gates, read the pairs, resolve every model, and only then load
weights, so a bad option, file or model fails in seconds with exit 2.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.config import config_to_dict
from distilcli.errors import BadInput
from distilcli.evaluate.encoder import check_embedding_options, embed, load_encoder, per_model_metrics, score_models
from distilcli.evaluate.gates import ModelGate, check_model_gates, parse_model_gate
from distilcli.models.pooling import SentencePooling
from distilcli.models.resolve import ModelRef
from distilcli.reports import Report
from distilcli.tasks.sts import StsPairs, load_pairs
from distilcli.training.run_files import subsample

if TYPE_CHECKING:  # pragma: no cover
    import torch

METRICS = ("spearman", "pearson", "retention")
#: Each metric's range in the report's scale, so a percentage bar (spearman=80) is refused with the fix.
_RANGES = {
    "spearman": (-1.0, 1.0, "a correlation from -1 to 1"),
    "pearson": (-1.0, 1.0, "a correlation from -1 to 1"),
    "retention": (0.0, 2.0, "a ratio to the first model's spearman, up to 2 (0.97 means 97%)"),
}
_GATE_EXAMPLE = "spearman=0.8 (every model), model2.spearman=0.75 or retention=0.97"


@dataclass
class EvalStsConfig:
    """Options of ``distil eval-sts``."""

    model: list[str]
    glue_dir: Path | None = None
    hub_dir: Path | None = None
    pairs: Path | None = None
    batch_size: int = 128
    #: Tokens per sentence; unset: the model's sentence-transformers max_seq_length, else 128.
    max_seq_length: int | None = None
    fail_under: list[str] = field(default_factory=list)
    #: Score a fixed subsample of this many pairs (the draw --train-limit makes), in file order.
    limit: int | None = None


#: The gate of eval-sts (kept under its old name).
StsGate = ModelGate


def parse_sts_gate(spec: str, n_models: int) -> StsGate:
    """One gate, checked against the metric names and the number of models."""
    return parse_model_gate(spec, n_models, _RANGES, _GATE_EXAMPLE, {"spearmanr": "spearman"})


def check_options(cfg: EvalStsConfig) -> list[StsGate]:
    """The gates, after every plain option is checked."""
    check_embedding_options(cfg.model, cfg.batch_size, cfg.max_seq_length)
    if cfg.limit is not None and cfg.limit < 3:
        raise BadInput(f"--limit must be at least 3 (pairs, for a correlation), got {cfg.limit}: leave it out for all")
    return [parse_sts_gate(spec, len(cfg.model)) for spec in cfg.fail_under]


def run_eval_sts(cfg: EvalStsConfig) -> tuple[Report, list[dict[str, Any]]]:
    """Score every model; return the report and the gate outcomes (the caller exits 3 on a failure)."""
    start = time.perf_counter()
    gates = check_options(cfg)
    pairs = load_pairs(pairs=cfg.pairs, glue_dir=cfg.glue_dir, hub_dir=cfg.hub_dir)
    total = len(pairs)
    pairs = _limited(pairs, cfg.limit)

    def score(ref: ModelRef, pooling: SentencePooling, length: int, device: torch.device) -> dict[str, Any]:
        return _score_model(ref, pooling, length, pairs, cfg, device)

    rows, device = score_models(cfg.model, cfg.max_seq_length, "spearman", score)
    metrics: dict[str, float] = {"spearman": rows[0]["spearman"], "pearson": rows[0]["pearson"]}
    metrics.update(per_model_metrics(rows, METRICS))
    outcomes = check_model_gates(gates, rows)
    body = {
        "pairs": len(pairs),
        "pairs_total": total,  # more than "pairs" under --limit
        "sentences": len(pairs.sentences()),
        "source": pairs.source,
        "models": rows,
        "gates": outcomes,
        "device": str(device),
    }
    report = Report.create(
        "eval-sts",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric="spearman",
        body=body,
        duration_s=time.perf_counter() - start,
    )
    return report, outcomes


def _limited(pairs: StsPairs, limit: int | None) -> StsPairs:
    """``pairs``, or the fixed ``--limit`` subsample of them in file order."""
    if limit is None or limit >= len(pairs):
        return pairs
    rows = subsample(len(pairs), limit)
    return replace(
        pairs,
        sentence1=[pairs.sentence1[i] for i in rows],
        sentence2=[pairs.sentence2[i] for i in rows],
        scores=[pairs.scores[i] for i in rows],
    )


def _score_model(
    ref: ModelRef, pooling: SentencePooling, length: int, pairs: StsPairs, cfg: EvalStsConfig, device: torch.device
) -> dict[str, Any]:
    """One model's correlations and speed."""
    import torch
    from scipy.stats import pearsonr, spearmanr

    tokenizer, model = load_encoder(ref, device)
    sentences = pairs.sentences()
    began = time.perf_counter()
    vectors = embed(
        model, tokenizer, sentences, pooling, max_seq_length=length, batch_size=cfg.batch_size, device=device
    )
    seconds = time.perf_counter() - began
    row_of = {sentence: i for i, sentence in enumerate(sentences)}
    a = vectors[[row_of[s] for s in pairs.sentence1]]
    b = vectors[[row_of[s] for s in pairs.sentence2]]
    cosines = torch.nn.functional.cosine_similarity(a, b, dim=-1).numpy()
    return {
        "spearman": float(spearmanr(cosines, pairs.scores).statistic),
        "pearson": float(pearsonr(cosines, pairs.scores).statistic),
        "sentences_per_s": len(sentences) / seconds if seconds > 0 else 0.0,
    }
