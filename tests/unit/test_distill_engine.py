"""``run_distill`` on tiny models: outputs, the MLM-head rule, interrupt + resume, refusals."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
import torch

from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput, Interrupted
from distilcli.training import checkpoint as ckpt
from tests.conftest import WORDS, write_sentence_transformers_files


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """160 'documents' of 8-60 words from the test vocabulary (so lengths vary, as real text does)."""
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60))) for _ in range(160)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def config(teacher: Path, corpus: Path, out: Path, **overrides) -> DistillConfig:
    base = dict(
        teacher=str(teacher),
        corpus=str(corpus),
        out=out,
        layer_map=[0, 2],
        max_steps=6,
        batch_size=4,
        max_seq_length=32,
        save_every=3,
        log_every=2,
        cache_dir=out.parent / "cache",
    )
    base.update(overrides)
    return DistillConfig(**base)


def test_distill_writes_student_and_report(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:
    from transformers import AutoModel, AutoModelForMaskedLM

    out = tmp_path / "run"
    report = run_distill(config(tiny_models["bert"], corpus, out))
    assert report.command == "distill"
    assert report.metrics["steps"] == 6
    assert report.metrics["tokens"] > 0 and report.metrics["tokens_per_s"] > 0
    for term in ("ce_final", "mlm_final", "cos_final", "loss_first", "loss_final", "peak_memory_mb"):
        assert term in report.metrics
    curves = report.body["loss_curves"]
    assert curves["step"] == [2, 4, 6] and len(curves["loss"]) == 3 and len(curves["ce"]) == 3
    AutoModel.from_pretrained(out)
    student = AutoModelForMaskedLM.from_pretrained(out)
    assert student.config.num_hidden_layers == 2
    provenance = json.loads((out / "config.json").read_text())["distilcli"]
    assert provenance["layer_map"] == [0, 2] and provenance["distillation"]["steps"] == 6
    assert "Distilled from" in (out / "README.md").read_text()
    assert (out / "tokenizer.json").is_file()
    assert [step for step, _ in ckpt.list_checkpoints(out)] == [3, 6]
    assert report.body["rank_param_checksums"] and len(set(report.body["rank_param_checksums"])) == 1
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".distilcli-run"]  # the run marker; no temp file, no lock


def test_final_only_keeps_the_student_and_no_checkpoint(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:
    """Including the last one, which the run saves with its report."""
    from transformers import AutoModelForMaskedLM

    out = tmp_path / "run"
    run_distill(config(tiny_models["bert"], corpus, out, final_only=True))
    assert ckpt.list_checkpoints(out) == [] and not (out / "checkpoints").exists()
    assert AutoModelForMaskedLM.from_pretrained(out).config.num_hidden_layers == 2


def test_one_objective_serves_the_whole_run(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distilcli.distill import general
    from distilcli.distill.objective import DistillationObjective

    built: list[DistillationObjective] = []
    init = DistillationObjective.__init__

    def counting(self: DistillationObjective, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(DistillationObjective, "__init__", counting)
    students = []
    build = general.build_student_model
    monkeypatch.setattr(general, "build_student_model", lambda *a, **k: students.append(build(*a, **k)) or students[-1])
    run_distill(config(tiny_models["bert"], corpus, tmp_path / "run", max_steps=2, alpha_hidden=1.0))
    # One in the option checks, one for the run: its needs_* steered the loading, then it was fitted and trained.
    assert len(built) == 2
    (student,) = students
    assert student.objective is built[1] and student.model.objective is built[1]
    assert built[1].hidden is not None and built[1].hidden.student_dim is not None  # fitted to the models


def test_headless_teacher_needs_a_way_out(
    tiny_encoders: dict[str, Path], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BadInput) as info:
        run_distill(config(tiny_encoders["bert"], corpus, tmp_path / "a"))
    assert "--fit-teacher-head" in str(info.value) and "--alpha-ce 0 --alpha-mlm 0" in str(info.value)
    assert not (tmp_path / "a").exists()
    # Way out 1: only the cosine loss.
    report = run_distill(config(tiny_encoders["bert"], corpus, tmp_path / "b", alpha_ce=0.0, alpha_mlm=0.0, max_steps=2))
    assert set(report.body["distillation"]["alphas"]) == {"cos"}
    # Way out 2: fit the head first; it is kept with the run and reported.
    measured = _spy_on_head_accuracy(monkeypatch)
    report = run_distill(config(tiny_encoders["bert"], corpus, tmp_path / "c", fit_teacher_head=5, max_steps=2))
    head = report.body["distillation"]["teacher_head"]
    assert head["steps"] == 5
    assert (tmp_path / "c" / "teacher-head" / "head.safetensors").is_file()  # safetensors: never a pickle
    assert report.metrics["teacher_head_accuracy_after"] == head["accuracy_after"]
    # The reported accuracy is the saved head's on the held-out batches, recomputed here with plain transformers.
    assert len(measured) == 2  # before and after the fit, on the same held-out batches
    heldout = measured[-1][1]
    assert head["accuracy_after"] == _saved_head_accuracy(tiny_encoders["bert"], tmp_path / "c" / "teacher-head" / "head.safetensors", heldout)


def _spy_on_head_accuracy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, list[dict[str, torch.Tensor]]]]:
    """Record the (teacher, held-out batches) of each held-out accuracy measurement of the head fit."""
    from distilcli.distill import head as head_module

    calls: list[tuple[object, list[dict[str, torch.Tensor]]]] = []
    measure = head_module.masked_token_accuracy

    def spy(teacher: object, batches: list[dict[str, torch.Tensor]]) -> float:
        calls.append((teacher, batches))
        return measure(teacher, batches)

    monkeypatch.setattr(head_module, "masked_token_accuracy", spy)
    return calls


def _saved_head_accuracy(encoder: Path, head_file: Path, heldout: list[dict[str, torch.Tensor]]) -> float:
    """Masked-token accuracy of ``encoder`` with the head saved in ``head_file``, by the model's own forward."""
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(encoder).eval()
    from safetensors.torch import load_file

    state = load_file(head_file)
    assert state and not model.load_state_dict(state, strict=False).unexpected_keys
    correct = total = 0
    with torch.no_grad():
        for batch in heldout:
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            where = batch["labels"] != -100
            correct += int((logits[where].argmax(-1) == batch["labels"][where]).sum())
            total += int(where.sum())
    assert total > 0
    return correct / total


