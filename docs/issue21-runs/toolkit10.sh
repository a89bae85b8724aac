#!/bin/bash
# Issue 21: the TextBrewer comparison again, on a new teacher, to up to 10 seeds per arm.
# This machine was fresh: batching.sh's teacher command, re-run on today's code, gave a teacher of 83.83 (the earlier one,
# trained on older code, 81.77), so seeds 1-5 of toolkit5.sh are not comparable and every arm starts again at seed 1.
# Two lanes side by side, one thread each, so both tools meet the same load:
#   ./toolkit10.sh A   TextBrewer, seeds 1-10
#   ./toolkit10.sh B   distil (its defaults), then distil --fresh-head, seeds 1-10 each
# Every seed that finishes is reported. /work/snap41 is a git worktree of the commit that ran (see the results doc).
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; T=/work/runs/batching/teacher; S=/work/runs/init3; HERE=/work/main/docs/issue21-runs
mkdir -p /work/runs/toolkit10 && cd /work/runs/toolkit10
d() { name=$1; seed=$2; shift 2; [ -f $name-s$seed.json ] || PYTHONPATH=/work/snap41 /usr/bin/time -f "$name-s$seed wall %e s" distil distill \
      --teacher $T --student $S --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 \
      --lr 1e-4 --alpha-ce 1 --alpha-task 1 --cache-teacher "$@" --seed $seed --out $name-s$seed --overwrite -o $name-s$seed.json \
      > $name-s$seed.log 2>&1
  tail -1 $name-s$seed.log; rm -rf $name-s$seed/checkpoints; }
t() { seed=$1; [ -f tb-s$seed.json ] || PYTHONPATH=/work/tbpkgs /usr/bin/time -f "tb-s$seed wall %e s" python $HERE/textbrewer_sst2.py \
      --teacher $T --student $S --glue-dir $G --seed $seed --out tb-s$seed.json > tb-s$seed.log 2>&1
  tail -1 tb-s$seed.log; }
case $1 in
  A) for s in 1 2 3 4 5 6 7 8 9 10; do t $s; done ;;
  B) for s in 1 2 3 4 5 6 7 8 9 10; do d distil $s; d fresh $s --fresh-head; done ;;
esac
