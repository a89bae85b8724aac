"""Rich rendering of reports and comparisons (used by the CLI only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from distilcli.reports.compare import Comparison
from distilcli.reports.schema import Report


def fmt(value: Any) -> str:
    """Integers with thousands separators, floats to 4 significant decimals, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1000):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _inspect_body(body: dict[str, Any], console: Console) -> None:
    params = body["parameters"]
    table = Table(title=f"{body['model']['spec']}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("type", body["model_type"]),
        ("layers", body["num_layers"]),
        ("hidden size", body["hidden_size"]),
        ("attention heads", body["num_attention_heads"]),
        ("intermediate size", body["intermediate_size"]),
        ("vocab size", body["vocab_size"]),
        ("max positions", body["max_position_embeddings"]),
        ("parameters, total", params["total"]),
        ("  embeddings", params["embeddings"]),
        ("  encoder", params["encoder"]),
        ("MLM head (own weights)", params["mlm_head"]),
        ("trained MLM head", body["has_trained_mlm_head"]),
        ("token type ids", body["uses_token_type_ids"]),
        ("folder", body["model"]["path"]),
    ]
    if body.get("distilcli"):
        info = body["distilcli"]
        rows.append(("teacher", f"{info.get('teacher')} (layers {info.get('layer_map')})"))
    for key, value in rows:
        table.add_row(key, fmt(value))
    console.print(table)


def _student_body(body: dict[str, Any], console: Console) -> None:
    table = Table(title="student", show_header=True, title_justify="left")
    for column in ("", "teacher", "student"):
        table.add_column(column)
    table.add_row("type", body["teacher_model_type"], body["student_model_type"])
    table.add_row("layers", fmt(body["teacher_num_layers"]), fmt(len(body["layer_map"])))
    for part in ("total", "embeddings", "encoder", "mlm_head"):
        table.add_row(
            f"parameters, {part}", fmt(body["teacher_parameters"][part]), fmt(body["student_parameters"][part])
        )
    console.print(table)
    pairs = ", ".join(f"{i}←{t}" for i, t in enumerate(body["layer_map"]))
    console.print(f"layer map (student←teacher): {pairs}", soft_wrap=True)
    if not body["teacher_mlm_head_trained"]:
        console.print(
            "note: the teacher has no trained MLM head; the student's head is freshly initialised", soft_wrap=True
        )


def _eval_glue_body(body: dict[str, Any], console: Console) -> None:
    # Every number as the report and the gates have it (fractions, 4 decimals): one scale per metric.
    limit = f", a --limit {body['limit']:,} subsample of each" if body.get("limit") else ""
    table = Table(title=f"GLUE dev{limit}", show_header=True, title_justify="left")
    for column in ("task", "examples", "metrics", "score", "retention", "examples/s"):
        table.add_column(column, justify="left" if column in ("task", "metrics") else "right")
    retention = (body.get("retention") or {}).get("teacher_scores") or {}
    for name, task in body["tasks"].items():
        if task["status"] != "ok":
            table.add_row(task["display_name"], "—", f"missing: {task['reason']}", "—", "—", "—")
            continue
        metrics = task["metrics"]
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "score")
        kept = f"{metrics['score'] / retention[name]:.4f}" if retention.get(name) else "—"
        speed = f"{task['examples_per_s']:,.0f}" if task.get("examples_per_s") else "—"
        examples = fmt(task["examples"])
        if task.get("examples_total") and task["examples_total"] != task["examples"]:
            examples += f" of {task['examples_total']:,}"
        table.add_row(task["display_name"], examples, shown, f"{metrics['score']:.4f}", kept, speed)
    console.print(table)
    macro = body.get("macro")
    if macro and macro["metric"].endswith("_partial"):
        counted = f"over {macro['tasks_measured']} of the {macro['tasks_expected']} tasks asked for"
        console.print(f"{macro['metric']}: {counted} (missing: {', '.join(macro['missing'])})", soft_wrap=True)
    _gates(body.get("gates", []), ".4f", console)


