#!/usr/bin/env bash
# Fine-tune and evaluate minilm-l6 on real GLUE data (the figures in docs/results.md).
#   GLUE=../shared/data/glue HUB=../shared/data/glue-hub OUT=runs/glue examples/glue_minilm.sh [STEP ...]
# STEP: sst2 mrpc stsb rte cola mnli qqp (fine-tune) and eval (score every model); default: all.
# CPU time is short here: SST-2 trains on a 10,000-example subsample for 2 epochs, CoLA for 2
# epochs. MNLI and QQP have no training file here: MNLI trains on 6,000 examples of
# validation_mismatched and is scored on the whole validation_matched; QQP's validation file is
# split in two random halves, 6,000 examples of one train it and the other half scores it.
set -euo pipefail
GLUE=${GLUE:-../shared/data/glue}
HUB=${HUB:-../shared/data/glue-hub}
OUT=${OUT:-runs/glue}
DISTIL=${DISTIL:-distil}
export HF_HUB_OFFLINE=1
mkdir -p "$OUT"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(sst2 mrpc stsb rte cola mnli qqp eval)

finetune() {  # task, extra options...
  local task=$1; shift
  $DISTIL finetune --model minilm-l6 --task "$task" --out "$OUT/$task" --overwrite \
    --output "$OUT/finetune-$task.json" "$@"
}

evaluate() {
  # The fine-tuned tasks on their full dev files (MNLI on matched: mismatched trained it).
  $DISTIL eval-glue --model "$OUT" --task cola,sst2,mrpc,stsb,rte,mnli --glue-dir "$GLUE" --hub-dir "$HUB" \
    --output "$OUT/eval-glue.json" --predictions-out "$OUT/predictions"
  # QQP on the held-out half only.
  $DISTIL eval-glue --model "$OUT/qqp" --task qqp --dev-file "$OUT/qqp-heldout-half.parquet" \
    --output "$OUT/eval-qqp.json" --predictions-out "$OUT/predictions/QQP-heldout-half.tsv"
}

for step in "${steps[@]}"; do
  case $step in
    sst2) finetune sst2 --glue-dir "$GLUE" --train-limit 10000 --epochs 2 ;;
    mrpc|stsb|rte) finetune "$step" --glue-dir "$GLUE" --epochs 3 ;;
    cola) finetune cola --glue-dir "$GLUE" --epochs 2 ;;
    mnli)
      finetune mnli --train-file "$HUB/mnli/validation_mismatched-00000-of-00001.parquet" \
        --dev-file "$HUB/mnli/validation_matched-00000-of-00001.parquet" --train-limit 6000 --epochs 1 ;;
    qqp)
      python examples/split_parquet.py "$HUB/qqp/validation-00000-of-00001.parquet" \
        "$OUT/qqp-train-half.parquet" "$OUT/qqp-heldout-half.parquet"
      finetune qqp --train-file "$OUT/qqp-train-half.parquet" --dev-file "$OUT/qqp-heldout-half.parquet" \
        --train-limit 6000 --epochs 1 ;;
    eval) evaluate ;;
    *) echo "unknown step $step (known: sst2 mrpc stsb rte cola mnli qqp eval)" >&2; exit 2 ;;
  esac
done
