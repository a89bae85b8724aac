"""Student weights from teacher weights: the same architecture with fewer layers, or BERT -> DistilBERT.

Both work on state dicts, so every tensor the student gets is named and checked:
a student key without a teacher source, or with a different shape, is an error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput
from distilcli.models.adapters import ArchitectureAdapter

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PretrainedConfig


def map_same_architecture(
    student_keys: list[str], adapter: ArchitectureAdapter, layer_map: list[int]
) -> dict[str, str]:
    """Student key -> teacher key: layer ``i`` comes from teacher layer ``layer_map[i]``.

    Every key outside the layer list (embeddings, MLM head, MPNet's shared relative
    attention bias, ...) is copied under its own name.
    """
    prefix = re.escape(adapter.layer_key_prefix())
    pattern = re.compile(rf"^({prefix})\.(\d+)\.(.*)$")
    mapping = {}
    for key in student_keys:
        match = pattern.match(key)
        if match:
            head, index, rest = match.groups()
            mapping[key] = f"{head}.{layer_map[int(index)]}.{rest}"
        else:
            mapping[key] = key
    return mapping


# The reference mapping (HF's research_projects/distillation/scripts/extract_distilbert.py).
_BERT_TO_DISTILBERT_LAYER = {
    "attention.q_lin": "attention.self.query",
    "attention.k_lin": "attention.self.key",
    "attention.v_lin": "attention.self.value",
    "attention.out_lin": "attention.output.dense",
    "sa_layer_norm": "attention.output.LayerNorm",
    "ffn.lin1": "intermediate.dense",
    "ffn.lin2": "output.dense",
    "output_layer_norm": "output.LayerNorm",
}
_BERT_TO_DISTILBERT_OTHER = {
    "distilbert.embeddings.word_embeddings.weight": "bert.embeddings.word_embeddings.weight",
    "distilbert.embeddings.position_embeddings.weight": "bert.embeddings.position_embeddings.weight",
    "distilbert.embeddings.LayerNorm.weight": "bert.embeddings.LayerNorm.weight",
    "distilbert.embeddings.LayerNorm.bias": "bert.embeddings.LayerNorm.bias",
    "vocab_transform.weight": "cls.predictions.transform.dense.weight",
    "vocab_transform.bias": "cls.predictions.transform.dense.bias",
    "vocab_layer_norm.weight": "cls.predictions.transform.LayerNorm.weight",
    "vocab_layer_norm.bias": "cls.predictions.transform.LayerNorm.bias",
    "vocab_projector.weight": "cls.predictions.decoder.weight",
    "vocab_projector.bias": "cls.predictions.bias",
}


def map_bert_to_distilbert(student_keys: list[str], layer_map: list[int]) -> dict[str, str]:
    """Student (DistilBERT) key -> teacher (BERT) key, following the reference extraction script.

    BERT's token-type embeddings and pooler have no DistilBERT counterpart and are dropped.
    """
    pattern = re.compile(r"^distilbert\.transformer\.layer\.(\d+)\.(.+)\.(weight|bias)$")
    mapping = {}
    for key in student_keys:
        match = pattern.match(key)
        if match:
            index, module, kind = match.groups()
            source = _BERT_TO_DISTILBERT_LAYER[module]
            mapping[key] = f"bert.encoder.layer.{layer_map[int(index)]}.{source}.{kind}"
        else:
            mapping[key] = _BERT_TO_DISTILBERT_OTHER[key]
    return mapping


def distilbert_config_from_bert(bert: PretrainedConfig, n_layers: int) -> PretrainedConfig:
    """A DistilBERT config with the BERT teacher's width, vocabulary and dropout."""
    from transformers import DistilBertConfig

    if getattr(bert, "position_embedding_type", "absolute") != "absolute":
        raise BadInput("--arch distilbert needs a teacher with absolute position embeddings")
    return DistilBertConfig(
        vocab_size=bert.vocab_size,
        max_position_embeddings=bert.max_position_embeddings,
        sinusoidal_pos_embds=False,
        n_layers=n_layers,
        n_heads=bert.num_attention_heads,
        dim=bert.hidden_size,
        hidden_dim=bert.intermediate_size,
        dropout=bert.hidden_dropout_prob,
        attention_dropout=bert.attention_probs_dropout_prob,
        activation=bert.hidden_act,
        initializer_range=bert.initializer_range,
        pad_token_id=bert.pad_token_id if bert.pad_token_id is not None else 0,
        tie_word_embeddings=getattr(bert, "tie_word_embeddings", True),
    )


def gather(
    teacher_state: dict[str, torch.Tensor], student_state: dict[str, torch.Tensor], mapping: dict[str, str]
) -> dict[str, torch.Tensor]:
    """The student's state dict, each tensor cloned from its mapped teacher tensor (shapes checked)."""
    new_state: dict[str, Any] = {}
    for key, source in mapping.items():
        if source not in teacher_state:
            raise KeyError(f"teacher has no tensor {source!r} for student tensor {key!r}")
        tensor = teacher_state[source]
        if tensor.shape != student_state[key].shape:
            raise ValueError(
                f"shape of teacher {source} {tuple(tensor.shape)} != student {key} {tuple(student_state[key].shape)}"
            )
        new_state[key] = tensor.detach().clone()
    return new_state
