"""The named panels of ``--help``: every option of every command sits in one of these (tests check it)."""

from __future__ import annotations

MODEL = "Model"
DATA = "Data"
TASK = "Task"
LOSSES = "Losses"
OPTIMISATION = "Optimisation"
EVALUATION = "Evaluation"
TRACKING = "Tracking"
RUN = "Run and output"

#: In the order a command's help shows them.
PANELS = (MODEL, DATA, TASK, LOSSES, OPTIMISATION, EVALUATION, TRACKING, RUN)
