"""Fixtures of the unit tests that several modules share: tiny task-fine-tuned teachers."""

from __future__ import annotations

from pathlib import Path

import pytest

from distilcli.finetune.config import FinetuneConfig
from distilcli.finetune.engine import run_finetune


@pytest.fixture(scope="session")
def sst2_teacher(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT fine-tuned on the tiny SST-2 (a task distillation's teacher)."""
    out = tmp_path_factory.mktemp("teacher") / "sst2"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="sst2", out=out, glue_dir=tiny_glue, batch_size=8, lr=1e-3, epochs=6))
    return out


@pytest.fixture(scope="session")
def rte_teacher(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT fine-tuned on the tiny RTE (a pair task)."""
    out = tmp_path_factory.mktemp("teacher") / "rte"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="rte", out=out, glue_dir=tiny_glue, batch_size=8, lr=1e-3, epochs=3))
    return out
