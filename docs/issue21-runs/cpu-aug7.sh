#!/bin/bash
# Issue 21: the cpu recipe with a longer task-distillation budget (cpu-aug7.yaml: --augment 7, baseline_long matched).
# Its teacher, student, baseline, general-distillation and benchmark stages are the cpu recipe's, unchanged, so they
# are taken from the finished cpu6 run (hard links: nothing is copied, and the pipeline skips them as done);
# the stages the change reaches (task distillation, the long baseline, int8 of student_td) run here.
# ./cpu-aug7.sh [JOBS]; /work/snapaug is a git worktree of the commit that ran. Run it again to resume.
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/snapaug
OUT=/work/runs/cpu7
if [ ! -d $OUT ]; then
  mkdir -p $OUT
  for stage in /work/runs/cpu6/*/; do
    name=$(basename $stage)
    case $name in td-*|glue-baseline_long-*|int8-student_td-*) ;; *) cp -al $stage $OUT/$name ;; esac
  done
fi
cd /work/runs
distil pipeline --recipe /work/main/docs/issue21-runs/cpu-aug7.yaml --out $OUT --glue-dir /work/shared/data/glue \
    --corpus /work/shared/data/wikitext-2 --dry-run | grep -v "^ " | tail -40
/usr/bin/time -f "pipeline wall %e s" distil pipeline --recipe /work/main/docs/issue21-runs/cpu-aug7.yaml --out $OUT \
    --glue-dir /work/shared/data/glue --corpus /work/shared/data/wikitext-2 --jobs "${1:-2}"
