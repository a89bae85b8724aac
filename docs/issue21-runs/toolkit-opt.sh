#!/bin/bash
# distil's task distillation with fine-tuning's optimizer (wd 0.01, 10% warm-up, eps 1e-8, beta2 0.999, clip 1)
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/snap24
G=/work/shared/data/glue; T=/work/runs/batching/teacher; S=/work/runs/init3
for seed in 1 2 3; do
  [ -f opt-s$seed.json ] || /usr/bin/time -f "opt-s$seed wall %e s" distil distill --teacher $T --student $S \
      --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 --lr 1e-4 \
      --alpha-ce 1 --alpha-task 1 --cache-teacher --warmup-ratio 0.1 --weight-decay 0.01 --adam-eps 1e-8 \
      --adam-beta2 0.999 --max-grad-norm 1.0 --seed $seed --out opt-s$seed --overwrite -o opt-s$seed.json > opt-s$seed.log 2>&1
  tail -1 opt-s$seed.log
done
