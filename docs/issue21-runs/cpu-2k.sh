#!/bin/bash
# Issue 21: the cpu recipe with 2,000 training examples for SST-2, STS-B and MRPC (cpu-2k.yaml; RTE stays at 1,000).
# The stages the change does not reach (general distillation, the benchmark, every RTE stage) are the cpu recipe's,
# unchanged, so they are taken from the finished cpu6 run (hard links: nothing is copied, and the pipeline skips
# them as done, their fingerprints being equal); the SST-2, STS-B and MRPC stages run here.
# ./cpu-2k.sh [JOBS]; /work/snap2k is a git worktree of the commit that ran. Run it again to resume.
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/snap2k
OUT=/work/runs/cpu8
RECIPE=/work/runs/cpu-2k.yaml   # a copy of cpu-2k.yaml beside this script, so that edits could not reach the run
if [ ! -d $OUT ]; then
  mkdir -p $OUT
  cp /work/runs/cpu6/.distil-pipeline /work/runs/cpu6/inputs.json $OUT/
  for stage in /work/runs/cpu6/*/; do
    name=$(basename $stage)
    case $name in *-sst2|*-stsb|*-mrpc) ;; *) cp -al $stage $OUT/$name ;; esac
  done
fi
cd /work/runs
distil pipeline --recipe $RECIPE --out $OUT --glue-dir /work/shared/data/glue \
    --corpus /work/shared/data/wikitext-2 --dry-run | grep -v "^ " | tail -40
/usr/bin/time -f "pipeline wall %e s" distil pipeline --recipe $RECIPE --out $OUT \
    --glue-dir /work/shared/data/glue --corpus /work/shared/data/wikitext-2 --jobs "${1:-2}"
