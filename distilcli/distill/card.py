"""The model card of a distilled student."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distilcli.data.corpus import looks_like_hub_id
from distilcli.models.card import is_sentence_encoder, layer_choice_facts, render_model_card


def _pooling_facts(pooling: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not pooling:
        return []
    how = "+".join(pooling["modes"]) + (", normalised" if pooling["normalize"] else "")
    return [("sentence embedding", f"{how} pooling ({pooling['source']})")]


def _embedding_facts(embedding: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The student's own tokenizer, its Dense layer and the PCA (--embedding-dim), when it has them."""
    if not embedding:
        return []
    facts = (
        [("tokenizer", "the student's own (each model read the raw sentences)")]
        if embedding["tokenizer"] != "teacher's"
        else []
    )
    if embedding["dense"]:
        dense, fit = embedding["dense"], embedding.get("least_squares")
        start = {"pca": "as the PCA", "random": "at random"}.get(dense["init"], "")
        if fit:
            start = f"as the least-squares map on {fit['sentences']:,} sentences (R² {fit['r2']:.3f})"
        facts.append(("Dense layer", f"{dense['in']} → {dense['out']}, started {start}, trained"))
    if embedding["pca"]:
        pca = embedding["pca"]
        facts.append(
            (
                "embedding dimension",
                (
                    f"{pca['dim']}: the {pca.get('of', 'teacher')}'s PCA on {pca['sentences']:,} sentences "
                    f"keeps {pca['explained_variance']:.1%} of the variance"
                ),
            )
        )
    return facts


def distilled_card(info: dict[str, Any]) -> str:
    """The model card of a distilled student: teacher, layers, losses, corpus, steps, results."""
    d = info["distillation"]
    pairs = ", ".join(f"{i}←{t}" for i, t in enumerate(info["layer_map"]))
    losses = ", ".join(f"{name} ×{alpha:g}" for name, alpha in d["alphas"].items())
    facts = [
        ("teacher", f"`{info['teacher']}` ({info['teacher_model_type']}, {info['teacher_num_layers']} layers)"),
        ("student", f"{info['student_model_type']}, {len(info['layer_map'])} layers"),
        ("layer map (student←teacher)", pairs),
        *layer_choice_facts(info.get("layer_choice")),
        ("losses", f"{losses}; temperature {d['temperature']:g}"),
        *_pooling_facts(d.get("pooling")),
        *_embedding_facts(d.get("embedding")),
        (
            "corpus",
            f"`{d['corpus']}`: "
            + ("read as a stream" if d.get("stream") else f"{d['train_chunks']:,} chunks")
            + f" of at most {d['max_seq_length']} tokens",
        ),
        (
            "training",
            (
                f"{d['steps']:,} steps × batch {d['batch_size']} × accumulation {d['grad_accum']} "
                f"× {d['processes']} process(es)"
            ),
        ),
        ("loss", f"{d['loss_first']:.3f} → {d['loss_final']:.3f}"),
    ]
    if d.get("teacher_head"):
        head = d["teacher_head"]
        facts.append(
            (
                "teacher MLM head",
                (
                    f"fitted for {head['steps']} steps; held-out masked-token accuracy "
                    f"{head['accuracy_before']:.1%} → {head['accuracy_after']:.1%}"
                ),
            )
        )
    facts.append(("made with", f"distilcli {info['distilcli_version']}, `distil distill`"))
    recipe = "the DistilBERT triple loss" if {"ce", "mlm", "cos"} <= set(d["alphas"]) else f"the losses {losses}"
    summary = (
        f"A {len(info['layer_map'])}-layer student distilled from `{info['teacher']}` with {recipe}. "
        "Full provenance is in config.json under `distilcli`."
    )
    # A hub dataset id is named in the metadata; a local corpus only in the facts above.
    corpus = str(d["corpus"] or "")
    datasets = [corpus] if corpus and not Path(corpus).expanduser().exists() and looks_like_hub_id(corpus) else None
    return render_model_card(
        f"Distilled from {info['teacher']}",
        summary,
        facts,
        ".",
        ["distilcli", "distillation", "distilbert-recipe"],
        base_model=info["teacher"],
        datasets=datasets,
        sentence_encoder=is_sentence_encoder(info["teacher_path"]) or bool((d.get("embedding") or {}).get("dense")),
    )
