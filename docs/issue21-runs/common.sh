# Issue 21 campaign v3: teachers clearly better than the student. Every task at 2,000 training examples
# (1,800 trained on, 200 held out to choose checkpoints); student = minilm-l6's layers 0,2,4 copied (init3).
source /work/main/.venv/bin/activate
export PYTHONPATH=/work/snap  # a snapshot of the code: edits in /work/main never reach a running measurement
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
G=/work/shared/data/glue; S=/work/runs/init3; R=/work/runs/td3
DATA="--glue-dir $G --train-limit 2000 --select-on holdout --batch-size 32 --max-seq-length 128 --lr 1e-4 --overwrite"
declare -A TEACHER=([sst2]=$R/teacher-sst2 [mrpc]=/work/runs/teacher-mrpc [stsb]=$R/teacher-stsb)
run() { name=$1; shift; [ -f $R/$name.json ] && return; /usr/bin/time -f "$name wall %e s" "$@" --out $R/$name -o $R/$name.json > $R/$name.log 2>&1; tail -1 $R/$name.log; }
arms() { t=$1; s=$2
  run base-$t-s$s distil finetune --model $S --task $t $DATA --epochs 3 --seed $s
  run td-$t-s$s distil distill --config $R/td.yaml --teacher ${TEACHER[$t]} --student $S --task $t $DATA --epochs 2 --augment 3 --cache-teacher --seed $s
  run long-$t-s$s distil finetune --model $S --task $t $DATA --epochs 8 --seed $s
}
