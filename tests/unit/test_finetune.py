"""Fine-tuning: classifier heads on every architecture, features, the engine's best/early-stop/seeds/resume."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import ARCHITECTURES
from distilcli.tasks.glue.readers import read_glue_tsv
from distilcli.tasks.glue.spec import GlueExample, resolve_task
from distilcli.errors import BadInput
from distilcli.tasks.glue.features import FeatureCollate, encode
from distilcli.tasks.glue.head import _label_permutation, load_classifier
from distilcli.finetune.config import FinetuneConfig
from distilcli.errors import Interrupted
from distilcli.finetune.engine import run_finetune
from distilcli.training.seeds import parse_seeds
from distilcli.training.run_files import subsample
from distilcli.training.task_summary import median_metrics
from distilcli.models.resolve import resolve_model
from tests.unit.test_squad_finetune import _cfg as squad_cfg


def _cfg(model: Path, glue: Path, out: Path, **overrides) -> FinetuneConfig:
    base = dict(model=str(model), task="sst2", out=out, glue_dir=glue, batch_size=8, lr=1e-3, epochs=2, log_every=5)
    base.update(overrides)
    return FinetuneConfig(**base)


# -- classifier and features ------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_classifier_head_on_every_architecture(arch: str, tiny_encoders: dict[str, Path]) -> None:
    loaded = load_classifier(resolve_model(tiny_encoders[arch]), resolve_task("mnli"), for_training=True)
    assert type(loaded.model).__name__.endswith("ForSequenceClassification")
    assert loaded.model.config.num_labels == 3
    assert loaded.model.config.id2label == {0: "entailment", 1: "neutral", 2: "contradiction"}
    assert loaded.missing_keys and not loaded.head_is_trained  # an encoder checkpoint has no head
    features = encode([GlueExample(0, "the cat", "a dog", 1, "neutral")], loaded.tokenizer, loaded.adapter, 32)
    batch = FeatureCollate(features, loaded.tokenizer.pad_token_id, regression=False)([0])
    assert ("token_type_ids" in batch) == (arch in ("bert", "electra"))
    assert loaded.model(**batch).logits.shape == (1, 3)


def test_regression_head_for_stsb(tiny_encoders: dict[str, Path]) -> None:
    loaded = load_classifier(resolve_model(tiny_encoders["bert"]), resolve_task("stsb"), for_training=True)
    assert loaded.model.config.num_labels == 1 and loaded.model.config.problem_type == "regression"
    features = encode([GlueExample(0, "a", "b", 3.5, "3.5")], loaded.tokenizer, loaded.adapter, 16)
    batch = FeatureCollate(features, loaded.tokenizer.pad_token_id, regression=True)([0])
    assert batch["labels"].dtype == torch.float32


def test_encode_truncates_pairs_and_keeps_segments(tokenizer, tiny_encoders: dict[str, Path]) -> None:
    loaded = load_classifier(resolve_model(tiny_encoders["bert"]), resolve_task("rte"), for_training=True)
    long = " ".join(["the"] * 50)
    features = encode([GlueExample(0, long, long, 0, "x"), GlueExample(1, "cat", "dog", 1, "y")], loaded.tokenizer, loaded.adapter, 20)
    assert features.lengths == [20, 5]
    assert features.token_type_ids[1] == [0, 0, 0, 1, 1]
    assert features.input_ids[1][0] == tokenizer.cls_token_id and features.input_ids[1][-1] == tokenizer.sep_token_id


def test_evaluation_refuses_an_untrained_or_mis_sized_head(tiny_encoders: dict[str, Path]) -> None:
    with pytest.raises(BadInput, match="no trained classification head"):
        load_classifier(resolve_model(tiny_encoders["bert"]), resolve_task("sst2"), for_training=False)
    with pytest.raises(BadInput, match="needs 3"):
        load_classifier(resolve_model(tiny_encoders["bert"]), resolve_task("mnli"), for_training=False)


def test_label_permutation_follows_named_labels() -> None:
    class Config:
        id2label = {0: "CONTRADICTION", 1: "entailment", 2: "neutral"}

    # model index 0 (contradiction) is task index 2, and so on.
    assert _label_permutation(Config, resolve_task("mnli")) == [2, 0, 1]
    Config.id2label = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    assert _label_permutation(Config, resolve_task("mnli")) is None
    Config.id2label = {0: "entailment", 1: "neutral", 2: "contradiction"}
    assert _label_permutation(Config, resolve_task("mnli")) is None


def test_predict_logits_restores_file_order(tiny_encoders: dict[str, Path], tiny_glue: Path) -> None:
    from distilcli.tasks.glue.predict import predict_logits

    loaded = load_classifier(resolve_model(tiny_encoders["bert"]), resolve_task("sst2"), for_training=True)
    examples = read_glue_tsv(tiny_glue / "SST-2" / "dev.tsv", "sst2")
    features = encode(examples, loaded.tokenizer, loaded.adapter, 64)
    batched = predict_logits(loaded.model, features, loaded.tokenizer.pad_token_id, batch_size=7)
    collate = FeatureCollate(features, loaded.tokenizer.pad_token_id, regression=False)
    loaded.model.eval()
    with torch.no_grad():
        one_by_one = np.stack([loaded.model(**collate([i], with_labels=False)).logits[0].numpy() for i in range(len(features))])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


# -- small helpers ------------------------------------------------------------------------------------


def test_parse_seeds() -> None:
    assert parse_seeds("1,2, 3") == [1, 2, 3]
    assert parse_seeds([4, 5]) == [4, 5]
    assert parse_seeds(None) is None
    for bad in ("1,x", "", "1,1"):
        with pytest.raises(BadInput):
            parse_seeds(bad)


def test_subsample_is_fixed_sorted_and_seed_independent() -> None:
    picked = subsample(100, 10)
    assert picked == sorted(picked) and len(set(picked)) == 10 and picked == subsample(100, 10)
    assert subsample(5, 10) == list(range(5)) and subsample(5, None) == list(range(5))


def test_median_metrics_is_the_median_of_each_metric() -> None:
    runs = [{"best": {"metrics": {"accuracy": a, "score": a}}} for a in (0.7, 0.9, 0.8, 0.6, 0.95)]
    assert median_metrics(runs) == {"accuracy": 0.8, "score": 0.8}


# -- the engine --------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["bert", "distilbert", "mpnet"])
def test_finetune_learns_and_keeps_the_best_checkpoint(arch: str, tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    report = run_finetune(_cfg(tiny_encoders[arch], tiny_glue, tmp_path / "run", eval_every=6, epochs=6))
    body = report.body
    (run,) = body["runs"]
    best = max(run["history"], key=lambda e: e["metrics"]["accuracy"])
    # The first evaluation reaching the top score is the one kept.
    assert run["best"]["step"] == next(e["step"] for e in run["history"] if e["metrics"]["accuracy"] == best["metrics"]["accuracy"])
    assert report.metrics["accuracy"] == best["metrics"]["accuracy"] > 0.7
    assert report.metrics["train_examples"] == 96 and report.metrics["best_step"] == run["best"]["step"]
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "run")
    info = model.config.distilcli["finetune"]
    assert info["task"] == "sst2" and info["best"]["step"] == run["best"]["step"]
    assert (tmp_path / "run" / "README.md").read_text().count("SST-2") >= 1
    # The saved weights are the best step's: evaluating them gives the best accuracy again.
    from distilcli.evaluate.glue_eval import EvalGlueConfig, run_eval_glue

    evaluated, _ = run_eval_glue(EvalGlueConfig(model=[str(tmp_path / "run")], task="sst2", glue_dir=tiny_glue))
    assert evaluated.metrics["sst2.accuracy"] == report.metrics["accuracy"]


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_fresh_regression_head_starts_at_the_mean_label(arch: str, tiny_encoders: dict[str, Path]) -> None:
    from distilcli.tasks.glue.head import start_at_mean_label

    loaded = load_classifier(resolve_model(tiny_encoders[arch]), resolve_task("stsb"), for_training=True)
    assert start_at_mean_label(loaded, [1.0, 2.0, 4.5]) == "regression head bias set to the mean training label 2.5000"
    features = encode([GlueExample(0, "a", "b", 3.5, "3.5")], loaded.tokenizer, loaded.adapter, 16)
    batch = FeatureCollate(features, loaded.tokenizer.pad_token_id, regression=True)([0])
    loaded.model.eval()
    with torch.no_grad():
        output = loaded.model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        biases = [m.bias for m in loaded.model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 1]
    assert len(biases) == 1 and biases[0].item() == 2.5
    assert abs(output.item() - 2.5) < 1.0  # the random head's weights add a little around the bias
    # A classification head, or a head loaded trained (nothing missing), is left as it is.
    trained = replace(loaded, missing_keys=[])
    assert start_at_mean_label(trained, [0.0]) is None and biases[0].item() == 2.5


def test_stsb_regression_finetune(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    report = run_finetune(_cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", task="STS-B", epochs=3))
    assert set(report.metrics) >= {"pearson", "spearmanr", "score"}
    assert report.metrics["score"] == pytest.approx((report.metrics["pearson"] + report.metrics["spearmanr"]) / 2)
    assert report.primary_metric == "pearson"
    mean = statistics.mean(float(line.split("\t")[-1]) for line in (tiny_glue / "STS-B" / "train.tsv").read_text().splitlines()[1:])
    assert report.body["runs"][0]["head_init"] == f"regression head bias set to the mean training label {mean:.4f}"


def test_train_limit_and_max_steps(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    report = run_finetune(_cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", train_limit=40, max_steps=4))
    assert report.metrics["train_examples"] == 40 and report.metrics["steps"] == 4
    assert report.body["train_limit"] == 40 and report.body["train_total"] == 96
    assert report.config["train_limit"] == 40


def test_early_stopping(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    # A learning rate too small to change any prediction: the first evaluation stays the best.
    report = run_finetune(_cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", lr=1e-12, eval_every=2, early_stopping=2, epochs=5))
    (run,) = report.body["runs"]
    assert run["stopped_early"] and [e["step"] for e in run["history"]] == [2, 4, 6]
    assert run["best"]["step"] == 2 and report.metrics["steps"] == 6


def test_seeds_report_the_median(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    report = run_finetune(_cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", seeds="1,2,3", max_steps=6, eval_every=2))
    runs = report.body["runs"]
    assert [r["seed"] for r in runs] == [1, 2, 3]
    for r in runs:
        assert (tmp_path / "run" / f"seed-{r['seed']}" / "config.json").is_file()
    assert report.metrics["accuracy"] == statistics.median(r["best"]["metrics"]["accuracy"] for r in runs)
    assert report.metrics["seeds"] == 3
    median_seed = report.body["median_seed"]
    assert report.artifacts["model"] == str(tmp_path / "run" / f"seed-{median_seed}")


def _resume_case(task: str, request: pytest.FixtureRequest, out: Path) -> tuple[FinetuneConfig, int]:
    """A fine-tuning run of ``task`` with several evaluations, and the step at which to interrupt it."""
    encoders = request.getfixturevalue("tiny_encoders")
    if task == "squad":
        return squad_cfg(encoders["distilbert"], request.getfixturevalue("tiny_squad"), out, max_steps=6, eval_every=3), 4
    return _cfg(encoders["bert"], request.getfixturevalue("tiny_glue"), out, eval_every=4, epochs=2), 7


@pytest.mark.parametrize("task", ["sst2", "squad"])
def test_interrupt_and_resume_equal_an_uninterrupted_run(task: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    cfg, stop_at = _resume_case(task, request, tmp_path / "full")
    full = run_finetune(cfg)

    def stop(step: int) -> None:
        if step == stop_at:
            raise KeyboardInterrupt

    cut = replace(cfg, out=tmp_path / "cut")
    with pytest.raises(Interrupted, match="--resume"):
        run_finetune(cut, on_step=stop)
    resumed = run_finetune(replace(cut, resume=True))
    assert resumed.body["runs"][0]["history"] == full.body["runs"][0]["history"]
    a, b = load_file(tmp_path / "full" / "model.safetensors"), load_file(tmp_path / "cut" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_changed_options(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    cfg = _cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", max_steps=2)
    run_finetune(cfg)
    with pytest.raises(BadInput, match="lr"):
        run_finetune(replace(cfg, resume=True, lr=0.5))


def test_resume_refuses_a_checkpoint_from_before_the_logging_window(
    tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path
) -> None:
    """A checkpoint without the logging window's record (older versions kept its parts apart): one line, exit 2."""
    import json

    cfg = _cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", max_steps=4)

    def stop(step: int) -> None:
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        run_finetune(cfg, on_step=stop)
    (state_file,) = (tmp_path / "run").glob("checkpoints/step-*/trainer_state.json")
    state = json.loads(state_file.read_text())
    del state["log_window"]
    state_file.write_text(json.dumps(state))
    with pytest.raises(BadInput, match=r"written by an older distilcli.*without --resume"):
        run_finetune(replace(cfg, resume=True))


