"""examples/gpu_check.py: its dry run prints only commands the CLI accepts; without CUDA it stops at once, in one line."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "gpu_check.py"
NO_CUDA = "no CUDA device: this script checks the GPU paths; run it on a machine with an NVIDIA GPU"
STEPS = {
    "distill_bf16", "distill_fp16", "distill_fp16_interrupted", "distill_fp16_resume", "finetune_bf16",
    "finetune_fp16", "benchmark_cuda_fp32", "benchmark_cuda_fp16", "export", "benchmark_export_cpu",
    "benchmark_export_cuda",
}  # fmt: skip


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look the module up while the class is made
    spec.loader.exec_module(module)
    return module


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300, check=False
    )


def _parse(words: list[str]) -> None:
    """Parse ``distil ...`` as the Typer app would: an unknown option or a missing argument raises."""
    import typer

    from distilcli.cli import app

    command, args = typer.main.get_command(app), words[1:]
    while hasattr(command, "commands") and args and args[0] in command.commands:
        command, args = command.commands[args[0]], args[1:]
    assert command.name == words[1], words
    command.make_context(" ".join(words[:2]), list(args), resilient_parsing=False)


@pytest.mark.parametrize("data", ["builtin", "folder"])
def test_every_dry_run_command_parses_as_the_cli(tmp_path: Path, data: str) -> None:
    folder = tmp_path / "data"
    (folder / "wikitext-2").mkdir(parents=True)
    (folder / "wikitext-2" / "wiki.valid.tokens").write_text("Some text .\n", encoding="utf-8")
    (folder / "glue" / "SST-2").mkdir(parents=True)
    for split in ("train", "dev"):
        (folder / "glue" / "SST-2" / f"{split}.tsv").write_text("sentence\tlabel\nfine \t1\n", encoding="utf-8")
    work = tmp_path / "work"
    flags = ["--builtin-data"] if data == "builtin" else ["--data", str(folder)]
    result = _script("--dry-run", "--work", str(work), *flags)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    names = {line[2:].split(":")[0].split(" [")[0] for line in lines if line.startswith("# ")}
    assert names == STEPS
    commands = [shlex.split(line) for line in lines if line.startswith("distil ")]
    assert len(commands) == len(STEPS) and not work.exists()  # a dry run writes nothing
    for words in commands:
        _parse(words)
    joined = [" ".join(words) for words in commands]
    for command in ("distil distill", "distil finetune"):
        assert {p for j in joined if j.startswith(command) for p in ("bf16", "fp16") if f"--precision {p}" in j} == {
            "bf16",
            "fp16",
        }
    assert sum("--resume" in j for j in joined) == 1 and sum("--device cuda" in j for j in joined) == 3
    corpus = str(work / "corpus.txt") if data == "builtin" else str(folder / "wikitext-2" / "wiki.valid.tokens")
    assert all(f"--corpus {corpus}" in j for j in joined if j.startswith("distil distill"))


def test_without_cuda_it_exits_2_with_one_line() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the script would run the whole check")
    result = _script()
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(NO_CUDA), result.stderr


def test_missing_export_and_bf16_become_skipped_steps(tmp_path: Path) -> None:
    module = _module()
    gpu = {"cuda": True, "bf16": False, "device_name": "Tesla V100", "onnxruntime_providers": ["CPUExecutionProvider"]}
    steps = {s.name: s for s in module.plan(tmp_path, "minilm-l6", tmp_path / "c.txt", tmp_path, 40, gpu, export=False)}
    for name in ("export", "benchmark_export_cpu", "benchmark_export_cuda"):
        assert steps[name].skip.startswith("export not available")
        entry = module.execute(steps[name], tmp_path, 60, {})
        assert entry["status"] == "skipped" and "exit_code" not in entry  # nothing ran
    assert steps["distill_bf16"].skip == steps["finetune_bf16"].skip == "Tesla V100 has no bf16"
    assert str(tmp_path / "distill-fp16") in steps["benchmark_cuda_fp32"].args  # the fp16 student instead
    assert (
        module.execute(steps["benchmark_cuda_fp32"], tmp_path, 60, {})["reason"]
        == "needs what distill_fp16 (not run) makes"
    )
