"""Choosing the layers to keep: linear CKA against hand computations, the covering map, suggest-layers on a tiny model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from distilcli.distill.layer_choice import best_map, cka_matrix, coverage, linear_cka
from distilcli.distill.suggest import SuggestLayersConfig, run_suggest_layers, sample_texts
from distilcli.data.corpus import CorpusSpec
from distilcli.errors import BadInput
from tests.conftest import WORDS


def test_cka_by_hand() -> None:
    # x = [[1,0],[0,1],[-1,-1]]: column means are 0, so centring changes nothing; y = x's first column.
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    y = x[:, :1]
    # XᵀX = [[2,1],[1,2]] (‖·‖_F² = 10), YᵀY = [[2]], YᵀX = [[2,1]] (‖·‖_F² = 5): CKA = 5 / (√10 · 2).
    assert linear_cka(x, y) == pytest.approx(5 / (10**0.5 * 2))


def test_cka_properties() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 16, generator=g)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, x @ q) == pytest.approx(1.0)  # orthogonal transform
    assert linear_cka(x, 3.5 * x + 2.0) == pytest.approx(1.0)  # isotropic scaling and a shift
    y = torch.randn(200, 8, generator=g)
    assert linear_cka(x, y) == pytest.approx(linear_cka(y, x)) and 0 <= linear_cka(x, y) < 0.3
    with pytest.raises(ValueError, match="same n"):
        linear_cka(x, y[:10])
    matrix = cka_matrix([x, x @ q, y])
    assert matrix[0][1] == pytest.approx(1.0) and matrix[2][0] == matrix[0][2] and matrix[1][1] == 1.0


def test_best_map_covers_the_teacher() -> None:
    # Layers 0-2 alike, 3 on its own, 4-5 alike: two layers cannot cover all; three can (one per group).
    groups = [0, 0, 0, 1, 2, 2]
    matrix = [[1.0 if a == b else 0.2 for b in groups] for a in groups]
    chosen = best_map(matrix, 3)
    assert sorted({groups[k] for k in chosen}) == [0, 1, 2]
    assert coverage(matrix, chosen) == pytest.approx(1.0) and coverage(matrix, [0, 1, 2]) == pytest.approx((3 + 3 * 0.2) / 6)
    assert best_map(matrix, 6) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(BadInput, match="out of range"):
        best_map(matrix, 7)


def test_sample_texts_is_fixed_and_in_corpus_order(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("\n".join(f"line {i}" for i in range(100)) + "\n", encoding="utf-8")
    first = sample_texts(CorpusSpec(str(path)), 10, seed=1)
    assert first == sample_texts(CorpusSpec(str(path)), 10, seed=1) and len(first) == 10
    assert [int(t.split()[1]) for t in first] == sorted(int(t.split()[1]) for t in first)
    assert sample_texts(CorpusSpec(str(path)), 1000, seed=1) == [f"line {i}" for i in range(100)]


def test_suggest_layers_on_a_tiny_model(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(0)
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(40)) + "\n", encoding="utf-8")
    plot = tmp_path / "cka.png"
    report = run_suggest_layers(SuggestLayersConfig(model=str(tiny_models["bert"]), corpus=str(corpus), layers=2, sample=20, plot=plot))
    body = report.body
    n = len(body["cka"])
    assert len(body["layer_map"]) == 2 and body["layer_map"] == sorted(body["layer_map"]) and body["uniform_map"] == [0, n // 2]
    assert all(body["cka"][k][k] == 1.0 for k in range(n)) and report.metrics["sequences"] == 20
    assert report.metrics["coverage"] >= report.metrics["uniform_coverage"]  # the chosen map is the best-covering one
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.dumps(report.to_dict())
    with pytest.raises(BadInput, match="exceeds the 66 positions"):
        run_suggest_layers(SuggestLayersConfig(model=str(tiny_models["bert"]), corpus=str(corpus), max_seq_length=100))
    with pytest.raises(BadInput, match="--sample"):
        run_suggest_layers(SuggestLayersConfig(model=str(tiny_models["bert"]), corpus=str(corpus), sample=0))


def test_distill_layer_map_auto_chooses_and_records_the_map(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    from distilcli.distill.config import DistillConfig
    from distilcli.distill.engine import run_distill
    from distilcli.models.student import StudentConfig, run_student

    rng = random.Random(0)
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(14)) for _ in range(48)) + "\n", encoding="utf-8")
    base = dict(teacher=str(tiny_models["bert"]), corpus=str(corpus), max_steps=2, batch_size=4, max_seq_length=32,
                alpha_ce=0.0, alpha_mlm=0.0, cache_dir=tmp_path / "cache")  # fmt: skip
    from distilcli import progress

    class Recorder(progress.NullReporter):
        lines: list[str] = []

        def log(self, message: str) -> None:
            self.lines.append(message)

    with progress.use_reporter(Recorder()):
        report = run_distill(DistillConfig(**base, out=tmp_path / "run", layer_map="auto", layers=2))
    choice = report.body["layer_choice"]
    chosen = ",".join(map(str, choice["layer_map"]))
    assert any(line.startswith(f"--layer-map auto: {chosen} (CKA coverage") for line in Recorder.lines), Recorder.lines
    assert choice["method"] == "linear CKA coverage" and report.body["layer_map"] == choice["layer_map"] and len(choice["layer_map"]) == 2
    assert choice["coverage"] >= choice["uniform_coverage"]
    with pytest.raises(BadInput, match="with --student"):
        run_distill(DistillConfig(**base, out=tmp_path / "run2", layer_map="auto", student=str(tiny_models["bert"])))
    with pytest.raises(BadInput, match="suggest-layers"):
        run_student(StudentConfig(teacher=str(tiny_models["bert"]), out=tmp_path / "s", layer_map="auto"))
