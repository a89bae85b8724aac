"""Score a folder `distil export` wrote on GLUE dev with ONNX Runtime alone: no distilcli, no PyTorch model.

A deployment's view of the artifact: the folder's tokenizer and graph, its export.json, a GLUE dev file.
    python examples/score_export.py runs/sst2-onnx --glue-dir glue_data --task sst2   # accuracy
    python examples/score_export.py runs/s3-onnx --glue-dir glue_data --task stsb     # zero-shot Spearman
Prints one JSON line; fails if distilcli was imported along the way.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from transformers import AutoTokenizer


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _run(session: ort.InferenceSession, tokenizer, texts: list, output: str, max_length: int, batch_size: int = 32) -> np.ndarray:
    names = [i.name for i in session.get_inputs()]
    parts = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        pairs = isinstance(chunk[0], tuple)
        first, second = ([a for a, _ in chunk], [b for _, b in chunk]) if pairs else (chunk, None)
        batch = tokenizer(first, second, padding=True, truncation=True, max_length=max_length, return_tensors="np")
        parts.append(session.run([output], {name: batch[name].astype(np.int64) for name in names})[0])
    return np.concatenate(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--glue-dir", type=Path, required=True)
    parser.add_argument("--task", choices=("sst2", "stsb"), required=True)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    manifest = json.loads((args.folder / "export.json").read_text(encoding="utf-8"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(args.folder / manifest["onnx_file"]), options)
    tokenizer = AutoTokenizer.from_pretrained(args.folder)
    began = time.perf_counter()
    if args.task == "sst2":
        rows = _rows(args.glue_dir / "SST-2" / "dev.tsv")
        logits = _run(session, tokenizer, [r["sentence"] for r in rows], "logits", args.max_length)
        gold = np.asarray([int(r["label"]) for r in rows])
        result = {"accuracy": float((logits.argmax(1) == gold).mean()), "examples": len(rows)}
    else:
        from scipy.stats import spearmanr

        rows = _rows(args.glue_dir / "STS-B" / "dev.tsv")
        a = _run(session, tokenizer, [r["sentence1"] for r in rows], "sentence_embedding", args.max_length)
        b = _run(session, tokenizer, [r["sentence2"] for r in rows], "sentence_embedding", args.max_length)
        cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        result = {"spearman": float(spearmanr(cosine, [float(r["score"]) for r in rows]).statistic), "pairs": len(rows)}
    result |= {"onnx_file": manifest["onnx_file"], "seconds": round(time.perf_counter() - began, 1)}
    assert "distilcli" not in sys.modules, "distilcli was imported"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
