"""``distil models suggest-layers``: measure how alike the teacher's layers are, propose the layers to keep."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from distilcli.config import config_to_dict
from distilcli.data.corpus import DOCUMENT_PER, CorpusSpec, check_corpus, read_documents
from distilcli.distill.layer_choice import LayerChoice, choose_layers, layer_states, plot_matrix
from distilcli.errors import BadInput
from distilcli.fsutil import check_output_file
from distilcli.reports import Report

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.models.student import StudentConfig


@dataclass
class SuggestLayersConfig:
    """Options of ``distil models suggest-layers``."""

    model: str
    corpus: str
    layers: int | None = None  # default: half the teacher's layers
    text_field: str = "text"
    document_per: str = "line"
    sample: int = 256  # sequences read from the corpus (a fixed random sample)
    max_seq_length: int | None = None  # 128, or fewer when the model has fewer positions
    max_tokens: int = 4096  # token rows CKA compares (a fixed random subset)
    batch_size: int = 16
    seed: int = 42
    plot: Path | None = None


def sample_texts(spec: CorpusSpec, n: int, seed: int) -> list[str]:
    """A fixed random sample of ``n`` documents (reservoir sampling: one pass, bounded memory), in corpus order."""
    rng = random.Random(seed)
    kept: list[tuple[int, str]] = []
    for i, text in enumerate(read_documents(spec)):
        if len(kept) < n:
            kept.append((i, text))
        elif (j := rng.randint(0, i)) < n:
            kept[j] = (i, text)
    return [text for _, text in sorted(kept)]


def _check(cfg: SuggestLayersConfig) -> CorpusSpec:
    for name in ("sample", "max_tokens", "batch_size"):
        if getattr(cfg, name) < 1:
            raise BadInput(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")
    if cfg.max_seq_length is not None and cfg.max_seq_length < 3:
        raise BadInput(f"--max-seq-length must be at least 3, got {cfg.max_seq_length}")
    if cfg.layers is not None and cfg.layers < 1:
        raise BadInput(f"--layers must be at least 1, got {cfg.layers}")
    if cfg.document_per not in DOCUMENT_PER:
        raise BadInput(f"--document-per must be line, file or sentence, got {cfg.document_per!r}")
    if cfg.plot is not None:
        check_output_file(cfg.plot)
    spec = CorpusSpec(cfg.corpus, cfg.text_field, cfg.document_per)
    check_corpus(spec)
    return spec


def measure(
    model_ref: str,
    texts: list[str],
    layers: int | None,
    *,
    max_seq_length: int | None,
    batch_size: int,
    max_tokens: int,
    seed: int,
) -> LayerChoice:
    """Run ``model_ref`` over ``texts`` and choose ``layers`` of its layers (default half) by CKA coverage."""
    from transformers import AutoModel

    from distilcli.models.loading import (
        check_positions,
        load_config,
        load_tokenizer,
        quiet_transformers,
        usable_positions,
    )
    from distilcli.models.resolve import resolve_model

    ref = resolve_model(model_ref)
    config = load_config(ref)
    if max_seq_length is None:
        max_seq_length = min(128, usable_positions(config))
    check_positions(ref.spec, config, max_seq_length)
    tokenizer = load_tokenizer(ref)
    if tokenizer is None:
        raise BadInput(f"model {ref.spec} has no tokenizer: add its tokenizer files to the folder")
    quiet_transformers()
    model = AutoModel.from_pretrained(ref.path).eval()
    batches = [
        dict(
            tokenizer(
                texts[i : i + batch_size], truncation=True, max_length=max_seq_length, padding=True, return_tensors="pt"
            )
        )
        for i in range(0, len(texts), batch_size)
    ]
    states = layer_states(model, batches, max_tokens, seed)
    n = len(states)
    return choose_layers(states, layers if layers is not None else max(1, n // 2), len(texts))


def measure_config(cfg: SuggestLayersConfig) -> LayerChoice:
    """Check ``cfg``, sample its corpus and measure the model's layers.

    Shared by suggest-layers and ``models student --layer-map auto``.
    """
    texts = sample_texts(_check(cfg), cfg.sample, cfg.seed)
    return measure(
        cfg.model,
        texts,
        cfg.layers,
        max_seq_length=cfg.max_seq_length,
        batch_size=cfg.batch_size,
        max_tokens=cfg.max_tokens,
        seed=cfg.seed,
    )


def run_suggest_layers(cfg: SuggestLayersConfig) -> Report:
    """Measure the teacher's layers on a corpus sample; the report proposes the map (and a heat map with --plot)."""
    start = time.perf_counter()
    choice = measure_config(cfg)
    artifacts = {}
    if cfg.plot is not None:
        plot_matrix(choice, Path(cfg.plot), f"{cfg.model}: linear CKA between layers")
        artifacts["plot"] = str(cfg.plot)
    metrics = {
        "coverage": choice.coverage,
        "uniform_coverage": choice.uniform_coverage,
        "tokens": choice.tokens,
        "sequences": choice.sequences,
    }
    body = {
        "layer_map": choice.layer_map,
        "uniform_map": choice.uniform_map,
        "cka": choice.matrix,
        "corpus": cfg.corpus,
    }
    return Report.create(
        "models suggest-layers",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric="coverage",
        artifacts=artifacts,
        body=body,
        duration_s=time.perf_counter() - start,
    )


def run_student_auto(cfg: StudentConfig) -> Report:
    """``distil models student``.

    With ``--layer-map auto``, the map is first measured on ``--corpus`` (as suggest-layers).

    The default sample (256 sequences, 4,096 token rows) and ``cfg.seed`` are used; the choice
    is kept in the student's provenance (``layer_choice``) and its report.
    """
    from distilcli.distill.layer_choice import is_auto
    from distilcli.models.student import COMMAND, parse_layer_map, run_student
    from distilcli.rundir import RunFolder, run_inputs

    if not is_auto(cfg.layer_map):
        if cfg.corpus:
            raise BadInput("--corpus is read only to choose the layers: pass --layer-map auto, or leave out --corpus")
        return run_student(cfg)
    if not cfg.corpus:
        parse_layer_map(cfg.layer_map)  # "auto" without a corpus: its one-line refusal
    start = time.perf_counter()
    RunFolder.of(cfg, COMMAND).check(run_inputs(cfg))  # before the measurement, not after
    choice = measure_config(
        SuggestLayersConfig(
            model=cfg.teacher,
            corpus=str(cfg.corpus),
            layers=cfg.layers,
            text_field=cfg.text_field,
            document_per=cfg.document_per,
            seed=cfg.seed,
        )
    )
    return run_student(cfg, layer_choice=choice.to_dict(), started=start)
