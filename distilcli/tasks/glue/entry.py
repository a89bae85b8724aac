"""The registry entry of a GLUE task: sequence classification (or regression, STS-B).

Everything training and evaluation need about the task: its spec, its data (checked), features
and batches, the classifier head, dev scoring, and for task distillation the outputs the student
learns from the teacher (logits in the task's label order) and their cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from distilcli.errors import BadInput
from distilcli.tasks.glue import metrics as glue_metrics
from distilcli.tasks.glue.features import FeatureCollate, Features, encode
from distilcli.tasks.glue.head import load_classifier, start_at_mean_label
from distilcli.tasks.glue.hub import HUB_DATASET
from distilcli.tasks.glue.predict import logits_to_predictions, predict_logits
from distilcli.tasks.glue.sources import ColumnMap, load_task_split
from distilcli.tasks.glue.spec import GlueTask
from distilcli.tasks.heads import LoadedClassifier
from distilcli.tasks.outputs import CachedOutputs
from distilcli.training.options import TaskOptions
from distilcli.training.run_files import subsample
from distilcli.training.task_protocols import Evaluator, TaskData

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from distilcli.models.adapters import ArchitectureAdapter
    from distilcli.models.resolve import ModelRef


def to_task_order(logits: torch.Tensor, permutation: list[int] | None) -> torch.Tensor:
    """A model's logits in the task's label order (``permutation`` maps the model's order onto the task's)."""
    import torch

    if permutation is None:
        return logits
    inverse = torch.argsort(torch.as_tensor(permutation))
    return logits[:, inverse.to(logits.device)]


class GlueEntry:
    """Sequence classification (or regression) on one GLUE task."""

    auto_class = "AutoModelForSequenceClassification"
    default_max_seq_length = 128  # sentences: truncated there, rarely reaching it
    #: Task distillation learns one row of logits per example (not one per token).
    per_token_outputs = False

    def __init__(self, spec: GlueTask) -> None:
        self.spec = spec
        self.tags = ["distilcli", "glue", spec.name]

    # -- data ------------------------------------------------------------------------------------

    def check_options(self, opts: TaskOptions) -> None:
        """Nothing GLUE-specific to check before its files are read."""

    def load_data(self, opts: TaskOptions) -> TaskData:
        """The train and dev splits from --train-file/--dev-file, --glue-dir, --hub-dir or the hub; checked."""
        task = self.spec
        columns = ColumnMap(opts.text_a, opts.text_b, opts.label_column)
        use_hub = opts.glue_dir is None and opts.hub_dir is None
        sources = {"glue_dir": opts.glue_dir, "hub_dir": opts.hub_dir, "columns": columns}
        train = load_task_split(
            task, "train", file=opts.train_file, use_hub=use_hub and opts.train_file is None, **sources
        )
        dev = load_task_split(task, "dev", file=opts.dev_file, use_hub=use_hub and opts.dev_file is None, **sources)
        where = " and ".join(
            f"{flag} {value}" for flag, value in (("--glue-dir", opts.glue_dir), ("--hub-dir", opts.hub_dir)) if value
        )
        if train is None:
            raise BadInput(
                f"no {task.display_name} training data in {where}: "
                f"pass --train-file FILE (or a folder that has {task.folder}/train.tsv)"
            )
        if dev is None:
            raise BadInput(
                f"no {task.display_name} dev data in {where}: "
                f"pass --dev-file FILE (or a folder that has {task.folder}/{task.dev_file})"
            )
        for split in (train, dev):
            if not split.examples:
                raise BadInput(f"{split.source}: no examples in the {split.split} data of {task.display_name}")
        keep = subsample(len(train.examples), opts.train_limit)
        return TaskData(task, train, dev, [train.examples[i] for i in keep])

    def check_model(self, spec: str, max_seq_length: int) -> None:
        """--max-seq-length within the model's positions (a longer pair would overflow them), from its config."""
        from distilcli.models.loading import check_positions, load_config
        from distilcli.models.resolve import resolve_model

        check_positions(spec, load_config(resolve_model(spec)), max_seq_length)

    # -- model, features, scoring ----------------------------------------------------------------

    def load(self, ref: ModelRef, *, for_training: bool) -> LoadedClassifier:
        return load_classifier(ref, self.spec, for_training=for_training)

    def features(
        self, examples: Sequence[Any], tokenizer: Any, adapter: ArchitectureAdapter, opts: TaskOptions
    ) -> Features:
        assert opts.max_seq_length is not None  # the command fills in the task's default
        return encode(list(examples), tokenizer, adapter, opts.max_seq_length)

    def collate(self, features: Features, tokenizer: Any) -> FeatureCollate:
        return FeatureCollate(features, tokenizer.pad_token_id, self.spec.is_regression)

    def evaluator(self, loaded: LoadedClassifier, dev: Any, opts: TaskOptions) -> Evaluator:
        features = self.features(dev.examples, loaded.tokenizer, loaded.adapter, opts)
        references = [example.label for example in dev.examples]

        def evaluate(model: Any, device: Any) -> dict[str, float]:
            logits = predict_logits(
                model,
                features,
                loaded.tokenizer.pad_token_id,
                batch_size=opts.eval_batch_size,
                device=device,
                description=f"dev {self.spec.display_name}",
            )
            predictions = logits_to_predictions(logits, self.spec.is_regression, loaded.label_permutation)
            return glue_metrics.score_predictions(self.spec, predictions, references)

        return evaluate

    def card_details(self, opts: TaskOptions) -> dict[str, Any]:
        # Without --train-file the data is GLUE's own (--glue-dir, --hub-dir or the hub): the card names it.
        return {"datasets": [HUB_DATASET] if opts.train_file is None else []}

    def init_head(self, loaded: LoadedClassifier, features: Features, gold: int | None = None) -> str | None:
        """A fresh regression head starts at the mean gold training score (see :func:`start_at_mean_label`)."""
        labels = features.labels[:gold] if gold is not None else features.labels  # new inputs carry no score
        return start_at_mean_label(loaded, labels) if self.spec.is_regression else None

    # -- task-specific distillation: the logits ------------------------------------------------------

    @staticmethod
    def pop_labels(batch: dict[str, Any]) -> Any:
        return batch.pop("labels")

    @staticmethod
    def outputs(model_output: Any) -> torch.Tensor:
        return model_output.logits

    def teacher_outputs(self, model_output: Any, permutation: list[int] | None) -> torch.Tensor:
        return to_task_order(model_output.logits.float(), permutation)

    def cache_outputs(
        self,
        model: Any,
        features: Features,
        pad_token_id: int,
        opts: TaskOptions,
        device: Any,
        permutation: list[int] | None,
    ) -> CachedOutputs:
        import torch

        logits = predict_logits(
            model, features, pad_token_id, batch_size=opts.eval_batch_size, device=device, description="teacher outputs"
        )
        return CachedOutputs(list(to_task_order(torch.from_numpy(logits), permutation).numpy()))
