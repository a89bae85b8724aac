"""Options of ``distil export`` and the tolerances its check holds the exported graph to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distilcli.errors import BadInput

FORMATS = ("onnx",)
QUANTIZATIONS = ("none", "dynamic-int8")
#: What is exported: a sequence classifier (logits) or an encoder (token and sentence embeddings).
CLASSIFIER = "text-classification"
ENCODER = "sentence-embedding"


@dataclass
class ExportConfig:
    """What ``distil export`` writes, and what it checks the export on."""

    model: str
    out: Path
    format: str = "onnx"
    #: "dynamic-int8": ONNX Runtime's dynamic quantization (int8 MatMul weights) of the exported graph.
    quantize: str = "none"
    #: The GLUE task of a classifier (unset: the one its config records), or stsb for a sentence encoder.
    task: str | None = None
    glue_dir: Path | None = None
    hub_dir: Path | None = None
    dev_file: Path | None = None
    #: Score a fixed subsample of this many dev examples (the draw eval-glue's --limit makes).
    limit: int | None = None
    #: Tokens per example of the check (unset: the length the model was fine-tuned with, else 128).
    max_seq_length: int | None = None
    batch_size: int = 32
    overwrite: bool = False

    @property
    def has_data(self) -> bool:
        return any(v is not None for v in (self.glue_dir, self.hub_dir, self.dev_file))


@dataclass(frozen=True)
class Tolerance:
    """How close the exported graph's outputs must be to PyTorch's on the check's inputs (None: not checked)."""

    #: Largest absolute difference of any output value (logits; token and sentence embeddings).
    max_abs_diff: float | None = None
    #: Cosine of each example's output vector (logits, sentence embedding) with PyTorch's: the worst one.
    min_cosine: float | None = None
    #: The same cosine, averaged over the examples.
    mean_cosine: float | None = None
    #: Share of examples whose predicted label is PyTorch's (classifiers).
    label_agreement: float | None = None
    #: Pearson correlation of a one-output (regression) head's values with PyTorch's.
    correlation: float | None = None


#: By (--quantize, kind). fp32 must be the same function: ONNX Runtime reproduces PyTorch to ~1e-6.
#: int8 changes the function a little everywhere, and a weak classifier's logits sit near zero,
#: where their direction means little: its check asks for the same labels, an encoder's for the
#: same direction of its sentence embeddings; the task metric (reported) says what int8 costs.
TOLERANCES = {
    ("none", CLASSIFIER): Tolerance(max_abs_diff=1e-3, min_cosine=0.9999, label_agreement=0.99, correlation=0.9999),
    ("none", ENCODER): Tolerance(max_abs_diff=1e-3, min_cosine=0.9999),
    ("dynamic-int8", CLASSIFIER): Tolerance(label_agreement=0.9, correlation=0.95),
    ("dynamic-int8", ENCODER): Tolerance(mean_cosine=0.95),
}


def check_options(cfg: ExportConfig) -> None:
    """Everything that can be checked before a file is read."""
    if not str(cfg.model).strip():
        raise BadInput("empty MODEL: pass a model folder, an alias or a hub id")
    if cfg.format not in FORMATS:
        raise BadInput(f"--format {cfg.format!r}: distil export writes {', '.join(FORMATS)}")
    if cfg.quantize not in QUANTIZATIONS:
        raise BadInput(f"--quantize {cfg.quantize!r}: choose {' or '.join(QUANTIZATIONS)}")
    if cfg.batch_size < 1:
        raise BadInput(f"--batch-size must be at least 1, got {cfg.batch_size}")
    if cfg.limit is not None and cfg.limit < 1:
        raise BadInput(f"--limit must be at least 1 (dev examples), got {cfg.limit}: leave it out for all")
    if cfg.max_seq_length is not None and cfg.max_seq_length < 8:
        raise BadInput(f"--max-seq-length {cfg.max_seq_length} is too short: use at least 8")
    if cfg.limit is not None and not cfg.has_data:
        raise BadInput("--limit subsamples the dev set: add --glue-dir, --hub-dir or --dev-file, or leave it out")
    sources = [flag for flag, v in (("--glue-dir", cfg.glue_dir), ("--hub-dir", cfg.hub_dir)) if v is not None]
    if len(sources) > 1:
        raise BadInput("--glue-dir and --hub-dir both given: the dev set comes from one of them")
