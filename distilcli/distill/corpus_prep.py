"""A general distillation's corpus: tokenised once and cached, or (``--stream``) read as the run trains.

Either way the run gets a :class:`~distilcli.distill.run_parts.Corpus`: held-out chunks for the
teacher-head fit, training batches, and the MLM masker weighted by the corpus's token counts.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from distilcli.data.corpus import CorpusSpec
from distilcli.data.token_rows import TokenRows
from distilcli.distill.config import DistillConfig
from distilcli.distill.run_parts import Corpus
from distilcli.errors import BadInput
from distilcli.training.batches import Batches

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

    from distilcli.data.masking import DynamicMasker

#: A stream's token counts (for the MLM masking weights) come from its first this-many chunks.
STREAM_COUNT_CHUNKS = 20_000


def _masker(cfg: DistillConfig, tokenizer: Any, counts: np.ndarray) -> DynamicMasker:
    from distilcli.data.masking import DynamicMasker, mlm_token_weights

    weights = mlm_token_weights(counts, tokenizer.all_special_ids, cfg.mlm_smoothing)
    return DynamicMasker(weights, tokenizer.mask_token_id, len(tokenizer), cfg.mlm_probability)


def prepare_corpus(cfg: DistillConfig, accelerator: Accelerator, tokenizer: Any) -> Corpus:
    """Tokenise once (cached on disk), chunk, split into held-out and training chunks, set up the masker."""
    from distilcli.data.chunks import saved_token_counts, token_counts, tokenize_corpus
    from distilcli.models.aliases import cache_root

    if cfg.stream:
        return prepare_stream(cfg, accelerator, tokenizer)

    spec = CorpusSpec(str(cfg.corpus), cfg.text_field, cfg.document_per)
    with accelerator.main_process_first():
        dataset = tokenize_corpus(
            spec,
            tokenizer,
            cfg.max_seq_length,
            min_tokens=cfg.min_tokens,
            cache_dir=cfg.cache_dir or cache_root() / "corpora",
            num_proc=cfg.num_proc,
        )
    # Rows straight from the (memory-mapped) Arrow buffers: Python lists of every token would take
    # gigabytes and minutes on a large corpus, on every start.
    all_ids = TokenRows.from_dataset(dataset)
    order = torch.randperm(len(all_ids), generator=torch.Generator().manual_seed(cfg.seed)).numpy()
    n_heldout = min(cfg.heldout_chunks, len(all_ids) // 10) if cfg.fit_teacher_head else 0
    heldout_ids = all_ids.select(np.sort(order[:n_heldout]))
    train_ids = all_ids.select(np.sort(order[n_heldout:]))
    batches = Batches(cfg, train_ids, tokenizer.pad_token_id, accelerator.process_index, accelerator.num_processes)
    if batches.steps_per_epoch == 0:
        raise BadInput(
            f"the corpus gives {len(train_ids)} chunks: too few for --batch-size {cfg.batch_size} × --grad-accum "
            f"{cfg.grad_accum} × {accelerator.num_processes} process(es); use a larger corpus or smaller batches"
        )
    counts = saved_token_counts(dataset, len(tokenizer))
    counts = token_counts(dataset, len(tokenizer)) if counts is None else counts
    return Corpus(
        train_ids,
        heldout_ids,
        batches,
        _masker(cfg, tokenizer, counts),
        accelerator.device,
        bool(cfg.mask_inputs),
        tokenizer.pad_token_id,
    )


def prepare_stream(cfg: DistillConfig, accelerator: Accelerator, tokenizer: Any) -> Corpus:
    """``--stream``: chunks made as the run reads them; the first ones are the held-out set and the count sample."""
    from distilcli.data.stream import chunk_stream
    from distilcli.training.stream_batches import StreamBatches

    spec = CorpusSpec(str(cfg.corpus), cfg.text_field, cfg.document_per)

    def stream():  # the same chunks, in the same order, every time it is opened (the seed fixes it)
        return chunk_stream(spec, tokenizer, cfg.max_seq_length, cfg.min_tokens, cfg.seed)

    n_heldout = cfg.heldout_chunks if cfg.fit_teacher_head else 0
    head = list(itertools.islice(stream(), n_heldout + STREAM_COUNT_CHUNKS))
    heldout_ids = TokenRows.from_lists(head[:n_heldout])
    sample = TokenRows.from_lists(head[n_heldout:])  # what --layer-map auto measures on
    counts = np.bincount(np.concatenate(head[n_heldout:] or [[0]]), minlength=len(tokenizer))
    assert cfg.max_steps is not None  # check_options refuses --stream without --max-steps
    batches = StreamBatches(
        cfg,
        lambda: itertools.islice(stream(), n_heldout, None),
        tokenizer.pad_token_id,
        accelerator.process_index,
        accelerator.num_processes,
        cfg.max_steps,
    )
    return Corpus(
        sample,
        heldout_ids,
        batches,
        _masker(cfg, tokenizer, counts),
        accelerator.device,
        bool(cfg.mask_inputs),
        tokenizer.pad_token_id,
        stream=True,
    )
