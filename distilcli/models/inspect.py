"""``distil models inspect``: what a model is, in numbers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from distilcli.config import config_to_dict
from distilcli.models.loading import LoadedModel, load_mlm_model
from distilcli.models.params import count_parameters
from distilcli.reports import Report


@dataclass
class InspectConfig:
    """Options of ``distil models inspect``."""

    model: str


def describe(loaded: LoadedModel) -> dict[str, Any]:
    """Type, shape, parameter counts and MLM-head status of a loaded model."""
    config, adapter = loaded.config, loaded.adapter
    return {
        "model": loaded.ref.to_dict(),
        "model_type": config.model_type,
        "num_layers": adapter.num_layers(config),
        "hidden_size": adapter.hidden_size(config),
        "num_attention_heads": adapter.num_heads(config),
        "intermediate_size": adapter.intermediate_size(config),
        "vocab_size": int(config.vocab_size),
        "max_position_embeddings": int(config.max_position_embeddings),
        "uses_token_type_ids": adapter.uses_token_type_ids,
        "parameters": count_parameters(loaded.model, adapter),
        "has_trained_mlm_head": loaded.has_trained_mlm_head,
        # Set on students made by distilcli: teacher, layer map, ...
        "distilcli": getattr(config, "distilcli", None),
    }


def run_inspect(cfg: InspectConfig) -> Report:
    """Load ``cfg.model`` and describe it in a report (``metrics`` hold the counts)."""
    start = time.perf_counter()
    info = describe(load_mlm_model(cfg.model))
    params = info["parameters"]
    metrics = {
        "parameters_total": params["total"],
        "parameters_embeddings": params["embeddings"],
        "parameters_encoder": params["encoder"],
        "parameters_mlm_head": params["mlm_head"],
        "num_layers": info["num_layers"],
        "hidden_size": info["hidden_size"],
    }
    return Report.create(
        "models inspect",
        config=config_to_dict(cfg),
        metrics=metrics,
        primary_metric="parameters_total",
        body=info,
        duration_s=time.perf_counter() - start,
    )
