"""``distil benchmark`` through the command line, on tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distilcli.reports import load_report
from tests.cli.conftest import assert_one_line_error

QUICK = ["--batch-sizes", "1,2", "--seq-lengths", "8", "--warmup", "1", "--repeats", "2", "--no-memory"]


def test_benchmark_writes_a_report_that_distil_report_reads(distil, tiny_encoders: dict[str, Path], tiny_models: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "bench.json"
    result = distil("benchmark", "--model", tiny_models["bert"], "--model", tiny_encoders["distilbert"], *QUICK, "--output", target, "--json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    report = load_report(target)
    assert printed["metrics"] == report.metrics
    assert report.command == "benchmark"
    assert "interleaved" in result.stderr and "latency" in result.stderr and "details not shown" not in result.stderr
    assert report.primary_metric == f"{tiny_encoders['distilbert']}.speedup@1x8"
    shown = distil("report", "show", str(target))
    assert shown.exit_code == 0 and "interleaved" in shown.stderr and "details not shown" not in shown.stderr


def test_models_from_a_config_file(distil, tiny_encoders: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "bench.yaml"
    config.write_text(f"model: [{tiny_encoders['bert']}, {tiny_encoders['roberta']}]\nseq-lengths: [8]\nbatch-sizes: [1]\nrepeats: 2\nmemory: false\n")
    result = distil("benchmark", "--config", config, "--output", tmp_path / "r.json")
    assert result.exit_code == 0, result.stderr
    assert [m["label"] for m in load_report(tmp_path / "r.json").body["models"]] == [str(tiny_encoders["bert"]), str(tiny_encoders["roberta"])]


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--backend", "tensorrt"], ["unknown --backend 'tensorrt'", "eager, onnx"]),
        (["--seq-lengths", "8,512"], ["--seq-lengths 512 exceeds the 66 positions", "use 66 or less"]),
        (["--precision", "bf16", "--device", "cpu"], ["--precision bf16 is for a GPU"]),
        (["--plot", "latency.txt"], ["--plot latency.txt: name a .png, .svg or .pdf file"]),
        (["--preset", "paper"], ["--preset paper needs --glue-dir"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(distil, tiny_encoders: dict[str, Path], tmp_path: Path, extra: list[str], fragments: list[str]) -> None:
    target = tmp_path / "r.json"
    result = distil("benchmark", "--model", tiny_encoders["bert"], *QUICK, *extra, "--output", target)
    assert_one_line_error(result, 2, *fragments)
    assert not target.exists()


def test_an_unloadable_model_is_one_line(distil, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert", "hidden_size": 32}')
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    result = distil("benchmark", "--model", broken, *QUICK)
    assert_one_line_error(result, 2, "cannot load the weights of")


def test_no_model_is_one_line(distil) -> None:
    assert_one_line_error(distil("benchmark", *QUICK), 2, "no model to benchmark", "--model REF")
