"""Sentence-embedding distillation into a student with its own tokenizer, and into D-wide vectors (--embedding-dim)."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput
from tests.conftest import HIDDEN, OTHER_HIDDEN, WORDS


@pytest.fixture(scope="module")
def sentences(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lines of three sentences each (10-20 words), split by --document-per sentence."""
    rng = random.Random(3)

    def sentence() -> str:
        words = [rng.choice(WORDS) for _ in range(rng.randint(10, 20))]
        return " ".join(words).capitalize() + "."

    path = tmp_path_factory.mktemp("sentences") / "text.txt"
    path.write_text("\n".join(" ".join(sentence() for _ in range(3)) for _ in range(40)) + "\n", encoding="utf-8")
    return path


def config(teacher: Path, corpus: Path, out: Path, **overrides) -> DistillConfig:
    base = dict(teacher=str(teacher), corpus=str(corpus), out=out, task="embeddings", max_steps=4, batch_size=8,
                max_seq_length=32, save_every=2, log_every=2, cache_dir=out.parent / "cache")  # fmt: skip
    return DistillConfig(**(base | overrides))


def watch_run(monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list]:
    """Spy on the next run: its embedding head as built, before any step (``head``, and where there is one ``weight``,
    ``bias``), and its prepared corpus."""
    from distilcli.distill import general

    built, corpora = {}, []
    build, prepare = general.build_student_model, general.prepare

    def keep_first_layer(*args, **kwargs):
        student = build(*args, **kwargs)
        built["head"] = head = student.objective.embedding_head
        if head is not None:
            built.update(weight=head.dense.weight.detach().clone(), bias=head.dense.bias.detach().clone())
        return student

    def keep_corpus(*args, **kwargs):
        corpora.append(prepare(*args, **kwargs))
        return corpora[-1]

    monkeypatch.setattr(general, "build_student_model", keep_first_layer)
    monkeypatch.setattr(general, "prepare", keep_corpus)
    return built, corpora


