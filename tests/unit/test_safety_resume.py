"""Issue 14: resume never runs a planted pickle, survives broken checkpoints and kills, reports alike; divergence stops.

Each test here reproduces one defect of the issue (items 2, 3, 6, 7, 8, 11) and failed before its fix.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from distilcli import progress
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput, Diverged, Interrupted
from distilcli.training import checkpoint as ckpt
from tests.cli.conftest import Distil, assert_one_line_error
from tests.unit.test_distill_engine import config, corpus  # noqa: F401 - the shared corpus fixture

# What a report's figures may differ in between two runs of the same training: time and memory.
TIMING = ("tokens_per_s", "wall_s", "peak_memory_mb")


class Payload:
    """A pickle that, when unpickled, creates ``marker``: the code a planted checkpoint would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _plant(path: Path, marker: Path) -> None:
    torch.save({"state": Payload(marker), "model": Payload(marker)}, path)


def _args(teacher: Path, corpus_file: Path, out: Path, *extra: str) -> list[str]:
    return [
        "distill", "--teacher", str(teacher), "--corpus", str(corpus_file), "--out", str(out), "--layer-map", "0,2",
        "--max-steps", "6", "--batch-size", "4", "--max-seq-length", "32", "--save-every", "2", "--log-every", "2", *extra,
    ]  # fmt: skip


def _fails_naming(result, code: int, *fragments: str) -> None:
    """Exit ``code``; the last stderr line is one ``error:`` line naming ``fragments`` (status notes may precede it)."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    last = [line for line in result.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("error: ") and all(f in last for f in fragments), last


class Recorder(progress.NullReporter):
    """The status lines of a run (library calls show none by default)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


# -- item 2: no pickle from a run folder is ever executed ---------------------------------------------


