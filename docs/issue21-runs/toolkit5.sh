#!/bin/bash
# Issue 21: the TextBrewer comparison to 5 seeds: TextBrewer seeds 4-5 (1-3 in /work/runs/toolkit), distil seeds 1-5
# on the current code (snapshot /work/snap30), interleaved; one thread each.
# /work/snap30 was a git worktree of commit 27de606; nohead.sh ran on it too, freshopt.sh on 9fd1ea5 (/work/snap33).
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; T=/work/runs/batching/teacher; S=/work/runs/init3; HERE=/work/main/docs/issue21-runs
mkdir -p /work/runs/toolkit5 && cd /work/runs/toolkit5
d() { seed=$1; [ -f distil-s$seed.json ] || PYTHONPATH=/work/snap30 /usr/bin/time -f "distil-s$seed wall %e s" distil distill --teacher $T --student $S \
      --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 --lr 1e-4 \
      --alpha-ce 1 --alpha-task 1 --cache-teacher --seed $seed --out distil-s$seed --overwrite -o distil-s$seed.json > distil-s$seed.log 2>&1
  tail -1 distil-s$seed.log; }
t() { seed=$1; [ -f tb-s$seed.json ] || PYTHONPATH=/work/tbpkgs /usr/bin/time -f "tb-s$seed wall %e s" python $HERE/textbrewer_sst2.py --teacher $T \
      --student $S --glue-dir $G --seed $seed --out tb-s$seed.json > tb-s$seed.log 2>&1
  tail -1 tb-s$seed.log; }
d 4; t 4; d 5; t 5; d 1; d 2; d 3
