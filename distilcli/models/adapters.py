"""Architecture adapters: where each model type keeps its embeddings, layers and MLM head.

Student construction, parameter counting, the MLM logits of distillation, the inputs a
task model takes and its position limit go through an adapter, so supporting a new
architecture is one entry here rather than ``if model_type == ...`` chains spread around
the code.
All paths are relative to the masked-LM model (``AutoModelForMaskedLM``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput
from distilcli.registry import Registry

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn
    from transformers import PreTrainedModel


def _get(root: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        root = getattr(root, part)
    return root


@dataclass(frozen=True)
class ArchitectureAdapter:
    """Where the parts of one model type live, and how its config names them."""

    model_type: str
    description: str
    #: Dotted path, from the masked-LM model, to the embeddings module.
    embeddings_path: str
    #: Dotted path, from the masked-LM model, to the ``nn.ModuleList`` of transformer layers.
    layers_path: str
    #: Attribute names, on the masked-LM model, of the modules that form the MLM head.
    mlm_head_paths: tuple[str, ...]
    #: Checkpoint keys whose absence means the MLM head was never trained
    #: (the tied decoder weight is left out: it is the word embedding matrix).
    mlm_head_required_keys: tuple[str, ...]
    num_layers_attr: str = "num_hidden_layers"
    hidden_size_attr: str = "hidden_size"
    num_heads_attr: str = "num_attention_heads"
    intermediate_size_attr: str = "intermediate_size"
    #: Whether the model takes ``token_type_ids`` (segment embeddings).
    uses_token_type_ids: bool = True
    #: Whether position ids start after ``pad_token_id`` (RoBERTa, MPNet), costing pad + 1 positions.
    positions_after_padding: bool = False

    # -- config ---------------------------------------------------------------------------
    def num_layers(self, config: Any) -> int:
        return int(getattr(config, self.num_layers_attr))

    def hidden_size(self, config: Any) -> int:
        return int(getattr(config, self.hidden_size_attr))

    def num_heads(self, config: Any) -> int:
        return int(getattr(config, self.num_heads_attr))

    def intermediate_size(self, config: Any) -> int:
        return int(getattr(config, self.intermediate_size_attr))

    def with_num_layers(self, config: Any, num_layers: int) -> Any:
        """A deep copy of ``config`` with ``num_layers`` transformer layers."""
        import copy

        new = copy.deepcopy(config)
        setattr(new, self.num_layers_attr, num_layers)
        return new

    # -- modules --------------------------------------------------------------------------
    def embeddings(self, model: PreTrainedModel) -> nn.Module:
        return _get(model, self.embeddings_path)

    def layers(self, model: PreTrainedModel) -> nn.ModuleList:
        return _get(model, self.layers_path)

    def mlm_head(self, model: PreTrainedModel) -> list[nn.Module]:
        return [_get(model, path) for path in self.mlm_head_paths]

    def mlm_logits(self, model: PreTrainedModel, hidden: Any) -> Any:
        """Vocabulary logits of the MLM head for ``hidden`` states of any shape ``[..., H]``.

        Lets callers project only the positions a loss needs (not padding), which is most
        of the compute of distillation.
        """
        return _MLM_HEADS[self.model_type](model, hidden)

    def layer_key_prefix(self) -> str:
        """The state-dict prefix of the layer list, e.g. ``bert.encoder.layer``."""
        return self.layers_path


# How each masked-LM class turns last hidden states into vocabulary logits.
_MLM_HEADS: dict[str, Any] = {
    "bert": lambda m, h: m.cls(h),
    "roberta": lambda m, h: m.lm_head(h),
    "mpnet": lambda m, h: m.lm_head(h),
    "distilbert": lambda m, h: m.vocab_projector(m.vocab_layer_norm(m.activation(m.vocab_transform(h)))),
    "electra": lambda m, h: m.generator_lm_head(m.generator_predictions(h)),
}

ADAPTERS: Registry[ArchitectureAdapter] = Registry("architecture")

for _adapter in (
    ArchitectureAdapter(
        model_type="bert",
        description="BERT (bert-base-uncased, MiniLM, ...)",
        embeddings_path="bert.embeddings",
        layers_path="bert.encoder.layer",
        mlm_head_paths=("cls",),
        mlm_head_required_keys=("cls.predictions.transform.dense.weight", "cls.predictions.bias"),
    ),
    ArchitectureAdapter(
        model_type="roberta",
        description="RoBERTa (roberta-base, ...)",
        embeddings_path="roberta.embeddings",
        layers_path="roberta.encoder.layer",
        mlm_head_paths=("lm_head",),
        mlm_head_required_keys=("lm_head.dense.weight", "lm_head.bias"),
        # RoBERTa checkpoints carry a one-row token-type table that is always 0.
        uses_token_type_ids=False,
        positions_after_padding=True,
    ),
    ArchitectureAdapter(
        model_type="distilbert",
        description="DistilBERT (distilbert-base-uncased, ...)",
        embeddings_path="distilbert.embeddings",
        layers_path="distilbert.transformer.layer",
        mlm_head_paths=("vocab_transform", "vocab_layer_norm", "vocab_projector"),
        mlm_head_required_keys=("vocab_transform.weight", "vocab_projector.bias"),
        num_layers_attr="n_layers",
        hidden_size_attr="dim",
        num_heads_attr="n_heads",
        intermediate_size_attr="hidden_dim",
        uses_token_type_ids=False,
    ),
    ArchitectureAdapter(
        model_type="mpnet",
        description="MPNet (mpnet-base, all-mpnet-base-v2, ...)",
        embeddings_path="mpnet.embeddings",
        layers_path="mpnet.encoder.layer",
        mlm_head_paths=("lm_head",),
        mlm_head_required_keys=("lm_head.dense.weight", "lm_head.bias"),
        uses_token_type_ids=False,
        positions_after_padding=True,
    ),
    ArchitectureAdapter(
        model_type="electra",
        description="ELECTRA generator (electra-small-generator, ...)",
        embeddings_path="electra.embeddings",
        layers_path="electra.encoder.layer",
        mlm_head_paths=("generator_predictions", "generator_lm_head"),
        mlm_head_required_keys=("generator_predictions.dense.weight", "generator_lm_head.bias"),
    ),
):
    ADAPTERS.register(_adapter.model_type, _adapter)


def adapter_for(config_or_type: Any) -> ArchitectureAdapter:
    """The adapter of a config (or a ``model_type`` string); unsupported types are :class:`BadInput`."""
    model_type = config_or_type if isinstance(config_or_type, str) else getattr(config_or_type, "model_type", None)
    if model_type not in ADAPTERS:
        raise BadInput(
            f"architecture {model_type!r} is not supported: distilcli handles {', '.join(ADAPTERS)} "
            "(see `distil models`)"
        )
    return ADAPTERS.get(model_type)
