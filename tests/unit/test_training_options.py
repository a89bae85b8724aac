"""The training options reach the optimizer: the real AdamW, clipping and warm-up equal what the report records.

One run of each recipe (fine-tuning, general distillation, task distillation on GLUE) with a tiny
model; the optimizer is captured where Accelerate prepares it, the clipping norm where Accelerate
clips, the warm-up where the schedule is made.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from accelerate import Accelerator
from torch.optim.lr_scheduler import LambdaLR

from distilcli.distill.config import DistillConfig
from distilcli.distill.engine import run_distill
from distilcli.errors import BadInput
from distilcli.finetune.config import FinetuneConfig
from distilcli.finetune.engine import run_finetune
from distilcli.training.options import TaskOptions, TrainOptions, check_train_options, fused_adamw_fits, optimizer_kernel
from tests.unit.test_distill_engine import config as distill_config
from tests.unit.test_distill_engine import corpus  # noqa: F401 - the shared corpus fixture


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Records the optimizer Accelerate prepares, every clipping norm and the schedule's warm-up."""
    seen: dict[str, Any] = {"optimizers": [], "clip": set(), "warmup": []}
    prepare, clip = Accelerator.prepare, Accelerator.clip_grad_norm_
    schedule_init = LambdaLR.__init__

    def record_prepare(self: Accelerator, *args: Any, **kwargs: Any) -> Any:
        import torch

        seen["optimizers"] += [a for a in args if isinstance(a, torch.optim.Optimizer)]
        return prepare(self, *args, **kwargs)

    def record_clip(self: Accelerator, parameters: Any, max_norm: float, *args: Any, **kwargs: Any) -> Any:
        seen["clip"].add(max_norm)
        return clip(self, parameters, max_norm, *args, **kwargs)

    def record_schedule(self: LambdaLR, optimizer: Any, lr_lambda: Any, *args: Any, **kwargs: Any) -> None:
        # transformers' linear schedule is a LambdaLR over a partial holding its two step counts.
        seen["warmup"].append((lr_lambda.keywords["num_warmup_steps"], lr_lambda.keywords["num_training_steps"]))
        schedule_init(self, optimizer, lr_lambda, *args, **kwargs)

    monkeypatch.setattr(Accelerator, "prepare", record_prepare)
    monkeypatch.setattr(Accelerator, "clip_grad_norm_", record_clip)
    monkeypatch.setattr(LambdaLR, "__init__", record_schedule)
    return seen


def assert_optimizer_matches(seen: dict[str, Any], recorded: dict[str, Any], config: dict[str, Any]) -> None:
    """The real optimizer's hyper-parameters are the report's (``recorded``), which are the config's."""
    [optimizer] = seen["optimizers"]
    assert type(optimizer).__name__ == recorded["optimizer"] == "AdamW"
    decayed, *rest = optimizer.param_groups
    for group in optimizer.param_groups:
        # LambdaLR keeps the peak rate as initial_lr; lr itself moves with the schedule.
        assert group["initial_lr"] == recorded["lr"] == config["lr"]
        assert list(group["betas"]) == recorded["betas"] == [config["adam_beta1"], config["adam_beta2"]]
        assert group["eps"] == recorded["eps"] == config["adam_eps"]
    assert decayed["weight_decay"] == recorded["weight_decay"] == config["weight_decay"]
    # On the CPU every run uses torch's fused kernel, and the report says so.
    assert all(group["fused"] for group in optimizer.param_groups) and recorded["kernel"] == "fused"
    assert all(group["weight_decay"] == 0.0 for group in rest)  # biases and LayerNorm: no decay
    assert seen["clip"] == {recorded["max_grad_norm"]} and recorded["max_grad_norm"] == config["max_grad_norm"]
    assert seen["warmup"] == [(recorded["warmup_steps"], recorded["total_steps"])]
    assert recorded["warmup_steps"] == int(config["warmup_ratio"] * recorded["total_steps"])


def test_finetune_uses_every_training_option(captured: dict[str, Any], tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path: Path) -> None:
    cfg = FinetuneConfig(model=str(tiny_encoders["bert"]), task="sst2", out=tmp_path / "ft", glue_dir=tiny_glue, batch_size=8,
                         max_steps=10, lr=2e-4, warmup_ratio=0.3, weight_decay=0.02, adam_beta1=0.8, adam_beta2=0.95,
                         adam_eps=1e-7, max_grad_norm=0.5)  # fmt: skip
    report = run_finetune(cfg)
    assert_optimizer_matches(captured, report.body["optimizer"], report.config)
    assert report.body["optimizer"]["warmup_steps"] == 3


def test_finetune_defaults_are_adamw_and_run_glue() -> None:
    cfg = FinetuneConfig(model="m", task="sst2", out=Path("o"))
    assert (cfg.lr, cfg.warmup_ratio, cfg.weight_decay, cfg.max_grad_norm) == (5e-5, 0.1, 0.01, 1.0)
    assert (cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps) == (0.9, 0.999, 1e-8)