def _student_state(out: Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForMaskedLM

    return AutoModelForMaskedLM.from_pretrained(out).state_dict()


def test_interrupt_then_resume_equals_uninterrupted(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    run_distill(config(tiny_models["bert"], corpus, reference))

    def stop_at_4(step: int) -> None:
        if step == 4:
            raise KeyboardInterrupt

    interrupted = tmp_path / "interrupted"
    with pytest.raises(Interrupted, match="--resume"):
        run_distill(config(tiny_models["bert"], corpus, interrupted), on_step=stop_at_4)
    assert [step for step, _ in ckpt.list_checkpoints(interrupted)] == [3, 4]  # periodic + Ctrl-C
    assert not (interrupted / "config.json").exists()  # no final student yet

    # Resume from the periodic checkpoint (drop the Ctrl-C one) on a copy, and from the Ctrl-C one.
    from_periodic = tmp_path / "from-periodic"
    shutil.copytree(interrupted, from_periodic)
    shutil.rmtree(ckpt.list_checkpoints(from_periodic)[-1][1])
    run_distill(config(tiny_models["bert"], corpus, from_periodic, resume=True))
    report = run_distill(config(tiny_models["bert"], corpus, interrupted, resume=True))
    assert report.metrics["steps"] == 6

    expected = _student_state(reference)
    for folder in (interrupted, from_periodic):
        got = _student_state(folder)
        assert got.keys() == expected.keys()
        for name, tensor in expected.items():
            assert torch.equal(got[name], tensor), f"{folder.name}: {name}"


def test_refusals(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    with pytest.raises(BadInput, match="--overwrite"):
        run_distill(config(tiny_models["bert"], corpus, out))
    with pytest.raises(BadInput, match="no checkpoint"):
        run_distill(config(tiny_models["bert"], corpus, out, resume=True))
    shutil.rmtree(out)
    run_distill(config(tiny_models["bert"], corpus, out, max_steps=3))
    with pytest.raises(BadInput, match="different options.*lr"):
        run_distill(config(tiny_models["bert"], corpus, out, max_steps=3, lr=1e-3, resume=True))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(BadInput):
        run_distill(config(tiny_models["bert"], empty, tmp_path / "e"))
    with pytest.raises(BadInput, match="alpha"):
        run_distill(config(tiny_models["bert"], corpus, tmp_path / "f", alpha_ce=-1.0))
    with pytest.raises(BadInput, match="too few"):
        run_distill(config(tiny_models["bert"], corpus, tmp_path / "g", grad_accum=1000))
    assert not (tmp_path / "e").exists() and not (tmp_path / "f").exists()


def test_a_layer_map_beyond_the_teacher_fails_before_the_head_is_fitted(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distilcli.distill import head

    def no_fit(*args, **kwargs):
        raise AssertionError("the head was fitted before the layer map was checked")

    monkeypatch.setattr(head, "fit_mlm_head", no_fit)
    with pytest.raises(BadInput, match="--layer-map has layer 9"):
        run_distill(config(tiny_models["bert"], corpus, tmp_path / "run", layer_map=[0, 9], fit_teacher_head=5))
    assert not (tmp_path / "run").exists()


def test_distilbert_student_and_intermediate_losses(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM, DistilBertForMaskedLM

    report = run_distill(
        config(
            tiny_models["bert"],
            corpus,
            tmp_path / "d",
            arch="distilbert",
            alpha_hidden=1.0,
            alpha_attention=1.0,
            alpha_mse=0.5,
            max_steps=2,
        )
    )
    assert report.body["student_model_type"] == "distilbert"
    assert {"hidden_final", "attention_final", "mse_final"} <= set(report.metrics)
    student = AutoModelForMaskedLM.from_pretrained(tmp_path / "d")
    assert isinstance(student, DistilBertForMaskedLM) and student.config.n_layers == 2


def test_overwrite_keeps_the_old_run_when_the_corpus_is_too_small(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_distill(config(tiny_models["bert"], corpus, out))
    small = tmp_path / "small.txt"
    # Text, but every line shorter than --min-tokens: no chunk survives (found only once it is tokenised).
    small.write_text("\n".join(" ".join(WORDS[i : i + 4]) for i in range(0, 40, 4)) + "\n", encoding="utf-8")
    with pytest.raises(BadInput, match="no chunk of at least 12 tokens"):
        run_distill(config(tiny_models["bert"], small, out, overwrite=True))
    assert (out / "config.json").is_file() and (out / "checkpoints").is_dir()  # the old run is untouched


def test_a_student_with_another_vocabulary_is_refused_from_its_config(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:
    import json
    import shutil

    student = tmp_path / "student"
    shutil.copytree(tiny_models["bert"], student)
    settings = json.loads((student / "config.json").read_text())
    settings["vocab_size"] += 1
    (student / "config.json").write_text(json.dumps(settings))  # weights no longer match: never read
    with pytest.raises(BadInput, match="vocabularies differ"):
        run_distill(config(tiny_models["bert"], corpus, tmp_path / "run", student=str(student)))
    assert not (tmp_path / "run").exists()


def test_clean_inputs_and_pooled_loss_on_sentences(tiny_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without vocabulary losses the models read the clean text (no mask drawn); --alpha-pooled trains and is reported."""
    from distilcli.data.masking import DynamicMasker

    rng = random.Random(1)
    corpus = tmp_path / "sentences.txt"
    corpus.write_text("\n".join(". ".join(" ".join(rng.choice(WORDS) for _ in range(9)).capitalize() for _ in range(3)) + "." for _ in range(40)) + "\n", encoding="utf-8")
    calls: list[int] = []
    original = DynamicMasker.__call__
    monkeypatch.setattr(DynamicMasker, "__call__", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    cfg = config(tiny_models["bert"], corpus, tmp_path / "run", alpha_ce=0.0, alpha_mlm=0.0, alpha_cos=1.0, alpha_pooled=1.0, document_per="sentence")
    report = run_distill(cfg)
    assert calls == []  # no mask was drawn
    distillation = report.body["distillation"]
    assert distillation["mask_inputs"] is False and distillation["document_per"] == "sentence"
    assert distillation["alphas"] == {"cos": 1.0, "pooled": 1.0}
    assert distillation["train_chunks"] == 120  # three sentences per line, each its own sequence
    assert report.config["mask_inputs"] is False and 0 <= report.metrics["pooled_final"] <= 2
    # The paper's recipe still masks; asking for clean inputs with L_mlm on is refused before any model loads.
    run_distill(config(tiny_models["bert"], corpus, tmp_path / "masked", max_steps=2, alpha_ce=0.0, alpha_mlm=0.0, mask_inputs=True))
    assert calls
    with pytest.raises(BadInput, match="--no-mask-inputs leaves L_mlm"):
        run_distill(config(tiny_models["bert"], corpus, tmp_path / "bad", mask_inputs=False))


def test_embedding_distillation_uses_the_teachers_pooling_and_saves_a_sentence_transformers_folder(
    tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    from transformers import AutoModel, AutoTokenizer

    from distilcli.models.pooling import SentencePooling, pool

    teacher = tmp_path / "teacher"
    shutil.copytree(tiny_models["bert"], teacher)
    write_sentence_transformers_files(teacher, {"pooling_mode_cls_token": True}, normalize="2_Normalize", max_seq_length=32)
    rng = random.Random(2)
    corpus = tmp_path / "text.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 20))) for _ in range(64)) + "\n", encoding="utf-8")
    out = tmp_path / "student"
    report = run_distill(config(teacher, corpus, out, task="embeddings", batch_size=None, lr=None))
    distillation = report.body["distillation"]
    assert distillation["alphas"] == {"cos": 1.0, "mse_emb": 1.0} and distillation["mask_inputs"] is False
    assert distillation["pooling"] == {"modes": ["cls"], "normalize": True, "source": str(teacher / "1_Pooling" / "config.json")}
    assert report.config["batch_size"] == 32 and report.config["alpha_ce"] == 0.0 and "mse_emb_final" in report.metrics
    for name in ("modules.json", "sentence_bert_config.json", "1_Pooling/config.json", "2_Normalize"):
        assert (out / name).exists(), name
    # The card offers what the folder is: a sentence encoder (its MLM head was never trained).
    from huggingface_hub import ModelCard

    card = ModelCard.load(out / "README.md")
    assert card.data.library_name == "sentence-transformers" and card.data.pipeline_tag == "sentence-similarity"
    assert "sentence-transformers" in card.data.tags and "SentenceTransformer(" in card.text
    sentences = ["the cat sat", "a dog runs far away today"]
    tokenizer, encoder = AutoTokenizer.from_pretrained(out), AutoModel.from_pretrained(out).eval()
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = pool(encoder(**batch).last_hidden_state, batch["attention_mask"], SentencePooling(("cls",), normalize=True))
    sentence_transformers = pytest.importorskip("sentence_transformers")
    theirs = sentence_transformers.SentenceTransformer(str(out), device="cpu").encode(sentences, convert_to_tensor=True)
    torch.testing.assert_close(theirs.cpu(), ours, atol=1e-5, rtol=1e-4)
