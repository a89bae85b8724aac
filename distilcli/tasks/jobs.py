"""What the fine-tuning loop needs to know about a task, for GLUE classification and SQuAD spans.

The loop in :mod:`distilcli.finetune.engine` is the same for every task: batches, optimizer,
evaluation, best checkpoint, resume. A *job* supplies the task-specific parts: which head
to load, how examples become features and batches, how the dev set is scored, and (for
task-specific distillation) which outputs the student learns from the teacher.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from distilcli.tasks.glue.spec import GlueTask
from distilcli.tasks.squad.data import SquadTask

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from distilcli.tasks.heads import LoadedClassifier
    from distilcli.finetune.engine import TaskTeacher
    from distilcli.models.adapters import ArchitectureAdapter
    from distilcli.models.resolve import ModelRef

#: Evaluate ``model`` on the dev set on ``device``; returns the task's metrics.
Evaluator = Callable[[Any, Any], dict[str, float]]


class CachedOutputs:
    """Teacher outputs computed once per training feature (``--cache-teacher``), batched on request.

    ``per_token`` rows (SQuAD's start/end logits) have one row per token and are padded to the
    batch's width with the lowest float, which softmax turns into a probability of 0.
    """

    def __init__(self, rows: list[np.ndarray], per_token: bool = False) -> None:
        self.rows = rows
        self.per_token = per_token

    def get(self, indices: list[int], width: int) -> torch.Tensor:
        import torch

        if not self.per_token:
            return torch.from_numpy(np.stack([self.rows[i] for i in indices]))
        shape = self.rows[indices[0]].shape[1:]
        out = np.full((len(indices), width, *shape), np.finfo(np.float32).min, dtype=np.float32)
        for r, i in enumerate(indices):
            out[r, : len(self.rows[i])] = self.rows[i]
        return torch.from_numpy(out)


class GlueJob:
    """Sequence classification (or regression) on a GLUE task."""

    auto_class = "AutoModelForSequenceClassification"

    def __init__(self, task: GlueTask) -> None:
        self.task = task
        self.tags = ["distilcli", "glue", task.name]

    def load(self, ref: ModelRef, *, for_training: bool) -> LoadedClassifier:
        from distilcli.tasks.glue.head import load_classifier

        return load_classifier(ref, self.task, for_training=for_training)

    def features(self, examples: list[Any], tokenizer: Any, adapter: ArchitectureAdapter, cfg: Any) -> Any:
        from distilcli.tasks.glue.features import encode

        return encode(examples, tokenizer, adapter, cfg.max_seq_length)

    def collate(self, features: Any, tokenizer: Any) -> Any:
        from distilcli.tasks.glue.features import FeatureCollate

        return FeatureCollate(features, tokenizer.pad_token_id, self.task.is_regression)

    def evaluator(self, loaded: LoadedClassifier, dev: Any, cfg: Any) -> Evaluator:
        from distilcli.tasks.glue.predict import logits_to_predictions, predict_logits
        from distilcli.tasks.glue.metrics import score_predictions

        features = self.features(dev.examples, loaded.tokenizer, loaded.adapter, cfg)
        references = [example.label for example in dev.examples]

        def evaluate(model: Any, device: Any) -> dict[str, float]:
            logits = predict_logits(model, features, loaded.tokenizer.pad_token_id, batch_size=cfg.eval_batch_size,
                                    device=device, description=f"dev {self.task.display_name}")  # fmt: skip
            return score_predictions(self.task, logits_to_predictions(logits, self.task.is_regression, loaded.label_permutation), references)

        return evaluate

    # -- task-specific distillation --

    @staticmethod
    def pop_labels(batch: dict[str, Any]) -> Any:
        return batch.pop("labels")

    @staticmethod
    def outputs(model_output: Any) -> torch.Tensor:
        return model_output.logits

    def teacher_outputs(self, teacher: TaskTeacher, model_output: Any) -> torch.Tensor:
        return teacher.task_order(model_output.logits.float())

    def cache(self, teacher: TaskTeacher, features: Any, pad_token_id: int, cfg: Any, device: Any) -> CachedOutputs:
        import torch

        from distilcli.tasks.glue.predict import predict_logits

        logits = predict_logits(teacher.model, features, pad_token_id, batch_size=cfg.eval_batch_size, device=device, description="teacher outputs")
        ordered = teacher.task_order(torch.from_numpy(logits)).numpy()
        return CachedOutputs(list(ordered))

    def distill_loss(self, teacher: TaskTeacher, student: Any, teacher_out: Any, labels: Any, attention_mask: Any) -> dict[str, Any]:
        return teacher.loss(student, teacher_out, labels, self.task.is_regression)


class SquadJob:
    """Extractive question answering (SQuAD v1.1 / v2.0): a start and an end logit per token."""

    auto_class = "AutoModelForQuestionAnswering"

    def __init__(self, task: SquadTask) -> None:
        self.task = task
        self.tags = ["distilcli", "question-answering", task.name]

    def load(self, ref: ModelRef, *, for_training: bool) -> LoadedClassifier:
        from distilcli.tasks.squad.head import load_qa_model

        return load_qa_model(ref, for_training=for_training)

    def features(self, examples: list[Any], tokenizer: Any, adapter: ArchitectureAdapter, cfg: Any) -> Any:
        from distilcli.tasks.squad.features import encode_squad

        return encode_squad(examples, tokenizer, adapter, max_seq_length=cfg.max_seq_length,
                            doc_stride=cfg.doc_stride, max_query_length=cfg.max_query_length)  # fmt: skip

    def collate(self, features: Any, tokenizer: Any) -> Any:
        from distilcli.tasks.squad.features import QACollate

        return QACollate(features, tokenizer.pad_token_id)

    def evaluator(self, loaded: LoadedClassifier, dev: Any, cfg: Any) -> Evaluator:
        from distilcli.tasks.squad.scoring import score_model

        features = self.features(dev.examples, loaded.tokenizer, loaded.adapter, cfg)

        def evaluate(model: Any, device: Any) -> dict[str, float]:
            metrics, _ = score_model(model, loaded.tokenizer, dev, features, cfg, device)
            return metrics

        return evaluate

    # -- task-specific distillation: start and end logits, as DistilBERT (D) on SQuAD --

    @staticmethod
    def pop_labels(batch: dict[str, Any]) -> Any:
        return batch.pop("start_positions"), batch.pop("end_positions")

    @staticmethod
    def outputs(model_output: Any) -> torch.Tensor:
        import torch

        return torch.stack([model_output.start_logits, model_output.end_logits], dim=-1)

    def teacher_outputs(self, teacher: TaskTeacher, model_output: Any) -> torch.Tensor:
        return self.outputs(model_output).float()

    def cache(self, teacher: TaskTeacher, features: Any, pad_token_id: int, cfg: Any, device: Any) -> CachedOutputs:
        from distilcli.tasks.squad.head import predict_spans

        starts, ends = predict_spans(teacher.model, features, pad_token_id, batch_size=cfg.eval_batch_size, device=device, description="teacher outputs")
        return CachedOutputs([np.stack([s, e], axis=-1) for s, e in zip(starts, ends, strict=True)], per_token=True)

    def distill_loss(self, teacher: TaskTeacher, student: Any, teacher_out: Any, labels: Any, attention_mask: Any) -> dict[str, Any]:
        return teacher.span_loss(student, teacher_out, labels, attention_mask)


def job_for(task: GlueTask | SquadTask) -> GlueJob | SquadJob:
    return SquadJob(task) if isinstance(task, SquadTask) else GlueJob(task)
