"""Distillation recipes: general (the DistilBERT triple loss on a corpus) and task-specific (``--task``).

``engine`` is the entry point; ``general`` and ``task`` are the two recipes in named phases over
:mod:`distilcli.training`; ``losses`` holds one ``nn.Module`` per loss term (``task_kd`` the task KD
losses) and ``objective`` the weighted general objective; ``modules`` runs teacher and student,
``head`` fits a teacher's missing MLM head, ``card`` writes the student's model card.
"""
