"""A flag given where it would change nothing is refused, naming where it acts (exit 2, nothing written)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from distilcli.distill.config import AUGMENT_RULES, CORPUS_ONLY, TASK_ONLY, DistillConfig, inert_fields
from distilcli.finetune.config import FinetuneConfig
from distilcli.training.scope import SENTENCE_TASK_ONLY, SQUAD_ONLY, inert_given
from tests.cli.conftest import assert_one_line_error


@pytest.mark.parametrize(
    ("mode", "extra", "fragment"),
    [
        ([], ["--n-best", "5"], "--n-best is an option of task distillation"),
        ([], ["--train-limit", "100"], "--train-limit is an option of task distillation"),
        (["--task", "embeddings"], ["--select-on", "holdout"], "--select-on is an option of task distillation"),
        (["--task", "sst2"], ["--mlm-probability", "0.2"], "--mlm-probability is an option of distillation on a corpus"),
        (["--task", "sst2"], ["--corpus", "text.txt"], "--corpus is an option of distillation on a corpus"),
        (["--task", "sst2"], ["--n-best", "5"], "--n-best is an option of SQuAD"),
        (["--task", "sst2"], ["--augment-mask", "0.2"], "--augment-mask sets a rule of --augment"),
        (["--task", "sst2"], ["--text-field", "body"], "--text-field names the text field of a corpus"),
        (["--task", "squad"], ["--text-a", "question"], "--text-a names a column of a GLUE-style"),
        (["--task", "sst2"], ["--no-mask-inputs"], "--no-mask-inputs is an option of distillation on a corpus"),
        (["--task", "sst2"], ["--alpha-mse", "1"], "--alpha-mse is an option of distillation on a corpus"),
        (["--task", "sst2"], ["--save-every", "50"], "--save-every is an option of distillation on a corpus"),
    ],
)
def test_distill_refuses_a_flag_its_mode_ignores(distil, tmp_path: Path, mode, extra, fragment) -> None:
    out = tmp_path / "run"
    result = distil("distill", "--teacher", "minilm-l6", *mode, *extra, "--out", out)
    assert_one_line_error(result, 2, fragment, "leave it out")
    assert not out.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["distill", "--teacher", "minilm-l6", "--task", "sst2", "--alpha-mse", "1"],
        ["finetune", "--model", "minilm-l6", "--task", "sst2", "--doc-stride", "64"],
    ],
)
def test_print_config_refuses_what_the_run_would(distil, tmp_path: Path, command) -> None:
    """--print-config prints only a config whose command line would run: the same refusal, nothing on stdout."""
    result = distil(*command, "--out", tmp_path / "run", "--print-config")
    assert_one_line_error(result, 2, "leave it out")
    assert result.stdout.strip() == "" and not (tmp_path / "run").exists()


def test_task_distillation_sends_layer_map_auto_to_suggest_layers(distil, tmp_path: Path) -> None:
    """Not to --corpus, which task distillation refuses."""
    result = distil("distill", "--teacher", "minilm-l6", "--task", "sst2", "--layer-map", "auto", "--out", tmp_path / "run")
    assert_one_line_error(result, 2, "distil models suggest-layers TEACHER --corpus C")
    assert "pass --corpus" not in result.stderr and not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("task", "extra", "fragment"),
    [
        ("sst2", ["--doc-stride", "64"], "--doc-stride is an option of SQuAD"),
        ("squad", ["--label-column", "y"], "--label-column names a column of a GLUE-style"),
    ],
)
def test_finetune_refuses_the_other_kind_of_tasks_flags(distil, tmp_path: Path, task, extra, fragment) -> None:
    out = tmp_path / "run"
    result = distil("finetune", "--model", "minilm-l6", "--task", task, *extra, "--out", out)
    assert_one_line_error(result, 2, fragment, "leave it out")
    assert not out.exists()


def test_the_tables_name_real_fields() -> None:
    distill_fields = {f.name for f in fields(DistillConfig)}
    finetune_fields = {f.name for f in fields(FinetuneConfig)}
    assert set(CORPUS_ONLY + TASK_ONLY + AUGMENT_RULES) <= distill_fields
    assert set(SQUAD_ONLY + SENTENCE_TASK_ONLY) <= distill_fields & finetune_fields


def test_flags_that_act_are_not_refused() -> None:
    general = DistillConfig(teacher="t", out=Path("o"), corpus="c")
    assert "corpus" not in inert_fields(general) and "mlm_probability" not in inert_fields(general)
    assert not {"alpha_mse", "save_every"} & set(inert_fields(general))
    augmented = DistillConfig(teacher="t", out=Path("o"), task="sst2", augment=2, transfer_corpus="c")
    inert = inert_fields(augmented)
    assert not {"augment_mask", "text_field", "alpha_task", "train_limit"} & set(inert)
    squad = inert_fields(DistillConfig(teacher="t", out=Path("o"), task="squad"))
    assert "n_best" not in squad and "augment_mask" in squad
    # Only what the command line gave counts (None: not given); a --config file may hold other modes' options.
    assert inert_given({"n_best": None, "corpus": None}, inert_fields(augmented)) is None
    assert inert_given({"corpus": "c"}, inert_fields(augmented)).startswith("--corpus ")
