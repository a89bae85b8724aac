#!/bin/bash
# Issue 21 probe: toolkit5.sh's distil runs with the student's classifier head left random (as TextBrewer's), seeds 1-5.
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/snap30
G=/work/shared/data/glue; T=/work/runs/batching/teacher; S=/work/runs/init3
cd /work/runs/toolkit5
for seed in 1 2 3 4 5; do
  [ -f nohead-s$seed.json ] || /usr/bin/time -f "nohead-s$seed wall %e s" python /work/main/docs/issue21-runs/nohead.py distill --teacher $T --student $S \
      --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 --lr 1e-4 \
      --alpha-ce 1 --alpha-task 1 --cache-teacher --seed $seed --out nohead-s$seed --overwrite -o nohead-s$seed.json > nohead-s$seed.log 2>&1
  tail -1 nohead-s$seed.log
done
