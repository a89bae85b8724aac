"""``--cache-teacher`` in corpus distillation: the teacher runs once per sequence, and the run is the uncached run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.distill.modules import TeacherOutputs
from distilcli.distill.teacher_cache import TeacherCache
from distilcli.errors import BadInput
from tests.conftest import WORDS

H = 3


def _fake_teacher(calls: list[list[int]]):
    """Outputs that encode the sequence index: pooled row = index, token states = index + position / 10."""

    def compute(indices: list[int]) -> TeacherOutputs:
        calls.append(list(indices))
        pooled = torch.tensor([[float(i)] * H for i in indices])
        tokens = torch.cat([torch.tensor([[i + p / 10] * H for p in range(i % 3 + 1)]) for i in indices])
        return TeacherOutputs(logits=None, last_hidden=tokens, layer_states=None, attentions=None, pooled=pooled)

    return compute


def _mask(indices: list[int]) -> torch.Tensor:
    width = max(i % 3 + 1 for i in indices)
    return torch.tensor([[1] * (i % 3 + 1) + [0] * (width - i % 3 - 1) for i in indices])


def test_cache_runs_the_teacher_on_new_sequences_only_and_keeps_batch_order() -> None:
    calls: list[list[int]] = []
    cache, compute = TeacherCache(), _fake_teacher(calls)
    first = cache.outputs([4, 1, 2], _mask([4, 1, 2]), compute)
    second = cache.outputs([2, 7, 4], _mask([2, 7, 4]), compute)
    assert calls == [[4, 1, 2], [7]]  # 2 and 4 came from the cache
    assert (cache.hits, cache.misses) == (2, 4)
    expected = compute([2, 7, 4])  # what the teacher would have said for the whole batch
    torch.testing.assert_close(second.pooled, expected.pooled)
    torch.testing.assert_close(second.last_hidden, expected.last_hidden)
    assert first.pooled[:, 0].tolist() == [4.0, 1.0, 2.0]
    assert cache.record()["sequences"] == 4


def _corpus(tmp_path: Path) -> Path:
    rng = random.Random(5)
    path = tmp_path / "text.txt"
    path.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 24))) for _ in range(24)) + "\n", encoding="utf-8")
    return path


def _config(teacher: Path, corpus: Path, out: Path, **overrides) -> DistillConfig:
    base = dict(teacher=str(teacher), corpus=str(corpus), out=out, task="embeddings", layer_map=[0, 2], epochs=3,
                batch_size=8, max_seq_length=32, log_every=3, cache_dir=out.parent / "cache", alpha_pooled=0.5)  # fmt: skip
    return DistillConfig(**(base | overrides))


def test_cached_run_equals_the_uncached_run(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.torch import load_file

    corpus = _corpus(tmp_path)
    plain = run_distill(_config(tiny_models["bert"], corpus, tmp_path / "plain"))
    cached = run_distill(_config(tiny_models["bert"], corpus, tmp_path / "cached", cache_teacher=True))
    record = cached.body["distillation"]["teacher_cache"]
    sequences = cached.body["distillation"]["train_chunks"]
    # Three epochs: the teacher ran once per sequence, the other two passes came from the cache.
    assert record["sequences"] == record["misses"] == sequences and record["hits"] == 2 * sequences
    assert plain.body["distillation"]["teacher_cache"] is None and cached.config["cache_teacher"] is True
    for name in ("loss", "cos", "pooled", "mse_emb"):
        assert cached.body["loss_curves"][name] == pytest.approx(plain.body["loss_curves"][name], rel=1e-4, abs=1e-6)
    a, b = (load_file(tmp_path / run / "model.safetensors") for run in ("plain", "cached"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mask_inputs": True}, "needs clean inputs"),
        ({"alpha_attention": 1.0}, "--alpha-attention 0"),
        ({"task": None, "alpha_ce": 0.0, "alpha_mlm": 0.0, "alpha_hidden": 1.0}, "--alpha-hidden 0"),
    ],
)
def test_cache_teacher_refuses_what_it_cannot_cache(tiny_models: dict[str, Path], tmp_path: Path, overrides: dict, message: str) -> None:
    out = tmp_path / "run"
    with pytest.raises(BadInput, match=message):
        run_distill(_config(tiny_models["bert"], _corpus(tmp_path), out, cache_teacher=True, **overrides))
    assert not out.exists()  # refused before anything was written


def test_embedding_student_card_names_its_losses_pooling_and_layer_choice(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_distill(_config(tiny_models["bert"], _corpus(tmp_path), out, layer_map="auto", layers=2, epochs=1))
    card = (out / "README.md").read_text()
    assert "with the losses cos ×1, pooled ×0.5, mse_emb ×1" in card and "triple loss" not in card
    assert "layers chosen by" in card and "linear CKA coverage" in card
    assert "mean pooling" in card


def test_cache_that_would_not_fit_is_refused_before_training(tiny_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import distilcli.distill.teacher_cache as teacher_cache

    monkeypatch.setattr(teacher_cache, "_MEMORY_SHARE", 1e-9)  # as if the machine had a few bytes
    out = tmp_path / "run"
    with pytest.raises(BadInput, match=r"would hold .* token states.*--alpha-cos 0 to cache sentence embeddings only"):
        run_distill(_config(tiny_models["bert"], _corpus(tmp_path), out, cache_teacher=True))
    assert not out.exists()  # nothing written, not even the lock