def test_a_planted_pickle_never_runs_and_names_the_file(
    tiny_encoders: dict[str, Path], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv("DISTILCLI_CACHE", str(tmp_path / "cache"))
    distil = Distil()
    run = tmp_path / "run"
    args = _args(tiny_encoders["bert"], corpus, run, "--fit-teacher-head", "3")
    assert distil(*args).exit_code == 0
    head = run / "teacher-head" / "head.safetensors"
    assert head.is_file() and len(ckpt.list_checkpoints(run)) == 2
    targets = [ckpt.MODEL_FILE, ckpt.STATE_FILE, ckpt.JSON_FILE, "teacher-head"]
    for target in targets:
        copy, marker = tmp_path / f"planted-{target}", tmp_path / f"ran-{target}"
        shutil.copytree(run, copy)
        if target == "teacher-head":
            planted = [copy / "teacher-head" / "head.safetensors"]
            _plant(copy / "teacher-head" / "head.pt", marker)  # the old pickle name: never read either
        else:
            planted = [folder / target for _, folder in ckpt.list_checkpoints(copy)]
        for path in planted:
            _plant(path, marker)
        result = distil(*_args(tiny_encoders["bert"], corpus, copy, "--fit-teacher-head", "3", "--resume"))
        assert not marker.exists(), f"the pickle planted in {target} ran"
        # Every checkpoint planted: none to fall back to; the newest's file is named.
        _fails_naming(result, 2, str(planted[-1]))


def test_a_planted_pickle_in_a_finetune_checkpoint_never_runs(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    from distilcli.finetune.engine import run_finetune
    from tests.unit.test_finetune import _cfg

    out, marker = tmp_path / "ft", tmp_path / "ran"
    cfg = _cfg(tiny_encoders["bert"], tiny_glue, out, max_steps=4, eval_every=2)
    run_finetune(cfg)
    saved = ckpt.list_checkpoints(out)
    assert saved
    for _, folder in saved:
        _plant(folder / ckpt.STATE_FILE, marker)
    with pytest.raises(BadInput, match=str(saved[-1][1] / ckpt.STATE_FILE)):
        run_finetune(replace(cfg, resume=True))
    assert not marker.exists()


# -- item 7: broken checkpoints, temporaries, a kill before the first checkpoint ------------------------


def test_a_truncated_latest_checkpoint_falls_back_to_the_intact_one(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path  # noqa: F811
) -> None:
    reference = run_distill(config(tiny_models["bert"], corpus, tmp_path / "reference"))

    def stop_at_5(step: int) -> None:
        if step == 5:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run_distill(config(tiny_models["bert"], corpus, out), on_step=stop_at_5)
    (_, older), (_, newest) = ckpt.list_checkpoints(out)
    weights = newest / ckpt.MODEL_FILE
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a write cut short
    # Temporaries a killed run left: distilcli's own names go, anything else stays.
    leftovers = [out / "checkpoints" / ".step-abcd_123.tmp", out / ".student-x1y2z3w4.tmp"]
    for folder in leftovers:
        folder.mkdir()
        (folder / "big.bin").write_bytes(b"0" * 1000)
    foreign = out / ".step-notours.tmp"
    foreign.mkdir()
    recorder = Recorder()
    with progress.use_reporter(recorder):
        report = run_distill(config(tiny_models["bert"], corpus, out, resume=True))
    err = "\n".join(recorder.lines)
    assert str(weights) in err and f"older intact checkpoint {older}" in err
    assert not any(folder.exists() for folder in leftovers) and foreign.exists()
    assert _figures(report) == _figures(reference)
    assert _same_students(out, tmp_path / "reference")


def test_no_intact_checkpoint_is_one_line_naming_the_file(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv("DISTILCLI_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    run_distill(config(tiny_models["bert"], corpus, out))
    for _, folder in ckpt.list_checkpoints(out):
        (folder / ckpt.JSON_FILE).write_text("{ not json")
    newest = ckpt.list_checkpoints(out)[-1][1] / ckpt.JSON_FILE
    _fails_naming(Distil()(*_args(tiny_models["bert"], corpus, out, "--resume")), 2, str(newest))


def test_a_run_killed_before_its_first_checkpoint_resumes_from_scratch(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    reference = run_distill(config(tiny_models["bert"], corpus, tmp_path / "reference"))
    out = tmp_path / "run"

    def killed_at_1(step: int) -> None:  # a kill, not Ctrl-C: no checkpoint is written
        if step == 1:
            raise SystemExit(137)

    with pytest.raises(SystemExit):
        run_distill(config(tiny_models["bert"], corpus, out), on_step=killed_at_1)
    assert out.is_dir() and not ckpt.list_checkpoints(out)
    report = run_distill(config(tiny_models["bert"], corpus, out, resume=True))
    assert _figures(report) == _figures(reference)
    assert _same_students(out, tmp_path / "reference")


def test_checkpoint_files_are_fsynced_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    fsync, replace_ = ckpt.os.fsync, ckpt.os.replace
    monkeypatch.setattr(ckpt.os, "fsync", lambda fd: events.append("fsync") or fsync(fd))
    monkeypatch.setattr(ckpt.os, "replace", lambda a, b: events.append("rename") or replace_(a, b))
    state = {"model": {"w": torch.ones(2)}, "optimizer": {}, "scheduler": {}, "scaler": None, "rng": ckpt.rng_states(),
             "step": 1, "epoch": 0, "position": 1, "elapsed_s": 0.0, "config": {}}  # fmt: skip
    ckpt.save_checkpoint(tmp_path, 1, state)
    assert events.index("rename") >= 4 and events[:4] == ["fsync"] * 4
    loaded = ckpt.load_checkpoint(tmp_path / "checkpoints" / "step-0000001")
    assert torch.equal(loaded["model"]["w"], torch.ones(2)) and loaded["step"] == 1


# -- item 6: the report of a resumed run is the uninterrupted run's ------------------------------------


def _figures(report) -> dict:
    """A distill report's metrics and curves, without time and memory."""
    metrics = {k: v for k, v in report.metrics.items() if k not in TIMING}
    return {"metrics": metrics, "curves": report.body["loss_curves"], "provenance": report.body["distillation"]}


def _same_students(a: Path, b: Path) -> bool:
    from safetensors.torch import load_file

    x, y = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.mark.parametrize("stop", [5, 3])
def test_a_run_resumed_off_the_log_boundary_reports_as_the_uninterrupted_one(
    tiny_models: dict[str, Path], corpus: Path, tmp_path: Path, stop: int  # noqa: F811
) -> None:
    # log every 4, checkpoints every 3: Ctrl-C at 5 (and the periodic checkpoint at 3) sit inside a window.
    settings = {"max_steps": 10, "log_every": 4, "save_every": 3}
    reference = run_distill(config(tiny_models["bert"], corpus, tmp_path / "reference", **settings))

    def interrupt(step: int) -> None:
        if step == stop:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run_distill(config(tiny_models["bert"], corpus, out, **settings), on_step=interrupt)
    if stop == 3:  # resume from the periodic checkpoint, not the Ctrl-C one (same step here, written after)
        assert [s for s, _ in ckpt.list_checkpoints(out)] == [3]
    resumed = run_distill(config(tiny_models["bert"], corpus, out, resume=True, **settings))
    assert _figures(resumed) == _figures(reference)
    assert json.loads((out / "config.json").read_text())["distilcli"] == json.loads((tmp_path / "reference" / "config.json").read_text())["distilcli"]


# -- item 3: options refused up front; a diverging run stops and saves nothing non-finite -------------


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("lr", math.inf, "--lr"), ("lr", math.nan, "--lr"), ("lr", 0.0, "--lr"), ("seed", -1, "--seed"),
        ("warmup_ratio", -3.0, "--warmup-ratio"), ("max_grad_norm", -1.0, "--max-grad-norm"),
        ("max_grad_norm", math.nan, "--max-grad-norm"), ("head_lr", -1.0, "--head-lr"), ("head_lr", math.nan, "--head-lr"),
        ("heldout_chunks", -1, "--heldout-chunks"), ("min_tokens", -5, "--min-tokens"), ("min_tokens", 0, "--min-tokens"),
        ("adam_beta2", 5.0, "--adam-beta2"), ("adam_eps", -1.0, "--adam-eps"), ("adam_eps", math.nan, "--adam-eps"),
        ("weight_decay", math.nan, "--weight-decay"), ("weight_decay", -0.1, "--weight-decay"),
        ("alpha_cos", math.nan, "alpha"), ("temperature", math.inf, "temperature"), ("mlm_smoothing", math.nan, "--mlm-smoothing"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_before_any_model(
    option: str, value: float, fragment: str, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    from distilcli.distill import general

    monkeypatch.setattr(general, "load_teacher", lambda *a: pytest.fail("a model was loaded"))
    with pytest.raises(BadInput, match=fragment):
        run_distill(config(tmp_path / "no-teacher", corpus, tmp_path / "run", **{option: value}))
    assert not (tmp_path / "run").exists()


def test_bad_task_options_are_refused(tiny_glue: Path, tmp_path: Path) -> None:
    from distilcli.distill.config import DistillConfig
    from distilcli.finetune.engine import run_finetune
    from tests.unit.test_finetune import _cfg

    with pytest.raises(BadInput, match="--lr"):
        run_finetune(_cfg(tmp_path / "m", tiny_glue, tmp_path / "a", lr=math.nan))
    with pytest.raises(BadInput, match="--seed"):
        run_finetune(_cfg(tmp_path / "m", tiny_glue, tmp_path / "a", seed=-1))
    for option in ("temperature", "alpha_ce"):
        with pytest.raises(BadInput, match=option.replace("_", "-")):
            run_distill(DistillConfig(teacher="t", task="glue:sst2", glue_dir=tiny_glue, out=tmp_path / "b", **{option: math.nan}))


def test_a_diverging_run_stops_and_keeps_its_last_good_checkpoint(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    # A learning rate that becomes infinite at step 4 (a schedule gone wrong): the weights blow up.
    from distilcli.distill import general

    def exploding(optimizer, cfg, total_steps):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 if step < 3 else math.inf)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(general, "build_scheduler", exploding)
        diverging = tmp_path / "diverging"
        with pytest.raises(Diverged, match=r"diverged at step [4-6]: .*not finite.*step-0000003"):
            run_distill(config(tiny_models["bert"], corpus, diverging, max_steps=6, save_every=3))
    assert not (diverging / "model.safetensors").exists()  # no result written
    assert [s for s, _ in ckpt.list_checkpoints(diverging)] == [3]
    state = ckpt.load_checkpoint(ckpt.list_checkpoints(diverging)[-1][1])
    assert ckpt.all_finite(state["model"].values())


def test_a_nan_loss_names_its_term_and_exits_1(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from distilcli.distill import losses

    monkeypatch.setenv("DISTILCLI_CACHE", str(tmp_path / "cache"))
    forward = losses.SoftTargetLoss.forward
    monkeypatch.setattr(losses.SoftTargetLoss, "forward", lambda self, *a, **k: forward(self, *a, **k) * math.nan)
    out = tmp_path / "run"
    result = Distil()(*_args(tiny_models["bert"], corpus, out))
    _fails_naming(result, 1, "diverged at step 1", "term ce", "no checkpoint was saved")
    assert not (out / "model.safetensors").exists()


# -- item 8: positions and config keys -----------------------------------------------------------------


def test_max_seq_length_beyond_the_positions_is_refused_up_front(
    tiny_models: dict[str, Path], tiny_encoders: dict[str, Path], tiny_glue: Path, corpus: Path, tmp_path: Path  # noqa: F811
) -> None:
    from distilcli.finetune.engine import run_finetune
    from tests.unit.test_finetune import _cfg

    with pytest.raises(BadInput, match="--max-seq-length 100 exceeds the 66 positions"):
        run_distill(config(tiny_models["bert"], corpus, tmp_path / "a", max_seq_length=100))
    with pytest.raises(BadInput, match="--max-seq-length 100 exceeds the 66 positions"):
        run_finetune(_cfg(tiny_encoders["bert"], tiny_glue, tmp_path / "b", max_seq_length=100))
    result = Distil()("eval-glue", "--model", str(tiny_encoders["bert"]), "--task", "sst2", "--glue-dir", str(tiny_glue), "--max-seq-length", "100")
    assert_one_line_error(result, 2, "exceeds the 66 positions")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_an_unknown_config_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    from distilcli.config import build_config
    from distilcli.distill.config import DistillConfig

    path = tmp_path / "c.yaml"
    path.write_text("teacher: t\nout: o\nwarmup_ration: 0.1\n")
    with pytest.raises(BadInput) as info:
        build_config(DistillConfig, path)
    message = str(info.value)
    assert "warmup_ration (did you mean warmup_ratio?)" in message and len(message) < 200


# -- item 11: the saved tokenizer does not depend on the corpus cache ---------------------------------


def test_the_saved_tokenizer_is_the_same_whatever_the_cache_held(tiny_models: dict[str, Path], corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    from transformers import AutoTokenizer

    # A teacher whose tokenizer.json carries a fixed padding, as the packaged models' do.
    teacher = tmp_path / "teacher"
    shutil.copytree(tiny_models["bert"], teacher)
    tokenizer = AutoTokenizer.from_pretrained(teacher)
    tokenizer.backend_tokenizer.enable_padding(length=128)
    tokenizer.backend_tokenizer.enable_truncation(max_length=128)
    tokenizer.save_pretrained(teacher)
    cache = tmp_path / "cache"
    miss = run_distill(config(teacher, corpus, tmp_path / "miss", max_steps=2, cache_dir=cache))
    hit = run_distill(config(teacher, corpus, tmp_path / "hit", max_steps=2, cache_dir=cache))
    assert miss.metrics["steps"] == hit.metrics["steps"] == 2
    saved = [json.loads((tmp_path / name / "tokenizer.json").read_text()) for name in ("miss", "hit")]
    assert saved[0] == saved[1]
    assert saved[0]["padding"] is None and saved[0]["truncation"] is None
