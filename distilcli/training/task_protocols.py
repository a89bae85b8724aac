"""What a training run on a task needs from the task (a :mod:`distilcli.tasks` registry entry) and from a teacher.

``training`` sits below ``tasks``, so it names what it uses as protocols: the task registry's
entries satisfy :class:`TaskEntry`, and task distillation hands in a :class:`Guide` (the teacher
and its loss) without the training layer knowing about distillation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from distilcli.models.adapters import ArchitectureAdapter
    from distilcli.models.resolve import ModelRef
    from distilcli.training.options import TaskOptions

#: Evaluate a model on the dev set on a device; returns the task's metrics.
Evaluator = Callable[[Any, Any], dict[str, float]]


class TaskSpec(Protocol):
    """A task's name and how it is scored."""

    name: str
    display_name: str
    primary_metric: str
    is_regression: bool

    @property
    def metrics(self) -> Sequence[str]: ...


class Split(Protocol):
    """One split of a task's data (GLUE or SQuAD), with where it came from."""

    split: str
    source: str

    @property
    def examples(self) -> Sequence[Any]: ...


class TaskModel(Protocol):
    """A model loaded with a task head, with what loading it revealed."""

    ref: ModelRef
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    adapter: ArchitectureAdapter
    missing_keys: list[str]
    label_permutation: list[int] | None


class Features(Protocol):
    """Token ids of a split's examples (or SQuAD windows)."""

    input_ids: list[list[int]]

    def __len__(self) -> int: ...


#: Right-pads the feature rows ``indices`` into a batch (with the task's labels unless told not to).
Collate = Callable[..., "dict[str, torch.Tensor]"]


class TaskEntry(Protocol):
    """Everything about a task that training and evaluation need (a registry entry)."""

    spec: TaskSpec
    auto_class: str
    tags: list[str]

    def load(self, ref: ModelRef, *, for_training: bool) -> TaskModel: ...

    def features(
        self, examples: Sequence[Any], tokenizer: Any, adapter: ArchitectureAdapter, opts: TaskOptions
    ) -> Features: ...

    def collate(self, features: Any, tokenizer: Any) -> Collate: ...

    def evaluator(self, loaded: TaskModel, dev: Any, opts: TaskOptions) -> Evaluator: ...

    def card_details(self, opts: TaskOptions) -> dict[str, Any]: ...

    def init_head(self, loaded: TaskModel, features: Any, gold: int | None = None) -> str | None:
        """Start a freshly initialised head from the training data (its first ``gold`` examples only, when the rest
        are a guide's unlabelled new inputs); what was done, for the log and report."""


class Guide(Protocol):
    """A teacher guiding the student of a task run (task-specific distillation)."""

    #: The training examples that carry a gold label: the first ``n_gold`` (the guide's new inputs follow them).
    n_gold: int

    def wrap(self, student: torch.nn.Module) -> torch.nn.Module:
        """What the loop trains: the student, or a :class:`~distilcli.training.extras.WithExtras` holding the guide's
        trainable modules too."""

    def plan_steps(self, steps_per_epoch: int) -> int:
        """Steps the guide adds before the run's own (a first stage); no evaluation happens during them."""

    def init_student(self, student: TaskModel, resume: bool = False) -> bool:
        """Called with the freshly loaded student, e.g. to copy the teacher's head; whether the student's fresh head
        was started from the teacher's (then kept as it is). On ``resume`` the checkpoint's weights follow: nothing
        is changed, and False."""

    def prepare(self, examples: Sequence[Any], tokenizer: Any, device: torch.device) -> None:
        """Ready the teacher for the run's training examples (its features, its cached outputs)."""

    def loss(
        self,
        model: torch.nn.Module,
        batch: dict[str, torch.Tensor],
        indices: list[int],
        step: int,
        step_indices: list[int],
    ) -> dict[str, torch.Tensor]:
        """``{"loss", ...parts}`` of one micro-batch (``indices``, of the step's ``step_indices``) of optimizer
        step ``step``: the student's outputs against the teacher's. The loop weighs it by its share of the step's
        examples."""

    def record(self) -> dict[str, Any]:
        """What the guide ran, for the run's result and report."""


@dataclass
class TaskData:
    """A task's training and dev data, checked; ``train_examples`` are those trained on (after --train-limit)."""

    spec: TaskSpec
    train: Split
    dev: Split
    train_examples: list[Any]
    #: Held-out training examples the best checkpoint is chosen on (None: chosen on dev).
    selection: Split | None = None
