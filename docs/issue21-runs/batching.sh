#!/bin/bash
# Issue 21: length grouping on a small training set. Task distillation, SST-2 (2,000 examples), 3-layer copied student,
# teacher minilm-l6 fine-tuned on the same 2,000 (seed 1); seeds 1-3 of: random batches, groups of 50 batches (before), automatic (after).
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap  # a snapshot of the code: edits in /work/main never reach a running measurement
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; T=/work/runs/batching/teacher; S=/work/runs/init3
cd /work/runs/batching
[ -f teacher.json ] || distil finetune --model minilm-l6 --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 --lr 1e-4 --seed 1 --out teacher --overwrite -o teacher.json > teacher.log 2>&1
COMMON="--teacher $T --student $S --task sst2 --glue-dir $G --train-limit 2000 --epochs 3 --batch-size 32 --max-seq-length 128 --lr 1e-4 --alpha-ce 1 --alpha-task 1 --cache-teacher --overwrite"
for seed in 1 2 3; do
  for arm in "random --no-length-grouping" "g50 --group-batches 50" "auto"; do set -- $arm; name=$1-s$seed; shift
    [ -f $name.json ] && continue
    /usr/bin/time -f "$name wall %e s" distil distill $COMMON "$@" --seed $seed --out $name -o $name.json > $name.log 2>&1; tail -1 $name.log
  done
done