def test_bad_rows_fail_before_any_model_is_read(tmp_path: Path, tiny_glue: Path) -> None:
    bad = tmp_path / "glue" / "SST-2"
    bad.mkdir(parents=True)
    (bad / "train.tsv").write_text("sentence\tlabel\nfine\t1\nbroken\t7\n")
    (bad / "dev.tsv").write_text("sentence\tlabel\nfine\t1\n")
    # The model does not exist: the data error must come first anyway.
    with pytest.raises(BadInput, match=r"train\.tsv:3: unknown label '7'"):
        run_finetune(_cfg(tmp_path / "no-model", tmp_path / "glue", tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_missing_training_data_and_squad(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no QNLI training data"):
        run_finetune(_cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", task="qnli"))
    with pytest.raises(BadInput, match="--glue-dir is a GLUE option: SQuAD reads the official JSON"):
        run_finetune(_cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", task="squad"))


def test_custom_csv_and_parquet_files(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = read_glue_tsv(tiny_glue / "RTE" / "train.tsv", "rte")
    csv_path = tmp_path / "train.csv"
    csv_path.write_text("premise,hypothesis,gold\n" + "".join(f"{r.text_a},{r.text_b},{r.raw_label}\n" for r in rows))
    dev = read_glue_tsv(tiny_glue / "RTE" / "dev.tsv", "rte")
    table = pa.table({"sentence1": [r.text_a for r in dev], "sentence2": [r.text_b for r in dev], "label": [r.label for r in dev], "idx": list(range(len(dev)))})
    pq.write_table(table, tmp_path / "dev.parquet")
    report = run_finetune(
        _cfg(tiny_encoders["bert"], None, tmp_path / "run", task="rte", train_file=csv_path, dev_file=tmp_path / "dev.parquet",
             text_a="premise", text_b="hypothesis", label_column="gold", max_steps=3)
    )  # fmt: skip
    assert report.metrics["train_examples"] == 96 and report.metrics["dev_examples"] == 40
    assert report.body["dev_source"].endswith("dev.parquet")
    assert json.loads((tmp_path / "run" / "finetune_result.json").read_text())["steps"] == 3


def test_interrupt_during_an_evaluation_is_redone_on_resume(
    tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import distilcli.tasks.glue.metrics as glue_metrics

    cfg = _cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "full", eval_every=4, max_steps=8)
    full = run_finetune(cfg)
    real = glue_metrics.score_predictions
    calls = {"n": 0}

    def interrupted_second_time(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C during the evaluation at step 8, the last step
        return real(*args, **kwargs)

    monkeypatch.setattr(glue_metrics, "score_predictions", interrupted_second_time)
    cut = replace(cfg, out=tmp_path / "cut")
    with pytest.raises(Interrupted):
        run_finetune(cut)
    monkeypatch.setattr(glue_metrics, "score_predictions", real)
    resumed = run_finetune(replace(cut, resume=True))
    assert resumed.body["runs"][0]["history"] == full.body["runs"][0]["history"]


def test_overwrite_keeps_the_old_run_when_the_model_is_wrong(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_finetune(_cfg(tiny_encoders["bert"], tiny_glue, out, max_steps=2))
    with pytest.raises(BadInput, match="does not exist"):
        run_finetune(_cfg(tmp_path / "typo", tiny_glue, out, max_steps=2, overwrite=True))
    assert (out / "config.json").is_file()
    with pytest.raises(BadInput, match="not written by distilcli"):  # issue 14: tmp_path is no run of distilcli's
        run_finetune(_cfg(out, tiny_glue, tmp_path, max_steps=2, overwrite=True))
    from distilcli.rundir import write_marker

    write_marker(tmp_path, "finetune")  # as if it were: the model inside it is still refused
    with pytest.raises(BadInput, match="inside --out"):
        run_finetune(_cfg(out, tiny_glue, tmp_path, max_steps=2, overwrite=True))
    assert (out / "config.json").is_file()


def test_resume_of_seeds_checks_the_options(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    cfg = _cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "run", seeds="1,2", max_steps=2)
    run_finetune(cfg)
    with pytest.raises(BadInput, match="train_limit"):
        run_finetune(replace(cfg, resume=True, train_limit=10))
    again = run_finetune(replace(cfg, resume=True))  # done seeds are reused as they are
    assert [r["seed"] for r in again.body["runs"]] == [1, 2]


def test_glue_layout_tsv_as_dev_file(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    report = run_finetune(_cfg(tiny_encoders["bert"], None, tmp_path / "run", task="mrpc", max_steps=2,
                               train_file=tiny_glue / "MRPC" / "train.tsv", dev_file=tiny_glue / "MRPC" / "dev.tsv"))  # fmt: skip
    assert report.metrics["dev_examples"] == 40
