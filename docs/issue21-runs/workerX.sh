#!/bin/bash
source /work/runs/td3/common.sh
run teacher-sst2 distil finetune --model minilm-l6 --task sst2 $DATA --epochs 3 --seed 1
run teacher-stsb distil finetune --model minilm-l6 --task stsb $DATA --epochs 3 --seed 1
for s in 1 2 3; do arms sst2 $s; arms stsb $s; done
