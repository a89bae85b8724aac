"""The registry entry of SQuAD v1.1 / v2.0: extractive question answering, a start and an end logit per token.

Everything training and evaluation need about the task: its spec, its data (the official JSON,
checked), windowed features and batches, the span head, post-processing and official scoring,
and for task distillation the start/end logits the student learns from the teacher and their cache.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli.errors import BadInput
from distilcli.tasks.heads import LoadedClassifier
from distilcli.tasks.outputs import CachedOutputs
from distilcli.tasks.squad.data import SquadTask, load_squad_split
from distilcli.tasks.squad.features import QACollate, QAFeatures, check_window_options, encode_squad
from distilcli.tasks.squad.head import check_fits, load_qa_model, predict_spans
from distilcli.tasks.squad.post import check_post_options
from distilcli.tasks.squad.scoring import score_model
from distilcli.training.options import TaskOptions
from distilcli.training.run_files import subsample
from distilcli.training.task_protocols import Evaluator, TaskData

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from distilcli.models.adapters import ArchitectureAdapter
    from distilcli.models.resolve import ModelRef

_GLUE_OPTIONS = ("glue_dir", "hub_dir", "text_a", "text_b", "label_column")


class SquadEntry:
    """Extractive question answering (SQuAD v1.1 / v2.0)."""

    auto_class = "AutoModelForQuestionAnswering"
    default_max_seq_length = 384  # question + context windows, as BERT
    #: Task distillation learns a start and an end distribution per window (one row per token).
    per_token_outputs = True

    def __init__(self, spec: SquadTask) -> None:
        self.spec = spec
        self.tags = ["distilcli", "question-answering", spec.name]

    # -- data ------------------------------------------------------------------------------------

    def check_options(self, opts: TaskOptions) -> None:
        """SQuAD's own options fit together (windows, answer reading); no file is read."""
        for name in _GLUE_OPTIONS:
            if getattr(opts, name) is not None:
                flag = "--" + name.replace("_", "-")
                raise BadInput(
                    f"{flag} is a GLUE option: "
                    "SQuAD reads the official JSON files given with --train-file and --dev-file"
                )
        check_window_options(opts.max_seq_length or self.default_max_seq_length, opts.doc_stride, opts.max_query_length)
        check_post_options(opts.n_best, opts.max_answer_length)
        if not math.isfinite(opts.null_threshold):
            raise BadInput(f"--null-threshold must be a finite number, got {opts.null_threshold}")

    def load_data(self, opts: TaskOptions) -> TaskData:
        """The official JSON files (or the hub): answers aligned, no shared questions.

        The options were checked by the caller's ``check_options`` pass (finetune, task distillation, the pipeline).
        """
        task = self.spec
        use_hub = opts.train_file is None and opts.dev_file is None
        train = load_squad_split(task, "train", opts.train_file, use_hub)
        dev = load_squad_split(task, "dev", opts.dev_file, use_hub)
        if train is None:
            raise BadInput(f"no {task.display_name} training data: pass --train-file FILE (the official JSON layout)")
        if dev is None:
            raise BadInput(f"no {task.display_name} dev data: pass --dev-file FILE (the official JSON layout)")
        misaligned = next((e for e in train.examples if e.misaligned()), None)
        if misaligned is not None:
            answer = misaligned.answers[0]
            raise BadInput(
                f"{train.source}: question {misaligned.id!r}: the answer {answer.text!r} is not at answer_start "
                f"{answer.start} of its context: fix answer_start (training reads the answer there)"
            )
        overlap = {e.id for e in train.examples} & {e.id for e in dev.examples}
        if overlap:
            raise BadInput(
                f"{len(overlap)} question(s) of {dev.source} are also in {train.source} (e.g. {min(overlap)}): "
                "train and dev must not share questions"
            )
        keep = subsample(len(train.examples), opts.train_limit)
        return TaskData(task, train, dev, [train.examples[i] for i in keep])

    def check_model(self, spec: str, max_seq_length: int) -> None:
        """SQuAD windows fill --max-seq-length: the model must have that many positions."""
        from distilcli.models.loading import load_config
        from distilcli.models.resolve import resolve_model

        check_fits(spec, load_config(resolve_model(spec)), max_seq_length)

    # -- model, features, scoring ----------------------------------------------------------------

    def load(self, ref: ModelRef, *, for_training: bool) -> LoadedClassifier:
        return load_qa_model(ref, for_training=for_training)

    def features(
        self, examples: Sequence[Any], tokenizer: Any, adapter: ArchitectureAdapter, opts: TaskOptions
    ) -> QAFeatures:
        return encode_squad(
            list(examples),
            tokenizer,
            adapter,
            max_seq_length=opts.max_seq_length or self.default_max_seq_length,
            doc_stride=opts.doc_stride,
            max_query_length=opts.max_query_length,
        )

    def collate(self, features: QAFeatures, tokenizer: Any) -> QACollate:
        return QACollate(features, tokenizer.pad_token_id)

    def evaluator(self, loaded: LoadedClassifier, dev: Any, opts: TaskOptions) -> Evaluator:
        features = self.features(dev.examples, loaded.tokenizer, loaded.adapter, opts)

        def evaluate(model: Any, device: Any) -> dict[str, float]:
            metrics, _ = score_model(model, loaded.tokenizer, dev, features, opts, device)
            return metrics

        return evaluate

    def card_details(self, opts: TaskOptions) -> dict[str, Any]:
        # Without --train-file the training data is the hub's SQuAD: the card names it.
        datasets = [self.spec.hub_dataset] if opts.train_file is None else []
        return {"doc_stride": opts.doc_stride, "max_query_length": opts.max_query_length, "datasets": datasets}

    def init_head(self, loaded: LoadedClassifier, features: QAFeatures, gold: int | None = None) -> str | None:
        """Span heads keep their random start: no label statistic gives a better one."""
        return None

    # -- task-specific distillation: start and end logits, as DistilBERT (D) on SQuAD --------------

    @staticmethod
    def pop_labels(batch: dict[str, Any]) -> Any:
        return batch.pop("start_positions"), batch.pop("end_positions")

    @staticmethod
    def outputs(model_output: Any) -> torch.Tensor:
        import torch

        return torch.stack([model_output.start_logits, model_output.end_logits], dim=-1)

    def teacher_outputs(self, model_output: Any, permutation: list[int] | None) -> torch.Tensor:
        return self.outputs(model_output).float()

    def cache_outputs(
        self,
        model: Any,
        features: QAFeatures,
        pad_token_id: int,
        opts: TaskOptions,
        device: Any,
        permutation: list[int] | None,
    ) -> CachedOutputs:
        starts, ends = predict_spans(
            model, features, pad_token_id, batch_size=opts.eval_batch_size, device=device, description="teacher outputs"
        )
        return CachedOutputs([np.stack([s, e], axis=-1) for s, e in zip(starts, ends, strict=True)], per_token=True)
