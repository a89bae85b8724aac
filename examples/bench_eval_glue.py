"""distilcli's GLUE evaluation against transformers' own ``Trainer.evaluate``: same model, same dev set.

    python examples/bench_eval_glue.py --model runs/glue/sst2 --task sst2 --glue-dir ../shared/data/glue

Both sides start from the same parsed dev examples and end with metrics; each is timed
end to end (tokenisation, inference, metrics) ``--repeats`` times and the median is
kept. The metric values must agree (the script exits 1 when they do not). Trainer runs at
its default eval batch size (8) and at ours, so the speed-up is not just the batch size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np
import torch


def ours(model, tokenizer, adapter, task, examples, batch_size: int, max_len: int) -> tuple[dict, float]:
    from distilcli.tasks.glue.predict import logits_to_predictions, predict_logits
    from distilcli.tasks.glue.features import encode
    from distilcli.tasks.glue.metrics import score_predictions

    start = time.perf_counter()
    features = encode(examples, tokenizer, adapter, max_len)
    logits = predict_logits(model, features, tokenizer.pad_token_id, batch_size=batch_size, device="cpu")
    metrics = score_predictions(task, logits_to_predictions(logits, task.is_regression), [e.label for e in examples])
    return metrics, time.perf_counter() - start


def trainer(model, tokenizer, adapter, task, examples, batch_size: int, max_len: int) -> tuple[dict, float]:
    import datasets
    from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments

    from distilcli.tasks.glue.metrics import score_predictions

    def compute_metrics(prediction):
        logits = prediction.predictions
        predicted = logits[:, 0] if task.is_regression else logits.argmax(axis=1)
        return score_predictions(task, predicted, prediction.label_ids)

    start = time.perf_counter()
    columns = {"a": [e.text_a for e in examples], "label": [e.label for e in examples]}
    if examples[0].text_b is not None:
        columns["b"] = [e.text_b for e in examples]
    dataset = datasets.Dataset.from_dict(columns)
    dataset = dataset.map(
        lambda batch: tokenizer(batch["a"], batch.get("b"), truncation=True, max_length=max_len,
                                return_token_type_ids=adapter.uses_token_type_ids),
        batched=True, remove_columns=[c for c in columns if c != "label"],
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_eval_batch_size=batch_size, report_to=[], use_cpu=True,
                                 disable_tqdm=True, dataloader_num_workers=0)  # fmt: skip
        runner = Trainer(model=model, args=args, data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=compute_metrics)
        runner.remove_callback(PrinterCallback)  # it prints the metrics dict on every evaluate
        result = runner.evaluate(eval_dataset=dataset)
    metrics = {key.removeprefix("eval_"): value for key, value in result.items() if key.removeprefix("eval_") in (*task.metrics, "score")}
    return metrics, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model fine-tuned on --task")
    parser.add_argument("--task", required=True)
    parser.add_argument("--glue-dir", help="GLUE in the original layout")
    parser.add_argument("--hub-dir", help="the hub's parquet files")
    parser.add_argument("--batch-size", type=int, default=128, help="distilcli's default")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.set_verbosity_error()

    from distilcli.tasks.glue.sources import load_task_split
    from distilcli.tasks.glue.spec import resolve_task
    from distilcli.tasks.glue.head import load_classifier
    from distilcli.models.resolve import resolve_model

    task = resolve_task(args.task)
    split = load_task_split(task, "dev", glue_dir=args.glue_dir, hub_dir=args.hub_dir)
    if split is None:
        sys.exit(f"no {task.display_name} dev set under --glue-dir/--hub-dir")
    loaded = load_classifier(resolve_model(args.model), task, for_training=False)
    model, tokenizer, adapter = loaded.model.eval(), loaded.tokenizer, loaded.adapter
    print(f"{task.display_name} dev: {len(split.examples):,} examples; model {args.model}; {torch.get_num_threads()} threads")

    runs = [("distilcli", ours, args.batch_size), ("Trainer.evaluate", trainer, 8)]
    if args.batch_size != 8:
        runs.append(("Trainer.evaluate", trainer, args.batch_size))
    for name, fn, batch in runs:  # warm-up: first imports (sklearn, scipy, datasets) and allocator growth
        fn(model, tokenizer, adapter, task, split.examples[:64], batch, args.max_seq_length)
    results = {}
    for _ in range(args.repeats):  # interleaved, so machine noise falls on every side alike
        for name, fn, batch in runs:
            metrics, seconds = fn(model, tokenizer, adapter, task, split.examples, batch, args.max_seq_length)
            results.setdefault((name, batch), {"metrics": metrics, "seconds": []})["seconds"].append(seconds)
    reference = results[("distilcli", args.batch_size)]
    base = statistics.median(reference["seconds"])
    agree = True
    for (name, batch), result in results.items():
        seconds = statistics.median(result["seconds"])
        shown = ", ".join(f"{k} {v:.6f}" for k, v in result["metrics"].items())
        print(f"{name:17s} batch {batch:4d}: {seconds:7.2f} s  ({len(split.examples) / seconds:7.1f} ex/s, "
              f"{seconds / base:4.2f}× distilcli's time)  {shown}")  # fmt: skip
        for key, value in reference["metrics"].items():
            if not np.isclose(result["metrics"].get(key, np.nan), value, rtol=0, atol=1e-6):
                agree = False
                print(f"  MISMATCH {key}: {result['metrics'].get(key)} vs distilcli {value}")
    print("metric values agree" if agree else "metric values DIFFER")
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
