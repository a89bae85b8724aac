"""Options of ``distil benchmark`` and the variants (model × backend × quantization) they name."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from distilcli.config import parse_list
from distilcli.errors import BadInput

BACKENDS = ("eager", "onnx")
QUANTIZATIONS = ("none", "dynamic-int8")
PRECISIONS = ("fp32", "fp16", "bf16")
DEVICES = ("auto", "cpu", "cuda")
PRESETS = ("paper",)
#: The paper's protocol: one pass over STS-B dev at batch size 1 on the CPU.
PAPER_TASK = "stsb"


@dataclass
class BenchmarkConfig:
    """What ``distil benchmark`` measures, and how."""

    model: list[str] = field(default_factory=list)
    batch_sizes: list[int] | str = "1,8,32"
    seq_lengths: list[int] | str = "32,128,512"
    backend: list[str] | str = "eager"
    quantize: list[str] | str = "none"
    precision: str = "fp32"
    device: str = "auto"
    #: Intra-op threads for PyTorch and ONNX Runtime; None keeps PyTorch's default.
    threads: int | None = None
    #: Untimed runs per model and shape before measuring.
    warmup: int | None = None
    #: Timed runs per model and shape (with --preset paper: passes over STS-B dev).
    repeats: int | None = None
    seed: int = 0
    preset: str | None = None
    glue_dir: Path | None = None
    plot: Path | None = None
    #: Peak memory per model, measured in a fresh process of its own on the CPU.
    memory: bool = True

    def resolved(self) -> BenchmarkConfig:
        """A checked copy with the lists parsed and the preset's warm-up and repeats filled in (``--print-config``)."""
        from dataclasses import replace

        copy = replace(self, model=list(self.model))
        check_options(copy)
        return copy


@dataclass(frozen=True)
class Variant:
    """One column of the benchmark: a model run one way."""

    model: str
    backend: str = "eager"
    quantize: str = "none"
    precision: str = "fp32"

    @property
    def is_reference(self) -> bool:
        """Eager fp32: what every other way of running the model is compared with."""
        return (self.backend, self.quantize, self.precision) == ("eager", "none", "fp32")

    @property
    def label(self) -> str:
        tags = [
            t
            for t in (
                self.backend != "eager" and self.backend,
                self.quantize != "none" and "int8",
                self.precision != "fp32" and self.precision,
            )
            if t
        ]
        return f"{self.model} [{'+'.join(tags)}]" if tags else self.model


def parse_int_list(value: list[int] | str, option: str) -> list[int]:
    """``"1,8,32"`` (or a list) as positive integers, in the given order, without repeats."""
    numbers = parse_list(value, option, int, example="1,8,32")
    for number in numbers:
        if number < 1:
            raise BadInput(f"{option} {number} must be at least 1")
    return list(dict.fromkeys(numbers))


def parse_choices(value: list[str] | str, option: str, choices: tuple[str, ...]) -> list[str]:
    """A comma-separated list (or list) of ``choices``; anything else is :class:`BadInput`."""
    return list(dict.fromkeys(parse_list(value, option, choices)))


def check_options(cfg: BenchmarkConfig) -> None:
    """Everything that can be checked before a model is read; fills list options and defaults in place."""
    if not cfg.model:
        raise BadInput("no model to benchmark: give --model REF (repeatable; the first is the baseline of the ratios)")
    specs = [str(m).strip() for m in cfg.model]
    repeated = sorted({s for s in specs if specs.count(s) > 1})
    if repeated:
        raise BadInput(f"--model {repeated[0]} is given twice: give each model once")
    cfg.model = specs
    cfg.batch_sizes = parse_int_list(cfg.batch_sizes, "--batch-sizes")
    cfg.seq_lengths = parse_int_list(cfg.seq_lengths, "--seq-lengths")
    if min(cfg.seq_lengths) < 2:
        raise BadInput("--seq-lengths must be at least 2 (the [CLS] and [SEP] tokens)")
    cfg.backend = parse_choices(cfg.backend, "--backend", BACKENDS)
    cfg.quantize = parse_choices(cfg.quantize, "--quantize", QUANTIZATIONS)
    cfg.precision = _one_choice(cfg.precision, "--precision", PRECISIONS)
    cfg.device = _one_choice(cfg.device, "--device", DEVICES)
    if cfg.preset is not None:
        cfg.preset = _one_choice(cfg.preset, "--preset", PRESETS)
        if cfg.glue_dir is None:
            raise BadInput("--preset paper needs --glue-dir DIR (GLUE in the original layout, with STS-B/dev.tsv)")
        if cfg.device == "cuda":
            raise BadInput("--preset paper measures on the CPU, as the paper did: leave out --device cuda")
        cfg.device = "cpu"
    elif cfg.glue_dir is not None:
        raise BadInput("--glue-dir is used only by --preset paper: add --preset paper or leave it out")
    for name in ("threads", "repeats"):
        value = getattr(cfg, name)
        if value is not None and value < 1:
            raise BadInput(f"--{name} {value} must be at least 1")
    if cfg.warmup is not None and cfg.warmup < 0:
        raise BadInput(f"--warmup {cfg.warmup} must be 0 or more")
    # A pass over STS-B dev is long; one pass (after a few warm-up examples) is the paper's protocol.
    cfg.warmup = cfg.warmup if cfg.warmup is not None else (10 if cfg.preset else 3)
    cfg.repeats = cfg.repeats if cfg.repeats is not None else (1 if cfg.preset else 20)
    if cfg.precision != "fp32":
        if cfg.device == "cpu":
            raise BadInput(
                f"--precision {cfg.precision} is for a GPU: "
                "use --device cuda (or auto on a GPU machine), or fp32 on the CPU"
            )
        if cfg.backend != ["eager"] or cfg.quantize != ["none"]:
            raise BadInput(
                f"--precision {cfg.precision} applies to the eager backend without --quantize: run those separately"
            )
    if "dynamic-int8" in cfg.quantize and cfg.device == "cuda":
        raise BadInput("--quantize dynamic-int8 runs on the CPU only: add --device cpu")


def _one_choice(value: str, option: str, choices: tuple[str, ...]) -> str:
    chosen = parse_choices(value, option, choices)
    if len(chosen) > 1:
        raise BadInput(f"{option} takes one value, got {value!r}: choose one of {', '.join(choices)}")
    return chosen[0]


def variants(cfg: BenchmarkConfig, exported: dict[str, str] | None = None) -> list[Variant]:
    """Every model, run every asked way, in the order given (the first is the ratios' baseline).

    ``exported`` maps the models that are folders ``distil export`` wrote to their quantization:
    each runs once, on ONNX Runtime as it was exported, whatever --backend and --quantize say.
    """
    exported = exported or {}
    return [
        Variant(model, backend, quantize, cfg.precision)  # type: ignore[arg-type]
        for model in cfg.model
        for backend, quantize in (
            [("onnx", exported[model])] if model in exported else [(b, q) for b in cfg.backend for q in cfg.quantize]  # type: ignore[union-attr]
        )
    ]
