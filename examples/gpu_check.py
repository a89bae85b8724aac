"""GPU check: the GPU paths of distil in a few minutes, on a machine with an NVIDIA GPU; one JSON summary.

Runs, each as `python -m distilcli ...` with small budgets (--steps 120 per distillation, 2 epochs of 500
examples per fine-tuning), on a teacher (default the packaged alias minilm-l6) and inputs it finds or
builds itself, offline:
  distill in bf16 and in fp16 (general distillation, a 3-layer student, the teacher's MLM head fitted first);
  an fp16 distill stopped with SIGINT once its first checkpoint appears (exit 130), then resumed with
  --resume: it must finish with all its steps (its final loss is put beside the uninterrupted fp16 run's);
  finetune --task sst2 --train-limit 500 in bf16 and in fp16;
  benchmark --device cuda of the teacher and the bf16 student, in fp32 and in fp16;
  export of the bf16 fine-tuned classifier (ONNX, checked on SST-2 dev), then benchmark of the exported
  folder beside its PyTorch model on the CPU, and on the GPU where onnxruntime-gpu is installed.
Each step's exit code, wall time and key numbers (from its -o report) go into the summary printed on
stdout (and written to --out). Exit 0 when every step that ran passed, 1 otherwise, 2 without a GPU.

Data: --data DIR (default ../shared/data beside the repository, when it exists) gives WikiText-2
(DIR/wikitext-2/wiki.*.tokens) and GLUE SST-2 (DIR/glue/SST-2/{train,dev}.tsv); whatever is missing
(or everything, with --builtin-data) is generated into the work folder: a small template corpus and
a small template sentiment set. Standard library only.
    python examples/gpu_check.py --out gpu-check.json
    python examples/gpu_check.py --dry-run            # print the commands; runs nothing, needs no GPU
"""

from __future__ import annotations

import argparse
import glob
import json
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
NO_CUDA = "no CUDA device: this script checks the GPU paths; run it on a machine with an NVIDIA GPU"
CHECKPOINT = re.compile(r"^step-\d{7}$")  # a finished checkpoint folder (temporary ones start with a dot)
INTERRUPTED = 130  # distil's exit code after Ctrl-C (a checkpoint saved)
PROBE = """
import json, torch
info = {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda": torch.cuda.is_available()}
if info["cuda"]:
    info.update(device_name=torch.cuda.get_device_name(0), devices=torch.cuda.device_count(),
                capability=list(torch.cuda.get_device_capability(0)), bf16=torch.cuda.is_bf16_supported())
    try:
        import onnxruntime as ort
        info.update(onnxruntime=ort.__version__, onnxruntime_providers=ort.get_available_providers())
    except Exception as exc:
        info.update(onnxruntime=None, onnxruntime_error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
print(json.dumps(info))
"""

#: A step's own check: (its report, the entries of earlier steps) -> (why it failed or None, numbers to add).
Check = Callable[[dict[str, Any], dict[str, dict[str, Any]]], tuple[str | None, dict[str, Any]]]


@dataclass
class Step:
    """One distil command: ``args`` follow ``distil``; ``expect`` is the exit code that passes."""

    name: str
    args: list[str]
    report: Path | None = None
    needs: list[str] = field(default_factory=list)  # earlier steps that must have passed (they make its inputs)
    skip: str | None = None  # a reason known before running
    expect: int = 0
    interrupt: Path | None = None  # a run folder: SIGINT once its first checkpoint appears
    check: Check | None = None
    note: str = ""


# -- inputs ---------------------------------------------------------------------------------------


def build_corpus(path: Path, lines: int = 1500, seed: int = 0) -> None:
    """Plain English-like text from templates, one document (several sentences) per line."""
    rng = random.Random(seed)
    subjects = ["the river", "a small village", "the old bridge", "the committee", "her brother", "the first album",
                "the museum", "the northern army", "the new school", "the ship", "the railway company", "his daughter"]  # fmt: skip
    verbs = ["was built in", "moved to", "was described as", "returned to", "was named after", "grew up near",
             "was recorded in", "opened in", "was sold to", "wrote about"]  # fmt: skip
    objects = ["the eighteenth century", "a quiet harbour", "the capital", "the local church", "the western hills",
               "a famous painter", "the summer of 1921", "the main station", "a long poem", "the royal family"]  # fmt: skip
    tails = ["", " after a long winter", " according to local records", " with the help of the town council",
             " during the war", " for the third time", " despite heavy rain"]  # fmt: skip
    with path.open("w", encoding="utf-8") as out:
        for _ in range(lines):
            sentences = [f"{rng.choice(subjects).capitalize()} {rng.choice(verbs)} {rng.choice(objects)}{rng.choice(tails)}."
                         for _ in range(rng.randint(4, 8))]  # fmt: skip
            out.write(" ".join(sentences) + "\n")