def _eval_sts_body(body: dict[str, Any], console: Console) -> None:
    of = f" of {body['pairs_total']:,}, --limit" if body.get("pairs_total", body["pairs"]) != body["pairs"] else ""
    title = f"zero-shot STS: {body['source']} ({body['pairs']:,}{of} pairs, {body['sentences']:,} sentences)"
    table = Table(title=title, show_header=True, title_justify="left")
    for column in ("#", "model", "pooling", "spearman", "pearson", "retention", "sentences/s"):
        table.add_column(column, justify="left" if column in ("model", "pooling") else "right")
    for number, row in enumerate(body["models"], 1):
        # The report's scale (a ratio, 4 decimals), as in the metrics table below.
        retention = f"{row['retention']:.4f}" if row.get("retention") is not None else "—"
        table.add_row(
            str(number),
            row["model"],
            row["pooling"],
            f"{row['spearman']:.4f}",
            f"{row['pearson']:.4f}",
            retention,
            f"{row['sentences_per_s']:,.0f}",
        )
    console.print(table)
    _gates(body.get("gates", []), ".4f", console)


def _eval_retrieval_body(body: dict[str, Any], console: Console) -> None:
    total = body.get("queries_total", body["queries"])
    of = f" of {total:,}, --limit" if total != body["queries"] else ""
    counts = f"{body['queries']:,}{of} queries, {body['passages']:,} passages"
    title = f"zero-shot retrieval: {body['source']} ({counts}, exact cosine search)"
    table = Table(title=title, show_header=True, title_justify="left")
    names = ("ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100")
    for column in ("#", "model", "pooling", *names, "retention", "texts/s"):
        table.add_column(column, justify="left" if column in ("model", "pooling") else "right")
    for number, row in enumerate(body["models"], 1):
        # The report's scale (fractions and a ratio, 4 decimals), as in the metrics table below.
        retention = f"{row['retention']:.4f}" if row.get("retention") is not None else "—"
        values = (f"{row[name]:.4f}" for name in names)
        table.add_row(str(number), row["model"], row["pooling"], *values, retention, f"{row['texts_per_s']:,.0f}")
    console.print(table)
    _gates(body.get("gates", []), ".4f", console)


def _suggest_layers_body(body: dict[str, Any], console: Console) -> None:
    cka = body["cka"]
    table = Table(title="linear CKA between teacher layers", show_header=True, title_justify="left")
    table.add_column("layer", justify="right")
    for k in range(len(cka)):
        table.add_column(str(k), justify="right")
    for k, row in enumerate(cka):
        mark = " *" if k in body["layer_map"] else ""
        table.add_row(f"{k}{mark}", *(f"{v:.2f}" for v in row))
    console.print(table)
    console.print(
        f"proposed --layer-map {','.join(map(str, body['layer_map']))} (* above); evenly spread: "
        f"{','.join(map(str, body['uniform_map']))}",
        soft_wrap=True,
    )


def _gates(gates: list[dict[str, Any]], digits: str, console: Console) -> None:
    """One line per --fail-under outcome; ``digits`` formats the values (fractions or percentages)."""
    for gate in gates:
        mark = "pass" if gate["passed"] else "FAIL"
        value = "not measured" if gate["value"] is None else format(gate["value"], digits)
        console.print(f"gate {gate['gate']}: {gate['metric']} {value} (bar {gate['bar']:g}) {mark}", soft_wrap=True)


def _finetune_body(body: dict[str, Any], console: Console) -> None:
    table = Table(title=f"{body['task_display']} dev, by evaluation", show_header=True, title_justify="left")
    runs = body["runs"]
    table.add_column("seed", justify="right")
    table.add_column("step", justify="right")
    table.add_column("train loss", justify="right")
    # Counts and thresholds (SQuAD's total, missing_predictions, best_f1_thresh) are in the metrics table below.
    metric_names = [
        n
        for n in runs[0]["best"]["metrics"]
        if not (n == "total" or n.endswith(("_total", "_thresh")) or n.startswith("missing_"))
    ]
    for name in metric_names:
        table.add_column(name, justify="right")
    for run in runs:
        for entry in run["history"]:
            best = " *" if entry["step"] == run["best"]["step"] else ""
            loss = "—" if entry["train_loss"] is None else f"{entry['train_loss']:.4f}"
            table.add_row(
                str(run["seed"]), f"{entry['step']}{best}", loss, *(f"{entry['metrics'][n]:.4f}" for n in metric_names)
            )
    console.print(table)
    limit = (
        f" (a {body['train_limit']:,}-example subsample of {body['train_total']:,})" if body.get("train_limit") else ""
    )
    console.print(
        f"trained on {body['train_source']}{limit}; * = best checkpoint, kept in {body['model_dir']}", soft_wrap=True
    )


