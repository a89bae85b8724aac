"""``run_eval_squad``: score a model, or an existing predictions file, on a SQuAD dev set.

With a model: windowed features, batched length-sorted inference, the standard
post-processing, then the official scoring. With ``predictions``: the official script's
job alone, in our report format. Everything the user passed is checked (files readable,
gates well formed, outputs writable) before any weight is read.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli import progress
from distilcli.config import config_to_dict
from distilcli.errors import BadInput, first_line
from distilcli.evaluate.cards import check_update_card, squad_results, write_cards
from distilcli.evaluate.gates import check_squad_gates, parse_squad_gate
from distilcli.fsutil import atomic_write_text, check_output_file
from distilcli.models.loading import load_config, usable_positions
from distilcli.models.resolve import resolve_model
from distilcli.reports import Report
from distilcli.tasks.heads import finetune_setting
from distilcli.tasks.squad.data import SquadSplit, load_squad_hub, read_squad_json, squad_task
from distilcli.tasks.squad.features import check_window_options, encode_squad
from distilcli.tasks.squad.head import check_fits, check_qa_config, load_qa_model
from distilcli.tasks.squad.scoring import score, score_model
from distilcli.training.run_files import subsample

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PretrainedConfig


@dataclass
class EvalSquadConfig:
    """Evaluate ``model`` (or score ``predictions``) on ``dev_file``."""

    model: str | None = None
    predictions: Path | None = None
    null_odds: Path | None = None
    dev_file: Path | None = None
    #: squad or squad_v2: which hub dataset to use when no --dev-file is given.
    task: str | None = None
    predictions_out: Path | None = None
    nbest_out: Path | None = None
    null_odds_out: Path | None = None
    fail_under: list[str] | None = field(default=None)
    max_seq_length: int | None = None  # default: the model's fine-tuning length, else 384
    doc_stride: int | None = None  # default: the model's, else 128
    max_query_length: int | None = None  # default: the model's, else 64
    n_best: int = 20
    max_answer_length: int = 30
    null_threshold: float = 0.0
    #: The official v2.0 script's --na-prob-thresh, for --predictions with --null-odds.
    na_prob_thresh: float = 1.0
    eval_batch_size: int = 64
    #: Write the scores into the model's README.md as model-index results.
    update_card: bool = False
    #: Score a fixed subsample of this many questions (the draw --train-limit makes), in file order.
    limit: int | None = None


# -- files ----------------------------------------------------------------------------------------


def _read_json_map(path: Path, what: str, value_type: type | tuple[type, ...]) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a folder: give the {what} JSON file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read it ({first_line(exc)})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not a JSON {what} file ({first_line(exc)})") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a JSON object {{question id: {what}}}, found {type(data).__name__}")
    for key, value in data.items():
        if not isinstance(value, value_type) or isinstance(value, bool):
            raise BadInput(
                f"{path}: the {what} of question {key!r} is {type(value).__name__}, "
                f"not {getattr(value_type, '__name__', 'a number')}"
            )
    return data


def _check_writable(paths: list[Path | None]) -> None:
    for path in paths:
        check_output_file(path)  # not a folder, somewhere writable
        if path is not None and not path.parent.exists():
            raise BadInput(f"{path.parent}: folder does not exist")


def _write_json(path: Path | None, data: Any) -> str | None:
    if path is None:
        return None
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False))
    return str(path)


def _check_coverage(
    cfg: EvalSquadConfig, dev: SquadSplit, answers: dict[str, str], odds: dict[str, float] | None
) -> None:
    """A predictions file for another dev set is an error; a partial one is scored, with a warning."""
    ids = [e.id for e in dev.examples]
    found = sum(1 for qid in ids if qid in answers)
    if found == 0:
        raise BadInput(
            f"{cfg.predictions}: none of its {len(answers):,} answers is for a question of {dev.source}: "
            "is it the right dev file?"
        )
    if odds is not None:
        lacking = [qid for qid in ids if qid in answers and qid not in odds]
        if lacking:
            raise BadInput(
                f"{cfg.null_odds}: no null odds for {len(lacking):,} answered question(s) (e.g. {lacking[0]!r}): "
                "write odds for every question"
            )
    if found < len(ids):
        progress.log(
            f"warning: {len(ids) - found:,} of {len(ids):,} questions have no prediction in {cfg.predictions}: "
            "each scores 0"
        )


# -- the command's entry point --------------------------------------------------------------------


def load_dev(cfg: EvalSquadConfig) -> SquadSplit:
    """The dev set: ``--dev-file`` (its version read from it unless ``--task`` forces one), else the hub's."""
    if cfg.dev_file is not None:
        forced = squad_task(cfg.task) if cfg.task else None
        if cfg.task and forced is None:
            raise BadInput(f"--task {cfg.task!r}: expected squad or squad_v2")
        dev = read_squad_json(cfg.dev_file, forced, "dev")
    else:
        task = squad_task(cfg.task or "")
        if task is None:
            raise BadInput(
                "no SQuAD dev data: pass --dev-file FILE (the official dev-v1.1.json or dev-v2.0.json), "
                "or --task squad|squad_v2 for the hub"
            )
        dev = load_squad_hub(task, "validation")
    if not dev.examples:
        raise BadInput(f"{dev.source}: no questions in this SQuAD file")
    return dev


