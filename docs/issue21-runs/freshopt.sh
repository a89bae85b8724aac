#!/bin/bash
# Issue 21: --fresh-head (the option, commit after nohead.sh) on toolkit5.sh's job, seed 1: the same as nohead-s1?
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/snap33
G=/work/shared/data/glue; T=/work/runs/batching/teacher; S=/work/runs/init3
cd /work/runs/toolkit5
seed=1; [ -f fresh-s$seed.json ] || /usr/bin/time -f "fresh-s$seed wall %e s" distil distill --teacher $T --student $S \
      --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 --lr 1e-4 \
      --alpha-ce 1 --alpha-task 1 --cache-teacher --fresh-head --seed $seed --out fresh-s$seed --overwrite -o fresh-s$seed.json > fresh-s$seed.log 2>&1
tail -1 fresh-s$seed.log