def _eval_squad_body(body: dict[str, Any], console: Console) -> None:
    questions = f"{body['questions']:,} questions, {body['articles']:,} articles"
    if body.get("questions_total", body["questions"]) != body["questions"]:
        questions = f"{body['questions']:,} of its {body['questions_total']:,} questions (--limit)"
    console.print(f"{body['task_display']}: {body['dev_source']} ({questions})", soft_wrap=True)
    if body.get("mode") == "model":
        console.print(
            f"model {body['model']} ({body['model_type']}): "
            f"{body['windows']:,} windows of {body['max_seq_length']} tokens, "
            f"doc stride {body['doc_stride']}, on {body['device']}",
            soft_wrap=True,
        )
    else:
        console.print(
            f"predictions {body['predictions']}"
            + (f", null odds {body['null_odds']}" if body.get("null_odds") else ""),
            soft_wrap=True,
        )
    _gates(body.get("gates", []), ".2f", console)


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e6:,.1f}"


def _benchmark_body(body: dict[str, Any], console: Console) -> None:
    from rich.markup import escape  # labels such as "minilm-l6 [int8]" are not markup

    timed = "passes" if body["mode"] == "paper" else "runs"
    console.print(
        f"{body['device_name']} ({body['device']}), {body['threads']} threads; "
        f"{body['warmup']} warm-up and {body['repeats']} timed {timed} per model, interleaved",
        soft_wrap=True,
    )
    models = Table(title=f"models (ratios to {escape(body['baseline'])})", title_justify="left")
    for column in (
        "model",
        "layers",
        "parameters",
        "embeddings",
        "encoder",
        "fewer params",
        "size MB",
        "peak MB",
        "max |Δ| vs eager",
        "cosine",
    ):
        models.add_column(column, justify="left" if column == "model" else "right", overflow="fold")
    for model in body["models"]:
        params, memory, diff = model["parameters"], model["memory"], model["output_diff"]
        reduction = model["parameter_reduction"]
        models.add_row(
            escape(model["label"]),
            str(model["num_layers"]),
            fmt(params["total"]),
            fmt(params["embeddings"]),
            fmt(params["encoder"]),
            "—" if reduction is None else f"{reduction:.1%}",
            _mb(model["variant_bytes"]),
            "—" if not memory else f"{memory['peak_mb']:,.0f}",
            "—" if not diff else f"{diff['max_abs_diff']:.2e}",
            "—" if not diff else f"{diff['mean_cosine']:.4f}",
        )
    console.print(models)
    if body["mode"] == "paper":
        paper = body["paper"]
        table = Table(title=f"STS-B dev: {paper['examples']:,} pairs at batch size 1", title_justify="left")
        for column in ("model", "total s", "p50 ms", "p90 ms", "p99 ms", "pairs/s", "speed-up"):
            table.add_column(column, justify="left" if column == "model" else "right", overflow="fold")
        for row in paper["results"]:
            lat = row["latency_ms"]
            speed = "—" if row["speedup"] is None else f"{row['speedup']:.2f}×"
            table.add_row(
                escape(row["label"]),
                f"{row['total_s']:.2f}",
                f"{lat['p50']:.2f}",
                f"{lat['p90']:.2f}",
                f"{lat['p99']:.2f}",
                f"{row['examples_per_s']:.1f}",
                speed,
            )
        console.print(table)
        return
    table = Table(title="latency (ms) and throughput", title_justify="left")
    for column in ("batch×length", "model", "p50", "p90", "p99", "mean", "seq/s", "tokens/s", "speed-up"):
        table.add_column(column, justify="left" if column in ("batch×length", "model") else "right", overflow="fold")
    for shape in body["shapes"]:
        for index, row in enumerate(shape["results"]):
            lat = row["latency_ms"]
            speed = "—" if row["speedup"] is None else f"{row['speedup']:.2f}×"
            table.add_row(
                f"{shape['batch_size']}×{shape['seq_length']}" if index == 0 else "",
                escape(row["label"]),
                *(f"{lat[k]:.2f}" for k in ("p50", "p90", "p99", "mean")),
                f"{row['sequences_per_s']:,.1f}",
                f"{row['tokens_per_s']:,.0f}",
                speed,
                end_section=index == len(shape["results"]) - 1,
            )
    console.print(table)


