#!/bin/bash
# Issue 21: TinyBERT's two stages on SST-2 (pkd-sst2.sh's data, student and teacher; seeds $2..): first
# --intermediate-epochs 2 of the hidden-state and attention losses alone, then the 2 epochs of task
# distillation as pkd-sst2.sh ran them (3 augmented copies, teacher-labelled once).
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap34 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; S=/work/runs/init3; R=/work/runs/td5; T=/work/runs/td3/teacher-sst2
DATA="--glue-dir $G --train-limit 2000 --select-on holdout --batch-size 32 --max-seq-length 128 --lr 1e-4"
run() { name=$1; shift; [ -f $R/$name.json ] && return; /usr/bin/time -f "$name wall %e s" "$@" --out $R/$name -o $R/$name.json > $R/$name.log 2>&1; tail -1 $R/$name.log; }
TD="distil distill --config $R/td.yaml --teacher $T --student $S --task sst2 $DATA --epochs 2 --augment 3 --cache-teacher"
for s in "$@"; do
  run two-sst2-s$s $TD --seed $s --alpha-hidden 1 --alpha-attention 1 --intermediate-epochs 2
done
