"""How much padding each batching policy leaves on a GLUE training set, and how mixed its batches are.

    python examples/bench_batching.py --glue-dir ../shared/data/glue --task sst2 --train-limit 2000

Counts, over the epochs of a run, the token slots every micro-batch fills (its examples × its
longest): the work an encoder does, without timing noise. Policies: random batches
(``--no-length-grouping``), the reference's mega-batches of 50 batches sorted by length
(``--length-split 1``), and random batches cut by length into 4 or 8 micro-batches (``--length-split``,
4 is the default of task runs). The spread of lengths inside an optimizer step's batch (mean
standard deviation) shows how mixed its sentences are: a split batch is the random batch.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glue-dir", required=True)
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--train-limit", type=int, default=2000)
    parser.add_argument("--model", default="minilm-l6", help="whose tokenizer counts the tokens")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    from distilcli.models.loading import load_tokenizer
    from distilcli.models.resolve import resolve_model
    from distilcli.tasks.registry import get_task
    from distilcli.training.batches import Batches
    from distilcli.training.options import TaskOptions

    entry = get_task(args.task)
    opts = TaskOptions(out=Path("unused"), glue_dir=Path(args.glue_dir), train_limit=args.train_limit, batch_size=args.batch_size,
                       max_seq_length=args.max_seq_length)  # fmt: skip
    data = entry.load_data(opts)
    ref = resolve_model(args.model)
    tokenizer = load_tokenizer(ref)
    from distilcli.models.adapters import adapter_for
    from distilcli.models.loading import load_config

    ids = entry.features(data.train_examples, tokenizer, adapter_for(load_config(ref)), opts).input_ids
    real = sum(len(x) for x in ids) * args.epochs
    print(f"{args.task}: {len(ids)} examples, {real // args.epochs:,} real tokens an epoch, batch {args.batch_size}")
    print(f"{'policy':<28} {'token slots':>12} {'padding':>8} {'vs random':>9} {'length sd in a batch':>21}")
    results = {}
    policies = (("random", {"group_by_length": False}), ("grouped, 50 batches", {"length_split": 1}),
                ("split into 4 (default)", {"length_split": 4}), ("split into 8", {"length_split": 8}))  # fmt: skip
    for name, change in policies:
        policy = TaskOptions(out=Path("unused"), batch_size=args.batch_size, seed=1, **change)
        batches = Batches(policy, ids, tokenizer.pad_token_id, 0, 1)
        slots, spread = 0, []
        for epoch in range(args.epochs):
            for step in batches.steps(epoch):
                for micro in step:
                    lengths = [len(ids[i]) for i in micro]
                    slots += len(lengths) * max(lengths)
                spread.append(statistics.pstdev([len(ids[i]) for micro in step for i in micro]))
        results[name] = slots
        print(f"{name:<28} {slots:>12,} {1 - real / slots:>8.1%} {results['random'] / slots:>8.2f}× {statistics.fmean(spread):>21.1f}")


if __name__ == "__main__":
    main()
