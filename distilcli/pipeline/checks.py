"""Pre-flight checks of the scoring stages of an embeddings recipe (``eval-sts``, ``eval-retrieval``, ``export``).

As for the training stages (:func:`distilcli.pipeline.executors.check_stage`): each command's own
option checks, its data read once (STS-B dev, the retrieval collection) and every model that is
not an earlier stage's resolved, before the first stage runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distilcli.config import coerce_options


def check_scoring(kind: str, options: dict[str, Any], run_dir: Path, seen: set[str]) -> None:
    """``options`` with ``@stage`` references already made placeholders (``run_dir/@stage``)."""
    from distilcli.models.resolve import resolve_model

    rest = {k: v for k, v in options.items() if k != "model"}
    if kind == "eval_sts":
        from distilcli.evaluate.sts_eval import EvalStsConfig, check_options
        from distilcli.tasks.sts import load_pairs

        sts = EvalStsConfig(model=["@"], **coerce_options(EvalStsConfig, rest, "recipe"))
        check_options(sts)
        key = f"sts:{sts.glue_dir}:{sts.hub_dir}:{sts.pairs}"
        if key not in seen:
            load_pairs(pairs=sts.pairs, glue_dir=sts.glue_dir, hub_dir=sts.hub_dir)  # BadInput naming the missing file
            seen.add(key)
    elif kind == "eval_retrieval":
        from distilcli.evaluate.retrieval_eval import EvalRetrievalConfig
        from distilcli.evaluate.retrieval_eval import check_options as check_retrieval
        from distilcli.tasks.retrieval import load_retrieval

        retrieval = EvalRetrievalConfig(model=["@"], **coerce_options(EvalRetrievalConfig, rest, "recipe"))
        check_retrieval(retrieval)
        if f"retrieval:{retrieval.data}" not in seen:
            load_retrieval(retrieval.data)
            seen.add(f"retrieval:{retrieval.data}")
    else:
        from distilcli.export.config import ExportConfig
        from distilcli.export.config import check_options as check_export

        check_export(
            ExportConfig(model=str(options["model"]), out=run_dir, **coerce_options(ExportConfig, rest, "recipe"))
        )
    model = str(options.get("model", ""))
    if model and "/@" not in model and f"model:{model}" not in seen:
        resolve_model(model)
        seen.add(f"model:{model}")
