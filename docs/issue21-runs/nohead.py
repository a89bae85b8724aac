"""Experiment only (not product code): distil's task distillation with the student's head left fresh (random), as
TextBrewer's is, instead of started from the teacher's. Runs `distil` with task_guide.copy_head replaced."""
import sys

from distilcli.distill import task_guide

task_guide.copy_head = lambda teacher_model, student: []
from distilcli.cli import main  # noqa: E402

sys.argv = ["distil", *sys.argv[1:]]
main()
