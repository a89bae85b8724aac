"""``--report-to`` / ``--tracking-dir``: Accelerate's trackers, read back from TensorBoard's event files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput
from distilcli.finetune.engine import run_finetune
from distilcli.reports import write_report
from distilcli.reports.plot import plot_reports
from distilcli.training.tracking import hyperparameters, parse_report_to, run_label
from tests.conftest import WORDS
from tests.unit.test_distill_engine import config as distill_config
from tests.unit.test_finetune import _cfg as finetune_config


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lines of 8-60 words from the test vocabulary, as test_distill_engine's corpus."""
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text(
        "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60))) for _ in range(160)) + "\n"
    )
    return path


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of the TensorBoard run in ``folder``: (step, value) in step order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = [p.parent for p in folder.rglob("events.out.tfevents.*")]
    run = next(p for p in runs if p.name == "distilcli")  # the scalars; hparams sit in a sub-folder
    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_parse_report_to() -> None:
    assert parse_report_to(None) == [] and parse_report_to("none") == [] and parse_report_to("None") == []
    assert parse_report_to("tensorboard, TensorBoard,wandb") == ["tensorboard", "wandb"]
    assert parse_report_to(["mlflow", "trackio"]) == ["mlflow", "trackio"]
    with pytest.raises(BadInput, match="'none' cannot be combined"):
        parse_report_to("none,tensorboard")
    with pytest.raises(BadInput, match="unknown --report-to 'comet'.*tensorboard, wandb, mlflow, trackio"):
        parse_report_to("comet")


def test_run_label_and_hyperparameters(tmp_path: Path) -> None:
    assert run_label(tmp_path / "student") == "student"
    assert run_label(tmp_path / "glue-sst2" / "seed-3") == "glue-sst2/seed-3"
    assert hyperparameters({"lr": 1e-3, "layer_map": [0, 2], "corpus": None, "resume": False}) == {
        "lr": 1e-3, "layer_map": "[0, 2]", "corpus": "null", "resume": False
    }  # fmt: skip


def test_a_missing_tracker_is_refused_before_any_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_glue: Path
) -> None:
    import accelerate.utils

    monkeypatch.setattr(accelerate.utils, "is_tensorboard_available", lambda: False)
    missing = tmp_path / "no-such-model"  # never read: the check comes first
    with pytest.raises(
        BadInput,
        match=r"--report-to tensorboard: the tensorboard package is not installed: pip install 'distilcli\[tracking\]'",
    ):
        run_distill(distill_config(missing, tmp_path / "c.txt", tmp_path / "d", report_to="tensorboard"))
    with pytest.raises(BadInput, match=r"distilcli\[tracking\]"):
        run_finetune(finetune_config(missing, tiny_glue, tmp_path / "f", report_to="tensorboard"))


