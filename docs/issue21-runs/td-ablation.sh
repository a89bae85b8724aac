#!/bin/bash
# Issue 21: the cpu-td-ablation recipe, run for real (TinyBERT's ablation at CPU scale: student_td with augmentation
# and intermediate losses, without augmentation, without intermediate losses; SST-2 and MRPC, 2,000 examples, 3 seeds).
# ./td-ablation.sh JOBS: started with 1 job beside another measurement, then stopped and run again with 2 once the
# cores were free (the pipeline skips finished stages and resumes interrupted ones from their checkpoints).
# /work/snap42 is a git worktree of the commit that ran.
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/snap42
cd /work/runs
/usr/bin/time -f "pipeline wall %e s" distil pipeline --recipe cpu-td-ablation --out /work/runs/tdabl \
    --glue-dir /work/shared/data/glue --corpus /work/shared/data/wikitext-2 --jobs "${1:-1}"