def test_general_distillation_uses_every_training_option(
    captured: dict[str, Any], tiny_models: dict[str, Path], corpus: Path, tmp_path: Path  # noqa: F811
) -> None:
    report = run_distill(distill_config(tiny_models["bert"], corpus, tmp_path / "d", max_steps=4, warmup_ratio=0.5))
    recorded = report.body["optimizer"]
    [optimizer] = captured["optimizers"]
    # The reference run decays every parameter alike: one group.
    assert len(optimizer.param_groups) == 1
    assert_optimizer_matches(captured, recorded, report.config)
    assert recorded["betas"] == [0.9, 0.98] and recorded["eps"] == 1e-6 and recorded["max_grad_norm"] == 5.0
    assert recorded["warmup_steps"] == 2


@pytest.fixture(scope="module")
def sst2_teacher(tiny_encoders: dict[str, Path], tiny_glue: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "sst2"
    run_finetune(FinetuneConfig(model=str(tiny_encoders["bert"]), task="sst2", out=out, glue_dir=tiny_glue, batch_size=8, max_steps=2))
    return out


def test_task_distillation_uses_the_distill_options(captured: dict[str, Any], sst2_teacher: Path, tiny_glue: Path, tmp_path: Path) -> None:
    """The bug this guards against: ``distill --task`` ran with fine-tuning's clipping, warm-up, decay and betas."""
    cfg = DistillConfig(teacher=str(sst2_teacher), out=tmp_path / "td", task="glue:sst2", glue_dir=tiny_glue, layer_map="0,2",
                        batch_size=8, max_steps=8, weight_decay=0.03)  # fmt: skip
    report = run_distill(cfg)
    recorded = report.body["optimizer"]
    assert_optimizer_matches(captured, recorded, report.config)
    # distill's own defaults, not fine-tuning's (1.0 / 0.1 / 0.999 / 1e-8)
    assert recorded["max_grad_norm"] == 5.0 and recorded["warmup_ratio"] == 0.05
    assert recorded["betas"] == [0.9, 0.98] and recorded["eps"] == 1e-6 and recorded["lr"] == 5e-5
    assert recorded["weight_decay"] == 0.03


def test_the_task_run_gets_every_task_option() -> None:
    """DistillConfig is a TaskOptions: the task run reads it as it is, so no option can be left behind."""
    from dataclasses import fields

    assert issubclass(DistillConfig, TaskOptions) and issubclass(FinetuneConfig, TaskOptions)
    shared = {f.name for f in fields(TaskOptions)}
    assert shared <= {f.name for f in fields(DistillConfig)} and shared <= {f.name for f in fields(FinetuneConfig)}
    assert {"max_grad_norm", "warmup_ratio", "weight_decay", "adam_beta1", "adam_beta2", "adam_eps"} <= {f.name for f in fields(TrainOptions)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"warmup_ratio": 1.0}, "--warmup-ratio"),
        ({"adam_beta2": 1.0}, "--adam-beta2"),
        ({"adam_eps": 0.0}, "--adam-eps"),
        ({"max_grad_norm": 0.0}, "--max-grad-norm"),
        ({"weight_decay": -0.1}, "--weight-decay"),
        ({"precision": "fp8"}, "--precision"),
    ],
)
def test_bad_training_options_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        check_train_options(replace(TrainOptions(out=Path("o")), **change))


def test_fused_adamw_makes_the_default_kernels_update() -> None:
    """The fused kernel applies AdamW's rule, weight decay included: a few steps land where foreach's do."""
    import torch

    torch.manual_seed(0)
    start = [torch.randn(50, 8), torch.randn(8)]
    grads = [[torch.randn_like(t) for t in start] for _ in range(5)]
    ends = []
    for name, kernel in (("fused", {"fused": True}), ("foreach", {"foreach": True}), ("for-loop", {"foreach": False})):
        params = [torch.nn.Parameter(t.clone()) for t in start]
        optimizer = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01, **kernel)
        for step in grads:
            for param, grad in zip(params, step):
                param.grad = grad.clone()
            optimizer.step()
        assert optimizer_kernel(optimizer) == name
        ends.append([p.detach() for p in params])
    for other in ends[1:]:
        for a, b in zip(ends[0], other):
            assert torch.allclose(a, b, atol=1e-6)
    assert not torch.equal(ends[0][0], start[0])  # the steps moved the weights


def test_fused_adamw_only_where_the_kernel_exists() -> None:
    import torch

    assert fused_adamw_fits([torch.zeros(3), torch.zeros(2, 2)])
    assert not fused_adamw_fits([torch.zeros(3, dtype=torch.long)])
    assert not fused_adamw_fits([torch.zeros(3, device="meta")])
    assert not fused_adamw_fits([])


def test_the_recorded_kernel_is_torchs_own_choice_when_none_was_made() -> None:
    """An optimizer restored from an older checkpoint has neither flag set: torch then loops on the CPU."""
    import torch

    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(3))])
    assert optimizer.param_groups[0]["foreach"] is None and not optimizer.param_groups[0]["fused"]
    assert optimizer_kernel(optimizer) == "for-loop"
