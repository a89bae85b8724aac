"""distil benchmark on tiny models: options, the report's structure, and the ratio arithmetic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from distilcli.benchmark.config import BenchmarkConfig, Variant, check_options, variants
from distilcli.benchmark.run import run_benchmark
from distilcli.benchmark.timing import latency_stats, reduction, speedup
from distilcli.errors import BadInput
from tests.conftest import tiny_config


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> tuple[Path, Path]:
    """A 4-layer BERT encoder and a 2-layer one of the same width (teacher and student shapes)."""
    import torch
    from transformers import AutoModel

    root = tmp_path_factory.mktemp("bench")
    folders = []
    for layers in (4, 2):
        torch.manual_seed(0)
        config = tiny_config("bert")
        config.num_hidden_layers = layers
        folder = root / f"bert{layers}"
        AutoModel.from_config(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders.append(folder)
    return folders[0], folders[1]


def _cfg(*models: Path | str, **options) -> BenchmarkConfig:
    base = dict(batch_sizes="1,2", seq_lengths="8,16", warmup=1, repeats=3, memory=False)
    return BenchmarkConfig(model=[str(m) for m in models], **{**base, **options})


# -- arithmetic ---------------------------------------------------------------------------------


def test_latency_stats_are_numpy_percentiles_in_ms() -> None:
    seconds = [0.004, 0.001, 0.003, 0.002, 0.010]
    stats = latency_stats(seconds)
    assert stats["p50"] == pytest.approx(3.0)
    assert stats["p90"] == pytest.approx(4.0 + 0.6 * 6.0)  # between 4 ms and 10 ms, linear
    assert stats["p99"] == pytest.approx(4.0 + 0.96 * 6.0)
    assert stats["mean"] == pytest.approx(4.0)


def test_output_diff_by_hand() -> None:
    from distilcli.benchmark.run import output_diff

    reference = np.array([[[1.0, 0.0], [0.0, 2.0]]])
    output = np.array([[[1.0, 1.0], [0.0, -2.0]]])  # 45° off, then pointing the other way
    diff = output_diff(reference, output)
    assert diff["max_abs_diff"] == 4.0 and diff["mean_abs_diff"] == pytest.approx(5 / 4)
    assert diff["max_abs_reference"] == 2.0
    assert diff["min_cosine"] == pytest.approx(-1.0)
    assert diff["mean_cosine"] == pytest.approx((2**-0.5 - 1) / 2)


def test_speedup_and_reduction_are_the_papers_figures() -> None:
    assert speedup(1.6, 1.0) == pytest.approx(1.6)  # "60% faster"
    assert reduction(110e6, 66e6) == pytest.approx(0.4)  # "40% smaller"


# -- options ------------------------------------------------------------------------------------


def test_options_are_parsed_and_variants_multiply_out() -> None:
    cfg = BenchmarkConfig(model=["a", "b"], batch_sizes="1, 8,8", seq_lengths=[128], backend="eager,onnx", quantize="none,dynamic-int8")
    check_options(cfg)
    assert cfg.batch_sizes == [1, 8] and cfg.seq_lengths == [128]
    assert (cfg.warmup, cfg.repeats) == (3, 20)
    labels = [v.label for v in variants(cfg)]
    assert labels == ["a", "a [int8]", "a [onnx]", "a [onnx+int8]", "b", "b [int8]", "b [onnx]", "b [onnx+int8]"]
    assert Variant("a").is_reference and not Variant("a", quantize="dynamic-int8").is_reference


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (dict(model=[]), "no model to benchmark"),
        (dict(model=["a", "a"]), "--model a is given twice"),
        (dict(backend="tensorrt"), "unknown --backend 'tensorrt': choose from eager, onnx"),
        (dict(quantize="int4"), "unknown --quantize 'int4'"),
        (dict(precision="fp16", device="cpu"), "--precision fp16 is for a GPU"),
        (dict(precision="fp16,bf16"), "--precision takes one value"),
        (dict(batch_sizes="1,x"), "--batch-sizes 'x' is not an integer"),
        (dict(batch_sizes="0"), "--batch-sizes 0 must be at least 1"),
        (dict(seq_lengths="1"), "--seq-lengths must be at least 2"),
        (dict(preset="paper"), "--preset paper needs --glue-dir"),
        (dict(preset="paper", glue_dir=Path("g"), device="cuda"), "measures on the CPU"),
        (dict(glue_dir=Path("g")), "--glue-dir is used only by --preset paper"),
        (dict(repeats=0), "--repeats 0 must be at least 1"),
        (dict(warmup=-1), "--warmup -1 must be 0 or more"),
        (dict(quantize="dynamic-int8", device="cuda"), "runs on the CPU only"),
    ],
)
def test_bad_options_are_refused_before_any_model_is_read(options: dict, fragment: str) -> None:
    cfg = BenchmarkConfig(**{"model": ["a"], **options})
    with pytest.raises(BadInput, match=None) as info:
        check_options(cfg)
    assert fragment in str(info.value)


def test_a_shape_beyond_the_models_positions_is_refused(tiny_pair) -> None:
    with pytest.raises(BadInput, match="--seq-lengths 100 exceeds the 66 positions"):
        run_benchmark(_cfg(tiny_pair[0], seq_lengths="16,100"))


def test_an_unloadable_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        run_benchmark(_cfg(tmp_path / "nowhere"))


# -- the report ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair_report(tiny_pair):
    return run_benchmark(_cfg(*tiny_pair))


def test_report_structure(pair_report, tiny_pair) -> None:
    body = pair_report.body
    assert body["mode"] == "grid" and body["device"] == "cpu" and body["repeats"] == 3
    assert [m["label"] for m in body["models"]] == [str(p) for p in tiny_pair]
    assert [(s["batch_size"], s["seq_length"]) for s in body["shapes"]] == [(1, 8), (1, 16), (2, 8), (2, 16)]
    for shape in body["shapes"]:
        assert [r["label"] for r in shape["results"]] == [str(p) for p in tiny_pair]
        for row in shape["results"]:
            lat = row["latency_ms"]
            assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"]
    assert pair_report.primary_metric == f"{tiny_pair[1]}.speedup@1x8"
    assert body["diff_shape"] == [1, 8]


def test_parameter_counts_and_reduction(pair_report) -> None:
    teacher, student = pair_report.body["models"]
    # A BERT layer of width 32 with intermediate 64: 4 linear maps of 32², two of 32×64, biases, two LayerNorms.
    per_layer = 4 * (32 * 32 + 32) + (32 * 64 + 64) + (64 * 32 + 32) + 2 * 2 * 32
    assert teacher["parameters"]["encoder"] - student["parameters"]["encoder"] == 2 * per_layer
    for model in (teacher, student):
        p = model["parameters"]
        assert p["embeddings"] + p["encoder"] == p["total"]
        assert p["encoder"] == model["num_layers"] * per_layer  # no pooler: the encoder as `models inspect` counts it
    assert teacher["parameter_reduction"] is None
    assert student["parameter_reduction"] == pytest.approx(1 - student["parameters"]["total"] / teacher["parameters"]["total"])
    assert pair_report.metrics[f"{student['label']}.parameter_reduction"] == student["parameter_reduction"]
    # fp32 weights, plus BERT's two id buffers (position and token type ids, int64, one per position).
    assert student["variant_bytes"] == 4 * student["parameters"]["total"] + 2 * 8 * 66
    assert student["disk_bytes"] > student["variant_bytes"] * 0.9


def test_ratio_arithmetic(pair_report) -> None:
    for shape in pair_report.body["shapes"]:
        first, second = shape["results"]
        b, s = shape["batch_size"], shape["seq_length"]
        assert first["speedup"] is None
        assert second["speedup"] == pytest.approx(first["latency_ms"]["p50"] / second["latency_ms"]["p50"])
        for row in (first, second):
            assert row["sequences_per_s"] == pytest.approx(b / (row["latency_ms"]["p50"] / 1000))
            assert row["tokens_per_s"] == pytest.approx(b * s / (row["latency_ms"]["p50"] / 1000))
        tag = f"{b}x{s}"
        assert pair_report.metrics[f"{second['label']}.speedup@{tag}"] == second["speedup"]
        assert pair_report.metrics[f"{first['label']}.p50_ms@{tag}"] == first["latency_ms"]["p50"]


def test_onnx_and_int8_variants_are_compared_with_eager(tiny_pair) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    report = run_benchmark(_cfg(tiny_pair[1], batch_sizes="2", seq_lengths="8,12", backend="eager,onnx", quantize="none,dynamic-int8"))
    models = {m["label"]: m for m in report.body["models"]}
    label = str(tiny_pair[1])
    assert list(models) == [label, f"{label} [int8]", f"{label} [onnx]", f"{label} [onnx+int8]"]
    assert models[label]["output_diff"] is None  # the reference itself
    assert models[f"{label} [onnx]"]["output_diff"]["max_abs_diff"] < 1e-4  # the same function, another runtime
    assert models[f"{label} [onnx]"]["output_diff"]["min_cosine"] > 0.999999
    for quantized in (f"{label} [int8]", f"{label} [onnx+int8]"):
        diff = models[quantized]["output_diff"]
        assert 0 < diff["max_abs_diff"] < diff["max_abs_reference"]
    # Each int8 variant is smaller than the float one it is made from.
    assert models[f"{label} [int8]"]["variant_bytes"] < models[label]["variant_bytes"]
    assert models[f"{label} [onnx+int8]"]["variant_bytes"] < models[f"{label} [onnx]"]["variant_bytes"]
    # One model run several ways: the headline is its second variant against the first.
    assert report.primary_metric == f"{label} [int8].speedup@2x8"


def test_onnx_export_of_an_architecture_without_token_types(tiny_encoders) -> None:
    pytest.importorskip("onnxruntime")
    report = run_benchmark(_cfg(tiny_encoders["mpnet"], batch_sizes="1,3", seq_lengths="8,20", backend="onnx"))
    (model,) = report.body["models"]
    assert model["output_diff"]["max_abs_diff"] < 1e-4


def test_memory_is_measured_in_a_fresh_process(tiny_pair) -> None:
    report = run_benchmark(_cfg(*tiny_pair, batch_sizes="2", seq_lengths="16", memory=True))
    for model in report.body["models"]:
        memory = model["memory"]
        assert 0 < memory["peak_mb"] < 200  # a tiny model above a bare interpreter, not the whole process
        assert report.metrics[f"{model['label']}.peak_memory_mb"] == memory["peak_mb"]


def test_paper_preset_passes_over_stsb_dev(tiny_pair, tiny_glue, tmp_path: Path) -> None:
    report = run_benchmark(_cfg(*tiny_pair, preset="paper", glue_dir=tiny_glue, warmup=2, repeats=2, plot=tmp_path / "p.png"))
    paper = report.body["paper"]
    assert paper["task"] == "stsb" and paper["examples"] == 40 and paper["passes"] == 2
    first, second = paper["results"]
    for row in (first, second):
        assert len(row["pass_totals_s"]) == 2
        assert row["total_s"] == pytest.approx(float(np.median(row["pass_totals_s"])))
        assert row["examples_per_s"] == pytest.approx(40 / row["total_s"])
    assert second["speedup"] == pytest.approx(first["total_s"] / second["total_s"])
    assert report.primary_metric == f"{second['label']}.stsb_speedup"
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.artifacts["plot"] == str(tmp_path / "p.png")


def test_paper_preset_needs_stsb(tiny_pair, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="has no STS-B/dev.tsv"):
        run_benchmark(_cfg(tiny_pair[0], preset="paper", glue_dir=tmp_path))


def test_plot_of_the_grid(pair_report, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from distilcli.benchmark.plot import write_plot

    target = tmp_path / "latency.svg"
    write_plot(pair_report.body, target)
    text = target.read_text(encoding="utf-8")
    assert "<svg" in text and "batch size 2" in text
    assert [p.name for p in tmp_path.iterdir()] == ["latency.svg"]  # no temp file left