def run_eval_squad(cfg: EvalSquadConfig) -> tuple[Report, list[dict[str, Any]]]:
    """Score ``cfg.model`` or ``cfg.predictions`` on the dev set; returns the report and gate outcomes."""
    start = time.perf_counter()
    _check_options(cfg)
    if cfg.update_card:  # the card writable and parseable before the data or weights are read
        if cfg.model is None:
            raise BadInput("--update-card writes a model's card: it needs --model, not --predictions")
        if cfg.limit is not None:
            raise BadInput("--update-card records full dev-set scores: leave out --limit (it scores a subsample)")
        check_update_card([cfg.model])
    full = load_dev(cfg)
    dev = _limited(full, cfg.limit)
    version_2 = dev.task.version_2
    if cfg.null_odds_out is not None and not version_2:
        raise BadInput(
            f"--null-odds-out: {dev.source} is SQuAD v1.1, which has no unanswerable questions and no null odds"
        )
    gates = [parse_squad_gate(spec, version_2) for spec in cfg.fail_under or []]
    body: dict[str, Any] = {
        "task": dev.task.name,
        "task_display": dev.task.display_name,
        "dev_source": dev.source,
        "questions": len(dev.examples),
        "articles": dev.articles,
        "questions_total": len(full.examples),
        "limit": cfg.limit,
    }
    artifacts: dict[str, str] = {}
    if cfg.predictions is not None:
        metrics, body_scored = _score_file(cfg, dev, {e.id for e in full.examples})
    else:
        metrics, body_scored, artifacts = _run_model(cfg, dev)
    outcomes = check_squad_gates(gates, metrics)
    if cfg.update_card:
        assert cfg.model is not None
        body_scored["cards_updated"] = write_cards({Path(cfg.model): squad_results(dev.task, metrics, cfg.dev_file)})
        progress.log(f"card updated: {body_scored['cards_updated'][0]}")
    body |= body_scored | {"gates": outcomes}
    report = Report.create(
        "eval-squad",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric="f1",
        artifacts=artifacts,
        body=body,
        duration_s=time.perf_counter() - start,
    )
    return report, outcomes


def _check_options(cfg: EvalSquadConfig) -> None:
    """Every option on its own and with the others, and the outputs writable, before any file is read."""
    if (cfg.model is None) == (cfg.predictions is None):
        raise BadInput("give either --model DIR (to run a model) or --predictions FILE (to score a predictions file)")
    if cfg.model is None and any(p is not None for p in (cfg.predictions_out, cfg.nbest_out, cfg.null_odds_out)):
        raise BadInput(
            "--predictions-out, --nbest-out and --null-odds-out need --model: a predictions file is only scored"
        )
    if cfg.model is not None and cfg.null_odds is not None:
        raise BadInput("--null-odds scores a --predictions file: with --model the null odds come from the model")
    counts = {  # each count by this command's flag (its batch size is --batch-size), and whether it may be unset
        "--max-query-length": (cfg.max_query_length, True),
        "--n-best": (cfg.n_best, False),
        "--max-answer-length": (cfg.max_answer_length, False),
        "--batch-size": (cfg.eval_batch_size, False),
        "--limit": (cfg.limit, True),
    }
    for flag, (value, optional) in counts.items():
        if value is None and optional:
            continue
        if not isinstance(value, int) or value < 1:
            raise BadInput(f"{flag} must be a positive integer, got {value!r}")
    for name in ("null_threshold", "na_prob_thresh"):
        if not math.isfinite(getattr(cfg, name)):
            raise BadInput(
                f"--{name.replace('_', '-')} must be a finite number, got {getattr(cfg, name)}: "
                "use a large one (e.g. 1e9) to never predict no-answer"
            )
    _check_writable([cfg.predictions_out, cfg.nbest_out, cfg.null_odds_out])
    for spec in cfg.fail_under or []:  # form and range now; the version's metric names once the dev file is read
        parse_squad_gate(spec, version_2=True)