def test_general_distillation_logs_the_report_loss_curves(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    report = run_distill(distill_config(tiny_models["bert"], corpus, out, report_to="tensorboard"))
    scalars = _scalars(out / "tracking")
    curves = report.body["loss_curves"]
    assert curves["step"] == [2, 4, 6]
    for term in ("loss", "ce", "mlm", "cos"):
        assert [s for s, _ in scalars[f"train/{term}"]] == curves["step"]
        assert [v for _, v in scalars[f"train/{term}"]] == pytest.approx(curves[term], rel=1e-6)  # float32 in the file
    assert [v for _, v in scalars["train/tokens_per_s"]] == pytest.approx(report.body["tokens_per_s_curve"], rel=1e-6)
    # The rate of the next step: no warm-up in 6 steps (5%), then linear decay from 5e-4 to 0.
    assert scalars["train/learning_rate"] == [
        (2, pytest.approx(5e-4 * 4 / 6)),
        (4, pytest.approx(5e-4 * 2 / 6)),
        (6, 0.0),
    ]
    assert [s for s, _ in scalars["train/grad_norm"]] == curves["step"] and all(
        v > 0 for _, v in scalars["train/grad_norm"]
    )
    # The resolved options are the run's hyper-parameters (Accelerate also keeps them as YAML).
    (hparams,) = (out / "tracking" / "distilcli").rglob("hparams.yml")
    assert "alpha_ce: 5.0" in hparams.read_text()
    # The same curves, as `distil report plot` draws them from the report (a real run's body, not a mock).
    write_report(report, tmp_path / "distill.json")
    fig = plot_reports([tmp_path / "distill.json"], tmp_path / "distill.png")
    assert [ax.get_title() for ax in fig.axes] == ["total loss", "L_ce", "L_mlm", "L_cos"]
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == curves["loss"]


def test_finetune_logs_loss_rate_and_every_evaluation(
    tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path
) -> None:
    tracking = tmp_path / "tb"
    report = run_finetune(finetune_config(tiny_encoders["bert"], tiny_glue, tmp_path / "run", eval_every=6, max_steps=12,
                                          report_to="tensorboard", tracking_dir=tracking))  # fmt: skip
    scalars = _scalars(tracking)
    (run,) = report.body["runs"]
    curve = dict(zip(run["loss_curve"]["step"], run["loss_curve"]["loss"], strict=True))
    # Every --log-every (5) steps: the mean of the report's per-step losses since the last line.
    assert [s for s, _ in scalars["train/loss"]] == [5, 10]
    expected = [np.mean([curve[s] for s in range(1, 6)]), np.mean([curve[s] for s in range(6, 11)])]
    assert [v for _, v in scalars["train/loss"]] == pytest.approx(expected, rel=1e-6)
    for tag in ("train/learning_rate", "train/grad_norm", "train/examples_per_s"):
        assert [s for s, _ in scalars[tag]] == [5, 10] and all(v > 0 for _, v in scalars[tag])
    # Each evaluation, at its step, with the report's metrics.
    history = run["history"]
    assert [s for s, _ in scalars["eval/accuracy"]] == [e["step"] for e in history] == [6, 12]
    assert [v for _, v in scalars["eval/accuracy"]] == pytest.approx(
        [e["metrics"]["accuracy"] for e in history], rel=1e-6
    )
    assert not (tmp_path / "run" / "tracking").exists()  # --tracking-dir was elsewhere
    write_report(report, tmp_path / "finetune.json")
    fig = plot_reports([tmp_path / "finetune.json"], tmp_path / "finetune.png")
    assert [ax.get_title() for ax in fig.axes] == ["training loss", "dev accuracy"]
    # A folder named "run" is labelled by its parent (a pipeline stage's folder: DIR/<stage>/run).
    assert [line.get_label() for line in fig.axes[1].get_lines()] == [tmp_path.name]
    assert json.loads((tmp_path / "run" / "finetune_result.json").read_text())["steps"] == 12


def test_task_distillation_logs_both_loss_terms(
    tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path
) -> None:
    from distilcli.distill.config import DistillConfig

    teacher = tmp_path / "teacher"
    run_finetune(finetune_config(tiny_encoders["bert"], tiny_glue, teacher, max_steps=4))
    cfg = DistillConfig(teacher=str(teacher), out=tmp_path / "student", task="glue:sst2", glue_dir=tiny_glue, layer_map="0,2",
                        batch_size=8, lr=1e-3, max_steps=6, eval_every=3, log_every=3, report_to="tensorboard")  # fmt: skip
    report = run_distill(cfg)
    scalars = _scalars(tmp_path / "student" / "tracking")
    assert {"train/loss", "train/loss_kd", "train/loss_task", "train/learning_rate", "train/examples_per_s"} <= set(
        scalars
    )
    assert [s for s, _ in scalars["train/loss_kd"]] == [3, 6]
    (run,) = report.body["runs"]
    assert [v for _, v in scalars["eval/accuracy"]] == pytest.approx(
        [e["metrics"]["accuracy"] for e in run["history"]], rel=1e-6
    )


def test_interrupted_run_flushes_and_resume_may_start_tracking(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path
) -> None:
    from distilcli.errors import Interrupted

    def stop_at_4(step: int) -> None:
        if step == 4:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run_distill(distill_config(tiny_models["bert"], corpus, out, report_to="tensorboard"), on_step=stop_at_4)
    assert [s for s, _ in _scalars(out / "tracking")["train/loss"]] == [2, 4]  # flushed before the error
    # Where a run logs is no option of its result: a resume may change it (here: to another folder).
    report = run_distill(
        distill_config(
            tiny_models["bert"], corpus, out, resume=True, report_to="tensorboard", tracking_dir=tmp_path / "tb"
        )
    )
    assert report.body["loss_curves"]["step"] == [2, 4, 6]
    assert [s for s, _ in _scalars(tmp_path / "tb")["train/loss"]] == [6]
