"""Saving the distilled student: plain Hugging Face files, tokenizer and model card, placed atomically."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.fsutil import apply_umask, disk_full_error, make_temp_dir

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.models.sentence_files import DenseLayer


def save_student(
    out: Path,
    model: Any,
    tokenizer: Any,
    card: str,
    *,
    sentence_files_from: Path | None = None,
    dense: DenseLayer | None = None,
) -> None:
    """Write the student into ``out`` beside the run's checkpoints.

    Files are written to a temp folder first, then moved in one by one with config.json
    last, so ``out`` never looks like a complete model before it is one. With
    ``sentence_files_from`` (the student's or the teacher's folder), its sentence-transformers files
    come too, fitted to the student's width, and ``dense`` (a layer trained after the pooling) after them.
    Modes follow the umask; a full disk is one line, not a library's riddle.
    """
    from distilcli.models.loading import usable_positions
    from distilcli.models.pooling import copy_sentence_files
    from distilcli.models.sentence_files import finish_sentence_files

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out, prefix=".student-", suffix=".tmp")
    try:
        with disk_full_error(out):
            model.save_pretrained(tmp)
            if tokenizer is not None:
                _clear_call_settings(tokenizer)
                tokenizer.save_pretrained(tmp)
            (tmp / "README.md").write_text(card, encoding="utf-8")
            if sentence_files_from is not None:
                copy_sentence_files(sentence_files_from, tmp)
            if sentence_files_from is not None or dense is not None:
                finish_sentence_files(tmp, int(model.config.hidden_size), usable_positions(model.config), dense)
        apply_umask(tmp)
        names = sorted(p.name for p in tmp.iterdir())
        names.sort(key=lambda name: name == "config.json")
        for name in names:
            if (out / name).is_dir():  # a module folder of an earlier save (resume): os.replace cannot replace a folder
                shutil.rmtree(out / name)
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _clear_call_settings(tokenizer: Any) -> None:
    """Clear the fast tokenizer's truncation and padding before it is saved.

    They are per-call settings that whatever ran last leaves in the backend (a corpus tokenised
    now, or the ones the teacher's tokenizer.json was saved with, when the corpus came from the
    cache): the saved tokenizer must not depend on that. Every call sets its own again.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        backend.no_truncation()
        backend.no_padding()
