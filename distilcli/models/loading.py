"""Loading models and tokenizers quietly, with clear errors and MLM-head detection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput, first_line
from distilcli.models.adapters import ADAPTERS, ArchitectureAdapter, adapter_for
from distilcli.models.resolve import ModelRef, resolve_model

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def quiet_transformers() -> None:
    """Silence transformers' load reports and tqdm bars: distilcli reports what matters itself."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def quiet_hub() -> None:
    """Silence huggingface_hub's and datasets' retry warnings: an unreachable hub ends in one error line."""
    import datasets
    from huggingface_hub.utils import logging as hub_logging

    hub_logging.set_verbosity_error()
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()


def load_config(ref: ModelRef) -> Any:
    """The model's config; an unsupported architecture is :class:`BadInput`."""
    from transformers import AutoConfig

    quiet_transformers()
    try:
        config = AutoConfig.from_pretrained(ref.path)
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad model folder
        raise BadInput(f"cannot read the config of {ref.spec} ({first_line(exc)})") from None
    adapter_for(config)
    return config


@dataclass
class LoadedModel:
    """A masked-LM model with what distilcli learned while loading it."""

    ref: ModelRef
    model: PreTrainedModel
    adapter: ArchitectureAdapter
    has_trained_mlm_head: bool
    missing_keys: list[str] = field(default_factory=list)

    @property
    def config(self) -> Any:
        return self.model.config


def load_mlm_model(spec: str | Path | ModelRef, **kwargs: Any) -> LoadedModel:
    """Load ``spec`` as a masked-LM model (``AutoModelForMaskedLM``), in eval mode.

    A checkpoint saved without its MLM head (a plain encoder such as the packaged
    sentence-transformers models) still loads; its head is freshly initialised and
    ``has_trained_mlm_head`` is False. Extra ``kwargs`` go to ``from_pretrained``.
    """
    from transformers import AutoModelForMaskedLM

    ref = spec if isinstance(spec, ModelRef) else resolve_model(spec)
    config = load_config(ref)
    adapter = adapter_for(config)
    try:
        model, info = AutoModelForMaskedLM.from_pretrained(ref.path, output_loading_info=True, **kwargs)
    except Exception as exc:  # noqa: BLE001 - unreadable or mismatched weights
        raise BadInput(f"cannot load the weights of {ref.spec} from {ref.path} ({first_line(exc)})") from None
    missing = sorted(info.get("missing_keys", ()))
    mismatched = info.get("mismatched_keys") or []
    if mismatched:
        raise BadInput(f"weights of {ref.spec} do not match its config.json (e.g. {min(mismatched)})")
    # Extra layers or embeddings in the checkpoint: config.json describes a smaller model.
    layer_list = adapter.layers_path.split(".", 1)[1] + "."
    extra = sorted(k for k in info.get("unexpected_keys", ()) if layer_list in k or "embeddings." in k)
    if extra:
        raise BadInput(
            f"weights of {ref.spec} hold tensors its config.json does not describe (e.g. {extra[0]}): fix config.json"
        )
    has_head = not any(key in missing for key in adapter.mlm_head_required_keys)
    # A student made from a head-less teacher carries head weights that were never trained;
    # its provenance says so (and `distil distill` flips it once the head is trained).
    provenance = getattr(model.config, "distilcli", None)
    if isinstance(provenance, dict) and provenance.get("mlm_head_trained") is False:
        has_head = False
    # Anything else missing outside the head means the weights do not belong to this config.
    outside_head = [k for k in missing if not k.startswith(tuple(p + "." for p in adapter.mlm_head_paths))]
    if outside_head:
        raise BadInput(f"weights of {ref.spec} lack {len(outside_head)} encoder tensor(s), e.g. {outside_head[0]}")
    model.eval()
    return LoadedModel(ref=ref, model=model, adapter=adapter, has_trained_mlm_head=has_head, missing_keys=missing)


def load_tokenizer(ref: ModelRef) -> PreTrainedTokenizerBase | None:
    """The folder's tokenizer, or None when it has none (reported by the caller)."""
    from transformers import AutoTokenizer

    quiet_transformers()
    try:
        return AutoTokenizer.from_pretrained(ref.path)
    except Exception:  # noqa: BLE001 - a folder without tokenizer files is legal for weights alone
        return None


def usable_positions(config: Any) -> int:
    """How many tokens one sequence may have: RoBERTa and MPNet start counting at pad_token_id + 1."""
    positions = int(getattr(config, "max_position_embeddings", 512) or 512)
    model_type = getattr(config, "model_type", None)
    # An architecture without an adapter is refused where its model is loaded; it has no offset here.
    if model_type in ADAPTERS and ADAPTERS.get(model_type).positions_after_padding:
        positions -= int(getattr(config, "pad_token_id", 1) or 0) + 1
    return positions


def fitting_length(spec: str, length: int) -> int:
    """A default ``length`` cut to the positions of model ``spec`` (read from its config)."""
    return min(length, usable_positions(load_config(resolve_model(spec))))


def check_positions(spec: str, config: Any, max_seq_length: int) -> None:
    """``--max-seq-length`` within the model's positions (else :class:`BadInput`), read from its config alone."""
    limit = usable_positions(config)
    if max_seq_length > limit:
        raise BadInput(
            f"--max-seq-length {max_seq_length} exceeds the {limit} positions of {spec}: "
            f"use --max-seq-length {limit} or less"
        )
