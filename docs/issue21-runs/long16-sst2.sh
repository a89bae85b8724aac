#!/bin/bash
# Issue 21: the long baseline at twostage-sst2.sh's 900 steps: fine-tuning for 16 epochs, seeds "$@".
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap34 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; S=/work/runs/init3; R=/work/runs/td5
DATA="--glue-dir $G --train-limit 2000 --select-on holdout --batch-size 32 --max-seq-length 128 --lr 1e-4"
run() { name=$1; shift; [ -f $R/$name.json ] && return; /usr/bin/time -f "$name wall %e s" "$@" --out $R/$name -o $R/$name.json > $R/$name.log 2>&1; tail -1 $R/$name.log; }
for s in "$@"; do run long16-sst2-s$s distil finetune --model $S --task sst2 $DATA --epochs 16 --seed $s; done
