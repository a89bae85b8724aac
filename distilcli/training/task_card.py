"""The model card of a model trained on a task (fine-tuned, or task-distilled)."""

from __future__ import annotations

from typing import Any


def task_model_card(info: dict[str, Any], tags: list[str], auto_class: str) -> str:
    """The card of the best model of a task run, from its provenance (``info["finetune"]``)."""
    from distilcli.models.card import render_model_card

    ft = info["finetune"]
    best = ft["best"]
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in best["metrics"].items())
    # Older folders lack these two: they were fine-tuned and selected on dev.
    where = "held-out training examples" if ft.get("selected_on") == "holdout" else "dev"
    made_with = ft.get("made_with", "distil finetune")
    verb = "fine-tuned" if made_with == "distil finetune" else "distilled"
    facts = [
        ("base model", f"`{ft['base_model']}` ({ft['model_type']})"),
        (
            "task",
            (
                f"{ft['task_display']} ({ft['train_examples']:,} training examples"
                f"{' of ' + format(ft['train_total'], ',') if ft['train_limit'] else ''}"
                f"{f', and {new:,} new inputs labelled by the teacher' if (new := ft.get('new_inputs')) else ''})"
            ),
        ),
        ("training data", f"`{ft['train_source']}`"),
        ("dev data", f"`{ft['dev_source']}` ({ft['dev_examples']:,} examples)"),
        ("training", f"{ft['steps']:,} steps × batch {ft['batch_size']}, lr {ft['lr']:g}, seed {ft['seed']}"),
        ("best checkpoint", f"step {best['step']:,}, on {where}: {metrics}"),
        ("made with", f"distilcli {ft['distilcli_version']}, `{made_with}`"),
    ]
    summary = (
        f"`{ft['base_model']}` {verb} on {ft['task_display']}; this folder holds the checkpoint with the best "
        f"{ft['primary_metric']} on {where}. Full provenance is in config.json under `distilcli`."
    )
    # The base model is what the weights come from: the teacher for a distilled student.
    base = ft.get("teacher") if verb == "distilled" and ft.get("teacher") else ft["base_model"]
    return render_model_card(
        f"{ft['base_model']} {verb} on {ft['task_display']}",
        summary,
        facts,
        ".",
        tags,
        auto_class=auto_class,
        base_model=base,
        datasets=ft.get("datasets"),
    )
