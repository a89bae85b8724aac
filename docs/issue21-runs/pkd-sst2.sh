#!/bin/bash
# Issue 21: does Patient KD's loss (--alpha-pkd 10, the normalised [CLS] states of the mapped layers) lift task
# distillation above the long baseline on SST-2, where it stayed below (the earlier study, docs/results.md)?
# The earlier study's arms on today's code (batches split by length, the default since), seeds 1-3, one core each:
#   pkd-sst2.sh A   task distillation as the study ran it, then the same with --alpha-pkd 10
#   pkd-sst2.sh B   the long baseline (8 epochs, as many steps)
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap33 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; S=/work/runs/init3; R=/work/runs/td5; T=/work/runs/td3/teacher-sst2
DATA="--glue-dir $G --train-limit 2000 --select-on holdout --batch-size 32 --max-seq-length 128 --lr 1e-4"
run() { name=$1; shift; [ -f $R/$name.json ] && return; /usr/bin/time -f "$name wall %e s" "$@" --out $R/$name -o $R/$name.json > $R/$name.log 2>&1; tail -1 $R/$name.log; }
TD="distil distill --config $R/td.yaml --teacher $T --student $S --task sst2 $DATA --epochs 2 --augment 3 --cache-teacher"
for s in 1 2 3; do
  if [ $1 = A ]; then
    run td-sst2-s$s $TD --seed $s
    run pkd-sst2-s$s $TD --seed $s --alpha-pkd 10
  else
    run long-sst2-s$s distil finetune --model $S --task sst2 $DATA --epochs 8 --seed $s
  fi
done
