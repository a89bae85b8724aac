"""The logging window every training run keeps (general distillation and task training alike)."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch

from distilcli.training.log_window import STATE_KEY, Counted, LogWindow


class _Accelerator:
    """Two processes whose other process counted exactly as this one: a sum is twice this process's."""

    num_processes = 2
    device = torch.device("cpu")

    def reduce(self, tensor: torch.Tensor, reduction: str) -> torch.Tensor:
        assert reduction == "sum"
        return tensor * 2


def _steps(window: LogWindow, steps: list[list[float]], items: int = 8) -> None:
    """Steps of micro-batches, each micro-batch's loss and one term, the step's own loss at its end."""
    for micro in steps:
        for value in micro:
            window.add({"loss_kd": value}, items)
        window.end_step({"loss": sum(micro) / len(micro)})


def test_a_step_joins_the_window_when_it_ends() -> None:
    window = LogWindow("examples")
    window.add({"loss_kd": 1.0}, 8)
    assert window.terms == {} and window.items == 0  # mid-step: Ctrl-C here saves none of it
    assert window.state()["terms"] == {} and window.state()["items"] == 0
    window.add({"loss_kd": 3.0}, 8)
    window.end_step({"loss": 2.0})
    assert window.terms == {"loss_kd": [1.0, 3.0], "loss": [2.0]} and window.items == 16
    assert window.means() == {"loss_kd": 2.0, "loss": 2.0}


def test_sums_keep_the_order_of_a_running_total_and_means_are_numpys() -> None:
    values = [0.1, 0.2, 0.3, 1e16, -1e16, 0.7, 0.05, 0.9, 0.11]  # the order changes a float sum
    window = LogWindow("tokens", terms={"loss": list(values)})
    running = 0.0
    for value in values:
        running += value
    assert window.sums() == {"loss": running}
    assert window.means() == {"loss": float(np.mean(values))}


def test_close_records_the_line_and_opens_the_next_window(monkeypatch: pytest.MonkeyPatch) -> None:
    window = LogWindow("examples")
    clock = iter([100.0, 102.0, 102.0])
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    window.restart_clock()  # at 100
    _steps(window, [[1.0, 3.0], [2.0, 2.0]])
    tracked = window.close(2, {"loss": 2.0, "loss_kd": 2.0})  # at 102: 32 examples in 2 s
    assert tracked == {"train/loss": 2.0, "train/loss_kd": 2.0, "train/examples_per_s": 16.0}
    assert window.lines == {"step": [2], "loss": [2.0], "examples_per_s": [16.0], "loss_kd": [2.0]}
    assert (window.terms, window.items, window.total, window.start) == ({}, 0, 32, 102.0)
    assert window.seen == 32


def test_a_restored_window_logs_what_the_uninterrupted_one_does() -> None:
    steps = [[0.5, 0.25], [0.125, 1.0], [0.75, 0.3], [0.6, 0.2]]
    whole = LogWindow("examples")
    _steps(whole, steps[:2])
    whole.close(2, whole.means())
    _steps(whole, steps[2:])

    cut = LogWindow("examples")
    _steps(cut, steps[:2])
    cut.close(2, cut.means())
    _steps(cut, steps[2:3])
    cut.add({"loss_kd": 9.0}, 8)  # the step under way when Ctrl-C came: redone after the resume
    buffer = io.BytesIO()
    torch.save({STATE_KEY: cut.state()}, buffer)  # a checkpoint holds plain lists and numbers only
    buffer.seek(0)
    resumed = LogWindow("examples")
    resumed.restore(torch.load(buffer, weights_only=True)[STATE_KEY])
    resumed.restart_clock()
    assert resumed.untimed == 16  # the step before the cut is not timed by the resumed run
    _steps(resumed, steps[3:])

    assert resumed.means() == whole.means() and resumed.sums() == whole.sums()
    assert (resumed.terms, resumed.items, resumed.total) == (whole.terms, whole.items, whole.total)
    figures = {name: values for name, values in whole.lines.items() if name != "examples_per_s"}  # rates are each run's
    assert {name: values for name, values in resumed.lines.items() if name != "examples_per_s"} == figures
    line = resumed.close(4, resumed.means())
    assert line["train/loss"] == whole.close(4, whole.means())["train/loss"]
    assert resumed.total == whole.total == 64


def test_several_processes_share_their_sums_and_one_restores_them() -> None:
    window = LogWindow("tokens")
    _steps(window, [[1.0, 2.0]], items=10)
    window.restart_clock()
    counted = window.counted(_Accelerator())
    assert counted == Counted(40, 40, {"loss_kd": 6.0, "loss": 3.0})
    assert window.counted() == Counted(20, 20, {"loss_kd": 3.0, "loss": 1.5})  # this process alone
    shared = window.shared_state(_Accelerator())
    assert shared["terms"] == {"loss_kd": [6.0], "loss": [3.0]} and shared["items"] == 40

    main, other = LogWindow("tokens"), LogWindow("tokens")
    main.restore(shared)
    other.restore(shared, with_window=False)  # the main process holds every process's sums
    assert main.sums() == {"loss_kd": 6.0, "loss": 3.0} and main.items == 40
    assert other.terms == {} and other.items == 0 and other.lines == main.lines
    main.add({"loss_kd": 0.5}, 4)
    main.end_step()
    assert main.sums()["loss_kd"] == 6.5  # the saved sum continues as the running total did


def test_the_rate_leaves_out_what_was_read_before_the_clock_started(monkeypatch: pytest.MonkeyPatch) -> None:
    window = LogWindow("tokens", terms={"loss": [1.0]}, items=100)  # a resumed window: 100 tokens before the cut
    clock = iter([10.0, 14.0, 14.0])
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    window.restart_clock()
    window.add({"loss": 1.0}, 40)
    window.end_step()
    tracked = window.close(2, {"loss": 1.0})
    assert tracked["train/tokens_per_s"] == 10.0  # 40 tokens in 4 s, not 140
    assert window.total == 140
