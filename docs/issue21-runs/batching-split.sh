#!/bin/bash
# Issue 21 batching, the fix: random batches cut by length into 4 micro-batches (the new default of task runs).
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap2 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; T=/work/runs/batching/teacher; S=/work/runs/init3
cd /work/runs/batching
COMMON="--teacher $T --student $S --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 --lr 1e-4 --alpha-ce 1 --alpha-task 1 --cache-teacher --overwrite"
for seed in 1 2 3; do name=split4-s$seed; [ -f $name.json ] && continue
  /usr/bin/time -f "$name wall %e s" distil distill $COMMON --length-split 4 --seed $seed --out $name -o $name.json > $name.log 2>&1; tail -1 $name.log
done
