"""The options of ``distil finetune``."""

from __future__ import annotations

from dataclasses import dataclass

from distilcli.training.options import TaskOptions

# Fields that may change between a run and its --resume (everything else must match).
RESUMABLE_CHANGES = frozenset(
    {"out", "resume", "overwrite", "log_every", "output", "precision", "eval_batch_size", "final_only"}
)


@dataclass(kw_only=True)
class FinetuneConfig(TaskOptions):
    """Fine-tune ``model`` on one GLUE task or SQuAD; defaults follow HF ``run_glue``/``run_qa`` and BERT.

    AdamW (weight decay 0.01, none on biases and LayerNorm; betas (0.9, 0.999), eps 1e-8), 10%
    linear warm-up, clipping at 1.0, evaluation on dev once per epoch unless ``eval_every`` says
    otherwise. The training and task options (and their defaults) are :class:`TaskOptions`'.
    """

    model: str
    task: str

    def resolved(self) -> FinetuneConfig:
        """This config with the task's default --max-seq-length filled in (``--print-config`` shows it)."""
        from dataclasses import replace

        from distilcli.tasks.registry import get_task

        if self.max_seq_length is not None:
            return self
        return replace(self, max_seq_length=get_task(self.task).default_max_seq_length)


def inert_fields(cfg: FinetuneConfig) -> dict[str, str]:
    """The options that do nothing for ``cfg``'s kind of task (see :mod:`distilcli.training.scope`)."""
    from distilcli.tasks.registry import get_task
    from distilcli.training.scope import task_scope

    return task_scope(get_task(cfg.task).per_token_outputs)
