"""The one optimizer-step loop of every training run: general distillation, fine-tuning, task distillation.

The loop owns what every recipe shares: micro-batches with gradient accumulation (gradients
synchronised across processes once per optimizer step, ``accelerator.no_sync`` before), autocast,
backward, clipping, the optimizer and scheduler steps, the step/epoch/position counters, the RNG
state after every step, Ctrl-C (a checkpoint, then :class:`~distilcli.errors.Interrupted`), the
``on_step`` hook and the cadence of the status lines. What differs between recipes is handed in
as callables, never subclassed: the loss of one micro-batch, what a status line says, what
happens after a step (evaluation, a periodic checkpoint) and what else a checkpoint holds.

A checkpoint (:mod:`distilcli.training.checkpoint`) holds all the state of the run, the GradScaler
of fp16 runs included, so a resumed run continues exactly as the uninterrupted one.

Divergence is detected here, once for every recipe: a non-finite loss (or, without a GradScaler,
gradient norm) stops the run before the optimizer step, and no checkpoint or model is written from
non-finite weights (:meth:`TrainLoop.check_finite`), so the folder keeps its last good checkpoint.

Tracking (``--report-to``): :meth:`TrainLoop.prepare` starts the accelerator's trackers with the
run's options as hyper-parameters; at every status line the values the recipe's ``log`` returns
are logged with the learning rate and the mean gradient norm since the last line
(:meth:`TrainLoop.track`); the trackers are closed when the steps end, however they end.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from distilcli import progress
from distilcli.errors import Diverged, Interrupted
from distilcli.training import checkpoint as ckpt
from distilcli.training import tracking

if TYPE_CHECKING:  # pragma: no cover
    from accelerate import Accelerator

#: This process's optimizer steps of an epoch, each a list of micro-batches (example indices).
StepPlan = Callable[[int], list[list[list[int]]]]


@dataclass(frozen=True)
class MicroBatch:
    """One micro-batch of an optimizer step, and where it sits in the run."""

    indices: list[int]
    #: Its number within the step (0 .. count - 1).
    index: int
    #: Micro-batches in this step (``--grad-accum``).
    count: int
    epoch: int
    #: The step's position within the epoch.
    position: int
    #: Every index of the step on this process, this micro-batch's and its siblings': a loss averaged over a
    #: subset of the rows (the gold-labelled ones) needs the subset's size in the whole step to weigh itself.
    step_indices: list[int]


@dataclass
class LoopHooks:
    """The recipe's parts of the loop.

    ``micro_loss`` returns the loss of one micro-batch (called under autocast, and under
    ``no_sync`` for all but the step's last micro-batch); the recipe may note its parts.
    ``end_step(step, loss)`` gets the step's mean loss over its micro-batches, right after the
    optimizer step. ``log(step)`` writes the status line every ``log_every`` steps (and at the
    last step with ``log_last``) and returns the values to track (``train/loss``, ...) or None. ``after_step(step)``
    evaluates or saves a checkpoint; True stops the run (early stopping). ``extra_state()`` is what else the
    recipe's checkpoints hold.
    ``terms()`` (optional) gives the loss terms of the last micro-batch, to name the one that diverged.
    """

    micro_loss: Callable[[MicroBatch], torch.Tensor]
    log: Callable[[int], dict[str, float] | None]
    extra_state: Callable[[], dict[str, Any]]
    end_step: Callable[[int, float], None] | None = None
    after_step: Callable[[int], bool] | None = None
    log_every: int = 10
    log_last: bool = False
    terms: Callable[[], dict[str, float]] | None = None


class TrainLoop:
    """Optimizer steps over a model prepared by Accelerate, resumable from its checkpoints.

    Use: ``resume(state)`` (when continuing) before ``prepare()``, then ``run(...)``. The
    counters (``step``, ``epoch``, ``position``) and ``elapsed_s`` are read by the recipe.
    """

    def __init__(
        self,
        accelerator: Accelerator,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        *,
        total_steps: int,
        max_grad_norm: float,
        out: Path,
        config: dict[str, Any],
        keep: int = 2,
    ) -> None:
        self.accelerator, self.model, self.optimizer, self.scheduler = accelerator, model, optimizer, scheduler
        self.total_steps, self.max_grad_norm = total_steps, max_grad_norm
        self.out, self.config, self.keep = Path(out), config, keep
        self.step = self.epoch = self.position = 0
        self.elapsed_before = 0.0
        self.stopped = False
        self.bar: Any = None
        self._rng: dict[str, Any] | None = None
        self._scaler: dict[str, Any] | None = None
        self._terms: Callable[[], dict[str, float]] | None = None
        self._clock = time.perf_counter()
        self._grad_norms: list[torch.Tensor] = []

    # -- state -------------------------------------------------------------------------------

    def resume(self, state: dict[str, Any]) -> None:
        """Take the model, optimizer, scheduler, counters and RNG state of a checkpoint (before :meth:`prepare`)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch, self.position = state["step"], state["epoch"], state["position"]
        self.elapsed_before = state["elapsed_s"]
        self._rng, self._scaler = state["rng"], state.get("scaler")

    def prepare(self) -> None:
        """Hand the model and optimizer to Accelerate; restore the GradScaler and RNG of a resumed run."""
        self.model, self.optimizer = self.accelerator.prepare(self.model, self.optimizer)
        scaler = self.accelerator.scaler
        if self._scaler is not None and scaler is not None:
            scaler.load_state_dict(self._scaler)
        if self._rng is not None:
            ckpt.restore_rng_states(self._rng)
        self._clock = time.perf_counter()
        self._rng = ckpt.rng_states()
        tracking.start(self.accelerator, self.config, self.out)

    @property
    def unwrapped(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    @property
    def elapsed_s(self) -> float:
        """Training time so far, over every run of a resumed training."""
        return self.elapsed_before + time.perf_counter() - self._clock

    def state(self, extra: dict[str, Any]) -> dict[str, Any]:
        """Everything a checkpoint holds: the loop's state and the recipe's ``extra``."""
        scaler = self.accelerator.scaler
        return {
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "model": self.unwrapped.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "rng": self._rng,
            "elapsed_s": self.elapsed_s,
            "config": self.config,
            **extra,
        }

    def save(self, extra: dict[str, Any]) -> Path:
        """Write a checkpoint of the current step (call on the main process only); never of non-finite weights."""
        self.check_finite()
        return ckpt.save_checkpoint(self.out, self.step, self.state(extra), keep=self.keep)

    def track(self, step: int, values: dict[str, float]) -> None:
        """Log ``values`` at ``step`` to the run's trackers (a no-op without ``--report-to``; main process only)."""
        if tracking.active(self.accelerator):
            self.accelerator.log(values, step=step)

    def _loop_values(self) -> dict[str, float]:
        """The learning rate of the next step and the mean gradient norm (before clipping) since the last call."""
        values = {"train/learning_rate": float(self.scheduler.get_last_lr()[0])}
        if self._grad_norms:
            values["train/grad_norm"] = float(torch.stack(self._grad_norms).float().mean())
        self._grad_norms = []
        return values

    def check_finite(self) -> None:
        """:class:`~distilcli.errors.Diverged` when a weight is non-finite: call before saving anything."""
        if not ckpt.all_finite(self.unwrapped.parameters()):
            self.diverged(self.step, "a weight")

    def diverged(self, step: int, what: str) -> None:
        """Stop the run: ``what`` became non-finite at ``step``; name the last good checkpoint."""
        saved = ckpt.list_checkpoints(self.out)
        last = f"the last good checkpoint is {saved[-1][1]}" if saved else "no checkpoint was saved before"
        raise Diverged(
            f"training diverged at step {step}: {what} is not finite; the model was not saved and {last}: "
            "start again with a lower --lr (or a smaller --max-grad-norm) and --overwrite"
        )

    # -- the loop ------------------------------------------------------------------------------

    def run(
        self, plan: StepPlan, hooks: LoopHooks, *, description: str, on_step: Callable[[int], None] | None = None
    ) -> None:
        """Optimizer steps until ``total_steps`` (or ``after_step`` stops the run); Ctrl-C saves a checkpoint."""
        self._terms = hooks.terms
        try:
            with progress.task(description, self.total_steps) as bar:
                self.bar = bar
                bar.advance(self.step)
                while self.step < self.total_steps and not self.stopped:
                    steps = plan(self.epoch)
                    while self.position < len(steps) and self.step < self.total_steps:
                        loss = self._optimizer_step(steps[self.position], hooks.micro_loss)
                        if hooks.end_step is not None:
                            hooks.end_step(self.step, loss)
                        bar.advance()
                        if self.step % hooks.log_every == 0 or (hooks.log_last and self.step == self.total_steps):
                            values = hooks.log(self.step)
                            if values is not None:
                                self.track(self.step, values | self._loop_values())
                        if hooks.after_step is not None and hooks.after_step(self.step):
                            self.stopped = True
                            break
                        if on_step is not None:
                            on_step(self.step)
                    if self.position >= len(steps):
                        self.epoch, self.position = self.epoch + 1, 0
        except KeyboardInterrupt:
            self.optimizer.zero_grad(set_to_none=True)
            if self.accelerator.is_main_process:
                folder = self.save(hooks.extra_state())
                raise Interrupted(
                    f"interrupted at step {self.step}: checkpoint saved in {folder}; continue with --resume"
                ) from None
            raise Interrupted(f"interrupted at step {self.step}") from None
        finally:
            tracking.finish(self.accelerator)  # flushed, whether the steps ended, stopped early or were cut short

    def _bad_term(self, value: float) -> str:
        """Which loss is non-finite: the first non-finite term the recipe reports, else the loss."""
        terms = self._terms() if self._terms is not None else {}
        names = [name for name, v in terms.items() if name != "loss" and not math.isfinite(v)]
        return f"the loss ({value}; term {names[0]})" if names else f"the loss ({value})"

    def _optimizer_step(self, micro: list[list[int]], micro_loss: Callable[[MicroBatch], torch.Tensor]) -> float:
        """One optimizer step over ``micro`` (accumulated); returns the mean loss of its micro-batches.

        With several processes, that mean is weighed by this process's share of the step's examples (see
        :meth:`_process_weight`): the mean over processes of what each returns is the step's loss.
        """
        accelerator = self.accelerator
        total = 0.0
        bad: str | None = None
        # Each micro-batch's mean loss weighs by its share of the step's examples: the step's gradient is
        # that of the whole batch, however it was cut (a short last batch, a batch split by length, or
        # shares of unequal size on several processes).
        examples = sum(len(indices) for indices in micro)
        weight = self._process_weight(examples)
        step_indices = [i for indices in micro for i in indices]
        for k, indices in enumerate(micro):
            with contextlib.ExitStack() as stack:
                if k < len(micro) - 1:  # gradients are synchronised once, on the step's last micro-batch
                    stack.enter_context(accelerator.no_sync(self.model))
                stack.enter_context(accelerator.autocast())
                loss = micro_loss(MicroBatch(indices, k, len(micro), self.epoch, self.position, step_indices))
                accelerator.backward(loss * (len(indices) / examples * weight))
            value = float(loss.detach())
            if bad is None and not math.isfinite(value):
                bad = self._bad_term(value)
            total += value * len(indices) / examples
        norm = accelerator.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        if norm is not None and tracking.active(accelerator):  # None under DeepSpeed, which clips itself
            self._grad_norms.append(torch.as_tensor(norm).detach())
        # With a GradScaler, an inf gradient is the scaler's business (it skips the step); else divergence.
        # The gradients are synchronised, so every process sees a non-finite norm at the same step.
        if bad is None and accelerator.scaler is None and norm is not None and not math.isfinite(float(norm)):
            bad = "the gradient norm"
        if bad is not None:
            self.optimizer.zero_grad(set_to_none=True)
            self.diverged(self.step + 1, bad)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.position += 1
        self._rng = ckpt.rng_states()
        return total * weight

    def _process_weight(self, examples: int) -> float:
        """This process's share of the step's examples × the processes (1.0 when the shares are equal).

        The all-reduce averages the processes' gradients as equals; weighed so, a process with a short
        last batch counts by its examples, as one process with ``--grad-accum`` × processes counts them.
        """
        world = self.accelerator.num_processes
        if world == 1:
            return 1.0
        counts = torch.tensor([float(examples)], device=self.accelerator.device)
        return examples * world / float(self.accelerator.reduce(counts, reduction="sum"))