def encode_both_ways(folder: Path, sentences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The folder's embeddings by sentence-transformers and by distilcli's own pooling (what eval-sts reads)."""
    from transformers import AutoModel, AutoTokenizer

    from distilcli.models.pooling import pool, read_pooling

    tokenizer, encoder = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = pool(encoder(**batch).last_hidden_state, batch["attention_mask"], read_pooling(folder))
    sentence_transformers = pytest.importorskip("sentence_transformers")
    theirs = sentence_transformers.SentenceTransformer(str(folder), device="cpu").encode(
        sentences, convert_to_tensor=True
    )
    return theirs.cpu(), ours


def test_each_model_reads_the_sentences_with_its_own_tokenizer(
    st_teacher: Path, other_tokenizer_student: Path, sentences: Path
) -> None:
    from transformers import AutoTokenizer

    from distilcli.data.corpus import CorpusSpec, read_documents
    from distilcli.data.sentence_pairs import tokenize_pairs
    from distilcli.distill.sentence_checks import same_tokenizer

    teacher, student = (AutoTokenizer.from_pretrained(path) for path in (st_teacher, other_tokenizer_student))
    assert not same_tokenizer(teacher, student) and same_tokenizer(teacher, AutoTokenizer.from_pretrained(st_teacher))
    spec = CorpusSpec(str(sentences), document_per="sentence")
    pairs = tokenize_pairs(spec, teacher, student, 16, 12)
    texts = list(read_documents(spec))
    assert pairs.stats.sentences == pairs.stats.kept == len(pairs.teacher) == len(pairs.student) == len(texts) == 120
    assert pairs.stats.truncated > 0  # some sentences are longer than 16 tokens: each tokenizer cuts its own
    for i, text in enumerate(texts):  # row i is sentence i, in each tokenizer's own ids
        assert list(pairs.teacher[i]) == teacher(text, truncation=True, max_length=16)["input_ids"]
        assert list(pairs.student[i]) == student(text, truncation=True, max_length=16)["input_ids"]
        assert list(pairs.teacher[i]) != list(pairs.student[i])
        assert (
            teacher.decode(pairs.teacher[i], skip_special_tokens=True)[:20]
            == student.decode(pairs.student[i], skip_special_tokens=True)[:20]
        )
    short = sentences.parent / "short.txt"
    short.write_text("The cat. A dog.\n", encoding="utf-8")
    with pytest.raises(BadInput, match="no sentence of at least 12 tokens"):
        tokenize_pairs(CorpusSpec(str(short), document_per="sentence"), teacher, student, 32, 12)


def test_a_student_with_its_own_tokenizer_and_width_distils_end_to_end(
    st_teacher: Path, other_tokenizer_student: Path, sentences: Path, tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "student"
    report = run_distill(config(st_teacher, sentences, out, student=str(other_tokenizer_student), alpha_cos=0.0))
    embedding = report.body["distillation"]["embedding"]
    assert (
        embedding["tokenizer"] == "student's own"
        and embedding["sentences"]["kept"] == report.body["distillation"]["train_chunks"]
    )
    assert embedding["student_pooling"]["modes"] == ["mean"]  # its own pooling, not the teacher's [CLS]
    assert embedding["dense"] == {"in": OTHER_HIDDEN, "out": HIDDEN, "init": "least-squares", "normalize": True}
    assert embedding["least_squares"]["sentences"] == embedding["sentences"]["kept"]  # a small corpus: all of it
    assert report.metrics["steps"] == 4 and np.isfinite(report.metrics["mse_emb_final"])
    # Its own tokenizer, its own pooling files (fitted to its width), then the Dense to the teacher's width, normalised.
    assert (
        AutoTokenizer.from_pretrained(out).get_vocab()
        == AutoTokenizer.from_pretrained(other_tokenizer_student).get_vocab()
    )
    modules = json.loads((out / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Dense", "3_Normalize"]
    assert json.loads((out / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"] is True
    theirs, ours = encode_both_ways(out, ["the cat sat by the river", "a small model learns fast"])
    assert theirs.shape == (2, HIDDEN)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(theirs.norm(dim=-1), torch.ones(2))


def test_fit_least_squares_is_scikit_learns_linear_regression() -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    from distilcli.distill.embedding_head import fit_least_squares

    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(200, 6))
    targets = inputs @ rng.normal(size=(6, 4)) + 0.3 * rng.normal(size=(200, 4)) + 2.0
    fit = fit_least_squares(inputs, targets)
    reference = LinearRegression().fit(inputs, targets)
    np.testing.assert_allclose(fit.weight, reference.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit.bias, reference.intercept_, rtol=1e-4, atol=1e-6)
    predicted = inputs @ fit.weight.T + fit.bias
    assert fit.r2 == pytest.approx(r2_score(targets, predicted, multioutput="variance_weighted"), rel=1e-9)
    assert fit.r2 == pytest.approx(reference.score(inputs, targets), abs=0.02)  # sklearn averages per output
    assert fit.sentences == 200


def test_a_student_of_another_width_starts_as_the_least_squares_map_to_the_teacher(
    st_teacher: Path, other_tokenizer_student: Path, sentences: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.linear_model import LinearRegression

    from distilcli.data.batching import pad_collate
    from distilcli.distill.embedding_head import pooled_embeddings
    from distilcli.models.loading import load_mlm_model
    from distilcli.models.pooling import read_pooling
    from distilcli.models.resolve import resolve_model

    built, corpora = watch_run(monkeypatch)
    report = run_distill(
        config(st_teacher, sentences, tmp_path / "student", student=str(other_tokenizer_student), alpha_cos=0.0)
    )
    corpus = corpora[0]
    rows = range(len(corpus.train_ids))
    teacher, student = (
        load_mlm_model(resolve_model(str(path))).model.eval() for path in (st_teacher, other_tokenizer_student)
    )
    cpu = torch.device("cpu")
    targets = pooled_embeddings(
        teacher, [corpus.train_ids[i] for i in rows], pad_collate(corpus.pad_id), read_pooling(st_teacher), cpu
    )
    inputs = pooled_embeddings(
        student, [corpus.student_rows[i] for i in rows], pad_collate(corpus.student_pad_id),
        read_pooling(other_tokenizer_student), cpu,
    )  # fmt: skip
    expected = LinearRegression().fit(inputs, targets).predict(inputs)
    got = (torch.tensor(inputs, dtype=torch.float32) @ built["weight"].T + built["bias"]).double().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-3)
    fit = report.body["distillation"]["embedding"]["least_squares"]
    assert fit["sentences"] == len(rows) and 0 < fit["r2"] <= 1


def test_a_student_with_its_own_tokenizer_reads_whole_lines_with_document_per_line(
    st_teacher: Path, other_tokenizer_student: Path, sentences: Path, tmp_path: Path
) -> None:
    out = tmp_path / "student"
    cfg = config(st_teacher, sentences, out, student=str(other_tokenizer_student), alpha_cos=0.0, document_per="line")
    report = run_distill(replace(cfg, max_seq_length=40))
    pairs = report.body["distillation"]["embedding"]["sentences"]
    lines = sentences.read_text(encoding="utf-8").splitlines()
    assert pairs["sentences"] == pairs["kept"] == len(lines) == 40  # each line is one sequence, three sentences long
    assert pairs["truncated"] > 0 and report.metrics["steps"] == 4  # lines past 40 tokens: truncated, not cut in two


def test_with_similarities_only_a_student_of_another_width_keeps_its_own_space(
    st_teacher: Path, other_tokenizer_student: Path, sentences: Path, tmp_path: Path
) -> None:
    out = tmp_path / "student"
    cfg = config(st_teacher, sentences, out, student=str(other_tokenizer_student), alpha_cos=0.0, alpha_mse_emb=0.0)
    report = run_distill(replace(cfg, alpha_sim=1.0, alpha_rank=1.0))
    embedding = report.body["distillation"]["embedding"]
    assert embedding["dense"] is None and embedding["width"] is None and embedding["least_squares"] is None  # no Dense
    assert np.isfinite(report.metrics["sim_final"]) and np.isfinite(report.metrics["rank_final"])
    assert "mse_emb_final" not in report.metrics
    modules = json.loads((out / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling"]
    theirs, ours = encode_both_ways(out, ["the cat sat by the river", "a small model learns fast"])
    assert theirs.shape == (2, OTHER_HIDDEN)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-4)


def test_embedding_dim_with_similarities_only_starts_as_the_students_own_pca(
    st_teacher: Path, other_tokenizer_student: Path, sentences: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.decomposition import PCA

    from distilcli.data.batching import pad_collate
    from distilcli.distill import sentence_student
    from distilcli.distill.embedding_head import pooled_embeddings
    from distilcli.models.loading import load_mlm_model
    from distilcli.models.pooling import read_pooling
    from distilcli.models.resolve import resolve_model

    built, corpora = watch_run(monkeypatch)
    monkeypatch.setattr(sentence_student, "_teacher_sample", None)  # no pass of the teacher over a sample is needed
    out = tmp_path / "student"
    cfg = config(st_teacher, sentences, out, student=str(other_tokenizer_student), alpha_cos=0.0, alpha_mse_emb=0.0)
    report = run_distill(replace(cfg, alpha_sim=1.0, embedding_dim=5))
    corpus = corpora[0]
    student = load_mlm_model(resolve_model(str(other_tokenizer_student))).model.eval()
    inputs = pooled_embeddings(
        student, list(corpus.student_rows), pad_collate(corpus.student_pad_id),
        read_pooling(other_tokenizer_student), torch.device("cpu"),
    )  # fmt: skip
    expected = PCA(n_components=5).fit(inputs)
    got = (torch.tensor(inputs, dtype=torch.float32) @ built["weight"].T + built["bias"]).double().numpy()
    projected = expected.transform(inputs)
    np.testing.assert_allclose(got, projected * np.sign((got * projected).sum(axis=0)), atol=1e-4)
    # The teacher is not reduced: the similarities it teaches are those of its full-width embeddings.
    teacher = torch.randn(3, HIDDEN)
    assert torch.equal(built["head"].teacher_side(teacher), teacher)
    embedding = report.body["distillation"]["embedding"]
    assert embedding["dense"] == {"in": OTHER_HIDDEN, "out": 5, "init": "pca", "normalize": True}
    assert embedding["pca"]["of"] == "student" and embedding["pca"]["sentences"] == len(corpus.student_rows)
    assert embedding["pca"]["explained_variance"] == pytest.approx(expected.explained_variance_ratio_.sum(), rel=1e-4)
    assert "the student's PCA" in (out / "README.md").read_text()
    theirs, ours = encode_both_ways(out, ["the cat sat by the river", "a small model learns fast"])
    assert theirs.shape == (2, 5)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-4)
    # Reducing the student's own embeddings, it can be no wider than they are (refused before anything is written).
    with pytest.raises(BadInput, match=f"--embedding-dim {OTHER_HIDDEN + 1} is wider than the student's {OTHER_HIDDEN}"):
        run_distill(replace(cfg, alpha_sim=1.0, embedding_dim=OTHER_HIDDEN + 1, out=tmp_path / "wide"))
    assert not (tmp_path / "wide").exists()


def test_token_level_losses_and_chunked_documents_are_refused_before_anything_is_written(
    st_teacher: Path, other_tokenizer_student: Path, sentences: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    other = dict(student=str(other_tokenizer_student))
    with pytest.raises(BadInput, match="set --alpha-cos 0$"):
        run_distill(config(st_teacher, sentences, out, **other))
    with pytest.raises(BadInput, match="set --alpha-ce 0 --alpha-cos 0 --alpha-hidden 0$"):
        run_distill(config(st_teacher, sentences, out, alpha_ce=1.0, alpha_hidden=1.0, **other))
    with pytest.raises(BadInput, match="--document-per sentence or line"):
        run_distill(config(st_teacher, sentences, out, alpha_cos=0.0, document_per="file", **other))
    with pytest.raises(BadInput, match="tokenizers differ.*--task embeddings"):
        run_distill(config(st_teacher, sentences, out, task=None, **other))
    assert not out.exists()


def test_fit_pca_is_numpys_svd_of_the_centred_embeddings() -> None:
    from distilcli.distill.embedding_head import EmbeddingHead, fit_pca

    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(200, 12)) @ rng.normal(size=(12, 12))
    pca = fit_pca(embeddings, 4)
    centred = embeddings - embeddings.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:4].T
    head = EmbeddingHead(12, 12, 4)
    head.set_pca(pca)
    with torch.no_grad():
        got = head.dense(torch.tensor(embeddings, dtype=torch.float32)).double().numpy()
        teacher = head(torch.zeros(1, 12), torch.tensor(embeddings, dtype=torch.float32))[1].double().numpy()
    signs = np.sign((got * expected).sum(axis=0))  # an SVD fixes each component up to its sign
    np.testing.assert_allclose(got, expected * signs, atol=1e-4)
    np.testing.assert_allclose(teacher, got, atol=1e-5)  # the teacher's fixed reduction is the same projection
    assert pca.explained_variance == pytest.approx((singular[:4] ** 2).sum() / (singular**2).sum())
    with pytest.raises(BadInput, match="--embedding-dim 13"):
        fit_pca(embeddings, 13)


def test_embedding_dim_starts_as_the_teachers_pca_and_saves_a_dense_module(
    st_teacher: Path, sentences: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distilcli.data.batching import pad_collate
    from distilcli.distill import embedding_head
    from distilcli.distill.embedding_head import pooled_embeddings
    from distilcli.models.loading import load_mlm_model, load_tokenizer
    from distilcli.models.pooling import read_pooling
    from distilcli.models.resolve import resolve_model

    built, _ = watch_run(monkeypatch)
    out = tmp_path / "student"
    report = run_distill(config(st_teacher, sentences, out, embedding_dim=6, layer_map=[0, 2]))
    # Before training, the student's Dense is numpy's PCA projection of the teacher's embeddings of the corpus.
    teacher = load_mlm_model(resolve_model(str(st_teacher)))
    tokenizer = load_tokenizer(teacher.ref)
    texts_ids = [tokenizer(t, truncation=True, max_length=32)["input_ids"] for t in _corpus_sentences(sentences)]
    rows = [ids for ids in texts_ids if len(ids) >= 12]
    embeddings = pooled_embeddings(
        teacher.model, rows, pad_collate(tokenizer.pad_token_id), read_pooling(st_teacher), torch.device("cpu")
    )
    centred = embeddings - embeddings.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:6].T
    got = (torch.tensor(embeddings, dtype=torch.float32) @ built["weight"].T + built["bias"]).double().numpy()
    np.testing.assert_allclose(got, expected * np.sign((got * expected).sum(axis=0)), atol=1e-4)
    pca = report.body["distillation"]["embedding"]["pca"]
    assert (
        pca["dim"] == 6 and pca["sentences"] == len(rows) < embedding_head.PCA_SENTENCES
    )  # every sentence of a small corpus
    assert report.metrics["pca_explained_variance"] == pytest.approx(
        (singular[:6] ** 2).sum() / (singular**2).sum(), rel=1e-4
    )
    assert report.body["distillation"]["embedding"]["dense"] == {
        "in": HIDDEN,
        "out": 6,
        "init": "pca",
        "normalize": True,
    }
    # Saved after the teacher's own modules: SentenceTransformer(DIR) gives 6-wide vectors, as our pooling does.
    modules = json.loads((out / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize", "3_Dense", "4_Normalize"]
    assert json.loads((out / "3_Dense" / "config.json").read_text())["out_features"] == 6
    theirs, ours = encode_both_ways(out, ["the cat sat by the river", "a small model learns fast"])
    assert theirs.shape == (2, 6)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-4)
    assert "embedding dimension" in (out / "README.md").read_text()


def _corpus_sentences(path: Path) -> list[str]:
    from distilcli.data.corpus import CorpusSpec, read_documents

    return list(read_documents(CorpusSpec(str(path), document_per="sentence")))


def test_embedding_dim_is_refused_outside_embeddings_and_beyond_the_teachers_width(
    st_teacher: Path, sentences: Path, tmp_path: Path
) -> None:
    with pytest.raises(BadInput, match="--embedding-dim reduces sentence embeddings: add --task embeddings"):
        run_distill(config(st_teacher, sentences, tmp_path / "a", task=None, embedding_dim=8))
    with pytest.raises(BadInput, match=f"--embedding-dim 33 is wider than the teacher's {HIDDEN}-wide"):
        run_distill(config(st_teacher, sentences, tmp_path / "b", embedding_dim=33))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_pooling_reads_a_dense_module_as_sentence_transformers_saves_it(
    tiny_encoders: dict[str, Path], tmp_path: Path
) -> None:
    """A folder saved by sentence-transformers itself (Pooling, Dense with tanh, Normalize) embeds alike with our pool()."""
    sentence_transformers = pytest.importorskip("sentence_transformers")
    from sentence_transformers import models

    torch.manual_seed(0)
    modules = [
        models.Transformer(str(tiny_encoders["bert"])),
        models.Pooling(HIDDEN, "mean"),
        models.Dense(HIDDEN, 5),
        models.Normalize(),
    ]
    folder = tmp_path / "saved"
    sentence_transformers.SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    theirs, ours = encode_both_ways(folder, ["the cat sat by the river", "a small model"])
    assert theirs.shape == (2, 5)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-4)


def test_a_resumed_run_equals_the_uninterrupted_one_dense_layer_included(
    st_teacher: Path, other_tokenizer_student: Path, sentences: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors.torch import load_file

    from distilcli.distill import sentence_student
    from distilcli.errors import Interrupted

    def run(out: Path, **extra) -> dict:
        return run_distill(
            config(
                st_teacher,
                sentences,
                out,
                student=str(other_tokenizer_student),
                alpha_cos=0.0,
                embedding_dim=5,
                **extra,
            )
        ).body["distillation"]["embedding"]

    def stop_at_3(step: int) -> None:
        if step == 3:
            raise KeyboardInterrupt

    reference = run(tmp_path / "reference")
    with pytest.raises(Interrupted):
        run_distill(config(st_teacher, sentences, tmp_path / "resumed", student=str(other_tokenizer_student), alpha_cos=0.0,
                           embedding_dim=5), on_step=stop_at_3)  # fmt: skip
    # The resumed run reuses the head's start (PCA, least squares) saved by the first: no model reads the sample again.
    monkeypatch.setattr(sentence_student, "pooled_embeddings", None)
    resumed = run(tmp_path / "resumed", resume=True)
    assert resumed["pca"] == reference["pca"] and resumed["least_squares"] == reference["least_squares"]
    assert resumed["dense"]["init"] == "least-squares" and resumed["pca"]["of"] == "teacher"
    for name in ("model.safetensors", "2_Dense/model.safetensors"):
        expected, got = (load_file(str(tmp_path / folder / name)) for folder in ("reference", "resumed"))
        assert expected.keys() == got.keys()
        for key, tensor in expected.items():
            assert torch.equal(got[key], tensor), f"{name}: {key}"
    assert json.loads((tmp_path / "resumed" / "2_Dense" / "config.json").read_text())["in_features"] == OTHER_HIDDEN
