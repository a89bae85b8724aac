#!/bin/bash
# Issue 21: the cpu recipe's student_td stage (as cpu5 ran it) with and without --fresh-head, tasks given: does a fresh
# head help the general-distilled student, as it did the copied-layers student on the TextBrewer job? $1: "" or
# "--fresh-head"; $2...: tasks. Teachers: cpu5's median-seed fine-tunes; student: cpu5's distilled student.
source /work/main/.venv/bin/activate
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=${SNAP:-/work/snap33}
C=/work/runs/cpu5; cd /work/runs/headprobe
flag=$1; shift; name=${flag:+fresh}; name=${name:-copied}
for task in "$@"; do
  teacher=$(python3 -c "import json;print(json.load(open('$C/glue-teacher-$task/stage.json'))['model'])")
  [ -f $name-$task.json ] || distil distill --teacher $teacher --student $C/distill/run --task $task \
    --glue-dir /work/shared/data/glue --seeds 1,2,3,4,5 --select-on holdout --warmup-ratio 0.1 --weight-decay 0.01 \
    --adam-eps 1e-8 --adam-beta2 0.999 --max-grad-norm 1.0 --epochs 1 --batch-size 32 --max-seq-length 128 --lr 1e-4 \
    --train-limit 1000 --augment 3 --cache-teacher $flag --out $name-$task -o $name-$task.json > $name-$task.log 2>&1
  echo "$name-$task rc=$?"
done
