"""distil benchmark on the packaged minilm-l6 and a 3-layer student made from it (slow: real weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from distilcli.benchmark.config import BenchmarkConfig
from distilcli.benchmark.run import run_benchmark
from distilcli.models.student import StudentConfig, run_student
from tests.slow.test_packaged_models import need

pytestmark = pytest.mark.slow


def test_minilm_against_its_student_eager_onnx_int8(tmp_path: Path) -> None:
    need("minilm-l6")
    pytest.importorskip("onnxruntime")
    student = tmp_path / "s3"
    run_student(StudentConfig(teacher="minilm-l6", out=student, layer_map="0,2,4"))
    cfg = BenchmarkConfig(model=["minilm-l6", str(student)], batch_sizes="1", seq_lengths="32,128", warmup=1, repeats=3,
                          backend="eager,onnx", quantize="none,dynamic-int8", memory=False)  # fmt: skip
    report = run_benchmark(cfg)
    models = {m["label"]: m for m in report.body["models"]}
    # The counts `distil models inspect` gives: the encoder without pooler.
    assert models["minilm-l6"]["parameters"]["total"] == 22_565_376
    assert models[str(student)]["parameters"]["total"] == 17_241_984
    assert models[str(student)]["parameter_reduction"] == pytest.approx(1 - 17_241_984 / 22_565_376)
    # ONNX Runtime computes the same function; int8 changes it, measurably but not beyond recognition.
    for label in ("minilm-l6 [onnx]", f"{student} [onnx]"):
        assert models[label]["output_diff"]["max_abs_diff"] < 1e-4
    for label in ("minilm-l6 [int8]", "minilm-l6 [onnx+int8]"):
        diff = models[label]["output_diff"]
        assert 1e-3 < diff["max_abs_diff"] and diff["mean_cosine"] > 0.8
        assert models[label]["variant_bytes"] < 0.7 * models["minilm-l6"]["variant_bytes"]  # embeddings may stay fp32
    assert report.primary_metric == f"{student}.speedup@1x128"
    # Every shape has a measured speed-up (its size is a benchmark's finding, not a unit test's: a busy CI
    # machine with 3 repeats once timed the 3-layer student slower than its teacher at 1x32).
    speedups = [row["speedup"] for shape in report.body["shapes"] for row in shape["results"] if row["label"] == str(student)]
    assert len(speedups) == 2 and all(0 < s < float("inf") for s in speedups)
