"""Corpus preparation at scale: MB/s, peak memory, time to the first training step, and a restart from the cache.

    python examples/bench_corpus.py --sizes 0.25,1,4 --out runs/bench-corpus [--num-proc 1,2]

Builds corpora of the given sizes in GB (WikiText-2 from ../shared/data, or --source, repeated and
shuffled at the sentence level: no two copies of the text in the same order), then, for each size and
each --num-proc, runs in a fresh process, with an empty cache:

  ``distil distill --teacher minilm-l6 --layer-map 0,2,4 --corpus C --max-steps 1 --num-proc N``
  (cosine loss only: what is timed is the corpus, not the losses)

and once more with the cache in place (the restart). Each run's peak memory is the largest sum of the
resident memory of the process and its workers, sampled every 0.1 s; "to first step" is the time until
the run prints its first step. Preparation MB/s is the corpus size over the time the first run spent
before its first step, less the restart's (what the cache saves); "cores busy" is the CPU seconds of the
process and its workers spent on that preparation (the first run's less the restart's) over its wall
seconds: 2.0 on two cores means both were kept busy. Prints one JSON summary and writes it to
OUT/bench-corpus.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")


def build_corpus(source: Path, size_gb: float, path: Path, seed: int = 0) -> int:
    """Write ``size_gb`` GB of ``source``'s sentences, reshuffled on every pass, one paragraph of 8 per line."""
    if path.is_file() and path.stat().st_size >= size_gb * 1e9 * 0.99:
        return path.stat().st_size
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    sentences = []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("="):  # WikiText headings
                sentences.extend(s for s in SENTENCE_END.split(line) if s)
    rng, written, target = random.Random(seed), 0, int(size_gb * 1e9)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        while written < target:
            rng.shuffle(sentences)
            for start in range(0, len(sentences), 8):
                line = " ".join(sentences[start : start + 8]) + "\n"
                out.write(line)
                written += len(line.encode("utf-8"))
                if written >= target:
                    break
    tmp.replace(path)
    return path.stat().st_size


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def timed_run(command: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``command``; seconds to its first "step " line and in all, the CPU seconds of its whole tree
    (the workers included: each is waited for), and the peak resident memory of its tree."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    first_step: float | None = None
    peak = 0
    with log.open("w", encoding="utf-8") as sink:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        assert proc.stdout is not None
        for line in proc.stdout:
            sink.write(line)
            if first_step is None and line.startswith("step "):
                first_step = time.perf_counter() - start
        code = proc.wait()
        done.set()
        sampler.join()
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit {code}: see {log}")
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {
        "to_first_step_s": round(first_step or float("nan"), 1),
        "wall_s": round(time.perf_counter() - start, 1),
        "cpu_s": round(cpu_s, 1),
        "peak_rss_mb": round(peak / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.25,1,4", help="corpus sizes in GB, comma separated")
    parser.add_argument("--num-proc", default="2", help="tokenising processes to compare, comma separated")
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[2] / "shared/data/wikitext-2"))
    parser.add_argument("--teacher", default="minilm-l6")
    parser.add_argument("--out", default="runs/bench-corpus")
    args = parser.parse_args()

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for size in [float(s) for s in args.sizes.split(",")]:
        corpus = out / f"corpus-{size:g}gb.txt"
        nbytes = build_corpus(Path(args.source), size, corpus)
        for num_proc in [int(n) for n in args.num_proc.split(",")]:
            cache = out / f"cache-{size:g}gb-np{num_proc}"
            subprocess.run(["rm", "-rf", str(cache)], check=True)
            env = {**os.environ, "DISTILCLI_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
            command = [sys.executable, "-m", "distilcli", "distill", "--teacher", args.teacher, "--layer-map", "0,2,4",
                       "--corpus", str(corpus), "--max-steps", "1", "--batch-size", "8", "--alpha-ce", "0", "--alpha-mlm", "0",
                       "--num-proc", str(num_proc), "--out", str(out / "run"), "--overwrite"]  # fmt: skip
            first = timed_run(command, env, out / f"first-{size:g}gb-np{num_proc}.log")
            again = timed_run(command, env, out / f"restart-{size:g}gb-np{num_proc}.log")
            prepare_s = first["to_first_step_s"] - again["to_first_step_s"]
            # What preparing alone cost: the first run less the restart (the same run, the cache in place).
            prepare_cpu_s = first["cpu_s"] - again["cpu_s"]
            row = {
                "size_gb": size,
                "bytes": nbytes,
                "num_proc": num_proc,
                "first": first,
                "restart": again,
                "prepare_s": round(prepare_s, 1),
                "prepare_mb_per_s": round(nbytes / 1e6 / prepare_s, 2),
                "prepare_cores_busy": round(prepare_cpu_s / prepare_s, 2),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
            subprocess.run(["rm", "-rf", str(cache)], check=True)
    summary = {"command": " ".join(sys.argv), "cpus": os.cpu_count(), "results": results}
    (out / "bench-corpus.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
