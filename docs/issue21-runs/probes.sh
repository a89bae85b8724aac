#!/bin/bash
# Probes on SST-2 seed 1 (same code and data as the campaign): which task-distillation setting closes the gap.
source /work/runs/td3/common.sh
while pgrep -f batching/split.sh > /dev/null; do sleep 15; done
t=sst2; s=1
run probe-ce1-$t-s$s distil distill --config $R/td.yaml --teacher ${TEACHER[$t]} --student $S --task $t $DATA --epochs 2 --augment 3 --cache-teacher --seed $s --alpha-ce 1
run probe-nongram-$t-s$s distil distill --config $R/td.yaml --teacher ${TEACHER[$t]} --student $S --task $t $DATA --epochs 2 --augment 3 --augment-ngram 0 --cache-teacher --seed $s
run probe-t1-$t-s$s distil distill --config $R/td.yaml --teacher ${TEACHER[$t]} --student $S --task $t $DATA --epochs 3 --augment 3 --cache-teacher --seed $s --temperature 1 --alpha-ce 1 --alpha-task 0
