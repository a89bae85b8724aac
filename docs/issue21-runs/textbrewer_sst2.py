"""TextBrewer's side of the toolkit comparison of issue 21 (SST-2, 2,000 examples, 3-layer student).

The same 2,000 training examples as ``distil distill --task sst2 --train-limit 2000`` (the same fixed
draw), the same teacher and student folders, batch 32, length 128, temperature 2, lr 1e-4, soft-target
and gold-label weights 1 and 1, 3 epochs; everything else as TextBrewer's own GLUE examples do it:
features padded to 128 tokens in a TensorDataset, random batches, AdamW with weight decay 0.01 (none on
biases and LayerNorm), linear schedule with 10% warm-up, gradient clipping 1.0, TextBrewer's soft
cross-entropy (no T²). Dev accuracy is measured after every epoch and the best kept, as ``distil``
chooses its checkpoint on dev by default. Training time excludes the dev evaluations.

Run (TextBrewer 0.2.1.post1 installed with ``pip install --no-deps --target TB textbrewer``)::

    PYTHONPATH=TB OMP_NUM_THREADS=1 python textbrewer_sst2.py --teacher TEACHER --student INIT3 \
        --glue-dir GLUE --seed 1 --out tb-s1.json
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from textbrewer import DistillationConfig, GeneralDistiller, TrainingConfig
from torch.utils.data import DataLoader, TensorDataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup


def read_sst2(path: Path) -> tuple[list[str], list[int]]:
    """Sentences and labels of a GLUE SST-2 TSV (header ``sentence\\tlabel``)."""
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, body = rows[0], rows[1:]
    s, y = header.index("sentence"), header.index("label")
    return [r[s] for r in body], [int(r[y]) for r in body]


def subsample(n: int, limit: int) -> list[int]:
    """distil's fixed draw for --train-limit (numpy default_rng(0), sorted): the very same examples."""
    return sorted(np.random.default_rng(0).choice(n, size=limit, replace=False).tolist())


def features(tokenizer, sentences: list[str], labels: list[int], length: int) -> TensorDataset:
    enc = tokenizer(sentences, max_length=length, padding="max_length", truncation=True, return_tensors="pt")
    return TensorDataset(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"], torch.tensor(labels))


def to_inputs(batch) -> dict[str, torch.Tensor]:
    ids, mask, types, labels = batch
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "labels": labels}


def accuracy(model, dev: TensorDataset) -> float:
    model.eval()
    right = 0
    with torch.no_grad():
        for batch in DataLoader(dev, batch_size=128):
            inputs = to_inputs(batch)
            labels = inputs.pop("labels")
            right += (model(**inputs).logits.argmax(-1) == labels).sum().item()
    model.train()
    return right / len(dev)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--teacher", required=True)
    p.add_argument("--student", required=True)
    p.add_argument("--glue-dir", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    begin = time.perf_counter()
    random.seed(a.seed), np.random.seed(a.seed), torch.manual_seed(a.seed)

    tokenizer = AutoTokenizer.from_pretrained(a.teacher)
    sentences, labels = read_sst2(Path(a.glue_dir) / "SST-2" / "train.tsv")
    keep = subsample(len(sentences), a.train_limit)
    train = features(tokenizer, [sentences[i] for i in keep], [labels[i] for i in keep], 128)
    dev = features(tokenizer, *read_sst2(Path(a.glue_dir) / "SST-2" / "dev.tsv"), 128)
    teacher = AutoModelForSequenceClassification.from_pretrained(a.teacher).eval()
    student = AutoModelForSequenceClassification.from_pretrained(a.student, num_labels=2)

    loader = DataLoader(train, batch_size=32, shuffle=True, collate_fn=lambda rows: to_inputs(
        [torch.stack(col) for col in zip(*rows)]), generator=torch.Generator().manual_seed(a.seed))
    steps = len(loader) * a.epochs
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in student.named_parameters() if not any(k in n for k in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in student.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=1e-4)

    def adaptor(batch, outputs):
        return {"logits": outputs.logits, "losses": [outputs.loss]}

    history: list[float] = []
    eval_s = [0.0]

    def callback(model, step):
        t = time.perf_counter()
        history.append(accuracy(model, dev))
        eval_s[0] += time.perf_counter() - t

    out_dir = Path(a.out).with_suffix("")
    train_config = TrainingConfig(device="cpu", output_dir=str(out_dir), log_dir=str(out_dir / "log"))
    distill_config = DistillationConfig(temperature=2, hard_label_weight=1, kd_loss_type="ce", kd_loss_weight=1)
    distiller = GeneralDistiller(train_config, distill_config, teacher, student, adaptor, adaptor)
    start = time.perf_counter()
    with distiller:
        distiller.train(optimizer, loader, num_epochs=a.epochs, callback=callback, max_grad_norm=1.0,
                        scheduler_class=get_linear_schedule_with_warmup,
                        scheduler_args={"num_warmup_steps": int(0.1 * steps), "num_training_steps": steps})
    wall = time.perf_counter() - start
    result = {"tool": "textbrewer", "seed": a.seed, "accuracy": max(history), "per_epoch": history,
              "steps": steps, "train_wall_s": wall - eval_s[0], "eval_s": eval_s[0],
              "total_s": time.perf_counter() - begin, "train_examples": len(train), "threads": torch.get_num_threads()}
    Path(a.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
