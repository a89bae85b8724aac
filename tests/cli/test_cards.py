"""Model cards the Hub understands: written by models student, distill and finetune; eval results via --update-card.

Every card is read back with huggingface_hub's own ``ModelCard.load`` and its results with the Hub's
model-index parser, so what is checked is what the Hub would show.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from tests.cli.conftest import assert_one_line_error
from tests.conftest import WORDS


def load_card(folder: Path) -> ModelCard:
    return ModelCard.load(folder / "README.md")


def parsed_results(folder: Path) -> list:
    """The card's model-index as the Hub's parser reads it (name, results)."""
    metadata = load_card(folder).data.to_dict()
    name, results = model_index_to_eval_results(metadata["model-index"])
    assert name
    return results


def assert_hub_card(card: ModelCard, pipeline_tag: str, *tags: str) -> None:
    data = card.data
    assert data.library_name == "transformers"
    assert data.pipeline_tag == pipeline_tag
    for tag in ("distilcli", "distillation", *tags):
        assert tag in data.tags, (tag, data.tags)


@pytest.fixture(scope="module")
def finetuned(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from distilcli.finetune.config import FinetuneConfig
    from distilcli.finetune.engine import run_finetune

    out = tmp_path_factory.mktemp("cards") / "sst2"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="sst2", out=out, glue_dir=tiny_glue,
                                batch_size=8, lr=1e-3, max_steps=6, eval_every=6))  # fmt: skip
    return out


# -- the cards written with the models -----------------------------------------------------------


def test_student_card_is_a_hub_card(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "student"
    result = distil("models", "student", tiny_models["bert"], "--out", out, "--layer-map", "0,2")
    assert result.exit_code == 0, result.stderr
    card = load_card(out)
    assert_hub_card(card, "fill-mask", "student")
    # A local teacher has no Hub id: the Hub would refuse it as base_model, so it is named in the text only.
    assert card.data.base_model is None and str(tiny_models["bert"]) in card.text
    assert "0←0, 1←2" in card.text and "## Loading" in card.text


def test_distill_card_is_a_hub_card(distil, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(0)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(20)) for _ in range(40)) + "\n")
    out = tmp_path / "distilled"
    result = distil("distill", "--teacher", tiny_models["bert"], "--corpus", corpus, "--out", out, "--layer-map", "0,2",
                    "--max-steps", "2", "--batch-size", "4", "--max-seq-length", "32")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    card = load_card(out)
    assert_hub_card(card, "fill-mask", "distilbert-recipe")
    assert "Distilled from" in card.text and card.data.datasets is None  # a local corpus is no Hub dataset


def test_finetune_card_is_a_hub_card(finetuned: Path) -> None:
    card = load_card(finetuned)
    assert_hub_card(card, "text-classification", "glue", "sst2")
    assert card.data.datasets == ["nyu-mll/glue"]  # --glue-dir: GLUE's own data
    assert "SST-2" in card.text and "AutoModelForSequenceClassification" in card.text


def test_card_metadata_names_hub_models_and_datasets() -> None:
    from distilcli.models.card import render_model_card

    text = render_model_card("t", "s", [("a", "b")], ".", ["x"], "AutoModelForQuestionAnswering",
                             base_model="minilm-l6", datasets=["rajpurkar/squad"])  # fmt: skip
    data = ModelCard(text).data
    assert data.base_model == "sentence-transformers/all-MiniLM-L6-v2"  # the alias's Hub id
    assert data.pipeline_tag == "question-answering" and data.datasets == ["rajpurkar/squad"]
    assert (
        ModelCard(render_model_card("t", "s", [], ".", [], base_model="bert-base-uncased")).data.base_model
        == "bert-base-uncased"
    )
    assert ModelCard(render_model_card("t", "s", [], ".", [], base_model="./teacher")).data.base_model is None


# -- eval results in the card ----------------------------------------------------------------------


def test_eval_glue_update_card_writes_and_replaces_results(
    distil, finetuned: Path, tiny_glue: Path, tmp_path: Path
) -> None:
    before = load_card(finetuned).text
    args = ("eval-glue", "--model", finetuned, "--task", "sst2", "--glue-dir", tiny_glue, "--update-card")
    result = distil(*args, "--output", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["body"]["cards_updated"] == [str(finetuned / "README.md")]
    (entry,) = [r for r in parsed_results(finetuned) if r.dataset_type == "nyu-mll/glue"]
    assert (entry.task_type, entry.dataset_type, entry.dataset_config, entry.dataset_split) == (
        "text-classification", "nyu-mll/glue", "sst2", "validation",
    )  # fmt: skip
    assert entry.metric_type == "accuracy" and entry.metric_value == report["metrics"]["sst2.accuracy"]
    card = load_card(finetuned)
    assert card.text == before  # the prose is kept
    assert card.data.library_name == "transformers" and "sst2" in card.data.tags

    # A second run replaces the entry of the same metric and dataset, it does not add one.
    for result in card.data.eval_results:
        result.metric_value = -1.0
    (finetuned / "README.md").write_text(str(card))
    assert distil(*args).exit_code == 0
    (again,) = [r for r in parsed_results(finetuned) if r.dataset_type == "nyu-mll/glue"]
    assert again.metric_value == report["metrics"]["sst2.accuracy"]
    assert [p.name for p in finetuned.iterdir() if p.name.startswith(".")] == [".distilcli-run"]  # no temp file left


def test_update_card_keeps_other_results(distil, finetuned: Path, tiny_glue: Path) -> None:
    from distilcli.models.card import CardResult, update_card_results

    other = CardResult(
        "text-classification", "Text Classification", "custom", "mine", None, "test", "accuracy", "Accuracy", 0.5
    )
    update_card_results(finetuned, [other])
    assert (
        distil("eval-glue", "--model", finetuned, "--task", "sst2", "--glue-dir", tiny_glue, "--update-card").exit_code
        == 0
    )
    results = parsed_results(finetuned)
    assert sorted(r.dataset_type for r in results) == ["custom", "nyu-mll/glue"]


def test_update_card_refuses_quantized_scores(distil, finetuned: Path, tiny_glue: Path) -> None:
    before = (finetuned / "README.md").read_text()
    result = distil("eval-glue", "--model", finetuned, "--task", "sst2", "--glue-dir", tiny_glue, "--update-card",
                    "--quantize", "dynamic-int8")  # fmt: skip
    assert_one_line_error(result, 2, "--update-card", "--quantize")
    assert (finetuned / "README.md").read_text() == before


def test_update_card_needs_a_local_model_folder(distil, finetuned: Path, tiny_glue: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        if (finetuned / name).exists():
            (bad / name).write_bytes((finetuned / name).read_bytes())
    (bad / "README.md").write_text("---\nmodel-index: 3\n---\n")  # metadata the Hub cannot parse
    result = distil("eval-glue", "--model", bad, "--task", "sst2", "--glue-dir", tiny_glue, "--update-card")
    assert_one_line_error(result, 2, "README.md")
    result = distil("eval-squad", "--predictions", tmp_path / "p.json", "--task", "squad", "--update-card")
    assert_one_line_error(result, 2, "--update-card", "--model")


def test_eval_squad_update_card(distil, tiny_encoders: dict[str, Path], tiny_squad: Path, tmp_path: Path) -> None:
    from distilcli.finetune.config import FinetuneConfig
    from distilcli.finetune.engine import run_finetune

    out = tmp_path / "qa"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="squad", out=out, train_file=tiny_squad / "train.json",
                                dev_file=tiny_squad / "dev.json", batch_size=8, lr=1e-3, max_steps=2, max_seq_length=64,
                                doc_stride=16, max_query_length=16))  # fmt: skip
    assert_hub_card(load_card(out), "question-answering", "squad")
    result = distil(
        "eval-squad",
        "--model",
        out,
        "--dev-file",
        tiny_squad / "dev.json",
        "--update-card",
        "--output",
        tmp_path / "r.json",
    )
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((tmp_path / "r.json").read_text())["metrics"]
    results = {r.metric_type: r for r in parsed_results(out)}
    assert set(results) == {"exact_match", "f1"}
    assert results["f1"].metric_value == metrics["f1"] and results["f1"].task_type == "question-answering"
    # A --dev-file is not claimed to be the Hub's SQuAD: the file is named instead.
    assert results["f1"].dataset_type == "dev.json"


def test_task_distilled_card_names_the_teacher_as_base_model() -> None:
    from distilcli.training.task_card import task_model_card

    best = {"step": 4, "metrics": {"accuracy": 0.9, "score": 0.9}}
    finetune = {
        "task": "sst2", "task_display": "SST-2", "base_model": "out/student-init", "model_type": "bert",
        "primary_metric": "accuracy", "train_source": "glue/SST-2/train.tsv", "dev_source": "glue/SST-2/dev.tsv",
        "train_examples": 10, "train_total": 10, "train_limit": None, "dev_examples": 5, "steps": 4, "batch_size": 2,
        "lr": 1e-4, "seed": 1, "best": best, "distilcli_version": "0", "selected_on": "dev",
        "made_with": "distil distill --task", "teacher": "textattack/bert-base-uncased-SST-2", "datasets": ["nyu-mll/glue"],
    }  # fmt: skip
    data = ModelCard(
        task_model_card({"finetune": finetune}, ["distilcli", "glue", "sst2"], "AutoModelForSequenceClassification")
    ).data
    assert data.base_model == "textattack/bert-base-uncased-SST-2"
    assert data.datasets == ["nyu-mll/glue"] and data.pipeline_tag == "text-classification"
    assert {"distillation", "sst2"} <= set(data.tags)
