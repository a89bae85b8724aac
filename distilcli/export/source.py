"""What is exported: a sequence classifier (logits) or an encoder (token and sentence embeddings).

Everything here is read from the model's config and side files before any weight is loaded, so a
folder that is not a model, an unsupported architecture or head, or a task the model cannot
score fails at once with one line (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput, first_line
from distilcli.export.config import CLASSIFIER, ENCODER, ExportConfig
from distilcli.models.adapters import ArchitectureAdapter, adapter_for
from distilcli.models.loading import check_positions, load_config, quiet_transformers, usable_positions
from distilcli.models.onnx import MANIFEST, read_exported
from distilcli.models.pooling import SentencePooling, read_pooling
from distilcli.models.resolve import ModelRef, resolve_model
from distilcli.tasks.glue.head import check_classifier_config, load_classifier
from distilcli.tasks.glue.spec import GLUE_TASKS, GlueTask
from distilcli.tasks.heads import finetune_setting, load_with_head, padded_tokenizer, task_of
from distilcli.tasks.registry import task_name

if TYPE_CHECKING:  # pragma: no cover
    from distilcli.export.graph import ExportModule

#: Heads distil export refuses: their outputs need task-specific decoding it does not ship.
_UNSUPPORTED_HEADS = ("ForQuestionAnswering", "ForTokenClassification", "ForMultipleChoice", "ForCausalLM")
#: The check's tokens per example when neither --max-seq-length nor the model says.
DEFAULT_LENGTH = 128


@dataclass
class ExportSource:
    """The model to export, as its files describe it."""

    ref: ModelRef
    config: Any
    adapter: ArchitectureAdapter
    kind: str
    architecture: str
    tokenizer: Any
    #: The classifier's GLUE task (--task, or the one its config records); None when unknown.
    task: GlueTask | None = None
    #: A sentence encoder scored on zero-shot STS (--task stsb).
    sts: bool = False
    pooling: SentencePooling | None = None
    #: Tokens per example of the check (and the task metric).
    seq_length: int = DEFAULT_LENGTH
    #: The classifier's label order mapped onto the task's (see tasks.glue.head).
    label_permutation: list[int] | None = None

    @property
    def max_length(self) -> int:
        """The longest sequence the graph takes: the model's positions."""
        return usable_positions(self.config)

    @property
    def names(self) -> list[str]:
        return ["input_ids", "attention_mask", *(["token_type_ids"] if self.adapter.uses_token_type_ids else [])]

    @property
    def outputs(self) -> list[str]:
        return ["logits"] if self.kind == CLASSIFIER else ["last_hidden_state", "sentence_embedding"]

    @property
    def labels(self) -> list[str] | None:
        """The classifier's labels in its own output order (config.id2label)."""
        if self.kind != CLASSIFIER:
            return None
        id2label = getattr(self.config, "id2label", None) or {}
        return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(int(self.config.num_labels))]


def inspect_source(cfg: ExportConfig) -> ExportSource:
    """The model ``cfg.model`` names, checked for export; :class:`BadInput` for anything that cannot be."""
    if read_exported(cfg.model) is not None:
        raise BadInput(f"{cfg.model} is an exported folder ({MANIFEST}): export the PyTorch model it was made from")
    ref = resolve_model(cfg.model)
    config = load_config(ref)  # an architecture distilcli does not handle is refused here
    adapter = adapter_for(config)
    architectures = [str(a) for a in (getattr(config, "architectures", None) or [])]
    head = next((a for a in architectures if a.endswith(_UNSUPPORTED_HEADS)), None)
    if head is not None:
        raise BadInput(
            f"{cfg.model} is a {head}: distil export writes sequence classifiers and sentence encoders, not this head"
        )
    classifier = any(a.endswith("ForSequenceClassification") for a in architectures)
    architecture = architectures[0] if architectures else config.model_type
    tokenizer = padded_tokenizer(ref)  # the check tokenises real text, and the folder ships the tokenizer
    source = ExportSource(ref, config, adapter, CLASSIFIER if classifier else ENCODER, architecture, tokenizer)
    if classifier:
        _classifier_task(cfg, source)
    else:
        _encoder_task(cfg, source)
    if cfg.max_seq_length is not None:
        check_positions(cfg.model, config, cfg.max_seq_length)
    pooled = source.pooling.max_seq_length if source.pooling else None
    wanted = cfg.max_seq_length or finetune_setting(config, "max_seq_length") or pooled or DEFAULT_LENGTH
    source.seq_length = min(wanted, source.max_length)
    return source


def _classifier_task(cfg: ExportConfig, source: ExportSource) -> None:
    name = cfg.task or task_of(source.config)
    if name is None:
        if cfg.has_data:
            raise BadInput(
                "a dev set needs --task: name the GLUE task the classifier was fine-tuned on (e.g. --task sst2)"
            )
        return
    resolved = task_name(name)
    if resolved not in GLUE_TASKS:
        raise BadInput(f"--task {name}: distil export scores GLUE classifiers (sst2, mrpc, stsb ...), not {resolved}")
    source.task = GLUE_TASKS.get(resolved)
    check_classifier_config(source.ref, source.task, source.config)


def _encoder_task(cfg: ExportConfig, source: ExportSource) -> None:
    source.pooling = read_pooling(source.ref.path)
    if cfg.task is None:
        if cfg.has_data:
            raise BadInput(
                f"{cfg.model} is a sentence encoder: add --task stsb to score its zero-shot STS-B on that data"
            )
        return
    resolved = task_name(cfg.task)
    if resolved != "stsb":
        raise BadInput(
            f"{cfg.model} is a sentence encoder (no classification head): --task stsb scores its zero-shot STS-B; "
            f"{resolved} needs a classifier fine-tuned on it (distil finetune --task {resolved})"
        )
    source.sts = True


def load_module(source: ExportSource) -> ExportModule:
    """The PyTorch model behind the graph, wrapped to return exactly the graph's outputs (in eval mode)."""
    from distilcli.export.graph import ExportModule

    quiet_transformers()
    if source.kind == CLASSIFIER:
        if source.task is not None:
            loaded = load_classifier(source.ref, source.task, for_training=False)
            model, source.label_permutation = loaded.model, loaded.label_permutation
        else:
            from transformers import AutoModelForSequenceClassification

            model, _ = load_with_head(
                AutoModelForSequenceClassification,
                source.ref,
                what="classification",
                fix=f"distil finetune --model {source.ref.spec} --task TASK",
                for_training=False,
            )
    else:
        from transformers import AutoModel

        try:
            model = AutoModel.from_pretrained(source.ref.path)
        except Exception as exc:  # noqa: BLE001 - unreadable or mismatched weights
            raise BadInput(f"cannot load the weights of {source.ref.spec} ({first_line(exc, 200)})") from None
        if getattr(model, "pooler", None) is not None:
            model.pooler = None  # unused by the embeddings; left out of the graph
    return ExportModule(model.eval(), source.kind, source.pooling)
