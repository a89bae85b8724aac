#!/usr/bin/env bash
# Fine-tune and evaluate minilm-l6 on real GLUE data (the figures in the README).
#   GLUE=../shared/data/glue HUB=../shared/data/glue-hub OUT=runs/glue examples/glue_minilm.sh [TASK ...]
# SST-2 trains on a 10,000-example subsample (CPU time); MNLI and QQP have no training file
# here, so MNLI trains on validation_mismatched and is scored on validation_matched, and QQP's
# validation file is split in two random halves (train on one, score the other).
set -euo pipefail
GLUE=${GLUE:-../shared/data/glue}
HUB=${HUB:-../shared/data/glue-hub}
OUT=${OUT:-runs/glue}
DISTIL=${DISTIL:-distil}
export HF_HUB_OFFLINE=1
mkdir -p "$OUT"
tasks=("$@")
[ ${#tasks[@]} -gt 0 ] || tasks=(sst2 mrpc stsb rte cola mnli qqp)

finetune() {  # task, extra options...
  local task=$1; shift
  local start=$SECONDS
  $DISTIL finetune --model minilm-l6 --task "$task" --out "$OUT/$task" --overwrite \
    --output "$OUT/finetune-$task.json" "$@"
  echo "$task: fine-tuned in $((SECONDS - start)) s"
}

for task in "${tasks[@]}"; do
  case $task in
    sst2) finetune sst2 --glue-dir "$GLUE" --train-limit 10000 --epochs 2 ;;
    mrpc|stsb|rte|cola) finetune "$task" --glue-dir "$GLUE" --epochs 3 ;;
    mnli)
      finetune mnli --train-file "$HUB/mnli/validation_mismatched-00000-of-00001.parquet" \
        --dev-file "$HUB/mnli/validation_matched-00000-of-00001.parquet" --epochs 2 ;;
    qqp)
      python examples/split_parquet.py "$HUB/qqp/validation-00000-of-00001.parquet" \
        "$OUT/qqp-train-half.parquet" "$OUT/qqp-heldout-half.parquet"
      finetune qqp --train-file "$OUT/qqp-train-half.parquet" --dev-file "$OUT/qqp-heldout-half.parquet" \
        --train-limit 10000 --epochs 2 ;;
    *) echo "unknown task $task" >&2; exit 2 ;;
  esac
done
