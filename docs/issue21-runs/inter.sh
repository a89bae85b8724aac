#!/bin/bash
# Intermediate losses on STS-B, seed 1, the campaign's code and settings plus one loss each.
source /work/runs/td3/common.sh
t=stsb; s=1; x=$1; shift
run inter-$x-$t-s$s distil distill --config $R/td.yaml --teacher ${TEACHER[$t]} --student $S --task $t $DATA --epochs 2 --augment 3 --cache-teacher --seed $s "$@"