def _limited(dev: SquadSplit, limit: int | None) -> SquadSplit:
    """``dev``, or the fixed ``--limit`` subsample of its questions in file order."""
    if limit is None or limit >= len(dev.examples):
        return dev
    return replace(dev, examples=[dev.examples[i] for i in subsample(len(dev.examples), limit)])


def _score_file(cfg: EvalSquadConfig, dev: SquadSplit, file_ids: set[str]) -> tuple[dict[str, float], dict[str, Any]]:
    """Score ``cfg.predictions`` (and ``cfg.null_odds``) as the official script does: (metrics, report body).

    ``file_ids`` are every question of the dev file: an answer to a question left out by
    ``--limit`` is not an unknown prediction.
    """
    assert cfg.predictions is not None
    answers = _read_json_map(cfg.predictions, "answer", str)
    odds = _read_json_map(cfg.null_odds, "null odds", (int, float)) if cfg.null_odds is not None else None
    if odds is not None and not dev.task.version_2:
        raise BadInput(f"--null-odds: {dev.source} is SQuAD v1.1; null odds only apply to v2.0")
    _check_coverage(cfg, dev, answers, odds)
    metrics = score(dev, answers, odds, cfg.na_prob_thresh)
    body = {
        "mode": "predictions",
        "predictions": str(cfg.predictions),
        "null_odds": None if cfg.null_odds is None else str(cfg.null_odds),
        "unknown_predictions": sum(1 for k in answers if k not in file_ids),
    }
    return metrics, body


def _window(cfg: EvalSquadConfig, config: PretrainedConfig) -> EvalSquadConfig:
    """``cfg`` with the window the model was fine-tuned with, unless the user says otherwise."""

    def first(*values: int | None) -> int:
        return next(v for v in values if v is not None)

    max_positions = usable_positions(config)
    max_seq_length = first(cfg.max_seq_length, finetune_setting(config, "max_seq_length"), min(384, max_positions))
    doc_stride = first(cfg.doc_stride, finetune_setting(config, "doc_stride"), min(128, max(1, max_seq_length // 3)))
    max_query_length = first(
        cfg.max_query_length, finetune_setting(config, "max_query_length"), min(64, max(1, max_seq_length // 4))
    )
    return replace(cfg, max_seq_length=max_seq_length, doc_stride=doc_stride, max_query_length=max_query_length)


def _run_model(cfg: EvalSquadConfig, dev: SquadSplit) -> tuple[dict[str, float], dict[str, Any], dict[str, str]]:
    """Run ``cfg.model`` over ``dev``: (metrics, report body, written files)."""
    import torch

    assert cfg.model is not None
    ref = resolve_model(cfg.model)
    config = load_config(ref)
    check_qa_config(ref, config)
    cfg = _window(cfg, config)
    max_seq_length, doc_stride, max_query_length = cfg.max_seq_length, cfg.doc_stride, cfg.max_query_length
    assert max_seq_length is not None and doc_stride is not None and max_query_length is not None
    check_fits(cfg.model, config, max_seq_length)
    check_window_options(max_seq_length, doc_stride, max_query_length)
    loaded = load_qa_model(ref, for_training=False)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    loaded.model.to(device)
    began = time.perf_counter()
    features = encode_squad(
        dev.examples,
        loaded.tokenizer,
        loaded.adapter,
        max_seq_length=max_seq_length,
        doc_stride=doc_stride,
        max_query_length=max_query_length,
    )
    metrics, predictions = score_model(loaded.model, loaded.tokenizer, dev, features, cfg, device)
    seconds = time.perf_counter() - began
    metrics = {**metrics, "eval_s": seconds, "questions_per_s": len(dev.examples) / seconds if seconds > 0 else 0.0}
    artifacts = {
        name: path
        for name, path in (
            ("predictions", _write_json(cfg.predictions_out, predictions.answers)),
            ("nbest", _write_json(cfg.nbest_out, predictions.nbest)),
            ("null_odds", _write_json(cfg.null_odds_out, predictions.null_odds)),
        )
        if path is not None
    }
    body = {
        "mode": "model",
        "model": cfg.model,
        "model_path": str(ref.path),
        "model_type": config.model_type,
        "windows": len(features),
        "max_seq_length": max_seq_length,
        "doc_stride": doc_stride,
        "max_query_length": max_query_length,
        "n_best": cfg.n_best,
        "max_answer_length": cfg.max_answer_length,
        "null_threshold": cfg.null_threshold if dev.task.version_2 else None,
        "device": str(device),
    }
    return metrics, body, artifacts
