#!/bin/bash
# Issue 21: the `cpu` recipe, run for real in one go on two quiet cores, to check its 2.5-hour budget
# (the first run, runs/cpu5, was cut by a session's end and shared the machine; with fused AdamW since).
# ./cpu-recipe.sh [JOBS]; /work/snapcpu is a git worktree of the commit that ran: 9fa1da1, moved to 718d413 before the
# task-distillation stages started (the gold-label weighting of split batches). Run it again to resume.
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/snapcpu
cd /work/runs
/usr/bin/time -f "pipeline wall %e s" distil pipeline --recipe cpu --out /work/runs/cpu6 \
    --glue-dir /work/shared/data/glue --corpus /work/shared/data/wikitext-2 --jobs "${1:-2}"