def _models_body(body: dict[str, Any], console: Console) -> None:
    aliases = Table(title="packaged aliases (pass as a model reference)", title_justify="left")
    for column in ("alias", "what", "installed"):
        aliases.add_column(column)
    for row in body["aliases"]:
        installed = "yes" if row["installed"] else f"no: {row['install']}"
        aliases.add_row(row["name"], row["description"], installed)
    console.print(aliases)
    archs = Table(title="supported architectures", title_justify="left")
    archs.add_column("model_type")
    archs.add_column("examples")
    for row in body["architectures"]:
        archs.add_row(row["model_type"], row["description"])
    console.print(archs)
    console.print("Also accepted: a local folder in Hugging Face format, or a hub id where the hub is reachable.")


def _pipeline_body(body: dict[str, Any], console: Console) -> None:
    from rich.markdown import Markdown

    console.print(Markdown(body["tables"]))


def _compare_body(body: dict[str, Any], console: Console) -> None:
    render_comparison(Comparison.from_dict(body), console)


BODY_RENDERERS: dict[str, Callable[[dict[str, Any], Console], None]] = {
    "models": _models_body,
    "report compare": _compare_body,
    "benchmark": _benchmark_body,
    "eval-squad": _eval_squad_body,
    "models inspect": _inspect_body,
    "models student": _student_body,
    "eval-glue": _eval_glue_body,
    "eval-sts": _eval_sts_body,
    "eval-retrieval": _eval_retrieval_body,
    "models suggest-layers": _suggest_layers_body,
    "finetune": _finetune_body,
    "pipeline": _pipeline_body,
}


#: Commands whose body tables show all their metrics (the flat metrics table is left out).
BODY_HOLDS_METRICS = frozenset({"benchmark", "models", "report compare", "pipeline"})


def render_report(report: Report, console: Console, *, title: str | None = None) -> None:
    """The command's own view of its body when it has one, then the metrics and artifacts."""
    header = title or f"{report.command} — {report.created_at} — {float(report.duration_s):.1f} s"
    console.print(header, style="bold", soft_wrap=True)
    renderer = BODY_RENDERERS.get(report.command)
    shown = False
    if renderer is not None:
        try:
            renderer(report.body, console)
            shown = True
        except (KeyError, TypeError, AttributeError, IndexError):
            # A body from another version (or hand-edited): the metrics below still show.
            console.print(f"({report.command} details not shown: the body has an unexpected layout)")
    if shown and report.command in BODY_HOLDS_METRICS:
        # Its tables already show every figure; the flat list would repeat them at length.
        if report.primary_metric is not None:
            console.print(f"{report.primary_metric}: {fmt(report.metrics[report.primary_metric])}", soft_wrap=True)
        for name, path in report.artifacts.items():
            console.print(f"{name}: {path}", soft_wrap=True)
        return
    table = Table(show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report.metrics.items():
        marker = " *" if name == report.primary_metric else ""
        table.add_row(name + marker, fmt(value))
    console.print(table)
    for name, path in report.artifacts.items():
        console.print(f"{name}: {path}", soft_wrap=True)


def render_comparison(comparison: Comparison, console: Console) -> None:
    """Metrics side by side, each later report with its ratio to the first."""
    table = Table(show_header=True, title=f"ratios are to {comparison.labels[0]}", title_justify="left")
    table.add_column("metric")
    for index, label in enumerate(comparison.labels):
        table.add_column(label, justify="right")
        if index:
            table.add_column("ratio", justify="right")
    for name in comparison.metric_names:
        row = [name]
        for index, value in enumerate(comparison.values[name]):
            row.append(fmt(value))
            if index:
                r = comparison.ratios[name][index]
                row.append("—" if r is None else f"{r:.3f}×")
        table.add_row(*row)
    console.print(table)
    for label, names in comparison.only_in.items():  # not a row of dashes each: one line per report
        console.print(f"only in {label}: {', '.join(names)}", soft_wrap=True)
