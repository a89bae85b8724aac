#!/bin/bash
# Issue 21: distil against TextBrewer 0.2.1.post1 on the same job (textbrewer_sst2.py says what is matched),
# seeds 1-3, interleaved so that both tools meet the same machine load. One thread each.
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; T=/work/runs/batching/teacher; S=/work/runs/init3; HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p /work/runs/toolkit && cd /work/runs/toolkit
for seed in 1 2 3; do
  [ -f distil-s$seed.json ] || PYTHONPATH=/work/snapR /usr/bin/time -f "distil-s$seed wall %e s" distil distill --teacher $T --student $S \
      --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 --lr 1e-4 \
      --alpha-ce 1 --alpha-task 1 --cache-teacher --seed $seed --out distil-s$seed --overwrite -o distil-s$seed.json > distil-s$seed.log 2>&1
  tail -1 distil-s$seed.log
  [ -f tb-s$seed.json ] || PYTHONPATH=/work/tbpkgs /usr/bin/time -f "tb-s$seed wall %e s" python $HERE/textbrewer_sst2.py --teacher $T \
      --student $S --glue-dir $G --seed $seed --out tb-s$seed.json > tb-s$seed.log 2>&1
  tail -1 tb-s$seed.log
done
