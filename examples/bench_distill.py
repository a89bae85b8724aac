"""Distillation speed: distilcli's way against the reference implementation's, in one run.

    python examples/bench_distill.py --corpus ../shared/data/wikitext-2/wiki.valid.tokens

Both ways distill ``minilm-l6`` into a 3-layer student (layers 0,2,4) with the same triple
loss (α_ce 5, α_mlm 2, α_cos 1, T 2) on the same chunks of the same corpus:

- reference: random batches (no length grouping), and the MLM head applied at every position
  of the padded batch, teacher and student, as HF's distillation/distiller.py does;
- distilcli: length-grouped batches, and the MLM head applied only at real tokens.

The figure is real (non-padding) tokens per second of training. A small warm-up is
excluded; both use the same number of optimizer steps. Writes a JSON file with both runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True, help="text file, a document per line (e.g. wiki.valid.tokens)")
    parser.add_argument("--teacher", default="minilm-l6")
    parser.add_argument("--layer-map", default="0,2,4")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=25, help="timed optimizer steps per way")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternate the two ways this many times")
    parser.add_argument("--output", default="runs/bench/bench_distill.json")
    args = parser.parse_args()

    from distilcli.data.batching import LengthGroupedBatchSampler, pad_collate
    from distilcli.data.chunks import token_counts, tokenize_corpus
    from distilcli.data.corpus import CorpusSpec
    from distilcli.data.masking import DynamicMasker, mlm_token_weights
    from distilcli.distill.losses import select_tokens
    from distilcli.distill.objective import DistillationObjective
    from distilcli.distill.modules import DistillationStudent, teacher_forward
    from distilcli.models.aliases import cache_root
    from distilcli.models.loading import load_mlm_model, load_tokenizer
    from distilcli.models.student import build_student, parse_layer_map

    torch.manual_seed(0)
    teacher = load_mlm_model(args.teacher)
    tokenizer = load_tokenizer(teacher.ref)
    layer_map = parse_layer_map(args.layer_map)
    dataset = tokenize_corpus(CorpusSpec(args.corpus), tokenizer, args.max_seq_length, cache_dir=cache_root() / "corpora")
    ids: list[list[int]] = dataset["input_ids"]
    weights = mlm_token_weights(token_counts(dataset, len(tokenizer)), tokenizer.all_special_ids)
    masker = DynamicMasker(weights, tokenizer.mask_token_id, len(tokenizer))
    collate = pad_collate(tokenizer.pad_token_id)
    needed = (args.warmup + args.steps) * args.rounds
    grouped = list(LengthGroupedBatchSampler([len(x) for x in ids], args.batch_size, seed=0))[:needed]
    # The same sequences, batched at random as the reference does by default.
    chosen = [i for batch in grouped for i in batch]
    shuffled = torch.randperm(len(chosen), generator=torch.Generator().manual_seed(0)).tolist()
    random_batches = [[chosen[j] for j in shuffled[k : k + args.batch_size]] for k in range(0, len(chosen), args.batch_size)]

    objective = DistillationObjective()  # 5 / 2 / 1, T = 2
    student_model = build_student(teacher, layer_map)
    student = DistillationStudent(student_model, teacher.adapter, objective).train()
    optimizer = torch.optim.AdamW(student.parameters(), lr=5e-4, betas=(0.9, 0.98), eps=1e-6)

    def masked(indices: list[int], seed: int) -> dict[str, torch.Tensor]:
        batch = collate([{"input_ids": ids[i]} for i in indices])
        masked_ids, labels = masker(batch["input_ids"], batch["attention_mask"], torch.Generator().manual_seed(seed))
        return {"input_ids": masked_ids, "attention_mask": batch["attention_mask"], "labels": labels}

    def ours(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        select = batch["attention_mask"].bool()
        t_out = teacher_forward(teacher.model, teacher.adapter, objective, batch["input_ids"], batch["attention_mask"], select, layer_map)
        return student(batch["input_ids"], batch["attention_mask"], batch["labels"], select, t_out)["loss"]

    def reference(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        # HF distiller.py: full forward passes, vocabulary logits at every position, then selection.
        mask = batch["attention_mask"].bool()
        s_out = student_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
        with torch.no_grad():
            t_out = teacher.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
        return objective(
            student_logits=select_tokens(s_out.logits, mask),
            teacher_logits=select_tokens(t_out.logits, mask),
            mlm_logits=select_tokens(s_out.logits, mask),
            mlm_labels=select_tokens(batch["labels"], mask),
            student_last_hidden=select_tokens(s_out.hidden_states[-1], mask),
            teacher_last_hidden=select_tokens(t_out.hidden_states[-1], mask),
        )["loss"]

    def run(step_fn, batches: list[list[int]], label: str) -> dict[str, float]:
        tokens = padded = 0
        seconds = 0.0
        for n, indices in enumerate(batches):
            batch = masked(indices, n)
            start = time.perf_counter()
            loss = step_fn(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 5.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if n >= args.warmup:
                seconds += time.perf_counter() - start
                tokens += int(batch["attention_mask"].sum())
                padded += batch["attention_mask"].numel()
        result = {"tokens_per_s": tokens / seconds, "seconds": seconds, "real_tokens": tokens, "padded_positions": padded}
        print(f"{label:>10}: {result['tokens_per_s']:8.1f} real tokens/s  ({tokens} tokens, {padded - tokens} padding, {seconds:.1f} s)")
        return result

    per_round = args.warmup + args.steps
    results: dict[str, list[dict[str, float]]] = {"reference": [], "distilcli": []}
    for r in range(args.rounds):  # alternate, so machine noise falls on both
        sl = slice(r * per_round, (r + 1) * per_round)
        results["reference"].append(run(reference, random_batches[sl], "reference"))
        results["distilcli"].append(run(ours, grouped[sl], "distilcli"))

    def total(name: str) -> float:
        return sum(x["real_tokens"] for x in results[name]) / sum(x["seconds"] for x in results[name])

    summary = {"reference_tokens_per_s": total("reference"), "distilcli_tokens_per_s": total("distilcli")}
    summary["speedup"] = summary["distilcli_tokens_per_s"] / summary["reference_tokens_per_s"]
    print(f"speed-up: {summary['speedup']:.2f}x  ({summary['distilcli_tokens_per_s']:.0f} vs {summary['reference_tokens_per_s']:.0f} real tokens/s)")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "threads": torch.get_num_threads(), "summary": summary, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