def build_sst2(glue: Path, train: int = 800, dev: int = 200, seed: int = 0) -> None:
    """A small sentiment set in GLUE's SST-2 layout (sentence<TAB>label), labels from the adjectives."""
    rng = random.Random(seed)
    words = {1: ["wonderful", "moving", "funny", "brilliant", "charming", "gripping", "beautiful", "clever"],
             0: ["dull", "tedious", "clumsy", "boring", "lifeless", "predictable", "messy", "tiresome"]}  # fmt: skip
    nouns = ["film", "movie", "story", "script", "cast", "ending", "performance", "plot"]
    forms = ["a {a} {n}", "the {n} is {a} and {b}", "an often {a} , always {b} {n}", "{a} from start to finish",
             "this {n} feels {a}", "what a {a} , {b} {n} ."]  # fmt: skip
    (glue / "SST-2").mkdir(parents=True)
    for split, count in (("train", train), ("dev", dev)):
        rows = ["sentence\tlabel"]
        for _ in range(count):
            label = rng.randint(0, 1)
            a, b = rng.sample(words[label], 2)
            rows.append(f"{rng.choice(forms).format(a=a, b=b, n=rng.choice(nouns))} \t{label}")
        (glue / "SST-2" / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def find_data(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """WikiText-2 and GLUE (with SST-2) under --data, or None for what must be built."""
    if args.builtin_data:
        return None, None
    data = Path(args.data) if args.data else (DEFAULT_DATA if DEFAULT_DATA.is_dir() else None)
    if data is None:
        return None, None
    if not data.is_dir():
        raise refuse(
            f"--data {data} is not a folder: give the folder that holds wikitext-2/ and glue/, or --builtin-data"
        )
    names = ("wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens")
    corpus = next((data / "wikitext-2" / n for n in names if (data / "wikitext-2" / n).is_file()), None)
    glue = data / "glue"
    has_sst2 = all((glue / "SST-2" / f).is_file() for f in ("train.tsv", "dev.tsv"))
    return corpus, glue if has_sst2 else None


# -- the plan -------------------------------------------------------------------------------------


def resume_check(steps: int) -> Check:
    """The resumed run must end with all its steps; its final loss goes beside the uninterrupted run's
    (same options; on a GPU not bit-exact, so reported, not required)."""

    def check(report: dict[str, Any], done: dict[str, dict[str, Any]]) -> tuple[str | None, dict[str, Any]]:
        metrics = report.get("metrics", {})
        other = done.get("distill_fp16", {}).get("numbers", {}).get("metrics", {})
        extra = {}
        if "loss_final" in metrics and "loss_final" in other:
            extra = {"loss_final_uninterrupted": other["loss_final"],
                     "loss_final_abs_diff": abs(metrics["loss_final"] - other["loss_final"])}  # fmt: skip
        if metrics.get("steps") != steps:
            return f"the resumed run ended at step {metrics.get('steps')}, not {steps}", extra
        return None, extra

    return check


def plan(
    work: Path, teacher: str, corpus: Path, glue: Path, steps: int, gpu: dict[str, Any], export: bool
) -> list[Step]:
    """Every step, in order: later steps read the folders earlier ones make."""

    def rep(name: str) -> Path:
        return work / "reports" / f"{name}.json"

    save_every = max(steps // 6, 2)
    no_bf16 = None if gpu.get("bf16", True) else f"{gpu.get('device_name', 'this GPU')} has no bf16"

    def distill(precision: str, out: str, *extra: str) -> list[str]:
        return ["distill", "--teacher", teacher, "--corpus", str(corpus), "--out", str(work / out),
                "--layers", "3", "--fit-teacher-head", "20", "--max-steps", str(steps), "--batch-size", "16",
                "--save-every", str(save_every), "--log-every", "10", "--precision", precision, *extra]  # fmt: skip

    def finetune(name: str, precision: str) -> list[str]:
        return ["finetune", "--model", teacher, "--task", "sst2", "--glue-dir", str(glue), "--train-limit", "500",
                "--epochs", "2", "--precision", precision, "--out", str(work / name.replace("_", "-"))]  # fmt: skip

    made_student, made_classifier = ("distill_fp16", "finetune_fp16") if no_bf16 else ("distill_bf16", "finetune_bf16")
    student, classifier = work / made_student.replace("_", "-"), work / made_classifier.replace("_", "-")
    shapes = ["--batch-sizes", "1,32", "--seq-lengths", "128", "--repeats", "20"]
    bench = ["benchmark", "--model", teacher, "--model", str(student), "--device", "cuda", *shapes]
    bench_export = ["benchmark", "--model", str(classifier), "--model", str(work / "export"), "--batch-sizes", "1,8",
                    "--seq-lengths", "128", "--repeats", "10", "--no-memory"]  # fmt: skip
    ort_cuda = "CUDAExecutionProvider" in gpu.get("onnxruntime_providers", ["CUDAExecutionProvider"])
    no_export = (
        None if export else "export not available: `distil export --help` failed (the command is not in this distilcli)"
    )
    interrupted = work / "distill-fp16-resume"
    exported = work / "export"
    no_ort_cuda = (
        None if ort_cuda else "onnxruntime has no CUDAExecutionProvider: install onnxruntime-gpu to time it on the GPU"
    )
    export_args = [
        "export",
        str(classifier),
        "--out",
        str(exported),
        "--task",
        "sst2",
        "--glue-dir",
        str(glue),
        "--limit",
        "200",
    ]
    steps_ = [
        Step("distill_bf16", distill("bf16", "distill-bf16"), skip=no_bf16),
        Step("distill_fp16", distill("fp16", "distill-fp16")),
        Step("distill_fp16_interrupted", distill("fp16", interrupted.name), expect=INTERRUPTED,
             interrupt=interrupted, note="stopped with SIGINT once its first checkpoint appears (exit 130 expected)"),
        Step("distill_fp16_resume", distill("fp16", interrupted.name, "--resume"),
             needs=["distill_fp16_interrupted"], check=resume_check(steps)),
        Step("finetune_bf16", finetune("finetune_bf16", "bf16"), skip=no_bf16),
        Step("finetune_fp16", finetune("finetune_fp16", "fp16")),
        Step("benchmark_cuda_fp32", bench, needs=[made_student]),
        Step("benchmark_cuda_fp16", [*bench, "--precision", "fp16"], needs=[made_student]),
        Step("export", export_args, needs=[made_classifier], skip=no_export),
        Step("benchmark_export_cpu", [*bench_export, "--device", "cpu"], needs=["export"], skip=no_export),
        Step("benchmark_export_cuda", [*bench_export, "--device", "cuda"], needs=["export"],
             skip=no_export or no_ort_cuda, note="only where onnxruntime-gpu is installed"),
    ]  # fmt: skip
    for step in steps_:  # every command writes its report; the interrupted one is not read
        if "-o" not in step.args:
            step.args = [*step.args, "-o", str(rep(step.name))]
        step.report = None if step.interrupt else rep(step.name)
    return steps_


# -- running --------------------------------------------------------------------------------------


def key_numbers(report: dict[str, Any], work: Path) -> dict[str, Any]:
    """What the summary keeps of a report: its metrics (work-folder paths cut from benchmark labels) and where it ran."""

    def cut(key: str) -> str:
        return key.replace(f"{work}/", "")

    body, config = report.get("body", {}), report.get("config", {})
    numbers: dict[str, Any] = {"primary_metric": cut(str(report.get("primary_metric"))),
                               "metrics": {cut(k): v for k, v in report.get("metrics", {}).items()}}  # fmt: skip
    numbers |= {key: body[key] for key in ("device", "device_name") if isinstance(body.get(key), str)}
    runs = body.get("runs") if isinstance(body.get("runs"), list) else []  # finetune: one entry per seed
    if "device" not in numbers and runs and isinstance(runs[0], dict) and isinstance(runs[0].get("device"), str):
        numbers["device"] = runs[0]["device"]
    numbers |= {"precision": config["precision"]} if "precision" in config else {}
    numbers["env_device"] = report.get("env", {}).get("device")
    return numbers


def wait_and_interrupt(proc: subprocess.Popen, run: Path, deadline: float) -> str | None:
    """Send SIGINT to ``proc`` as soon as a finished checkpoint appears in ``run``; the checkpoint's name."""
    while proc.poll() is None and time.monotonic() < deadline:
        folder = run / "checkpoints"
        found = sorted(p.name for p in folder.iterdir() if CHECKPOINT.match(p.name)) if folder.is_dir() else []
        if found:
            proc.send_signal(signal.SIGINT)
            return found[0]
        time.sleep(0.05)
    return None


def tail(log: Path, lines: int = 3) -> list[str]:
    text = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return [line[:400] for line in text[-lines:]]


def execute(step: Step, work: Path, timeout: float, done: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Run one step; its entry of the summary."""
    entry: dict[str, Any] = {"name": step.name, "command": "distil " + shlex.join(step.args)}
    missing = [f"{name} ({done.get(name, {}).get('status', 'not run')})" for name in step.needs
               if done.get(name, {}).get("status") != "passed"]  # fmt: skip
    if step.skip or missing:
        return entry | {"status": "skipped", "reason": step.skip or f"needs what {', '.join(missing)} makes"}
    log = work / "logs" / f"{step.name}.log"
    began = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", "distilcli", *step.args], stdout=out, stderr=subprocess.STDOUT)
        if step.interrupt is not None:
            entry["checkpoint_seen"] = wait_and_interrupt(proc, step.interrupt, began + timeout)
        try:
            code: int | None = proc.wait(timeout=max(began + timeout - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
    entry |= {"exit_code": code, "wall_s": round(time.monotonic() - began, 2), "log": str(log)}
    problem = verdict(step, entry, work, done)
    entry |= {"status": "failed", "error": problem, "log_tail": tail(log)} if problem else {"status": "passed"}
    return entry


def verdict(step: Step, entry: dict[str, Any], work: Path, done: dict[str, dict[str, Any]]) -> str | None:
    """Why the step failed, or None; adds the report's key numbers to ``entry``."""
    if entry["exit_code"] is None:
        return f"timed out after {entry['wall_s']} s"
    if step.interrupt is not None and entry.get("checkpoint_seen") is None:
        return "no checkpoint appeared: nothing to interrupt (the run ended first, or failed)"
    if entry["exit_code"] != step.expect:
        late = (
            " (the run ended before the SIGINT landed: raise --steps)"
            if step.interrupt is not None and entry["exit_code"] == 0
            else ""
        )
        return f"exit code {entry['exit_code']}, expected {step.expect}{late}"
    if step.interrupt is not None:
        kept = sorted(p.name for p in (step.interrupt / "checkpoints").iterdir() if CHECKPOINT.match(p.name))
        entry["checkpoints_after"] = kept
        return None if kept else "interrupted, but no checkpoint is left to resume from"
    if step.report is None:
        return None
    try:
        report = json.loads(step.report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"no readable report {step.report}: {exc}"
    entry["numbers"] = key_numbers(report, work)
    device = entry["numbers"].get("device")
    wants_gpu = "--device" not in step.args or step.args[step.args.index("--device") + 1] == "cuda"
    if wants_gpu and device is not None and not device.startswith("cuda"):
        return f"ran on {device}, not on the GPU"
    if step.check is None:
        return None
    problem, extra = step.check(report, done)
    entry["numbers"] |= extra
    return problem


# -- main -----------------------------------------------------------------------------------------


def refuse(message: str) -> SystemExit:
    """Exit 2 with one line on stderr."""
    print(message, file=sys.stderr)
    return SystemExit(2)


def probe_gpu() -> dict[str, Any]:
    """torch's view of the GPU (and ONNX Runtime's providers); exits 2 with one line without CUDA."""
    if not glob.glob("/dev/nvidia[0-9]*") and shutil.which("nvidia-smi") is None:
        raise refuse(NO_CUDA)
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=300)
    try:
        info = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise refuse(
            f"{NO_CUDA} (torch could not be asked: {(result.stderr.strip().splitlines() or ['?'])[-1]})"
        ) from None
    if not info.get("cuda"):
        raise refuse(f"{NO_CUDA} (torch {info.get('torch')} sees none)")
    return info


def export_available() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "distilcli", "export", "--help"], capture_output=True, check=False, timeout=300
    )
    return result.returncode == 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--teacher",
        default="minilm-l6",
        help="teacher and fine-tuned model: folder, alias or hub id (default minilm-l6)",
    )
    parser.add_argument(
        "--data", help=f"folder with wikitext-2/ and glue/SST-2/ (default {DEFAULT_DATA}, when it exists)"
    )
    parser.add_argument(
        "--builtin-data", action="store_true", help="generate the corpus and the SST-2 set even when --data has them"
    )
    parser.add_argument("--steps", type=int, default=120, help="optimizer steps of each distillation (default 120)")
    parser.add_argument("--work", type=Path, help="new or empty folder for the runs (default: a temporary folder)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (it is kept anyway when a step fails)"
    )
    parser.add_argument("--out", type=Path, help="also write the JSON summary to this file")
    parser.add_argument("--step-timeout", type=float, default=900, help="seconds one step may take (default 900)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and run nothing (no GPU needed)")
    args = parser.parse_args(argv)
    if args.steps < 12:
        parser.error("--steps must be at least 12 (the interrupted run needs steps left after its first checkpoint)")
    if args.work is not None and args.work.exists() and (not args.work.is_dir() or any(args.work.iterdir())):
        parser.error(f"--work {args.work} must be a new or empty folder")
    return args


def prepare(args: argparse.Namespace, work: Path) -> tuple[Path, Path, dict[str, str]]:
    """The corpus and the GLUE folder (built into ``work`` where --data lacks them, unless a dry run)."""
    corpus, glue = find_data(args)
    sources = {
        "corpus": f"WikiText-2 ({corpus})" if corpus else "built-in templates",
        "sst2": f"GLUE ({glue})" if glue else "built-in templates",
    }
    if corpus is None:
        corpus = work / "corpus.txt"
        if not args.dry_run:
            build_corpus(corpus)
    if glue is None:
        glue = work / "glue"
        if not args.dry_run:
            build_sst2(glue)
    return corpus, glue, sources


def dry_run(steps: list[Step]) -> int:
    for step in steps:
        print(
            f"# {step.name}"
            + (f": {step.note}" if step.note else "")
            + (f" [skipped: {step.skip}]" if step.skip else "")
        )
        print("distil " + shlex.join(step.args))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    gpu = {} if args.dry_run else probe_gpu()
    if args.dry_run:
        work = args.work or Path(tempfile.gettempdir()) / "distil-gpu-check"
    else:
        work = args.work or Path(tempfile.mkdtemp(prefix="distil-gpu-check-"))
    if not args.dry_run:
        for sub in ("reports", "logs"):
            (work / sub).mkdir(parents=True, exist_ok=True)
    corpus, glue, sources = prepare(args, work)
    steps = plan(work, args.teacher, corpus, glue, args.steps, gpu, export_available())
    if args.dry_run:
        return dry_run(steps)
    began, done, entries = time.monotonic(), {}, []
    for number, step in enumerate(steps, 1):
        entries.append(execute(step, work, args.step_timeout, done))
        done[step.name] = entries[-1]
        extra = f" ({entries[-1]['wall_s']} s)" if "wall_s" in entries[-1] else ""
        why = entries[-1].get("error") or entries[-1].get("reason") or ""
        print(
            f"[{number}/{len(steps)}] {step.name}: {entries[-1]['status']}{extra} {why}".rstrip(),
            file=sys.stderr,
            flush=True,
        )
    failed = [e["name"] for e in entries if e["status"] == "failed"]
    keep = args.keep or args.work is not None or bool(failed)
    summary = {"check": "distilcli GPU check (examples/gpu_check.py)", "ok": not failed, "failed": failed,
               "passed": [e["name"] for e in entries if e["status"] == "passed"],
               "skipped": {e["name"]: e["reason"] for e in entries if e["status"] == "skipped"},
               "wall_s": round(time.monotonic() - began, 1), "gpu": gpu, "teacher": args.teacher, "data": sources,
               "distill_steps": args.steps, "work": str(work) if keep else f"{work} (removed: --keep keeps it)", "steps": entries}  # fmt: skip
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
